// A fresh, empty directory for one test, removed with everything in it when the object goes.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <system_error>

namespace nnlab::test {

namespace fs = std::filesystem;

// <system temp dir>/nnlab-test-<tag>-<pid>-<n>: unique per process (the pid) and per object (n),
// so tests running in parallel never share one. Created empty (anything left under the name by an
// earlier, killed test process with the same pid is removed first).
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "dir") {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("nnlab-test-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  fs::path operator/(const std::string& name) const { return path / name; }

  fs::path path;
};

}  // namespace nnlab::test
