// The safetensors format (https://github.com/huggingface/safetensors), which PyTorch users can open:
//
//   8 bytes   N, the header length, unsigned little-endian
//   N bytes   JSON header: {"<name>": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]},
//                           ..., "__metadata__": {"<key>": "<string>", ...}}   (space-padded to 8 bytes)
//   rest      the tensors' raw little-endian bytes; offsets are relative to the end of the header
//
// nnlab writes F32 tensors named like PyTorch's state_dict ("layers.0.weight") and reads F32/F64.
// Loading validates everything and says what is wrong: truncation, a header that is not JSON,
// offsets out of bounds or overlapping, a shape that does not match the byte count.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/state.hpp"

namespace nnlab {

std::string encode_safetensors(const TensorFile& file);
TensorFile decode_safetensors(const std::string& bytes, const std::string& source);

void save_safetensors(const std::filesystem::path& path, const TensorFile& file);  // atomic
TensorFile load_safetensors(const std::filesystem::path& path);

}  // namespace nnlab
