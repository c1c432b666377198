// A program that uses nnlab as an installed library (find_package(nnlab), nnlab::nnlab): it adds an
// activation of its own (bent_identity.cpp), proves its gradient with nnlab's checker, then trains an
// MLP that uses it on the synthetic spirals data set from a JSON config, exactly as `nnlab train`
// would, and prints the final accuracy.
//
//   custom_activation [CONFIG [OUTPUT_DIR]]    defaults: spirals.json next to this file,
//                                              runs/custom_activation
// Exit status: 0 on success; 1 if the gradient check fails, the accuracy is not clearly above chance
// (1/classes), or anything goes wrong (nnlab's error message is printed).
#include <cstdio>
#include <exception>
#include <string>

#include "core/gradcheck/gradcheck.hpp"
#include "core/registry.hpp"
#include "core/run/run.hpp"
#include "core/run/spec.hpp"

#ifndef EXAMPLE_CONFIG
#define EXAMPLE_CONFIG "spirals.json"
#endif

int main(int argc, char** argv) try {
  const std::string config = argc > 1 ? argv[1] : EXAMPLE_CONFIG;
  const std::string out = argc > 2 ? argv[2] : "runs/custom_activation";

  // 1. The hand-written derivative against central differences, in double, on nnlab's test inputs
  //    (edge points 0, ±1e-4, ±1, ±20, ±100 and uniform values).
  auto layer = nnlab::make_layer<double>("bent_identity", 7);
  const nnlab::GradCheckReport check = nnlab::check_layer(*layer, nnlab::gradcheck_input(16, 7, /*seed=*/1));
  std::printf("gradient check:\n%s", check.format().c_str());
  if (!check.ok()) {
    std::fprintf(stderr, "custom_activation: the gradient check of bent_identity failed\n");
    return 1;
  }

  // 2. Train from the config ("model.activation": "bent_identity" names the layer registered above).
  const nnlab::RunSpec spec = nnlab::load_config(config, {"output.dir=\"" + out + "\""});
  nnlab::RunCallbacks callbacks;
  int classes = 0;
  callbacks.on_start = [&](const nnlab::RunData& data, nnlab::Model<float>& model) {
    classes = data.train.classes;
    std::printf("model: %s\n", model.summary().c_str());
  };
  callbacks.on_epoch = [](const nnlab::EpochMetrics& m) {
    if (m.epoch % 10 == 0 || m.epoch == 1)
      std::printf("epoch %3d  train loss %.4f  train acc %.3f  test acc %.3f\n", m.epoch, m.train.loss,
                  m.train.accuracy, m.test.accuracy);
  };
  const std::vector<nnlab::EpochMetrics> history = nnlab::run_training(spec, callbacks);
  const double accuracy = history.back().test.accuracy;
  const double chance = 1.0 / classes;
  std::printf("final test accuracy %.3f (chance %.3f), written to %s\n", accuracy, chance, spec.output.dir.c_str());
  if (!(accuracy > 2 * chance)) {
    std::fprintf(stderr, "custom_activation: accuracy %.3f is not clearly above chance %.3f\n", accuracy, chance);
    return 1;
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "custom_activation: error: %s\n", e.what());
  return 1;
}
