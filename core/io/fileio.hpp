// Small file helpers. Every file nnlab writes for a run goes through write_file_atomic: the bytes
// go to a temporary file in the same directory, are flushed to disk, and the temporary is renamed
// over the target, so a crash or a kill leaves either the old file or the new one, never half.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace nnlab {

void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);
std::string read_file(const std::filesystem::path& path, const std::string& what = "file");

// A run's output directory, made ready before any work: created with its parents if needed, and
// proven writable by creating and removing a probe file, so that a path under a regular file, a
// read-only file system or a full disk is reported before the data is loaded, not at the first
// save an hour later (throws Error naming the directory). Temporaries left in it by an earlier
// process killed while writing ("<file>.tmp.<pid>" whose pid no longer runs) are removed.
// Directories created here that are still empty when the object is destroyed (the run failed
// before writing anything) are removed again.
class OutputDir {
 public:
  explicit OutputDir(const std::filesystem::path& dir);
  ~OutputDir();
  OutputDir(const OutputDir&) = delete;
  OutputDir& operator=(const OutputDir&) = delete;

 private:
  void remove_created();  // those still empty
  std::vector<std::filesystem::path> created_;  // outermost first
};

}  // namespace nnlab
