// IDX files byte by byte, for the IDX reader and MNIST loader tests: headers, an independent gzip
// encoder, and deterministic contents.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/rng.hpp"
#include "support/files.hpp"

namespace nnlab::test {

inline Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// An IDX header: 00 00 type ndims, then big-endian dims.
inline Bytes idx_header(std::uint8_t type, const std::vector<std::uint32_t>& dims) {
  Bytes h = {0, 0, type, static_cast<std::uint8_t>(dims.size())};
  for (std::uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) h.push_back(static_cast<std::uint8_t>(d >> s));
  return h;
}

// An independent gzip encoder (stored, i.e. uncompressed, deflate blocks + CRC-32), so the reader
// is not only tested against our own writer, and so we can gzip deliberately broken IDX contents.
inline std::uint32_t crc32(const Bytes& b) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::uint8_t x : b) {
    c ^= x;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}
inline Bytes gzip_stored(const Bytes& payload) {
  Bytes g = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};  // magic, deflate, no flags, mtime 0, OS unix
  std::size_t pos = 0;
  do {
    const std::size_t len = std::min<std::size_t>(65535, payload.size() - pos);
    const bool final = pos + len == payload.size();
    g.push_back(final ? 1 : 0);  // BFINAL, BTYPE=00 (stored)
    g.push_back(static_cast<std::uint8_t>(len)), g.push_back(static_cast<std::uint8_t>(len >> 8));
    g.push_back(static_cast<std::uint8_t>(~len)), g.push_back(static_cast<std::uint8_t>(~len >> 8));
    g.insert(g.end(), payload.begin() + static_cast<std::ptrdiff_t>(pos),
             payload.begin() + static_cast<std::ptrdiff_t>(pos + len));
    pos += len;
  } while (pos < payload.size());
  const std::uint32_t crc = crc32(payload), size = static_cast<std::uint32_t>(payload.size());
  for (int s = 0; s < 32; s += 8) g.push_back(static_cast<std::uint8_t>(crc >> s));
  for (int s = 0; s < 32; s += 8) g.push_back(static_cast<std::uint8_t>(size >> s));
  return g;
}

inline Bytes random_bytes(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>(rng.next() >> 56);
  return b;
}

inline Bytes iota_bytes(std::size_t n) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 7 + 3);
  return b;
}

}  // namespace nnlab::test
