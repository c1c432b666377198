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
//   experiment  the input as an experiment file next to a small base config (base.json), then what
//               `nnlab compare --dry-run` does: load_experiment(), expand(), every run's command line
//               (plans of more than kMaxFuzzRuns runs stop after load_experiment(): a big plan is a
//               legitimate request, only slow, like a big model in the config target)
//   done        a sweep's own records read back: the input (up to its first NUL byte; "$BASE" in it
//               stands for the base config's absolute path, which differs per process) as a run's
//               done.json (read_done()), as its attempt.json (read_attempt()) and as last_sweep.json
//               (read_last_sweep()); what follows the NUL, if anything, as the run's metrics.csv
//               (else a valid one); then the whole report over it, in memory: collect_results(),
//               summarize(), the tables, CSV and Markdown files, the plots and report.html. The report
//               must never throw: anything escaping it is a finding, an nnlab::Error included
//   weights     weights metadata, as `nnlab eval` / `nnlab predict` read them: the input's lines
//               "key=value" are the __metadata__ of a valid model.safetensors (the tensors of the
//               run's model) in a valid run directory; load_saved_run() (read_model_info()), then
//               predict's normalisation of two images and a forward pass
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
Outcome run_experiment(Input data);
Outcome run_done(Input data);        // three readers: done.json, attempt.json, last_sweep.json
Outcome run_weights(Input data);

inline constexpr std::size_t kMaxFuzzRuns = 64;

struct Target {
  const char* name;
  Outcome (*run)(Input);
};
// {"idx", run_idx}, {"cifar", run_cifar}, {"config", run_config}, {"checkpoint", run_checkpoint},
// {"experiment", run_experiment}, {"done", run_done}, {"weights", run_weights}
const std::vector<Target>& targets();
const Target& target(const std::string& name);  // throws std::invalid_argument for an unknown name

// The base config the experiment and done targets' experiments name ("base.json" in their
// directory): a tiny spirals MLP.
const char* sweep_base_config();

// The experiment, plan and run directory the done target reads back: {"base": "base.json",
// "seeds": [1]}, one run, in <scratch>/sweep/. tests/fuzz/make_corpus.cpp writes its seeds from it.
struct DoneSetup {
  std::filesystem::path dir, out, run_dir;
  std::string valid_metrics;  // a metrics.csv as nnlab train --diagnostics writes it
  nlohmann::json fingerprint;  // of its one run (run_fingerprint())
};
const DoneSetup& done_setup();

// The run directory the weights target loads model.safetensors from, and that file's metadata as
// the target's input lines (the seed).
std::filesystem::path weights_run_dir();
std::string weights_metadata_lines(const std::string& file);  // of <weights_run_dir()>/<file>

// The fixed run whose checkpoints the checkpoint target loads (a tiny spirals MLP with batchnorm,
// dropout, Adam and a reduce_on_plateau schedule with warmup, so every kind of state is present).
// tests/fuzz/make_corpus.cpp trains it to produce the seed checkpoints.
nlohmann::json checkpoint_run_config();

// This process's scratch directory (created on first use, removed at exit).
const std::filesystem::path& scratch_dir();

}  // namespace nnlab::fuzz
