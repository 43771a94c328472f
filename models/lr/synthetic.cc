#include "models/lr/synthetic.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numbers>
#include <vector>

#include "util/files.h"
#include "util/hash.h"

namespace ecps::models::lr {
namespace {

// Uniform in [0, 1) from a 64-bit hash.
double Unit(std::uint64_t h) { return static_cast<double>(h >> 11) * 0x1.0p-53; }

struct Field {
  std::uint64_t offset = 0;  // first index of the field (0-based)
  std::vector<double> cdf;   // value distribution
  std::vector<float> weight; // hidden weight per value
};

}  // namespace

Status WriteSyntheticCtr(const SyntheticCtrOptions& o, const std::string& path) {
  if (o.fields < 1 || o.max_cardinality < 10) return InvalidArgument("synthetic ctr: fields >= 1, cardinality >= 10");
  // The hidden model.
  std::vector<Field> fields(static_cast<std::size_t>(o.fields));
  std::uint64_t offset = 0;
  double bias_shift = 0;
  for (int f = 0; f < o.fields; ++f) {
    const std::uint64_t h = util::MixId(o.seed * 7919 + static_cast<std::uint64_t>(f));
    std::uint64_t card;
    if (f < o.fields / 3) {
      card = 10 + h % 90;
    } else {
      const double lo = std::log(10.0), hi = std::log(static_cast<double>(o.max_cardinality));
      card = static_cast<std::uint64_t>(std::exp(lo + (hi - lo) * Unit(util::MixId(h))));
    }
    Field& F = fields[static_cast<std::size_t>(f)];
    F.offset = offset;
    offset += card;
    F.cdf.resize(card);
    double sum = 0;
    for (std::uint64_t v = 0; v < card; ++v) F.cdf[v] = sum += std::pow(static_cast<double>(v + 1), -o.zipf);
    for (double& c : F.cdf) c /= sum;
    const double sd = o.weight_sd * (0.3 + 1.4 * Unit(util::MixId(h ^ 0x5d)));
    F.weight.resize(card);
    double mean = 0;
    for (std::uint64_t v = 0; v < card; ++v) {
      const std::uint64_t g = util::MixId(h ^ util::MixId(v + 0x77));
      const double u1 = std::max(Unit(g), 1e-300), u2 = Unit(util::MixId(g));
      F.weight[v] = static_cast<float>(sd * std::sqrt(-2 * std::log(u1)) * std::cos(2 * std::numbers::pi * u2));
      mean += F.weight[v] * (F.cdf[v] - (v ? F.cdf[v - 1] : 0.0));
    }
    bias_shift += mean;
  }
  const double bias = std::log(o.base_rate / (1 - o.base_rate)) - bias_shift;

  ECPS_ASSIGN_OR_RETURN(auto out, util::AtomicWriter::Open(path));
  std::string buf;
  buf.reserve(1 << 22);
  char num[32];
  for (std::uint64_t r = 0; r < o.rows; ++r) {
    std::uint64_t state = util::MixId((o.seed << 20) ^ (o.skip + r + 1) * 0x9e3779b97f4a7c15ULL);
    double margin = bias;
    std::string feats;
    for (const Field& F : fields) {
      state = util::MixId(state + 0x632be59bd9b4e019ULL);
      const double u = Unit(state);
      const auto v = static_cast<std::uint64_t>(std::lower_bound(F.cdf.begin(), F.cdf.end(), u) - F.cdf.begin());
      const std::uint64_t vv = std::min<std::uint64_t>(v, F.cdf.size() - 1);
      margin += F.weight[vv];
      feats += ' ';
      auto [p, ec] = std::to_chars(num, num + sizeof num, F.offset + vv + 1);
      (void)ec;
      feats.append(num, p);
      feats += ":1";
    }
    state = util::MixId(state ^ 0xabcdefULL);
    const double p = 1.0 / (1.0 + std::exp(-margin));
    buf += Unit(state) < p ? '1' : '0';
    buf += feats;
    buf += '\n';
    if (buf.size() > (1 << 22) - 4096) {
      ECPS_RETURN_IF_ERROR(out->Write(buf));
      buf.clear();
    }
  }
  ECPS_RETURN_IF_ERROR(out->Write(buf));
  return out->Commit();
}

}  // namespace ecps::models::lr
