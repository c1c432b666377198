// One libFuzzer executable per target: compiled once per target with NNLAB_FUZZ_TARGET naming the
// function in fuzz_targets.hpp (run_idx, run_cifar, run_config, run_checkpoint, run_experiment,
// run_done, run_weights). An nnlab::Error is the expected answer to bad input and is swallowed by
// the target; everything else stops the fuzzer.
#include <spdlog/spdlog.h>

#include "tests/fuzz/fuzz_targets.hpp"

#ifndef NNLAB_FUZZ_TARGET
#error "compile with -DNNLAB_FUZZ_TARGET=run_<target>"
#endif

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  nnlab::fuzz::NNLAB_FUZZ_TARGET(nnlab::fuzz::Input(data, size));
  return 0;
}
