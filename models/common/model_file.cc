#include "models/common/model_file.h"

#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "models/common/output.h"

namespace ecps::models {
namespace {
constexpr char kMagic[8] = {'E', 'C', 'P', 'S', 'M', 'O', 'D', 'L'};
constexpr std::size_t kKindBytes = 16;
// magic, version u32, kind (16 bytes, zero padded), payload size u64, crc u32
constexpr std::size_t kHeaderBytes = 8 + 4 + kKindBytes + 8 + 4;

template <class T>
void Put(std::string* s, T v) {
  s->append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <class T>
T Get(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
}  // namespace

Status SaveModelFile(const std::string& path, const std::string& kind, std::uint32_t version,
                     const std::string& payload) {
  if (kind.size() > kKindBytes) return InvalidArgument("model kind too long: " + kind);
  std::string out(kMagic, sizeof kMagic);
  Put(&out, version);
  std::string k = kind;
  k.resize(kKindBytes, '\0');
  out += k;
  Put(&out, static_cast<std::uint64_t>(payload.size()));
  Put(&out, Crc32(payload));
  out += payload;
  return WriteFileAtomic(path, out);
}

Result<std::string> ModelFileKind(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(fmt::format("{}: no such model file", path));
  std::string head(kHeaderBytes, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  if (in.gcount() < static_cast<std::streamsize>(12 + kKindBytes) ||
      std::memcmp(head.data(), kMagic, sizeof kMagic) != 0) {
    return DataError(fmt::format("{}: not an ecps model file", path));
  }
  std::string kind(head.data() + 12, kKindBytes);
  kind.resize(std::strlen(kind.c_str()));
  return kind;
}

Result<std::string> ModelFileIn(const std::string& dir_or_file, const std::string& file) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir_or_file, ec)) return dir_or_file;
  const fs::path dir(dir_or_file);
  if (fs::exists(dir / file, ec)) return (dir / file).string();
  std::string holds;
  for (const char* other : {"model.bin", "model.ecps"}) {
    if (!fs::exists(dir / other, ec)) continue;
    auto kind = ModelFileKind((dir / other).string());
    holds += fmt::format("{}{} ({})", holds.empty() ? "" : " and ", other,
                         kind.ok() ? "a " + *kind + " model" : "unreadable");
  }
  return NotFound(fmt::format("{}: no {} in this folder ({}); {}", dir_or_file, file,
                              holds.empty() ? "it holds no ecps model" : "it holds " + holds,
                              "model.bin: `ecps predict` (lr, linreg), `ecps segment` (kmeans); model.ecps: "
                              "`ecps recommend`/`ecps similar` (itemcf, usercf)"));
}

Result<std::string> LoadModelFile(const std::string& path, const std::string& kind, std::uint32_t version) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(fmt::format("{}: no such model file", path));
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.size() < kHeaderBytes || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0) {
    if (data.size() >= sizeof kMagic && std::memcmp(data.data(), kMagic, sizeof kMagic) == 0) {
      return DataError(fmt::format("{}: truncated model file ({} bytes, the header alone is {})", path,
                                   data.size(), kHeaderBytes));
    }
    return DataError(fmt::format("{}: not an ecps model file", path));
  }
  const auto file_version = Get<std::uint32_t>(data.data() + 8);
  std::string file_kind(data.data() + 12, kKindBytes);
  file_kind.resize(std::strlen(file_kind.c_str()));
  const auto size = Get<std::uint64_t>(data.data() + 12 + kKindBytes);
  const auto crc = Get<std::uint32_t>(data.data() + 20 + kKindBytes);
  if (file_kind != kind) {
    return DataError(fmt::format("{}: this is a {} model; expected a {} model", path, file_kind, kind));
  }
  if (file_version != version) {
    return DataError(fmt::format("{}: model format version {}, but this ecps reads version {}", path,
                                 file_version, version));
  }
  if (data.size() - kHeaderBytes != size) {
    return DataError(fmt::format("{}: truncated or padded model file: header promises {} payload bytes, found {}",
                                 path, size, data.size() - kHeaderBytes));
  }
  std::string payload = data.substr(kHeaderBytes);
  if (Crc32(payload) != crc) {
    return DataError(fmt::format("{}: checksum mismatch: the model file is corrupt", path));
  }
  return payload;
}

}  // namespace ecps::models
