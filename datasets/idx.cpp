// IDX reader and writer; the format is described in datasets/idx.hpp.
//
// Reading is done in large blocks: a raw file is fread() straight into the destination array, a
// gzip file is inflated by zlib straight into it from 1 MiB blocks of compressed input, so loading
// Fashion-MNIST's 26 MB training images costs one pass of inflate and no per-byte calls.
#include "datasets/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>

#include "core/error.hpp"
#include "core/file_check.hpp"

namespace nnlab {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t in_block = std::size_t{1} << 20;   // compressed bytes read per fread
constexpr std::size_t max_inflate = std::size_t{1} << 30;  // z_stream's avail_out is 32-bit
constexpr std::uint64_t max_deflate_ratio = 1032;           // most bytes one compressed byte can become

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

std::string type_name(std::uint8_t t) {
  switch (t) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "16-bit integer";
    case 0x0C: return "32-bit integer";
    case 0x0D: return "32-bit float";
    case 0x0E: return "64-bit float";
    default: return "";
  }
}

std::string hex_byte(std::uint8_t b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02x", static_cast<unsigned>(b));
  return buf;
}

std::string join_dims(const std::vector<std::uint32_t>& dims) {
  std::string s;
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? "x" : "") + std::to_string(dims[i]);
  return s;
}

// The decompressed bytes of a raw or gzip file, delivered in caller-sized blocks.
class ByteReader {
 public:
  explicit ByteReader(const fs::path& path) : path_(path.string()) {
    if (const std::string why = unreadable_reason(path, "IDX"); !why.empty()) throw DataError(why);
    file_.reset(std::fopen(path.c_str(), "rb"));
    if (!file_) throw DataError(path_ + ": cannot open (" + std::strerror(errno) + ")");
    in_.resize(in_block);
    refill();
    gz_ = in_len_ >= 2 && in_[0] == 0x1f && in_[1] == 0x8b;
    if (gz_) {
      if (inflateInit2(&zs_, 16 + MAX_WBITS) != Z_OK) throw DataError(path_ + ": zlib initialisation failed");
      zs_live_ = true;
      zs_.next_in = in_.data();
      zs_.avail_in = static_cast<uInt>(in_len_);
      in_pos_ = in_len_;
    }
  }
  ~ByteReader() {
    if (zs_live_) inflateEnd(&zs_);
  }
  ByteReader(const ByteReader&) = delete;
  ByteReader& operator=(const ByteReader&) = delete;

  bool gzipped() const { return gz_; }
  // The compressed data ended inside a gzip stream (a cut-off .gz file).
  bool cut_off() const { return cut_off_; }

  // Uncompressed size as far as it can be known cheaply: the file size for a raw file, the gzip
  // trailer's ISIZE (size mod 2^32) for a gzip file; 0 when unknown. Only a capacity hint, and the
  // trailer of a damaged or hostile file can say anything, so it is capped at what the compressed
  // bytes can inflate to (deflate expands at most 1032:1).
  std::uint64_t size_hint() {
    std::error_code ec;
    const auto size = fs::file_size(path_, ec);
    if (ec) return 0;
    if (!gz_) return size;
    const long here = std::ftell(file_.get());
    if (size < 18 || here < 0 || std::fseek(file_.get(), -4, SEEK_END) != 0) return 0;
    unsigned char t[4];
    std::uint64_t hint = 0;
    if (std::fread(t, 1, 4, file_.get()) == 4)
      hint = t[0] | (std::uint64_t{t[1]} << 8) | (std::uint64_t{t[2]} << 16) | (std::uint64_t{t[3]} << 24);
    std::clearerr(file_.get());
    if (std::fseek(file_.get(), here, SEEK_SET) != 0)
      throw DataError(path_ + ": cannot seek (" + std::strerror(errno) + ")");
    return std::min<std::uint64_t>(hint, max_deflate_ratio * size);
  }

  // Fill dst[0..n) with the next bytes; returns fewer than n only at the end of the data.
  std::size_t read(std::uint8_t* dst, std::size_t n) { return gz_ ? read_gzip(dst, n) : read_raw(dst, n); }

 private:
  // Read the next block of the file into in_; false at end of file.
  bool refill() {
    in_pos_ = 0;
    in_len_ = std::fread(in_.data(), 1, in_.size(), file_.get());
    if (std::ferror(file_.get())) throw DataError(path_ + ": read error (" + std::strerror(errno) + ")");
    return in_len_ > 0;
  }

  std::size_t read_raw(std::uint8_t* dst, std::size_t n) {
    const std::size_t buffered = std::min(n, in_len_ - in_pos_);
    if (buffered > 0) std::memcpy(dst, in_.data() + in_pos_, buffered);
    in_pos_ += buffered;
    std::size_t done = buffered;
    while (done < n) {  // large reads go straight from the file into dst
      const std::size_t got = std::fread(dst + done, 1, n - done, file_.get());
      if (std::ferror(file_.get())) throw DataError(path_ + ": read error (" + std::strerror(errno) + ")");
      if (got == 0) break;
      done += got;
    }
    return done;
  }

  std::size_t read_gzip(std::uint8_t* dst, std::size_t n) {
    std::size_t done = 0;
    while (done < n) {
      zs_.next_out = dst + done;
      zs_.avail_out = static_cast<uInt>(std::min(n - done, max_inflate));
      const uInt asked = zs_.avail_out;
      while (zs_.avail_out > 0) {
        if (stream_end_) {
          // A gzip file may hold several members back to back (like `cat a.gz b.gz`); anything
          // else after the end of a member is damage.
          if (zs_.avail_in == 0 && !refill_zs()) break;
          if (zs_.next_in[0] != 0x1f)
            throw DataError(path_ + ": unexpected bytes after the end of the gzip stream (damaged file?)");
          inflateReset(&zs_);
          stream_end_ = false;
        }
        if (zs_.avail_in == 0 && !refill_zs()) {
          cut_off_ = true;
          break;
        }
        const int ret = inflate(&zs_, Z_NO_FLUSH);
        if (ret == Z_STREAM_END) stream_end_ = true;
        else if (ret == Z_DATA_ERROR || ret == Z_NEED_DICT)
          throw DataError(path_ + ": corrupt gzip data (" + (zs_.msg ? zs_.msg : "invalid stream") + ") after " +
                          std::to_string(total_out_ + (asked - zs_.avail_out)) + " decompressed bytes");
        else if (ret == Z_MEM_ERROR) throw DataError(path_ + ": out of memory while decompressing");
        else if (ret != Z_OK && ret != Z_BUF_ERROR)
          throw DataError(path_ + ": zlib error " + std::to_string(ret) + " while decompressing");
      }
      const std::size_t produced = asked - zs_.avail_out;
      done += produced, total_out_ += produced;
      if (zs_.avail_out > 0) break;  // end of data
    }
    return done;
  }

  bool refill_zs() {
    if (!refill()) return false;
    zs_.next_in = in_.data();
    zs_.avail_in = static_cast<uInt>(in_len_);
    in_pos_ = in_len_;
    return true;
  }

  std::string path_;
  FilePtr file_;
  std::vector<std::uint8_t> in_;
  std::size_t in_pos_ = 0, in_len_ = 0;
  bool gz_ = false;
  z_stream zs_{};
  bool zs_live_ = false;
  bool stream_end_ = false;
  bool cut_off_ = false;
  std::uint64_t total_out_ = 0;
};

void write_all(std::FILE* f, const void* p, std::size_t n, const std::string& path) {
  if (n > 0 && std::fwrite(p, 1, n, f) != n) throw DataError(path + ": write failed (" + std::strerror(errno) + ")");
}

}  // namespace

std::string IdxArray::dims_string() const { return join_dims(dims); }

IdxArray read_idx(const std::filesystem::path& path, const std::string& what) {
  const std::string p = path.string();
  ByteReader in(path);
  IdxArray a;
  a.gzipped = in.gzipped();
  const std::string gz_note = a.gzipped ? " (after gzip decompression)" : "";
  const std::string cut_note = "; the gzip stream is cut off too";

  // Magic: 00 00 <type> <ndims>.
  std::uint8_t magic[4] = {};
  const std::size_t got = in.read(magic, 4);
  if (got == 0) throw DataError(p + ": file is empty" + gz_note + ", expected an IDX header");
  if (got < 4)
    throw DataError(p + ": only " + std::to_string(got) + " bytes" + gz_note +
                    ", too short for an IDX header (file truncated?)" + (in.cut_off() ? cut_note : ""));
  if (magic[0] != 0 || magic[1] != 0)
    throw DataError(p + ": not an IDX file: it starts with " + hex_byte(magic[0]) + " " + hex_byte(magic[1]) + " " +
                    hex_byte(magic[2]) + " " + hex_byte(magic[3]) + gz_note +
                    ", an IDX file starts with 00 00 <type> <ndims>");
  a.type = magic[2];
  if (a.type != idx_ubyte) {
    const std::string name = type_name(a.type);
    if (name.empty())
      throw DataError(p + ": unknown IDX element type 0x" + hex_byte(a.type) +
                      " (known: 0x08 0x09 0x0b 0x0c 0x0d 0x0e); not an IDX file?");
    throw DataError(p + ": IDX element type 0x" + hex_byte(a.type) + " (" + name +
                    ") is not supported; nnlab reads unsigned-byte (0x08) IDX files only");
  }
  const int ndims = magic[3];
  if (ndims < 1 || ndims > idx_max_dims)
    throw DataError(p + ": IDX header says " + std::to_string(ndims) + " dimensions; nnlab reads 1 to " +
                    std::to_string(idx_max_dims));

  // Dimensions: big-endian uint32 each.
  std::uint8_t raw_dims[4 * idx_max_dims];
  const std::size_t dim_bytes = 4 * static_cast<std::size_t>(ndims);
  const std::size_t got_dims = in.read(raw_dims, dim_bytes);
  if (got_dims < dim_bytes)
    throw DataError(p + ": file ends inside the IDX header: " + std::to_string(ndims) + " dimensions need " +
                    std::to_string(4 + dim_bytes) + " header bytes, found " + std::to_string(4 + got_dims) +
                    " (file truncated?)" + (in.cut_off() ? cut_note : ""));
  for (int i = 0; i < ndims; ++i) {
    const std::uint8_t* b = raw_dims + 4 * i;
    a.dims.push_back((std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3]);
  }
  for (int i = 1; i < ndims; ++i)
    if (a.dims[static_cast<std::size_t>(i)] == 0)
      throw DataError(p + ": dimension " + std::to_string(i + 1) + " of " + a.dims_string() +
                      " is 0 (only the first dimension, the item count, may be 0)");
  std::uint64_t expected = 1;
  constexpr auto limit = static_cast<std::uint64_t>(std::numeric_limits<std::ptrdiff_t>::max());
  for (std::uint32_t d : a.dims) {
    if (d != 0 && expected > limit / d)
      throw DataError(p + ": IDX dimensions " + a.dims_string() + " describe more than 2^63 bytes (corrupt header?)");
    expected *= d;
  }
  const std::string header = std::to_string(a.header_bytes()) + "-byte header";

  // Data: grow the array towards `expected` as bytes arrive, so a corrupt header that claims
  // terabytes fails as a truncated file instead of an attempt to allocate terabytes.
  std::uint64_t hint = in.size_hint();
  hint = hint > a.header_bytes() ? hint - a.header_bytes() : 0;
  std::size_t capacity = static_cast<std::size_t>(std::min<std::uint64_t>(expected, std::max<std::uint64_t>(hint, 1 << 20)));
  std::size_t have = 0;
  for (;;) {
    a.data.reserve(capacity);
    a.data.resize(capacity);
    const std::size_t want = capacity - have;
    const std::size_t n = in.read(a.data.data() + have, want);
    have += n;
    if (n < want || have == expected) break;
    capacity = static_cast<std::size_t>(std::min<std::uint64_t>(expected, 2 * std::uint64_t{capacity}));
  }
  if (have < expected)
    throw DataError(p + ": expected " + std::to_string(expected) + " bytes of " + what + " after the " + header +
                    ", found " + std::to_string(have) + " (file truncated?)" + (in.cut_off() ? cut_note : "") +
                    "; the header says " + a.dims_string());

  // Nothing may follow (this also runs inflate to the end of the stream, which checks the CRC).
  std::uint64_t extra = 0;
  std::vector<std::uint8_t> scratch(64 * 1024);
  for (std::size_t n; (n = in.read(scratch.data(), scratch.size())) > 0;) extra += n;
  if (extra > 0)
    throw DataError(p + ": " + std::to_string(extra) + " unexpected bytes after the " + std::to_string(expected) +
                    " bytes of " + what + " (dimensions " + a.dims_string() + ")" + gz_note +
                    "; trailing garbage or a wrong header");
  if (in.cut_off()) throw DataError(p + ": the gzip stream is cut off after the last data byte (file truncated?)");
  return a;
}

void write_idx(const std::filesystem::path& path, const std::vector<std::uint32_t>& dims,
               std::span<const std::uint8_t> bytes, bool gzip) {
  const std::string p = path.string();
  if (dims.empty() || dims.size() > static_cast<std::size_t>(idx_max_dims))
    throw DataError(p + ": write_idx needs 1 to " + std::to_string(idx_max_dims) + " dimensions, got " +
                    std::to_string(dims.size()));
  std::uint64_t count = 1;
  bool overflow = false;
  for (std::uint32_t d : dims) {
    overflow = overflow || (d != 0 && count > std::numeric_limits<std::uint64_t>::max() / d);
    count *= d;
  }
  if (overflow || count != bytes.size())
    throw DataError(p + ": write_idx dimensions " + join_dims(dims) + " need " + std::to_string(count) +
                    " bytes, got " + std::to_string(bytes.size()));

  std::vector<std::uint8_t> head = {0, 0, idx_ubyte, static_cast<std::uint8_t>(dims.size())};
  for (std::uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) head.push_back(static_cast<std::uint8_t>(d >> shift));

  FilePtr f(std::fopen(path.c_str(), "wb"));
  if (!f) throw DataError(p + ": cannot create (" + std::strerror(errno) + ")");
  if (!gzip) {
    write_all(f.get(), head.data(), head.size(), p);
    write_all(f.get(), bytes.data(), bytes.size(), p);
  } else {
    z_stream zs{};
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      throw DataError(p + ": zlib initialisation failed");
    std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, deflateEnd);
    std::vector<std::uint8_t> out(in_block);
    auto pump = [&](const std::uint8_t* src, std::size_t n, bool last) {
      do {
        const std::size_t piece = std::min(n, max_inflate);
        zs.next_in = const_cast<Bytef*>(src);
        zs.avail_in = static_cast<uInt>(piece);
        src += piece, n -= piece;
        const int flush = (last && n == 0) ? Z_FINISH : Z_NO_FLUSH;
        int ret;
        do {
          zs.next_out = out.data();
          zs.avail_out = static_cast<uInt>(out.size());
          ret = deflate(&zs, flush);
          if (ret == Z_STREAM_ERROR) throw DataError(p + ": zlib deflate failed");
          write_all(f.get(), out.data(), out.size() - zs.avail_out, p);
        } while (zs.avail_out == 0 || (flush == Z_FINISH && ret != Z_STREAM_END));
      } while (n > 0);
    };
    pump(head.data(), head.size(), false);
    pump(bytes.data(), bytes.size(), true);
  }
  if (std::fclose(f.release()) != 0) throw DataError(p + ": write failed (" + std::strerror(errno) + ")");
}

}  // namespace nnlab
