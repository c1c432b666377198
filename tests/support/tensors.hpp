// Safetensors files in tests: checks of the weights and checkpoints runs write, and a sample file.
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

// A small file of two tensors and one metadata entry, for the safetensors tests.
inline TensorFile sample_tensor_file() {
  TensorFile f;
  f.tensors["layers.0.weight"] = {{2, 3}, {1, 2, 3, 4, 5, 6}};
  f.tensors["layers.0.bias"] = {{2}, {-1.5f, 0.25f}};
  f.metadata["format"] = "pt";
  return f;
}

}  // namespace nnlab::test
