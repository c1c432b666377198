// Sweep experiment files (apps/sweep/experiment.cpp): validation with the nearest valid key,
// expansion to the cross product with readable ids, and the same start for every activation of a seed.
#include <doctest/doctest.h>

#include <chrono>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "apps/sweep/experiment.hpp"
#include "core/error.hpp"
#include "core/loss.hpp"
#include "core/model.hpp"
#include "core/optimizer.hpp"
#include "core/run/spec.hpp"
#include "core/run/run.hpp"
#include "core/run/setup.hpp"
#include "support/sweep.hpp"
#include "support/temp_dir.hpp"

using namespace nnlab;
using namespace nnlab::report;
using namespace nnlab::test;
using json = nlohmann::json;

TEST_CASE("an experiment expands to the cross product, settings-major with seeds innermost, with readable ids") {
  TempDir dir("compare");
  const Experiment e = make_experiment(dir.path, R"({
    "base": "base.json",
    "set": {"train.epochs": 2},
    "activations": ["relu", {"type": "elu", "alpha": 0.5}],
    "sweep": {"optimizer.lr": [0.1, 1e30], "model.hidden": [[8], [8, 8]]},
    "seeds": [3, 4]
  })");
  CHECK(e.base == fs::absolute(dir.path / "base.json").lexically_normal());
  CHECK(e.target_accuracy == 0.85);  // the default
  const Plan p = expand(e);
  REQUIRE(p.runs.size() == 2 * 2 * 2 * 2);
  CHECK(p.settings.size() == 8);
  // Axes: the activation, then the sweep in file order (not alphabetical).
  CHECK(p.axes == std::vector<std::string>{"activation", "optimizer.lr", "model.hidden"});
  CHECK(p.settings[0] == "relu, lr=0.1, hidden=[8]");
  CHECK(p.settings[1] == "relu, lr=0.1, hidden=[8,8]");
  CHECK(p.settings[2] == "relu, lr=1e+30, hidden=[8]");
  CHECK(p.settings[7] == "elu(alpha=0.5), lr=1e+30, hidden=[8,8]");
  CHECK(p.runs[0].id == "relu_lr0.1_hidden8_s3");
  CHECK(p.runs[1].id == "relu_lr0.1_hidden8_s4");
  CHECK(p.runs[15].id == "elu-alpha0.5_lr1e30_hidden8x8_s4");
  CHECK(p.runs[15].values == std::vector<std::string>{"elu(alpha=0.5)", "1e+30", "[8,8]"});
  CHECK(p.runs[15].seed == 4);
  CHECK(p.runs[15].setting == 7);
  CHECK(p.runs[15].overrides == std::vector<std::string>{"train.epochs=2", R"(model.activation={"alpha":0.5,"type":"elu"})",
                                                          "optimizer.lr=1e+30", "model.hidden=[8,8]", "train.seed=4"});
  std::set<std::string> ids;
  for (const auto& r : p.runs) ids.insert(r.id);
  CHECK(ids.size() == p.runs.size());
  // The overrides give the intended config.
  const RunSpec cfg = load_config(e.base.string(), p.runs[15].overrides);
  CHECK(cfg.train.seed == 4);
  CHECK(cfg.train.epochs == 2);
  CHECK(cfg.optimizer.to_json()["lr"].get<double>() == 1e30);
  CHECK(cfg.to_json()["model"]["activation"]["type"] == "elu");
  CHECK(cfg.to_json()["model"]["activation"]["alpha"].get<double>() == 0.5);
}

TEST_CASE("without axes there is one setting; without seeds the base config's seed is used") {
  TempDir dir("compare");
  const Plan p = expand(make_experiment(dir.path, R"({"base": "base.json"})"));
  REQUIRE(p.runs.size() == 1);
  CHECK(p.settings == std::vector<std::string>{"base"});
  CHECK(p.runs[0].id == "s1");
  CHECK(p.runs[0].overrides == std::vector<std::string>{"train.seed=1"});
}

TEST_CASE("ids stay unique when distinct values have the same slug") {
  TempDir dir("compare");
  const Plan p = expand(make_experiment(dir.path, R"({"base": "base.json", "sweep": {"model.activation": ["relu", {"type": "relu"}]}})"));
  REQUIRE(p.runs.size() == 2);
  CHECK(p.runs[0].id == "activationrelu_s1");
  CHECK(p.runs[1].id == "activationrelu_s1-2");
}

TEST_CASE("experiment validation names the problem, with the nearest valid key") {
  TempDir dir("compare");
  CHECK(error_of(dir.path, R"({"base": "base.json", "activation": ["relu"]})").find("activation: unknown key (did you mean 'activations'?)") !=
        std::string::npos);
  CHECK(error_of(dir.path, R"({"base": "nope.json"})").find("base: ") != std::string::npos);
  CHECK(error_of(dir.path, R"({"activations": ["relu"]})").find("base") != std::string::npos);
  CHECK(error_of(dir.path, R"({"base": "base.json", "activations": [{"type": "dense", "out_features": 4}]})").find("'dense' is not an activation") !=
        std::string::npos);
  CHECK(error_of(dir.path, R"({"base": "base.json", "activations": ["relux"]})").find("did you mean 'relu'") != std::string::npos);
  CHECK(error_of(dir.path, R"({"base": "base.json", "activations": [{"type": "elu", "alpa": 1}]})").find("alpha") !=
        std::string::npos);
  CHECK(error_of(dir.path, R"({"base": "base.json", "activations": []})").find("non-empty") != std::string::npos);
  CHECK(error_of(dir.path, R"({"base": "base.json", "sweep": {"optimizer.lr": []}})").find("sweep.optimizer.lr") !=
        std::string::npos);
  CHECK(error_of(dir.path, R"({"base": "base.json", "sweep": {"optimizer.lr": 0.1}})").find("non-empty list") !=
        std::string::npos);
  CHECK(error_of(dir.path, R"({"base": "base.json", "activations": ["relu"], "sweep": {"model.activation": ["tanh"]}})")
            .find("already swept") != std::string::npos);
  CHECK(error_of(dir.path, R"({"base": "base.json", "seeds": [1, 1]})").find("listed twice") != std::string::npos);
  CHECK(error_of(dir.path, R"({"base": "base.json", "seeds": [-1]})").find("seeds[0]") != std::string::npos);
  CHECK(error_of(dir.path, R"({"base": "base.json", "target_accuracy": 85})").find("target_accuracy") != std::string::npos);
  // A typo in a swept path fails before anything runs, naming the run and the nearest key.
  const std::string typo = error_of(dir.path, R"({"base": "base.json", "sweep": {"optimizer.lrr": [0.1]}})");
  CHECK(typo.find("run lrr0.1_s1") != std::string::npos);
  CHECK(typo.find("did you mean 'lr'") != std::string::npos);
  // So does a value the config rejects.
  CHECK(error_of(dir.path, R"({"base": "base.json", "set": {"train.epochs": 0}})").find("train.epochs") != std::string::npos);
}

TEST_CASE("for one seed every activation starts from the same weights and sees the same data order") {
  TempDir dir("compare");
  const Experiment e = make_experiment(dir.path, R"({"base": "base.json", "activations": ["relu", "tanh", "selu"], "seeds": [1, 2]})");
  const Plan p = expand(e);
  struct Start {
    std::vector<MatF> weights;
    std::vector<std::vector<Index>> orders;  // epochs 1..3
  };
  auto start = [&](const PlannedRun& r) {
    const RunSpec cfg = load_config(e.base.string(), r.overrides);
    const RunData data = load_run_data(cfg.data, cfg.train.seed);
    TrainingSetup setup = make_training(cfg, data.train);  // what nnlab train builds
    Start s;
    for (const auto& prm : setup.model.parameters()) s.weights.push_back(*prm.value);
    Trainer trainer(setup.model, *setup.loss, *setup.optimizer, cfg.train);
    for (int epoch = 1; epoch <= 3; ++epoch) s.orders.push_back(trainer.epoch_order(data.train.rows, epoch));
    return s;
  };
  const Start relu1 = start(p.runs[0]), relu2 = start(p.runs[1]), tanh1 = start(p.runs[2]), selu1 = start(p.runs[4]);
  REQUIRE(p.runs[2].id == "tanh_s1");
  REQUIRE(relu1.weights.size() == 6);
  for (std::size_t i = 0; i < relu1.weights.size(); ++i) {
    CHECK(relu1.weights[i] == tanh1.weights[i]);
    CHECK(relu1.weights[i] == selu1.weights[i]);
  }
  CHECK(relu1.weights[0] != relu2.weights[0]);
  CHECK(relu1.orders == tanh1.orders);
  CHECK(relu1.orders == selu1.orders);
  CHECK(relu1.orders != relu2.orders);
  CHECK(relu1.orders[0] != relu1.orders[1]);  // reshuffled every epoch
}

TEST_CASE("an experiment nested deeper than the JSON depth limit is refused with the file named, not a stack overflow") {
  TempDir dir("compare");
  // 100,000 levels: nlohmann parses it iteratively, but copying or printing it recurses per level.
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::string msg = error_of(dir.path, R"({"base": "base.json", "sweep": {"model.hidden": )" + deep + "}}");
  CHECK(msg.find("exp.json: not valid JSON") != std::string::npos);
  CHECK(msg.find("nested more than 64 levels deep") != std::string::npos);
  CHECK(msg.find("[json.exception.") == std::string::npos);  // the library's tag is not for users
  // Up to the limit it is just JSON (and then a value the config rejects, named).
  const std::string shallow = std::string(30, '[') + "1" + std::string(30, ']');
  const std::string ok_json = error_of(dir.path, R"({"base": "base.json", "sweep": {"model.hidden": )" + shallow + "}}");
  CHECK(ok_json.find("not valid JSON") == std::string::npos);
  CHECK(ok_json.find("model.hidden") != std::string::npos);
}

TEST_CASE("an experiment file that is not a regular file, or a base config that is not one, is refused by name") {
  TempDir dir("compare");
  fs::create_directories(dir.path / "exp.d");
  CHECK_THROWS_WITH_AS(load_experiment((dir.path / "exp.d").string()), doctest::Contains("exp.d: not a regular file"), ConfigError);
  fs::create_directories(dir.path / "base.d");
  write_text(dir.path / "exp.json", R"({"base": "base.d"})");
  CHECK_THROWS_WITH_AS(load_experiment((dir.path / "exp.json").string()), doctest::Contains("base: "), ConfigError);
  CHECK_THROWS_WITH_AS(load_experiment((dir.path / "exp.json").string()), doctest::Contains("is not a regular file"), ConfigError);
  CHECK_THROWS_WITH_AS(load_experiment("/dev/zero"), doctest::Contains("/dev/zero: not a regular file"), ConfigError);
}

namespace {

std::string numbers(int n) {
  std::string s = "[";
  for (int i = 0; i < n; ++i) s += (i ? "," : "") + std::to_string(i + 1);
  return s + "]";
}

}  // namespace

TEST_CASE("an absurd plan is refused before it is built, naming its axes, their sizes and the limit") {
  TempDir dir("compare");
  // 10 activations x 100 learning rates x 100 widths x 10 seeds = 10^6 runs (took 47 s and 760 MB to build).
  const std::string acts = R"(["relu","tanh","elu","selu","gelu","silu","mish","softplus","sigmoid","softsign"])";
  std::string lrs = "[";
  for (int i = 0; i < 100; ++i) lrs += (i ? "," : "") + std::to_string(0.001 * (i + 1));
  lrs += "]";
  std::string widths = "[";
  for (int i = 0; i < 100; ++i) widths += (i ? ",[" : "[") + std::to_string(i + 1) + "]";
  widths += "]";
  const std::string exp = R"({"base": "base.json", "activations": )" + acts + R"(, "sweep": {"optimizer.lr": )" + lrs +
                          R"(, "model.hidden": )" + widths + R"(}, "seeds": )" + numbers(10) + "}";
  write_text(dir.path / "base.json", kBase);
  write_text(dir.path / "exp.json", exp);
  const auto start = std::chrono::steady_clock::now();
  try {
    load_experiment((dir.path / "exp.json").string());
    FAIL("a 10^6-run experiment was accepted");
  } catch (const ConfigError& e) {
    // Refused from the list sizes, quickly: the plan is never built (it took 47 s and 760 MB).
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
    const std::string m = e.what();
    CHECK(m.find("exp.json: the plan has 1000000 runs") != std::string::npos);
    CHECK(m.find("(activations 10 x sweep.optimizer.lr 100 x sweep.model.hidden 100 x seeds 10)") != std::string::npos);
    CHECK(m.find("more than the limit of 10000 runs") != std::string::npos);
  }
  // At the limit it is a plan.
  write_text(dir.path / "exp.json", R"({"base": "base.json", "sweep": {"optimizer.lr": )" + numbers(1000) +
                                        R"(}, "seeds": )" + numbers(10) + "}");
  const Experiment at_limit = load_experiment((dir.path / "exp.json").string());
  CHECK(planned_runs(at_limit) == max_planned_runs);
  // One list alone over the limit is refused before its values are validated.
  write_text(dir.path / "exp.json", R"({"base": "base.json", "seeds": )" + numbers(10001) + "}");
  CHECK_THROWS_WITH_AS(load_experiment((dir.path / "exp.json").string()),
                       doctest::Contains("seeds: 10001 values make more than the limit of 10000 runs"), ConfigError);
  // A product past 2^64 does not wrap around to something small.
  Experiment huge = at_limit;
  huge.sweep.assign(5, Axis{"optimizer.lr", std::vector<json>(10000, json(0.1))});
  CHECK(planned_runs(huge) == std::numeric_limits<std::size_t>::max());
  CHECK_THROWS_WITH_AS(expand(huge), doctest::Contains("more than 10^19 runs"), ConfigError);
}
