#include "datasets/files.hpp"

#include <algorithm>
#include <system_error>
#include <vector>

#include "core/error.hpp"

namespace nnlab {

std::string directory_listing(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    names.push_back(it->path().filename().string());
  if (ec) return "";
  if (names.empty()) return " (the directory is empty)";
  std::sort(names.begin(), names.end());
  constexpr std::size_t shown = 8;
  const std::size_t more = names.size() > shown ? names.size() - shown : 0;
  names.resize(std::min(names.size(), shown));
  return " (it holds: " + join(names) + (more ? ", and " + std::to_string(more) + " more" : "") + ")";
}

}  // namespace nnlab
