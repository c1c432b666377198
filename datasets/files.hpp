// Helpers the data-set loaders share for their messages about data directories.
#pragma once

#include <filesystem>
#include <string>

namespace nnlab {

// " (it holds: a, b, c, ...)" (the first 8 names, sorted, and how many more), or " (the directory
// is empty)", or "" when it cannot be read: appended to "has no <file>" so a wrong directory is
// recognisable from the message.
std::string directory_listing(const std::filesystem::path& dir);

}  // namespace nnlab
