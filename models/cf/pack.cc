#include "models/cf/pack.h"

namespace ecps::models::cf {
namespace {
std::size_t Pad8(std::size_t n) { return (n + 7) & ~std::size_t{7}; }
}  // namespace

ps::Blob PodWriter::Finish() const {
  std::size_t total = 8 + 8 * parts_.size();
  for (const auto& p : parts_) total += Pad8(p.bytes);
  ps::Blob blob = ps::Blob::Allocate(total);
  std::byte* out = blob.mutable_data();
  std::uint64_t count = parts_.size();
  std::memcpy(out, &count, 8);
  std::size_t pos = 8;
  for (const auto& p : parts_) {
    std::uint64_t b = p.bytes;
    std::memcpy(out + pos, &b, 8);
    pos += 8;
  }
  std::size_t value = 0;
  for (const auto& p : parts_) {
    const std::byte* src = p.is_value ? reinterpret_cast<const std::byte*>(&values_[value++]) : p.data;
    if (p.bytes) std::memcpy(out + pos, src, p.bytes);
    std::memset(out + pos + p.bytes, 0, Pad8(p.bytes) - p.bytes);
    pos += Pad8(p.bytes);
  }
  return blob;
}

ps::Blob AllocateSections(std::span<const std::size_t> bytes, std::vector<std::byte*>* at) {
  std::size_t total = 8 + 8 * bytes.size();
  for (auto b : bytes) total += Pad8(b);
  ps::Blob blob = ps::Blob::Allocate(total);
  std::byte* out = blob.mutable_data();
  std::uint64_t count = bytes.size();
  std::memcpy(out, &count, 8);
  std::size_t pos = 8 + 8 * bytes.size();
  at->clear();
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::uint64_t b = bytes[i];
    std::memcpy(out + 8 + 8 * i, &b, 8);
    at->push_back(out + pos);
    std::memset(out + pos + b, 0, Pad8(b) - b);
    pos += Pad8(b);
  }
  return blob;
}

Result<PodReader> PodReader::Open(const ps::Blob& blob) {
  PodReader r;
  const std::size_t size = blob.size();
  if (size < 8) return Internal("payload too short");
  r.base_ = blob.data();
  std::uint64_t count = 0;
  std::memcpy(&count, r.base_, 8);
  if (count > (size - 8) / 8) return Internal("payload section table is truncated");
  std::size_t pos = 8 + 8 * count;
  r.sizes_.resize(count);
  r.offsets_.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    std::memcpy(&r.sizes_[i], r.base_ + 8 + 8 * i, 8);
    r.offsets_[i] = pos;
    if (r.sizes_[i] > size || pos + Pad8(r.sizes_[i]) > size) return Internal("payload section runs past the end");
    pos += Pad8(r.sizes_[i]);
  }
  return r;
}

Result<std::span<const std::byte>> PodReader::NextRaw() {
  if (next_ >= sizes_.size()) return Internal("payload has fewer sections than expected");
  auto s = std::span<const std::byte>(base_ + offsets_[next_], sizes_[next_]);
  ++next_;
  return s;
}

}  // namespace ecps::models::cf
