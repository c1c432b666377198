// Checks of safetensors files (weights, checkpoints) that runs write.
#pragma once

#include <cmath>
#include <filesystem>

#include "core/io/safetensors.hpp"

namespace nnlab::test {

// Every value of every tensor in the file is finite.
inline bool file_finite(const std::filesystem::path& p) {
  for (const auto& [name, t] : load_safetensors(p).tensors)
    for (float v : t.data)
      if (!std::isfinite(v)) return false;
  return true;
}

}  // namespace nnlab::test
