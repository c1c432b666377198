#include "core/io/fileio.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/file_check.hpp"

namespace nnlab {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kTmpTag = ".nnlab-tmp.";

std::string errno_text(int e) { return std::strerror(e); }

// 16 hex digits from the kernel's random source (a counter mixed with the clock if that fails).
std::string random_hex() {
  std::uint64_t v = 0;
  if (::getrandom(&v, sizeof v, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof v)) {
    static std::atomic<std::uint64_t> counter{0};
    v = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) * 0x9E3779B97F4A7C15ULL +
        counter++;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// write(2) all of `bytes`, retrying after EINTR and short writes; false with errno set on failure.
bool write_all(int fd, std::string_view bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

int fsync_retry(int fd) {
  int rc;
  do rc = ::fsync(fd);
  while (rc != 0 && errno == EINTR);
  return rc;
}

fs::path parent_or_dot(const fs::path& p) { return p.has_parent_path() ? p.parent_path() : fs::path("."); }

std::string host_name() {
  char h[256] = {};
  if (::gethostname(h, sizeof h - 1) != 0) return "unknown";
  return h;
}

}  // namespace

fs::path temporary_for(const fs::path& target) {
  const std::string name = "." + target.filename().string() + std::string(kTmpTag) + std::to_string(::getpid()) + "." +
                           random_hex();
  return target.has_parent_path() ? target.parent_path() / name : fs::path(name);
}

std::optional<pid_t> temporary_writer(const std::string& f) {
  // "." <name> ".nnlab-tmp." <pid: 1-10 digits> "." <16 lowercase hex digits>
  if (f.size() < 1 + 1 + kTmpTag.size() + 1 + 1 + 16 || f[0] != '.') return std::nullopt;
  const std::string_view hex = std::string_view(f).substr(f.size() - 16);
  if (hex.find_first_not_of("0123456789abcdef") != std::string_view::npos || f[f.size() - 17] != '.') return std::nullopt;
  const std::string_view head = std::string_view(f).substr(0, f.size() - 17);  // "." <name> ".nnlab-tmp." <pid>
  const auto at = head.rfind(kTmpTag);
  if (at == std::string_view::npos || at < 2) return std::nullopt;
  const std::string_view digits = head.substr(at + kTmpTag.size());
  if (digits.empty() || digits.size() > 10 || digits.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  const long long pid = std::stoll(std::string(digits));
  if (pid <= 0 || pid > 0x7fffffff) return std::nullopt;
  return static_cast<pid_t>(pid);
}

void sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw Error(dir.string() + ": cannot open the directory to flush it: " + errno_text(errno));
  if (fsync_retry(fd) != 0) {
    const int e = errno;
    ::close(fd);
    // Some file systems cannot fsync a directory (EINVAL); their renames are as durable as they get.
    if (e == EINVAL || e == EROFS) return;
    throw Error(dir.string() + ": cannot flush the directory to disk: " + errno_text(e));
  }
  ::close(fd);
}

void write_file_atomic(const fs::path& path, std::string_view bytes) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  const fs::path tmp = temporary_for(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(path.string() + ": cannot write (creating " + tmp.filename().string() + "): " + errno_text(errno));
  if (!write_all(fd, bytes)) {
    const std::string why = errno_text(errno);
    ::close(fd);
    ::unlink(tmp.c_str());
    throw Error(path.string() + ": cannot write: " + why + " (the previous version, if any, is unchanged)");
  }
  if (fsync_retry(fd) != 0) {
    const std::string why = errno_text(errno);
    ::close(fd);
    ::unlink(tmp.c_str());
    throw Error(path.string() + ": cannot write (flushing to disk): " + why + " (the previous version, if any, is unchanged)");
  }
  if (::close(fd) != 0) {
    const std::string why = errno_text(errno);
    ::unlink(tmp.c_str());
    throw Error(path.string() + ": cannot write (closing): " + why + " (the previous version, if any, is unchanged)");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = errno_text(errno);
    ::unlink(tmp.c_str());
    throw Error(path.string() + ": cannot replace: " + why + " (the previous version, if any, is unchanged)");
  }
  sync_directory(parent_or_dot(path));
}

std::uint64_t append_file_durable(const fs::path& path, std::string_view bytes) {
  const bool existed = fs::exists(path);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(path.string() + ": cannot append: " + errno_text(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(path.string() + ": cannot append: not a regular file");
  }
  const auto before = static_cast<std::uint64_t>(st.st_size);
  // Whatever fails, the file is cut back to what it was: never a half-written line.
  auto fail = [&](const std::string& doing) {
    const std::string why = errno_text(errno);
    [[maybe_unused]] const int rc = ::ftruncate(fd, static_cast<off_t>(before));
    ::close(fd);
    throw Error(path.string() + ": cannot append" + doing + ": " + why + " (the file is as it was)");
  };
  if (!write_all(fd, bytes)) fail("");
  if (fsync_retry(fd) != 0) fail(" (flushing to disk)");
  if (::close(fd) != 0) {
    const std::string why = errno_text(errno);
    truncate_file(path, before);
    throw Error(path.string() + ": cannot append (closing): " + why + " (the file is as it was)");
  }
  if (!existed) sync_directory(parent_or_dot(path));
  return before + bytes.size();
}

void truncate_file(const fs::path& path, std::uint64_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path.string() + ": cannot open to cut it back to " + std::to_string(size) + " bytes: " + errno_text(errno));
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0 || fsync_retry(fd) != 0) {
    const std::string why = errno_text(errno);
    ::close(fd);
    throw Error(path.string() + ": cannot cut it back to " + std::to_string(size) + " bytes: " + why);
  }
  ::close(fd);
}

// ---- DirectoryLock ----------------------------------------------------------------------------

DirectoryLock::DirectoryLock(const fs::path& dir, const std::string& command) : path_(dir / file_name) {
  int rc;
  for (;;) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error(path_.string() + ": cannot open the lock file: " + errno_text(errno));
    do rc = ::flock(fd_, LOCK_EX | LOCK_NB);
    while (rc != 0 && errno == EINTR);
    if (rc != 0) break;
    // The holder removes the file when it ends (below). If that happened between our open and our
    // flock, we hold a lock on a file no longer in the directory: open the path again.
    struct stat held{}, named{};
    if (::fstat(fd_, &held) == 0 && ::stat(path_.c_str(), &named) == 0 && held.st_ino == named.st_ino &&
        held.st_dev == named.st_dev)
      break;
    ::close(fd_);
  }
  if (rc != 0) {
    const int e = errno;
    std::string holder;
    if (e == EWOULDBLOCK) {
      // Who holds it: what it wrote into the file ("pid 123\nhost h\nstarted ...\n").
      char buf[512] = {};
      const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
      std::istringstream in(std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0));
      std::string key, value, pid, host, started;
      while (in >> key && std::getline(in >> std::ws, value)) {
        if (key == "pid") pid = value;
        else if (key == "host") host = value;
        else if (key == "started") started = value;
      }
      holder = pid.empty() ? "its pid unknown" : "pid " + pid;
      if (!host.empty()) holder += " on host " + host;
      if (!started.empty()) holder += ", started " + started;
    }
    ::close(fd_);
    fd_ = -1;
    if (e == EWOULDBLOCK)
      throw Error("output directory '" + dir.string() + "' is in use by another " + command + " (" + holder +
                  "): two runs writing one directory would mix their files; wait for it to end, or choose another "
                  "directory (--out)");
    throw Error(path_.string() + ": cannot lock the output directory: " + errno_text(e));
  }
  // Ours now (a file left by a dead holder is simply reused): record who holds it, for messages.
  // Best effort: on a full disk the content may not fit, and the lock works without it.
  const std::time_t now = std::time(nullptr);
  char when[64] = {};
  std::tm tm{};
  if (::localtime_r(&now, &tm)) std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
  const std::string who = "pid " + std::to_string(::getpid()) + "\nhost " + host_name() + "\nstarted " + when +
                          "\ncommand " + command + "\n";
  if (::ftruncate(fd_, 0) == 0) {
    [[maybe_unused]] const ssize_t n = ::pwrite(fd_, who.data(), who.size(), 0);
  }
}

DirectoryLock::~DirectoryLock() {
  if (fd_ < 0) return;
  // Remove it while still holding it, so nothing of ours stays behind; only if the name is still
  // our file (remove_created may have removed it already, and another run made a new one).
  struct stat held{}, named{};
  if (::fstat(fd_, &held) == 0 && ::stat(path_.c_str(), &named) == 0 && held.st_ino == named.st_ino &&
      held.st_dev == named.st_dev)
    ::unlink(path_.c_str());
  ::close(fd_);             // releases the flock
}

// ---- OutputDir --------------------------------------------------------------------------------

namespace {
// The nearest existing ancestor of p (p itself if it exists), for messages.
fs::path existing_ancestor(fs::path p) {
  std::error_code ec;
  while (!p.empty() && !fs::exists(p, ec)) {
    if (p == p.parent_path()) break;
    p = p.parent_path();
  }
  return p;
}
}  // namespace

OutputDir::OutputDir(const fs::path& dir, const std::string& lock_for) {
  const std::string name = "output directory '" + dir.string() + "'";
  if (dir.empty()) throw Error("the output directory is an empty path (set output.dir or --out)");
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw Error(name + " is a file, not a directory (set output.dir or --out)");
  // Create missing levels one at a time, remembering which were created here.
  std::vector<fs::path> missing;
  for (fs::path p = dir; !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (!fs::create_directory(*it, ec) && ec) {
      const fs::path base = existing_ancestor(*it);
      std::string why = ec.message();
      if (!base.empty() && fs::exists(base) && !fs::is_directory(base)) why = "'" + base.string() + "' is a file, not a directory";
      remove_created();  // what was created so far
      throw Error(name + " cannot be created: " + why + " (set output.dir or --out)");
    }
    created_.push_back(*it);
  }
  // The probe is named like a temporary, so that one left by a process killed right here is
  // cleaned up like the others.
  const fs::path probe = temporary_for(dir / "write-test");
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  const bool wrote = fd >= 0 && ::write(fd, "x", 1) == 1;
  const std::string why = errno_text(errno);
  if (fd >= 0) ::close(fd), ::unlink(probe.c_str());
  if (!wrote) {
    remove_created();
    throw Error(name + " is not writable: " + why + " (set output.dir or --out)");
  }
  if (!lock_for.empty()) {
    try {
      lock_.emplace(dir, lock_for);
    } catch (...) {
      remove_created();
      throw;
    }
  }
  // nnlab's temporaries of an earlier process killed mid-write (the pid gone): the file they were
  // to replace is intact, so they are only litter. Nothing but that exact form of name is removed.
  std::vector<fs::path> stale;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const auto pid = temporary_writer(e.path().filename().string());
    if (!pid || !e.is_regular_file(ec)) continue;
    if (*pid != ::getpid() && ::kill(*pid, 0) != 0 && errno == ESRCH) stale.push_back(e.path());
  }
  for (const auto& p : stale) fs::remove(p, ec);
}

OutputDir::~OutputDir() { remove_created(); }

void OutputDir::remove_created() {
  std::error_code ec;
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
    // A directory holding nothing but our own lock file is as good as empty.
    if (lock_ && lock_->path().parent_path() == *it) {
      bool only_lock = true;
      for (const auto& e : fs::directory_iterator(*it, ec)) only_lock &= e.path().filename() == DirectoryLock::file_name;
      if (only_lock && !ec) fs::remove(lock_->path(), ec);
    }
    if (fs::is_empty(*it, ec) && !ec) fs::remove(*it, ec);
  }
  created_.clear();
}

std::string read_file(const fs::path& path, const std::string& what) {
  if (const std::string why = unreadable_reason(path, what); !why.empty()) throw Error(why);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open " + what + (fs::exists(path) ? "" : " (no such file)"));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace nnlab
