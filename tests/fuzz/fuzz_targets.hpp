// The fuzz targets' bodies, shared by the libFuzzer executables (tests/fuzz/fuzz_main.cpp, built with
// -DNNLAB_FUZZ=ON by clang) and the regression test (tests/test_fuzz_regressions.cpp, built by the
// normal suite), so a kept input is replayed through exactly the code that found it.
//
// Each function feeds one input to the same functions `nnlab train` / `nnlab eval` use on a file
// from a stranger: it writes the bytes to a file in a private temporary directory and calls the
// loader on it. The expected outcome for bad input is an nnlab::Error, which the function catches
// and returns in its Outcome; anything else — another exception type (it propagates), a crash, a
// sanitizer report, a huge allocation, a hang — is a bug in the parser.
//
//   idx         datasets/idx: read_idx() on the input (raw or gzip IDX file)
//   cifar       the CIFAR loaders through load_run_data(): the input is cifar-10's data_batch_1.bin,
//               or cifar-100's train.bin when its size is a whole number of 3074-byte records
//               (fine labels for an odd record count, coarse for an even one)
//   config      load_config() on the input as a config file (text up to the first NUL byte; each
//               line after it is a --set override), then what `nnlab train` does with the result
//               before it trains: the data shape, build_run_model(), loss, optimizer, schedule
//   checkpoint  the input as <run>/checkpoint.safetensors for a resume (load_checkpoint() into the
//               model, optimizer and schedule of a fixed small run), and as the weights file of
//               `nnlab eval` (load_saved_run())
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

namespace nnlab::fuzz {

using Input = std::span<const std::uint8_t>;

// What the loaders made of one input: how many accepted it, and the messages of those that refused.
struct Outcome {
  int accepted = 0;
  std::vector<std::string> errors;
};

Outcome run_idx(Input data);
Outcome run_cifar(Input data);
Outcome run_config(Input data);
Outcome run_checkpoint(Input data);  // two loaders: the resume and the eval path

struct Target {
  const char* name;
  Outcome (*run)(Input);
};
// {"idx", run_idx}, {"cifar", run_cifar}, {"config", run_config}, {"checkpoint", run_checkpoint}
const std::vector<Target>& targets();

// The fixed run whose checkpoints the checkpoint target loads (a tiny spirals MLP with batchnorm,
// dropout, Adam and a reduce_on_plateau schedule with warmup, so every kind of state is present).
// tests/fuzz/make_corpus.cpp trains it to produce the seed checkpoints.
nlohmann::json checkpoint_run_config();

// This process's scratch directory (created on first use, removed at exit).
const std::filesystem::path& scratch_dir();

}  // namespace nnlab::fuzz
