#include "core/file_check.hpp"

#include <system_error>

#include "core/memory.hpp"

namespace nnlab {

std::string unreadable_reason(const std::filesystem::path& path, const std::string& what) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);  // follows symbolic links: what they point to counts
  if (ec || !fs::exists(st)) return "";
  if (st.type() == fs::file_type::directory) return path.string() + ": is a directory, not a " + what + " file";
  if (st.type() != fs::file_type::regular)
    return path.string() + ": not a regular file (a " +
           (st.type() == fs::file_type::fifo ? std::string("FIFO") : std::string("device or socket")) + "); give a " +
           what + " file";
  const auto size = fs::file_size(path, ec);
  if (!ec && static_cast<double>(size) > static_cast<double>(available_memory()))
    return path.string() + ": " + byte_text(static_cast<double>(size)) + " is more than this machine can hold (" +
           available_memory_text() + ")";
  return "";
}

}  // namespace nnlab
