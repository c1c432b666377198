#include "core/memory.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <limits>
#include <string>

#include "core/error.hpp"

namespace nnlab {

namespace {

constexpr std::uint64_t kUnlimited = std::numeric_limits<std::uint64_t>::max();

std::uint64_t physical_memory() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return kUnlimited;
  return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page);
}

// The kernel's estimate of what can be allocated now without swapping (MemAvailable: free memory
// plus reclaimable caches), so a machine busy with other work is not promised its whole RAM.
std::uint64_t free_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  unsigned long long kib = 0;
  while (in >> key >> kib >> unit)
    if (key == "MemAvailable:") return static_cast<std::uint64_t>(kib) * 1024;
  return kUnlimited;
}

std::uint64_t address_space_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_AS, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return kUnlimited;
  return static_cast<std::uint64_t>(r.rlim_cur);
}

// cgroup v2 memory.max ("max" or bytes), else cgroup v1 memory.limit_in_bytes (huge when unset).
std::uint64_t cgroup_limit() {
  for (const char* path : {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    std::ifstream in(path);
    std::string text;
    if (!(in >> text)) continue;
    if (text == "max") return kUnlimited;
    try {
      const unsigned long long v = std::stoull(text);
      return v >= (1ULL << 62) ? kUnlimited : static_cast<std::uint64_t>(v);  // v1 reports ~2^63 for "none"
    } catch (const std::exception&) {
      continue;
    }
  }
  return kUnlimited;
}

std::string limit_text(std::uint64_t v, const char* unlimited) {
  return v == kUnlimited ? std::string(unlimited) : byte_text(static_cast<double>(v));
}

}  // namespace

std::string byte_text(double bytes) {
  static const char* const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (bytes >= 1024 && u < 6) bytes /= 1024, ++u;
  char buf[64];
  if (u == 0) std::snprintf(buf, sizeof buf, "%.0f bytes", bytes);
  else std::snprintf(buf, sizeof buf, "%.3g %s", bytes, units[u]);
  return buf;
}

std::uint64_t available_memory() {
  std::uint64_t m = std::min(physical_memory(), free_memory());
  m = std::min(m, address_space_limit());
  m = std::min(m, cgroup_limit());
  return m;
}

std::string available_memory_text() {
  return limit_text(available_memory(), "no limit") + ": physical memory " + limit_text(physical_memory(), "unknown") +
         ", of it available now " + limit_text(free_memory(), "unknown") + ", ulimit -v " + limit_text(address_space_limit(), "unlimited") + ", cgroup " + limit_text(cgroup_limit(), "no limit");
}

void check_memory(double bytes, const std::string& what) {
  if (!(bytes <= static_cast<double>(available_memory())))
    throw ConfigError(what + " needs " + byte_text(bytes) + ", more than this machine allows (" + available_memory_text() +
                      ")");
}

Index checked_product(std::initializer_list<Index> sizes, const std::string& what) {
  Index n = 1;
  std::string text;
  bool overflow = false;
  for (Index s : sizes) {
    text += (text.empty() ? "" : " x ") + std::to_string(s);
    if (s < 0) throw Error("internal: " + what + ": negative size " + std::to_string(s));
    if (s != 0 && n > std::numeric_limits<Index>::max() / s) overflow = true;
    else n *= s;
  }
  if (overflow) throw ConfigError(what + ": " + text + " elements is too large");
  return n;
}

void check_elements(std::initializer_list<Index> sizes, double bytes_each, const std::string& what) {
  const Index n = checked_product(sizes, what);
  check_memory(static_cast<double>(n) * bytes_each, what);
}

}  // namespace nnlab
