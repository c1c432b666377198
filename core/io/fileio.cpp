#include "core/io/fileio.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/memory.hpp"

namespace nnlab {

void write_file_atomic(const std::filesystem::path& path, std::string_view bytes) {
  namespace fs = std::filesystem;
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  const fs::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(path.string() + ": cannot write (creating " + tmp.filename().string() + "): " + std::strerror(errno));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      throw Error(path.string() + ": cannot write: " + why + " (the previous version, if any, is unchanged)");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw Error(path.string() + ": cannot write (flushing to disk): " + why + " (the previous version, if any, is unchanged)");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw Error(path.string() + ": cannot replace: " + why);
  }
}

namespace {
// The nearest existing ancestor of p (p itself if it exists), for messages.
std::filesystem::path existing_ancestor(std::filesystem::path p) {
  std::error_code ec;
  while (!p.empty() && !std::filesystem::exists(p, ec)) {
    if (p == p.parent_path()) break;
    p = p.parent_path();
  }
  return p;
}
}  // namespace

OutputDir::OutputDir(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
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
  const fs::path probe = dir / (".nnlab-write-test." + std::to_string(::getpid()));
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  const bool wrote = fd >= 0 && ::write(fd, "x", 1) == 1;
  const std::string why = std::strerror(errno);
  if (fd >= 0) ::close(fd), ::unlink(probe.c_str());
  if (!wrote) {
    remove_created();
    throw Error(name + " is not writable: " + why + " (set output.dir or --out)");
  }
  // Temporaries of an earlier run that was killed mid-write ("<file>.tmp.<pid>", the pid gone):
  // the file they were to replace is intact, so they are only litter.
  std::vector<fs::path> stale;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string f = e.path().filename().string();
    const auto at = f.rfind(".tmp.");
    if (at == std::string::npos || at == 0 || !e.is_regular_file(ec)) continue;
    const std::string digits = f.substr(at + 5);
    if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(digits));
    if (pid > 0 && pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH) stale.push_back(e.path());
  }
  for (const auto& p : stale) fs::remove(p, ec);
}

OutputDir::~OutputDir() { remove_created(); }

void OutputDir::remove_created() {
  std::error_code ec;
  for (auto it = created_.rbegin(); it != created_.rend(); ++it)
    if (std::filesystem::is_empty(*it, ec) && !ec) std::filesystem::remove(*it, ec);
  created_.clear();
}

std::string read_file(const std::filesystem::path& path, const std::string& what) {
  namespace fs = std::filesystem;
  // Look before opening: a FIFO would block the open (and the read) forever, /dev/zero never ends,
  // and a directory opens but reads as nothing.
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!ec && st.type() == fs::file_type::directory)
    throw Error(path.string() + ": is a directory, not a " + what + " file");
  if (!ec && fs::exists(st) && st.type() != fs::file_type::regular)
    throw Error(path.string() + ": not a regular file (a " +
                (st.type() == fs::file_type::fifo ? std::string("FIFO") : std::string("device or socket")) +
                "); give a " + what + " file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open " + what + (fs::exists(path) ? "" : " (no such file)"));
  const auto size = fs::file_size(path, ec);
  if (!ec && static_cast<double>(size) > static_cast<double>(available_memory()))
    throw Error(path.string() + ": " + byte_text(static_cast<double>(size)) + " is more than this machine can hold (" +
                available_memory_text() + ")");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace nnlab
