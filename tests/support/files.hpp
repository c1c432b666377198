// Reading and writing whole files in tests: bytes in, bytes out, no encoding, no newline handling.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

namespace nnlab::test {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

// The whole file as a string ("" when it cannot be read: the caller's checks then fail on it).
inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The whole file as bytes; the test stops if it cannot be opened.
inline Bytes read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE_MESSAGE(in, "cannot read " << p.string());
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

// Write (replace) the file; the test stops if that fails.
inline void write_bytes(const fs::path& p, const Bytes& b) {
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  REQUIRE_MESSAGE(f.good(), "cannot write " << p.string());
}

inline void write_text(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
  REQUIRE_MESSAGE(f.good(), "cannot write " << p.string());
}

// The lines of a file, without their newlines.
inline std::vector<std::string> file_lines(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Files under `dir` (recursively) that a clean failure must not leave: the temporaries of atomic
// writes (".<file>.nnlab-tmp.<pid>.<random>", and "<file>.tmp.<pid>" of writers outside the run)
// and write probes.
inline std::vector<std::string> leftover_temporaries(const fs::path& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return found;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.find(".nnlab-tmp.") != std::string::npos || name.find(".tmp.") != std::string::npos ||
        name.rfind(".nnlab-write-test", 0) == 0)
      found.push_back(it->path().string());
  }
  return found;
}

}  // namespace nnlab::test
