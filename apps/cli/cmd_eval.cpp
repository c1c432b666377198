// nnlab eval DIR [--weights FILE] [--split test|validation|train] [--data PATH] [--set k=v ...]
// Loss, accuracy, per-class accuracy and the confusion matrix of a saved model.
#include <cstdio>
#include <numeric>

#include "apps/cli/command.hpp"
#include "core/parallel.hpp"
#include "core/run/data.hpp"
#include "core/run/loop.hpp"
#include "core/run/model_file.hpp"

namespace nnlab::app {
namespace {

struct EvalArgs {
  std::string dir, weights = "model.safetensors", split = "test", data;
  std::vector<std::string> overrides;
  int threads = 0;
};

void run_eval(EvalArgs a) {
  require_utf8("run directory", a.dir);
  require_utf8("--weights", a.weights);
  require_utf8("--data", a.data);
  if (!a.data.empty()) a.overrides.push_back("data.path=" + nlohmann::json(a.data).dump());
  SavedRun run = load_saved_run(a.dir, a.weights, a.overrides);
  set_threads(a.threads);
  const RunData data = load_run_data(run.spec.data, run.spec.train.seed);
  const Dataset* set = a.split == "test" ? &data.test : a.split == "train" ? &data.train : &data.validation;
  if (set->rows == 0) throw Error("the " + a.split + " split is empty (no data.validation_split in this run?)");
  if (set->features != run.model.in_features())
    throw ShapeError(set->name + " has " + std::to_string(set->features) + " features, the model takes " +
                     std::to_string(run.model.in_features()));

  const int K = run.info.classes;
  if (set->classes != K)
    throw ShapeError(set->name + " has " + std::to_string(set->classes) + " classes, the model has " + std::to_string(K) +
                     " outputs");
  std::vector<std::vector<long>> confusion(static_cast<std::size_t>(K), std::vector<long>(static_cast<std::size_t>(K), 0));
  // The same evaluation pass as training's (core/run/loop.hpp), its outputs counted per class.
  auto loss = make_loss<float>(run.spec.train.loss);
  Evaluator evaluator(run.model, *loss);
  const EvalResult r = evaluator.evaluate(*set, 1000, [&](const MatF& out, std::span<const std::int32_t> y) {
    for (Index i = 0; i < out.rows(); ++i) {
      Index pred;
      out.row(i).maxCoeff(&pred);
      ++confusion[static_cast<std::size_t>(y[static_cast<std::size_t>(i)])][static_cast<std::size_t>(pred)];
    }
  });
  std::printf("%s: %s split of %s, %ld samples\n", a.dir.c_str(), a.split.c_str(), set->name.c_str(), static_cast<long>(set->rows));
  std::printf("loss %.4f  accuracy %.4f\n\n", r.loss, r.accuracy);
  auto name = [&](int k) {
    return static_cast<std::size_t>(k) < run.info.class_names.size() ? run.info.class_names[static_cast<std::size_t>(k)] : std::to_string(k);
  };
  std::printf("confusion matrix (rows: true class, columns: predicted class)\n%14s", "");
  for (int k = 0; k < K; ++k) std::printf(" %6d", k);
  std::printf("   accuracy\n");
  for (int t = 0; t < K; ++t) {
    const auto& row = confusion[static_cast<std::size_t>(t)];
    const long total = std::accumulate(row.begin(), row.end(), 0L);
    std::printf("%2d %-11.11s", t, name(t).c_str());
    for (int k = 0; k < K; ++k) std::printf(" %6ld", row[static_cast<std::size_t>(k)]);
    std::printf("   %.4f\n", total ? static_cast<double>(row[static_cast<std::size_t>(t)]) / static_cast<double>(total) : 0.0);
  }
}

void setup(CLI::App& sub) {
  auto a = std::make_shared<EvalArgs>();
  sub.add_option("dir", a->dir, "run directory written by nnlab train")->required();
  sub.add_option("--weights", a->weights, "weights file in DIR (model.safetensors, best.safetensors) or a path");
  sub.add_option("--split", a->split, "which data to evaluate")->check(CLI::IsMember({"test", "validation", "train"}));
  sub.add_option("--data", a->data, "data directory (overrides data.path)");
  sub.add_option("--set", a->overrides, "override a value of the saved config, e.g. data.path=...");
  sub.add_option("--threads", a->threads, "CPU threads (0: all cores)");
  sub.callback([a] { run_eval(*a); });
}

}  // namespace

NNLAB_COMMAND("eval", "evaluate a saved model: loss, accuracy, confusion matrix", setup);

}  // namespace nnlab::app
