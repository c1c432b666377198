// The resource checks behind resources.hpp.
#include "support/resources.hpp"

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <cstdlib>
#include <stdexcept>
#include <vector>

#include "support/allocations.hpp"
#include "support/run_binary.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;

namespace nnlab::test {

namespace {

struct Override {
  const char* variable;
  bool set;
  std::string value;
};

Override override_of(const char* variable) {
  const char* v = std::getenv(variable);
  return {variable, v != nullptr, v ? v : ""};
}

// A data directory: the override if set, else the default. Missing when it is not a directory
// (a directory that is there but damaged is not a skip: the test runs and fails on it).
fs::path data_location(const char* variable, const fs::path& fallback) {
  const Override o = override_of(variable);
  return o.set ? fs::path(o.value) : fallback;
}

std::string data_missing(const char* variable, const fs::path& fallback, const std::string& what,
                         const std::string& how) {
  const Override o = override_of(variable);
  const fs::path dir = data_location(variable, fallback);
  std::error_code ec;
  if (!dir.empty() && fs::is_directory(dir, ec)) return "";
  if (o.set) return what + " not found: " + variable + "=" + o.value + " is not a directory";
  return what + " not found: " + dir.string() + " is not a directory (" + how + ", or set " + variable + ")";
}

bool executable(const fs::path& p) {
  std::error_code ec;
  return !p.empty() && fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

fs::path program_location(const char* variable, const std::vector<std::string>& names) {
  const Override o = override_of(variable);
  if (o.set) return o.value.find('/') == std::string::npos && !o.value.empty() ? find_on_path(o.value) : fs::path(o.value);
  for (const auto& n : names)
    if (fs::path p = find_on_path(n); !p.empty()) return p;
  return {};
}

std::string program_missing(const char* variable, const std::vector<std::string>& names, const std::string& what) {
  const Override o = override_of(variable);
  const fs::path p = program_location(variable, names);
  if (executable(p)) return "";
  if (o.set) return what + " not found: " + variable + "=" + o.value + " is not an executable program";
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  return what + " not found: no " + list + " on PATH (install it, or set " + variable + ")";
}

const fs::path kSourceData = fs::path(NNLAB_SOURCE_DIR) / "data";

// A Python 3 that imports torch and numpy: NNLAB_TEST_TORCH if set, else the first of python3 on
// PATH and /usr/bin/python3 (Debian's python3-torch) that does; empty if none.
fs::path torch_python() {
  const Override o = override_of("NNLAB_TEST_TORCH");
  std::vector<fs::path> candidates;
  if (o.set) candidates.push_back(o.value.find('/') == std::string::npos && !o.value.empty() ? find_on_path(o.value) : fs::path(o.value));
  else candidates = {find_on_path("python3"), "/usr/bin/python3"};
  for (const fs::path& p : candidates) {
    if (!executable(p)) continue;
    TempDir scratch("torch-probe");
    if (run_program({p.string(), "-c", "import torch, numpy"}, scratch.path).status == 0) return p;
  }
  return {};
}

}  // namespace

fs::path find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::string dir = dirs.substr(start, end - start);
    const fs::path candidate = fs::path(dir.empty() ? "." : dir) / name;
    if (executable(candidate)) return candidate;
    start = end + 1;
  }
  return {};
}

fs::path resource_location(const std::string& r) {
  if (r == "fashion-mnist") return data_location("NNLAB_TEST_FASHION_MNIST", "/usr/share/datasets/fashion-mnist");
  if (r == "cifar10") return data_location("NNLAB_TEST_CIFAR10", kSourceData / "cifar-10-batches-bin");
  if (r == "cifar100") return data_location("NNLAB_TEST_CIFAR100", kSourceData / "cifar-100-binary");
  if (r == "python3") return program_location("NNLAB_TEST_PYTHON", {"python3"});
  if (r == "chromium") return program_location("NNLAB_TEST_CHROMIUM", {"chromium", "chromium-browser", "google-chrome"});
  if (r == "torch") return torch_python();
  if (r == "allocation-counting") return {};
  if (r == "tmpfs") return {};
  if (r == "mpi") return program_location("NNLAB_TEST_MPIRUN", {"mpirun"});
  throw std::invalid_argument("unknown test resource '" + r + "' (see tests/support/resources.hpp)");
}

std::string resource_missing(const std::string& r) {
  if (r == "fashion-mnist")
    return data_missing("NNLAB_TEST_FASHION_MNIST", "/usr/share/datasets/fashion-mnist", "Fashion-MNIST",
                        "install the Debian package dataset-fashion-mnist");
  if (r == "cifar10")
    return data_missing("NNLAB_TEST_CIFAR10", kSourceData / "cifar-10-batches-bin", "CIFAR-10",
                        "scripts/fetch_data.sh cifar10 downloads it");
  if (r == "cifar100")
    return data_missing("NNLAB_TEST_CIFAR100", kSourceData / "cifar-100-binary", "CIFAR-100",
                        "scripts/fetch_data.sh cifar100 downloads it");
  if (r == "python3") {
    if (std::string why = program_missing("NNLAB_TEST_PYTHON", {"python3"}, "Python 3"); !why.empty()) return why;
    TempDir scratch("python-probe");
    const ProcessResult probe = run_program({resource_location(r).string(), "-c", "pass"}, scratch.path);
    if (probe.status != 0)
      return "Python 3 at " + resource_location(r).string() + " does not run (python3 -c pass: status " +
             std::to_string(probe.status) + ")";
    return "";
  }
  if (r == "torch") {
    if (!torch_python().empty()) return "";
    if (const Override o = override_of("NNLAB_TEST_TORCH"); o.set)
      return "PyTorch not found: NNLAB_TEST_TORCH=" + o.value + " is not a Python that imports torch and numpy";
    return "PyTorch not found: neither python3 on PATH nor /usr/bin/python3 imports torch and numpy (install "
           "python3-torch and python3-numpy, or set NNLAB_TEST_TORCH)";
  }
  if (r == "chromium")
    return program_missing("NNLAB_TEST_CHROMIUM", {"chromium", "chromium-browser", "google-chrome"}, "Chromium");
  if (r == "allocation-counting") {
#ifdef NNLAB_TEST_CAN_COUNT_ALLOCATIONS
    return "";
#else
    return "heap allocations cannot be counted in this build: a sanitizer's allocator replaces malloc";
#endif
  }
  if (r == "mpi") {
#ifndef NNLAB_TEST_HAVE_MPI
    return "nnlab was built without MPI (CMake did not find it: install libopenmpi-dev and openmpi-bin, e.g. with "
           "scripts/setup.sh, and configure again)";
#endif
#ifdef NNLAB_TEST_SANITIZED
    return "not under the sanitizers: OpenMPI's own start-up allocations are reported as leaks in every rank";
#endif
    return program_missing("NNLAB_TEST_MPIRUN", {"mpirun"}, "mpirun (Debian: openmpi-bin)");
  }
  if (r == "tmpfs") {
    if (const Override o = override_of("NNLAB_TEST_TMPFS"); o.set && o.value == "0")
      return "mounting a tmpfs is turned off (NNLAB_TEST_TMPFS=0)";
    TempDir probe("tmpfs-probe");
    if (::mount("nnlab-test", probe.path.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=64k") != 0)
      return std::string("cannot mount a small tmpfs to fill (") + std::strerror(errno) +
             "; needs root or CAP_SYS_ADMIN)";
    ::umount2(probe.path.c_str(), MNT_DETACH);
    return "";
  }
  throw std::invalid_argument("unknown test resource '" + r + "' (see tests/support/resources.hpp)");
}

}  // namespace nnlab::test
