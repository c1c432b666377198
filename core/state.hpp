// Named tensors with string metadata: the in-memory form of a weights file or a checkpoint
// (core/io/safetensors.hpp reads and writes it), and of the state an optimizer or a schedule saves.
//
// A model's state is its parameters and buffers under PyTorch's state_dict names ("layers.0.weight",
// "layers.3.running_mean"), float32, with their logical shapes, so the file PyTorch loads holds the
// same bytes as nnlab's tensors.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/model.hpp"

namespace nnlab {

struct StoredTensor {
  std::vector<std::int64_t> shape;
  std::vector<float> data;
};

struct TensorFile {
  std::map<std::string, StoredTensor> tensors;
  std::map<std::string, std::string> metadata;
};

// A model's parameters and buffers as a TensorFile, and back. Loading checks that the names and
// shapes match exactly and that every value is finite, and throws CheckpointError("<source>: ...")
// naming the tensor otherwise.
TensorFile model_tensors(Model<float>& model);
void load_model_tensors(Model<float>& model, const TensorFile& file, const std::string& source);

}  // namespace nnlab
