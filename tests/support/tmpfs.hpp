// A small tmpfs mounted for one test: a real file system that runs out of space, for the disk-full
// tests. Needs the right to mount (root or CAP_SYS_ADMIN); tests that use it declare the resource
// "tmpfs" (support/resources.hpp), so they are skipped where mounting is not allowed.
//
//   SmallTmpfs fs(256 * 1024);     mounted on a fresh directory, unmounted (lazily) at the end
//   fs.fill(2);                    fill it, then free 2 pages: the next writes find ~8 KiB
//   fs.release();                  remove the filler: everything is free again
#pragma once

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"

namespace nnlab::test {

class SmallTmpfs {
 public:
  explicit SmallTmpfs(std::uint64_t bytes, const std::string& tag = "tmpfs") : dir_(tag) {
    const std::string options = "size=" + std::to_string(bytes) + ",mode=0755";
    if (::mount("nnlab-test", dir_.path.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0)
      throw std::runtime_error("cannot mount a tmpfs on " + dir_.path.string() + ": " + std::strerror(errno));
  }
  ~SmallTmpfs() { ::umount2(dir_.path.c_str(), MNT_DETACH); }
  SmallTmpfs(const SmallTmpfs&) = delete;
  SmallTmpfs& operator=(const SmallTmpfs&) = delete;

  const std::filesystem::path& path() const { return dir_.path; }
  std::filesystem::path operator/(const std::string& name) const { return dir_.path / name; }

  // Fill the file system to the last page, then give `free_pages` pages back.
  void fill(std::uint64_t free_pages) {
    release();
    const int fd = ::open(filler().c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) throw std::runtime_error("cannot create the filler: " + std::string(std::strerror(errno)));
    std::vector<char> block(4096, 'f');
    std::uint64_t size = 0;
    for (;;) {
      const ssize_t n = ::write(fd, block.data(), block.size());
      if (n <= 0) break;
      size += static_cast<std::uint64_t>(n);
    }
    const std::uint64_t keep = size > free_pages * 4096 ? size - free_pages * 4096 : 0;
    if (::ftruncate(fd, static_cast<off_t>(keep)) != 0) throw std::runtime_error("cannot shrink the filler");
    ::close(fd);
  }
  void release() {
    std::error_code ec;
    std::filesystem::remove(filler(), ec);
  }
  std::uint64_t free_bytes() const {
    struct statvfs s {};
    if (::statvfs(dir_.path.c_str(), &s) != 0) return 0;
    return static_cast<std::uint64_t>(s.f_bavail) * s.f_frsize;
  }

 private:
  std::filesystem::path filler() const { return dir_.path / "filler"; }
  TempDir dir_;
};

}  // namespace nnlab::test
