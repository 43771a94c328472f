// Consistency: how far a worker's pulls may lag behind the other workers' pushes.
// A worker at clock c sees every update from clocks <= c-s-1 (BSP: s = 0; SSP: s >= 1;
// ASP: no bound, pulls never wait).
#pragma once

#include <string_view>

namespace ecps::ps {

struct Consistency {
  enum class Mode { kBsp, kSsp, kAsp };

  Mode mode = Mode::kBsp;
  /// The bound s under kSsp (>= 1); ignored otherwise.
  int staleness = 0;

  static Consistency Bsp() { return {Mode::kBsp, 0}; }
  static Consistency Ssp(int staleness) { return {Mode::kSsp, staleness}; }
  static Consistency Asp() { return {Mode::kAsp, 0}; }

  /// The bound as one number: 0 BSP, s SSP, -1 ASP.
  int Bound() const { return mode == Mode::kBsp ? 0 : mode == Mode::kAsp ? -1 : staleness; }
  /// "bsp", "ssp" or "asp" (the --consistency spelling).
  std::string_view Name() const { return ModeName(mode); }

  static std::string_view ModeName(Mode m) {
    return m == Mode::kBsp ? "bsp" : m == Mode::kSsp ? "ssp" : "asp";
  }
};

}  // namespace ecps::ps
