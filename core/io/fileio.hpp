// Small file helpers. Every file nnlab writes for a run goes through write_file_atomic, so that a
// crash, a kill or a full disk leaves every file either as it was or as it was meant to be, never
// half written:
//
//   write_file_atomic    the bytes go to a temporary beside the target, named unmistakably as
//                        nnlab's (".<name>.nnlab-tmp.<pid>.<16 hex digits>"), are flushed to disk
//                        (fsync), the temporary is renamed over the target and the directory is
//                        flushed too, so the rename itself survives a power loss.
//
//   append_file_durable  for files that grow by records (metrics.csv): the bytes are appended and
//                        flushed (fsync, and the directory when the file is new); if any of that
//                        fails the file is cut back to its previous length, so it never ends in a
//                        partial record. Readers that must agree with another file (a checkpoint)
//                        record the length and cut the file back to it (truncate_file).
//
// Only temporaries of that form are ever removed by nnlab (OutputDir, below): a user's file that
// merely looks like a temporary ("thesis.tmp.20240101") is never touched.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nnlab {

void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);
std::string read_file(const std::filesystem::path& path, const std::string& what = "file");
// Append `bytes` durably; returns the file's new length. Throws Error("<path>: ...") with the file
// as it was before the call.
std::uint64_t append_file_durable(const std::filesystem::path& path, std::string_view bytes);
// Cut a file back to `size` bytes (and flush). Throws Error naming the file.
void truncate_file(const std::filesystem::path& path, std::uint64_t size);

// fsync a directory, so that renames and new entries in it survive a power loss. Throws Error.
void sync_directory(const std::filesystem::path& dir);

// The temporary a write of `target` goes through (a fresh random name every call), and the pid
// that wrote a file of that name (nullopt for every other name).
std::filesystem::path temporary_for(const std::filesystem::path& target);
std::optional<pid_t> temporary_writer(const std::string& filename);

// An exclusive lock on a directory for one command ("nnlab train"): an flock on <dir>/.nnlab.lock,
// which also records who holds it (pid, host, start time) for the message another process gets.
// The kernel drops an flock when its holder ends in any way (SIGKILL, a crash), so a lock file left
// by a dead process is stale by construction and is simply taken over; on NFS the server drops the
// locks of a client that is gone when its lease expires. A second process is refused at once
// (Error naming the directory and the holder's pid and host). The holder removes the lock file when
// it ends normally; a process that opened the old file just before is detected (the inode it locked
// is no longer the one named) and opens the name again, so removal cannot let two runs in.
class DirectoryLock {
 public:
  DirectoryLock(const std::filesystem::path& dir, const std::string& command);
  ~DirectoryLock();
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

  static constexpr const char* file_name = ".nnlab.lock";
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

// A run's output directory, made ready before any work: created with its parents if needed, and
// proven writable by creating and removing a probe file, so that a path under a regular file, a
// read-only file system or a full disk is reported before the data is loaded, not at the first
// save an hour later (throws Error naming the directory). With `lock_for` ("nnlab train") the
// directory is locked for that command (DirectoryLock) before anything in it is touched. nnlab's
// own temporaries left in it by a process that was killed while writing (temporary_writer() names
// a pid that no longer runs) are removed; nothing else is. Directories created here that are still
// empty when the object is destroyed (the run failed before writing anything) are removed again.
class OutputDir {
 public:
  explicit OutputDir(const std::filesystem::path& dir, const std::string& lock_for = "");
  ~OutputDir();
  OutputDir(const OutputDir&) = delete;
  OutputDir& operator=(const OutputDir&) = delete;

 private:
  void remove_created();  // those still empty (but for our own lock file)
  std::vector<std::filesystem::path> created_;  // outermost first
  std::optional<DirectoryLock> lock_;
};

}  // namespace nnlab
