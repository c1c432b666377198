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
//
// Format version. nnlab's own files (checkpoints, weights) carry metadata "nnlab.format_version",
// the version of what nnlab stores in them (decimal). Files without it are version 1: everything
// written before versions existed. A reader accepts versions 1 to kFormatVersion, filling in
// defaults for what older versions lack, and refuses a newer or unknown version by name.
//   1   (no key) checkpoints hold the metrics text whole; configs may lack later keys
//   2   checkpoints record the metrics files' lengths instead (and nnlab.stopped_early); weights
//       files gain only the key itself
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/state.hpp"

namespace nnlab {

inline constexpr const char* kFormatVersionKey = "nnlab.format_version";
inline constexpr int kFormatVersion = 2;

// The format version of `file` (1 without the key). Throws CheckpointError("<source>: ...") naming
// the version when it is not a version number or is newer than this nnlab reads.
int format_version(const TensorFile& file, const std::string& source);

std::string encode_safetensors(const TensorFile& file);
TensorFile decode_safetensors(const std::string& bytes, const std::string& source);

void save_safetensors(const std::filesystem::path& path, const TensorFile& file);  // atomic
TensorFile load_safetensors(const std::filesystem::path& path);
// The metadata only, from the header (the tensors' bytes are not read). Throws like loading.
std::map<std::string, std::string> load_safetensors_metadata(const std::filesystem::path& path);

}  // namespace nnlab
