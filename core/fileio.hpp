// Small file helpers. Every file nnlab writes for a run goes through write_file_atomic: the bytes
// go to a temporary file in the same directory, are flushed to disk, and the temporary is renamed
// over the target, so a crash or a kill leaves either the old file or the new one, never half.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace nnlab {

void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);
std::string read_file(const std::filesystem::path& path, const std::string& what = "file");

}  // namespace nnlab
