#include "core/io/safetensors.hpp"

#include <bit>
#include <charconv>
#include <fstream>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/io/fileio.hpp"
#include "core/io/json_parse.hpp"

namespace nnlab {

static_assert(std::endian::native == std::endian::little, "nnlab's file formats assume a little-endian host");

int format_version(const TensorFile& file, const std::string& source) {
  const auto it = file.metadata.find(kFormatVersionKey);
  if (it == file.metadata.end()) return 1;
  const std::string& text = it->second;
  int v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size() || v < 1 || text[0] == '0')
    throw CheckpointError(source + ": format version '" + text + "' is not a version number (metadata " +
                          kFormatVersionKey + ")");
  if (v > kFormatVersion)
    throw CheckpointError(source + ": format version " + text + " is newer than this nnlab reads (versions 1 to " +
                          std::to_string(kFormatVersion) + "); use the nnlab that wrote it, or a newer one");
  return v;
}

std::string encode_safetensors(const TensorFile& file) {
  nlohmann::json header = nlohmann::json::object();
  std::uint64_t offset = 0;
  for (const auto& [name, t] : file.tensors) {
    const std::uint64_t bytes = t.data.size() * sizeof(float);
    header[name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  if (!file.metadata.empty()) header["__metadata__"] = file.metadata;
  std::string h = header.dump();
  while (h.size() % 8 != 0) h.push_back(' ');
  std::string out;
  out.reserve(8 + h.size() + offset);
  const std::uint64_t n = h.size();
  out.append(reinterpret_cast<const char*>(&n), 8);
  out += h;
  for (const auto& [name, t] : file.tensors)
    out.append(reinterpret_cast<const char*>(t.data.data()), t.data.size() * sizeof(float));
  return out;
}

TensorFile decode_safetensors(const std::string& bytes, const std::string& source) {
  auto fail = [&](const std::string& why) { return CheckpointError(source + ": " + why); };
  if (bytes.size() < 8) throw fail("truncated: " + std::to_string(bytes.size()) + " bytes, not even the 8-byte header length");
  std::uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  if (n > bytes.size() - 8)
    throw fail("header length " + std::to_string(n) + " exceeds the file size " + std::to_string(bytes.size()) +
               " (truncated or not a safetensors file)");
  nlohmann::json header;
  try {
    header = parse_json(std::string_view(bytes).substr(8, n));
  } catch (const nlohmann::json::exception& e) {
    throw fail("header is not valid JSON (corrupt file?): " + json_error_text(e));
  }
  if (!header.is_object()) throw fail("header is not a JSON object");
  const std::uint64_t data_size = bytes.size() - 8 - n;
  const char* data = bytes.data() + 8 + n;
  TensorFile out;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      if (!info.is_object()) throw fail("__metadata__ is not an object");
      for (const auto& [k, v] : info.items()) {
        if (!v.is_string()) throw fail("__metadata__." + k + " is not a string");
        out.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + name + "'";
    if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") || !info.contains("data_offsets"))
      throw fail(where + ": needs dtype, shape and data_offsets");
    if (!info["dtype"].is_string() || !info["shape"].is_array() || !info["data_offsets"].is_array() ||
        info["data_offsets"].size() != 2)
      throw fail(where + ": malformed dtype, shape or data_offsets");
    const std::string dtype = info["dtype"].get<std::string>();
    std::size_t elem;
    if (dtype == "F32") elem = 4;
    else if (dtype == "F64") elem = 8;
    else throw fail(where + ": dtype " + dtype + " is not supported (F32, F64)");
    StoredTensor t;
    // Elements at most 2^40 (4 TiB of F32), checked before multiplying so the count cannot wrap.
    constexpr std::uint64_t max_elements = std::uint64_t{1} << 40;
    std::uint64_t count = 1;
    for (const auto& d : info["shape"]) {
      if (!d.is_number_unsigned() && !(d.is_number_integer() && d.get<std::int64_t>() >= 0))
        throw fail(where + ": shape has a non-integer or negative dimension");
      const std::uint64_t n = d.get<std::uint64_t>();
      if (n > max_elements || (n != 0 && count > max_elements / n)) throw fail(where + ": shape is implausibly large");
      count *= n;
      t.shape.push_back(static_cast<std::int64_t>(n));
    }
    const auto& off = info["data_offsets"];
    if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned()) throw fail(where + ": data_offsets must be non-negative integers");
    const std::uint64_t begin = off[0].get<std::uint64_t>(), end = off[1].get<std::uint64_t>();
    if (begin > end || end > data_size)
      throw fail(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + ") outside the " +
                 std::to_string(data_size) + " data bytes (truncated file?)");
    if (end - begin != count * elem)
      throw fail(where + ": " + std::to_string(end - begin) + " bytes do not hold " + std::to_string(count) + " " + dtype +
                 " values");
    ranges.emplace_back(begin, end);
    t.data.resize(count);
    if (elem == 4) {
      std::memcpy(t.data.data(), data + begin, count * 4);
    } else {
      for (std::uint64_t i = 0; i < count; ++i) {
        double v;
        std::memcpy(&v, data + begin + i * 8, 8);
        t.data[i] = static_cast<float>(v);
      }
    }
    out.tensors.emplace(name, std::move(t));
  }
  std::sort(ranges.begin(), ranges.end());
  for (std::size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second) throw fail("tensor data ranges overlap");
  return out;
}

void save_safetensors(const std::filesystem::path& path, const TensorFile& file) {
  write_file_atomic(path, encode_safetensors(file));
}

TensorFile load_safetensors(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw CheckpointError(path.string() + ": no such file");
  return decode_safetensors(read_file(path, "safetensors"), path.string());
}

std::map<std::string, std::string> load_safetensors_metadata(const std::filesystem::path& path) {
  const std::string src = path.string();
  if (!std::filesystem::exists(path)) throw CheckpointError(src + ": no such file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CheckpointError(src + ": cannot open");
  char head[8] = {};
  in.read(head, 8);
  const auto got = static_cast<std::size_t>(in.gcount());
  if (got < 8) throw CheckpointError(src + ": truncated: " + std::to_string(got) + " bytes, not even the 8-byte header length");
  std::uint64_t n = 0;
  std::memcpy(&n, head, 8);
  const auto size = std::filesystem::file_size(path);
  if (n > size - 8)
    throw CheckpointError(src + ": header length " + std::to_string(n) + " exceeds the file size " + std::to_string(size) +
                          " (truncated or not a safetensors file)");
  std::string text(n, '\0');
  in.read(text.data(), static_cast<std::streamsize>(n));
  nlohmann::json header;
  try {
    header = parse_json(text);
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError(src + ": header is not valid JSON (corrupt file?): " + e.what());
  }
  if (!header.is_object()) throw CheckpointError(src + ": header is not a JSON object");
  std::map<std::string, std::string> meta;
  if (header.contains("__metadata__")) {
    const auto& m = header["__metadata__"];
    if (!m.is_object()) throw CheckpointError(src + ": __metadata__ is not an object");
    for (const auto& [k, v] : m.items()) {
      if (!v.is_string()) throw CheckpointError(src + ": __metadata__." + k + " is not a string");
      meta[k] = v.get<std::string>();
    }
  }
  return meta;
}

}  // namespace nnlab
