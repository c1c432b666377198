// tools/to_torch.py on a run of the built binary: a small MLP with every kind of state a layer can
// hold (dense, batchnorm's running statistics, PReLU's per-feature slopes, SMU's learnable mu,
// squareplus, dropout) trained for an epoch, rebuilt in PyTorch from its config.json, loaded with
// load_state_dict(strict=True) and compared logit by logit with `nnlab predict --logits`; then a
// damaged and a renamed weights file, which must make the script fail. Needs PyTorch (resource
// "torch"), else skipped.
#include <doctest/doctest.h>


#include "support/resources.hpp"
#include "support/run_binary.hpp"

using namespace nnlab::test;

namespace {

const fs::path kScript = fs::path(NNLAB_SOURCE_DIR) / "tools" / "to_torch.py";

ProcessResult to_torch(const std::vector<std::string>& args, const fs::path& scratch) {
  std::vector<std::string> argv = {resource_location("torch").string(), kScript.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--nnlab", NNLAB_BINARY});
  return run_program(argv, scratch);
}

const char* const kConfig = R"({
  "model": {"layers": [{"type": "dense", "out_features": 16}, {"type": "batchnorm"},
                       {"type": "prelu", "num_parameters": 16},
                       {"type": "dense", "out_features": 12}, "smu", {"type": "dropout", "p": 0.2},
                       {"type": "dense", "out_features": 8}, {"type": "squareplus", "b": 2},
                       {"type": "dense", "out_features": 3}]},
  "data": {"dataset": "spirals"},
  "optimizer": {"type": "adam", "lr": 0.01},
  "train": {"epochs": 1, "batch_size": 32, "threads": 1}
})";

}  // namespace

TEST_CASE("to_torch.py rebuilds a trained MLP in PyTorch with the same logits; damaged weights fail") {
  TempDir dir("to-torch");
  write_text(dir.path / "tiny.json", kConfig);
  const fs::path run = dir.path / "run";
  auto r = run_nnlab({"train", (dir.path / "tiny.json").string(), "--out", run.string()}, dir.path);
  INFO(r.output());
  REQUIRE(r.status == 0);

  r = to_torch({run.string(), "--samples", "50"}, dir.path);
  INFO(r.output());
  CHECK(r.status == 0);
  CHECK(r.out.find("to_torch: max |logit difference| = ") == 0);
  CHECK(r.out.find(" over 50 samples\n") != std::string::npos);
  // The difference is float32 rounding, far below the tolerance.
  const double x = std::stod(r.out.substr(r.out.find("= ") + 2));
  CHECK(x < 1e-4);
  CHECK(x > 0);  // float32 against float64: some rounding shows, so both really computed

  // A tolerance below float32 rounding: the same comparison reports the disagreement and fails.
  r = to_torch({run.string(), "--samples", "50", "--rtol", "1e-12"}, dir.path);
  CHECK(r.status == 1);
  CHECK(r.err.find("disagree") != std::string::npos);

  // nnlab reads the same file, so damage it so that its tensors no longer fit the module: PReLU's
  // slopes renamed (same length, so the header stays valid JSON of the same size) fail
  // load_state_dict(strict=True), naming the missing and the unexpected key.
  const std::string original = slurp(run / "model.safetensors");
  std::string renamed = original;
  const auto at = renamed.find("layers.2.weight");
  REQUIRE(at != std::string::npos);
  renamed.replace(at, 15, "layers.2.wEight");
  write_text(run / "renamed.safetensors", renamed);
  r = to_torch({run.string(), "--weights", "renamed.safetensors"}, dir.path);
  CHECK(r.status == 1);
  CHECK(r.err.find("does not fit the module") != std::string::npos);
  CHECK(r.err.find("Missing key(s) in state_dict: \"layers.2.weight\"") != std::string::npos);
  CHECK(r.err.find("Unexpected key(s) in state_dict: \"layers.2.wEight\"") != std::string::npos);

  // Truncated: the data no longer holds the tensors.
  write_text(run / "truncated.safetensors", original.substr(0, original.size() - 40));
  r = to_torch({run.string(), "--weights", "truncated.safetensors"}, dir.path);
  CHECK(r.status == 1);
  CHECK(r.err.find("truncated.safetensors") != std::string::npos);

  // Usage and a directory that is not a run.
  r = to_torch({"--help"}, dir.path);
  CHECK(r.status == 0);
  CHECK(r.out.find("usage:") != std::string::npos);
  r = to_torch({dir.path.string()}, dir.path);
  CHECK(r.status == 2);
  CHECK(r.err.find("no config.json") != std::string::npos);
}

TEST_CASE("to_torch.py without PyTorch says what is missing and exits 2") {
  TempDir dir("to-torch");
  // The interpreter with `import torch` made to fail (a None entry in sys.modules), then the script.
  const std::string code = "import runpy, sys; sys.modules['torch'] = None; sys.argv = ['to_torch.py', 'run']; "
                           "runpy.run_path('" + kScript.string() + "', run_name='__main__')";
  const auto r = run_program({resource_location("torch").string(), "-c", code}, dir.path);
  CHECK(r.status == 2);
  CHECK(r.err.find("to_torch: error: PyTorch and numpy are needed") != std::string::npos);
  CHECK(r.err.find("python3-torch") != std::string::npos);
}
