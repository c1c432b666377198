// Bad checkpoints and model files: damaged safetensors, wrong tensors, wrong metadata (see support/bad_inputs.hpp).
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "core/io/safetensors.hpp"
#include "datasets/idx.hpp"
#include "support/bad_inputs.hpp"

namespace nnlab::test {

std::vector<Case> checkpoint_cases() {
  const std::string& ck = golden().checkpoint;
  const std::string& model = golden().model;
  return {
      {"resume without a checkpoint", [](Fixture& f) {
         f.write("run/config.json", golden().config);
         return std::vector<std::string>{"train", "--resume", (f.dir / "run").string()}; },
       {"checkpoint.safetensors: no checkpoint to resume from"}},
      {"checkpoint truncated in the data", [ck](Fixture& f) { return f.resume(ck.substr(0, ck.size() - 100)); },
       {"checkpoint.safetensors", "outside the", "truncated file?"}},
      {"checkpoint truncated in the header", [ck](Fixture& f) { return f.resume(ck.substr(0, 60)); },
       {"checkpoint.safetensors: header length", "exceeds the file size 60"}},
      {"checkpoint shorter than its length field", [](Fixture& f) { return f.resume(std::string("\x10\x00\x00", 3)); },
       {"checkpoint.safetensors: truncated: 3 bytes"}},
      {"checkpoint header not JSON", [](Fixture& f) { return f.resume(raw_safetensors("{not json at all}       ", "")); },
       {"checkpoint.safetensors: header is not valid JSON"}},
      {"checkpoint wrong dtype", [ck](Fixture& f) {
         return f.resume(header_edited(ck, [](json& h) { h["model.layers.0.weight"]["dtype"] = "F16"; })); },
       {"checkpoint.safetensors: tensor 'model.layers.0.weight': dtype F16 is not supported"}},
      {"checkpoint offsets beyond the data", [ck](Fixture& f) {
         return f.resume(header_edited(ck, [](json& h) { h["model.layers.0.bias"]["data_offsets"] = {1000000, 1000032}; })); },
       {"tensor 'model.layers.0.bias': data_offsets [1000000, 1000032) outside the"}},
      {"checkpoint offsets overlap", [ck](Fixture& f) {
         return f.resume(header_edited(ck, [](json& h) { h["model.layers.0.bias"]["data_offsets"] = h["model.layers.0.weight"]["data_offsets"]; h["model.layers.0.bias"]["shape"] = h["model.layers.0.weight"]["shape"]; })); },
       {"checkpoint.safetensors: tensor data ranges overlap"}},
      {"checkpoint byte count does not match the shape", [ck](Fixture& f) {
         return f.resume(header_edited(ck, [](json& h) { h["model.layers.0.weight"]["shape"] = {9, 2}; })); },
       {"tensor 'model.layers.0.weight'", "bytes do not hold 18 F32 values"}},
      {"checkpoint tensor shape does not match the config", [ck](Fixture& f) {
         return f.resume(edited(ck, [](TensorFile& t) {
           t.tensors["model.layers.0.weight"] = {{4, 2}, std::vector<float>(8, 0.5f)}; })); },
       {"checkpoint.safetensors: tensor 'layers.0.weight' has shape [4,2], the model needs [8,2]"}},
      {"checkpoint tensor missing", [ck](Fixture& f) {
         return f.resume(edited(ck, [](TensorFile& t) { t.tensors.erase("model.layers.2.bias"); })); },
       {"checkpoint.safetensors: tensor 'layers.2.bias' is missing"}},
      {"checkpoint tensor of another model", [ck](Fixture& f) {
         return f.resume(edited(ck, [](TensorFile& t) { t.tensors["model.layers.3.weight"] = {{1}, {1.0f}}; })); },
       {"tensor 'layers.3.weight' does not belong to this model", "did you mean"}},
      {"checkpoint holding NaN", [ck](Fixture& f) {
         return f.resume(edited(ck, [](TensorFile& t) { t.tensors["model.layers.0.weight"].data[3] = std::nanf(""); })); },
       {"tensor 'layers.0.weight' holds NaN or infinite values"}},
      {"checkpoint of a different config", [ck](Fixture& f) {
         return f.resume(edited(ck, [](TensorFile& t) {
           json c = json::parse(t.metadata["nnlab.config"]);
           c["optimizer"]["lr"] = 0.5;
           t.metadata["nnlab.config"] = c.dump(); })); },
       {"checkpoint.safetensors: the checkpoint was written by a different config"}},
      {"checkpoint metadata missing", [ck](Fixture& f) {
         return f.resume(edited(ck, [](TensorFile& t) { t.metadata.erase("nnlab.epoch"); })); },
       {"checkpoint.safetensors: metadata 'nnlab.epoch' is missing"}},
      {"checkpoint metadata malformed", [ck](Fixture& f) {
         return f.resume(edited(ck, [](TensorFile& t) { t.metadata["nnlab.best_epoch"] = "first"; })); },
       {"checkpoint.safetensors: malformed epoch or best-metric metadata"}},
      {"model file truncated", [model](Fixture& f) { return f.eval(model.substr(0, model.size() / 2)); },
       {"model.safetensors", "truncated"}},
      {"model file of a different shape", [model](Fixture& f) {
         return f.eval(edited(model, [](TensorFile& t) { t.tensors["layers.2.weight"] = {{3, 5}, std::vector<float>(15, 0.1f)}; })); },
       {"model.safetensors: tensor 'layers.2.weight' has shape [3,5], the model needs [3,8]"}},
      {"model file missing", [](Fixture& f) {
         f.write("run/config.json", golden().config);
         return std::vector<std::string>{"eval", (f.dir / "run").string()}; },
       {"model.safetensors: no such file"}},
  };
}

}  // namespace nnlab::test
