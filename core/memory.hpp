// Sizes that cannot fit: refused before anything is allocated, with the estimate and what the
// machine allows, instead of std::bad_alloc (or the kernel's OOM killer) an hour into a run.
//
//   available_memory()      the smallest of physical memory (MemTotal), what the kernel says can be
//                           allocated now (MemAvailable), the address-space limit
//                           (ulimit -v, RLIMIT_AS) and the cgroup limit (memory.max, cgroup v1's
//                           memory.limit_in_bytes), in bytes
//   check_memory(b, what)   throws ConfigError "<what> needs 2.9 TiB, more than this machine allows
//                           (23.5 GiB: physical memory 23.5 GiB, ulimit -v unlimited, cgroup no limit)"
//                           when b exceeds available_memory()
//   checked_product(...)    the product of sizes, or ConfigError "<what>: ... is too large" when it
//                           overflows (no size computation wraps around silently)
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

#include "core/tensor.hpp"

namespace nnlab {

std::uint64_t available_memory();
std::string available_memory_text();  // "23.5 GiB: physical memory 23.5 GiB, ulimit -v unlimited, cgroup no limit"
std::string byte_text(double bytes);  // "2.9 TiB", "512 MiB", "12 bytes"

void check_memory(double bytes, const std::string& what);

// a·b·... as an element count, throwing Error("<what>: <a> x <b> x ... elements is too large")
// when it does not fit in an Index.
Index checked_product(std::initializer_list<Index> sizes, const std::string& what);

// check_memory for `elements` values of `bytes_each` bytes (checked), e.g. a weight matrix.
void check_elements(std::initializer_list<Index> sizes, double bytes_each, const std::string& what);

}  // namespace nnlab
