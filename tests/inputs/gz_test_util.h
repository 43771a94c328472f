// Test helpers: gzip bytes (zlib) and checks on error messages.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace ecps::testing {

/// `text` as one gzip member (what `gzip` writes).
inline std::string Gzip(const std::string& text) {
  z_stream z{};
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2");
  }
  std::string out(deflateBound(&z, text.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

/// True when every byte of `s` is printable ASCII or a line break (no binary garbage).
inline bool Printable(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f);
  });
}

}  // namespace ecps::testing
