#include "models/common/model_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <streambuf>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "models/common/sealed_output.h"
#include "util/crc32.h"
#include "util/files.h"

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

// The header of a payload of `size` bytes with checksum `crc`; kind fits kKindBytes.
std::string Header(const std::string& kind, std::uint32_t version, std::uint64_t size,
                   std::uint32_t crc) {
  std::string out(kMagic, sizeof kMagic);
  Put(&out, version);
  std::string k = kind;
  k.resize(kKindBytes, '\0');
  out += k;
  Put(&out, size);
  Put(&out, crc);
  return out;
}

// A stream buffer that hands what is written to it to a sink in pieces of kPiece bytes (a
// larger write goes straight through). After the sink's first error nothing more is taken:
// the writes come back short, which makes cereal throw, and Finish() returns the error.
class PieceBuf : public std::streambuf {
 public:
  using Sink = std::function<Status(std::string_view)>;
  explicit PieceBuf(Sink sink) : sink_(std::move(sink)), buf_(kPiece) { Reset(); }
  Status Finish() {
    Drain();
    return status_;
  }

 protected:
  int_type overflow(int_type c) override {
    if (!Drain()) return traits_type::eof();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    if (n < static_cast<std::streamsize>(kPiece)) return std::streambuf::xsputn(s, n);
    if (!Drain()) return 0;
    status_ = sink_({s, static_cast<std::size_t>(n)});
    return status_.ok() ? n : 0;
  }
  int sync() override { return Drain() ? 0 : -1; }

 private:
  static constexpr std::size_t kPiece = std::size_t{1} << 20;
  void Reset() { setp(buf_.data(), buf_.data() + buf_.size()); }
  bool Drain() {
    if (!status_.ok()) return false;
    const auto n = static_cast<std::size_t>(pptr() - pbase());
    if (n > 0) status_ = sink_({pbase(), n});
    Reset();
    return status_.ok();
  }
  Sink sink_;
  std::vector<char> buf_;
  Status status_;
};

// Runs `write` into a PieceBuf over `sink`.
Status WriteThrough(const std::function<void(std::ostream&)>& write, PieceBuf::Sink sink) {
  PieceBuf buf(std::move(sink));
  std::ostream os(&buf);
  try {
    write(os);
  } catch (const std::exception& e) {
    Status s = buf.Finish();
    return s.ok() ? Internal(std::string("the model does not serialise: ") + e.what()) : s;
  }
  return buf.Finish();
}
}  // namespace

Status StreamModelFile(const std::string& path, const std::string& kind, std::uint32_t version,
                       const std::function<void(std::ostream&)>& write,
                       const privacy::EncryptionKey* key) {
  if (kind.size() > kKindBytes) return InvalidArgument("model kind too long: " + kind);
  std::uint64_t size = 0;
  std::uint32_t crc = 0;
  ECPS_RETURN_IF_ERROR(WriteThrough(write, [&](std::string_view piece) {
    crc = util::Crc32(piece, crc);
    size += piece.size();
    return Status::Ok();
  }));
  ECPS_ASSIGN_OR_RETURN(auto out, OutputFile::Open(path, key));
  ECPS_RETURN_IF_ERROR(out->Write(Header(kind, version, size, crc)));
  std::uint64_t written = 0;
  ECPS_RETURN_IF_ERROR(WriteThrough(write, [&](std::string_view piece) {
    written += piece.size();
    return out->Write(piece);
  }));
  if (written != size) {
    return Internal(fmt::format("{}: the model serialised to {} bytes, then to {}", path, size,
                                written));
  }
  return out->Commit();
}

Status SaveModelFile(const std::string& path, const std::string& kind, std::uint32_t version,
                     const std::string& payload, const privacy::EncryptionKey* key) {
  if (kind.size() > kKindBytes) return InvalidArgument("model kind too long: " + kind);
  std::string out = Header(kind, version, payload.size(), util::Crc32(payload));
  out += payload;
  if (key == nullptr) return util::WriteFileAtomic(path, out);
  ECPS_ASSIGN_OR_RETURN(std::string sealed,
                        privacy::Seal(*key, out, std::filesystem::path(path).filename().string()));
  return util::WriteFileAtomic(path, sealed);
}

namespace {
// Refuses a path that is not a regular file (a folder, a device, a pipe) before opening it.
Status CheckRegularFile(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) return NotFound(fmt::format("{}: no such model file", path));
  if (fs::is_directory(st)) {
    return DataError(fmt::format("{}: is a folder, not a model file", path));
  }
  if (!fs::is_regular_file(st)) {
    return DataError(fmt::format("{}: not a regular file, so not a model file", path));
  }
  return Status::Ok();
}

// Refuses `head` (a file's first bytes, up to kHeaderBytes) without the magic or cut short;
// a sealed file is named as such.
Status CheckMagic(const std::string& path, std::string_view head) {
  if (head.size() < sizeof kMagic || std::memcmp(head.data(), kMagic, sizeof kMagic) != 0) {
    if (privacy::LooksSealed(head)) {
      return DataError(fmt::format(
          "{}: the model file is encrypted; give the key it was written with: --encrypt-key FILE",
          path));
    }
    return DataError(fmt::format("{}: not an ecps model file", path));
  }
  if (head.size() < kHeaderBytes) {
    return DataError(fmt::format("{}: truncated model file ({} bytes, the header alone is {})",
                                 path, head.size(), kHeaderBytes));
  }
  return Status::Ok();
}

// The header, read and checked for magic and length only; `size` is the file's size.
Result<std::string> ReadHeader(const std::string& path, std::ifstream* in, std::uint64_t* size) {
  ECPS_RETURN_IF_ERROR(CheckRegularFile(path));
  std::error_code ec;
  *size = std::filesystem::file_size(path, ec);
  if (ec) return IoError(fmt::format("{}: {}", path, ec.message()));
  in->open(path, std::ios::binary);
  if (!*in) return IoError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  std::string head(kHeaderBytes, '\0');
  in->read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(std::max<std::streamsize>(in->gcount(), 0)));
  ECPS_RETURN_IF_ERROR(CheckMagic(path, head));
  return head;
}

// The kind in a header, and whether the bytes after it are all zero.
std::string HeaderKind(const std::string& head, bool* padding_zero) {
  std::string kind(head.data() + 12, kKindBytes);
  kind.resize(std::strlen(kind.c_str()));
  *padding_zero = std::all_of(head.begin() + 12 + static_cast<std::ptrdiff_t>(kind.size()),
                              head.begin() + 12 + kKindBytes, [](char c) { return c == '\0'; });
  return kind;
}

// Checks a whole header against `kind`, `version` and `file_size` (the model file's bytes);
// returns the payload's size and writes its checksum into *crc.
Result<std::uint64_t> CheckHeader(const std::string& path, const std::string& head,
                                  std::uint64_t file_size, const std::string& kind,
                                  std::uint32_t version, std::uint32_t* crc) {
  const auto file_version = Get<std::uint32_t>(head.data() + 8);
  bool padding_zero = false;
  const std::string file_kind = HeaderKind(head, &padding_zero);
  const auto size = Get<std::uint64_t>(head.data() + 12 + kKindBytes);
  *crc = Get<std::uint32_t>(head.data() + 20 + kKindBytes);
  if (file_kind != kind) {
    return DataError(fmt::format("{}: this is a {} model; expected a {} model", path, file_kind, kind));
  }
  if (!padding_zero) {
    return DataError(
        fmt::format("{}: corrupt header: bytes after the model kind are not zero", path));
  }
  if (file_version != version) {
    return DataError(fmt::format(
        "{}: model format version {}, but this ecps reads version {}{}", path, file_version,
        version, file_version < version ? " (train the model again with this ecps)" : ""));
  }
  if (file_size - kHeaderBytes != size) {
    return DataError(fmt::format(
        "{}: truncated or padded model file: header promises {} payload bytes, found {}", path,
        size, file_size - kHeaderBytes));
  }
  return size;
}

Status CheckCrc(const std::string& path, std::string_view payload, std::uint32_t crc) {
  if (util::Crc32(payload) != crc) {
    return DataError(fmt::format("{}: checksum mismatch: the model file is corrupt", path));
  }
  return Status::Ok();
}


// The plaintext of a sealed model file (already checked to be a regular file), checked for
// magic and header length.
Result<std::string> OpenSealedModelFile(const std::string& path, const privacy::EncryptionKey& key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  const std::string sealed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return IoError(fmt::format("{}: read error", path));
  auto plain = privacy::Open(key, sealed, std::filesystem::path(path).filename().string());
  if (!plain.ok()) return DataError(fmt::format("{}: {}", path, plain.status().message()));
  ECPS_RETURN_IF_ERROR(CheckMagic(path, std::string_view(*plain).substr(0, kHeaderBytes)));
  return std::move(*plain);
}

// A sealed model file (already checked to be a regular file) opened with `key`, then checked.
Result<std::string> LoadSealedModelFile(const std::string& path, const std::string& kind,
                                        std::uint32_t version, const privacy::EncryptionKey& key) {
  ECPS_ASSIGN_OR_RETURN(std::string plain, OpenSealedModelFile(path, key));
  std::uint32_t crc = 0;
  ECPS_RETURN_IF_ERROR(
      CheckHeader(path, plain.substr(0, kHeaderBytes), plain.size(), kind, version, &crc).status());
  std::string payload = plain.substr(kHeaderBytes);
  ECPS_RETURN_IF_ERROR(CheckCrc(path, payload, crc));
  return payload;
}

// Whether the file at `path` starts with a sealed file's magic.
bool FileLooksSealed(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(privacy::kSealOverhead, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  return privacy::LooksSealed(head);
}
}  // namespace

Result<std::string> ModelFileKind(const std::string& path, const privacy::EncryptionKey* key) {
  if (key != nullptr) {
    ECPS_RETURN_IF_ERROR(CheckRegularFile(path));
    if (FileLooksSealed(path)) {
      ECPS_ASSIGN_OR_RETURN(std::string plain, OpenSealedModelFile(path, *key));
      bool padding_zero = false;
      return HeaderKind(plain, &padding_zero);
    }
  }
  std::ifstream in;
  std::uint64_t size = 0;
  ECPS_ASSIGN_OR_RETURN(std::string head, ReadHeader(path, &in, &size));
  bool padding_zero = false;
  return HeaderKind(head, &padding_zero);
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

Result<std::string> LoadModelFile(const std::string& path, const std::string& kind, std::uint32_t version,
                                  const privacy::EncryptionKey* key) {
  if (key != nullptr) {
    ECPS_RETURN_IF_ERROR(CheckRegularFile(path));
    if (FileLooksSealed(path)) return LoadSealedModelFile(path, kind, version, *key);
  }
  std::ifstream in;
  std::uint64_t file_size = 0;
  ECPS_ASSIGN_OR_RETURN(std::string head, ReadHeader(path, &in, &file_size));
  std::uint32_t crc = 0;
  ECPS_ASSIGN_OR_RETURN(std::uint64_t size, CheckHeader(path, head, file_size, kind, version, &crc));
  std::string payload(static_cast<std::size_t>(size), '\0');
  in.read(payload.data(), static_cast<std::streamsize>(payload.size()));
  if (static_cast<std::uint64_t>(in.gcount()) != size) {
    return IoError(fmt::format("{}: read {} of {} payload bytes", path, in.gcount(), size));
  }
  ECPS_RETURN_IF_ERROR(CheckCrc(path, payload, crc));
  return payload;
}

}  // namespace ecps::models
