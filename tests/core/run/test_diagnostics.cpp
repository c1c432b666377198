// Diagnostics: each measured value on a tiny network where it is known by hand, and the guarantee
// that measuring does not change training.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/run/spec.hpp"
#include "core/run/diagnostics.hpp"
#include "core/model.hpp"
#include "core/run/run.hpp"
#include "support/temp_dir.hpp"

using namespace nnlab;
using namespace nnlab::test;
using json = nlohmann::json;

namespace {

// A model dense(in -> width) <act> dense(width -> 2) with the first layer's weight and bias set to
// constants, so the pre-activations are known: z_nj = w · Σ_i x_ni + b.
Model<float> two_layer(const json& activation, Index in, Index width, float w, float b) {
  json layers = json::array({{{"type", "dense"}, {"out_features", width}}, activation,
                             {{"type", "dense"}, {"out_features", 2}}});
  Model<float> m = build_model<float>(layers, in, 7);
  for (auto& p : m.layer(0).parameters()) p.value->setConstant(p.name == "weight" ? w : b);
  return m;
}

MatF batch(std::initializer_list<std::initializer_list<float>> rows) {
  MatF x(static_cast<Index>(rows.size()), static_cast<Index>(rows.begin()->size()));
  Index n = 0;
  for (const auto& r : rows) {
    Index j = 0;
    for (float v : r) x(n, j++) = v;
    ++n;
  }
  return x;
}

double extra(const EpochMetrics& m, const std::string& name) {
  for (const auto& [k, v] : m.extra)
    if (k == name) return v;
  FAIL("no column " << name);
  return 0;
}

}  // namespace

TEST_CASE("a ReLU layer whose pre-activations are all negative is 100% dead and 100% saturated") {
  // z = -1·(x1 + x2) - 1 < 0 for every sample with non-negative inputs.
  Model<float> m = two_layer("relu", 2, 3, -1.0f, -1.0f);
  const MatF x = batch({{0.0f, 0.0f}, {1.0f, 2.0f}, {3.0f, 0.5f}, {0.1f, 0.2f}});
  const std::vector<std::int32_t> y = {0, 1, 0, 1};
  const ProbeDiagnostics d = probe_diagnostics(m, x, y, "cross_entropy");
  REQUIRE(d.activations.size() == 1);
  const auto& a = d.activations[0];
  CHECK(a.layer == 1);
  CHECK(a.type == "relu");
  CHECK(a.elementwise);
  CHECK(a.dead == 1.0);
  CHECK(a.saturated == 1.0);
  CHECK(a.mean == 0.0);
  CHECK(a.std == 0.0);
  // No gradient reaches the first layer through dead units; the last layer's input is all zero too.
  REQUIRE(d.weights.size() == 2);
  CHECK(d.weights[0].grad_norm == 0.0);
  CHECK(d.weights[1].grad_norm == 0.0);
}

TEST_CASE("dead counts units that are inactive for every sample; saturated counts entries") {
  // Unit j gets z_nj = x_n1 - j: with inputs {0.5, 1.5, 2.5} unit 0 is active for all samples,
  // unit 1 for two, unit 2 for one, unit 3 for none: 1 of 4 units dead, 6 of 12 entries flat.
  json layers = json::array({{{"type", "dense"}, {"out_features", 4}}, "relu", {{"type", "dense"}, {"out_features", 2}}});
  Model<float> m = build_model<float>(layers, 1, 3);
  for (auto& p : m.layer(0).parameters()) {
    if (p.name == "weight") p.value->setOnes();
    else *p.value = batch({{0.0f, -1.0f, -2.0f, -3.0f}});
  }
  const MatF x = batch({{0.5f}, {1.5f}, {2.5f}});
  const std::vector<std::int32_t> y = {0, 1, 0};
  const ProbeDiagnostics d = probe_diagnostics(m, x, y, "cross_entropy");
  REQUIRE(d.activations.size() == 1);
  CHECK(d.activations[0].dead == doctest::Approx(0.25));
  CHECK(d.activations[0].saturated == doctest::Approx(6.0 / 12.0));
  // Outputs: unit0 {0.5,1.5,2.5}, unit1 {0,0.5,1.5}, unit2 {0,0,0.5}, unit3 {0,0,0}.
  const double values[] = {0.5, 1.5, 2.5, 0, 0.5, 1.5, 0, 0, 0.5, 0, 0, 0};
  double mean = 0, var = 0;
  for (double v : values) mean += v / 12.0;
  for (double v : values) var += (v - mean) * (v - mean) / 12.0;
  CHECK(d.activations[0].mean == doctest::Approx(mean));
  CHECK(d.activations[0].std == doctest::Approx(std::sqrt(var)));
}

TEST_CASE("a sigmoid layer with huge pre-activations is 100% saturated; with small ones not at all") {
  const MatF x = batch({{1.0f, 2.0f}, {-3.0f, 1.0f}, {2.0f, 2.0f}, {-1.0f, -4.0f}});
  const std::vector<std::int32_t> y = {0, 1, 1, 0};
  {
    Model<float> m = two_layer("sigmoid", 2, 5, 100.0f, 0.0f);  // |z| ≥ 100: σ' ≤ 4e-44
    const auto d = probe_diagnostics(m, x, y, "cross_entropy");
    CHECK(d.activations[0].saturated == 1.0);
  }
  {
    Model<float> m = two_layer("sigmoid", 2, 5, 0.01f, 0.0f);  // |z| ≤ 0.05: σ' ≈ 0.25
    const auto d = probe_diagnostics(m, x, y, "cross_entropy");
    CHECK(d.activations[0].saturated == 0.0);
    CHECK(d.activations[0].dead == 0.0);
    // Sigmoid outputs sit around 0.5, not 0: the "not zero-centred" claim in one number.
    CHECK(d.activations[0].mean == doctest::Approx(0.5).epsilon(0.01));
  }
}

TEST_CASE("LeakyReLU on all-negative inputs is neither dead nor saturated (slope exactly 0.01)") {
  Model<float> m = two_layer("leaky_relu", 2, 3, -1.0f, -1.0f);
  const MatF x = batch({{0.0f, 0.0f}, {1.0f, 2.0f}});
  const std::vector<std::int32_t> y = {0, 1};
  const auto d = probe_diagnostics(m, x, y, "cross_entropy");
  CHECK(d.activations[0].dead == 0.0);
  CHECK(d.activations[0].saturated == 0.0);
  // y = 0.01·z with z = -1 and -4: mean -0.025 over 6 entries.
  CHECK(d.activations[0].mean == doctest::Approx((3 * -0.01 + 3 * -0.04) / 6.0));
}

TEST_CASE("mean and std of a known batch through an identity activation") {
  // dense = identity map (W = I, b = 0), then the identity activation: the outputs are x.
  json layers = json::array({{{"type", "dense"}, {"out_features", 2}}, "identity", {{"type", "dense"}, {"out_features", 2}}});
  Model<float> m = build_model<float>(layers, 2, 1);
  for (auto& p : m.layer(0).parameters()) {
    if (p.name == "weight") p.value->setIdentity();
    else p.value->setZero();
  }
  const MatF x = batch({{1.0f, 2.0f}, {3.0f, 4.0f}});
  const std::vector<std::int32_t> y = {0, 1};
  const auto d = probe_diagnostics(m, x, y, "cross_entropy");
  CHECK(d.activations[0].mean == doctest::Approx(2.5));
  CHECK(d.activations[0].std == doctest::Approx(std::sqrt(1.25)));  // population std of {1,2,3,4}
  CHECK(d.activations[0].dead == 0.0);
  CHECK(d.activations[0].saturated == 0.0);
}

TEST_CASE("softmax is recognised as not element-wise: dead/sat are NaN, its mean is 1/width") {
  Model<float> m = two_layer("softmax", 2, 4, 0.3f, 0.1f);
  const MatF x = batch({{1.0f, -2.0f}, {0.5f, 0.25f}, {-1.0f, 3.0f}});
  const std::vector<std::int32_t> y = {0, 1, 0};
  const auto d = probe_diagnostics(m, x, y, "cross_entropy");
  REQUIRE(d.activations.size() == 1);
  CHECK_FALSE(d.activations[0].elementwise);
  CHECK(std::isnan(d.activations[0].dead));
  CHECK(std::isnan(d.activations[0].saturated));
  CHECK(d.activations[0].mean == doctest::Approx(0.25));  // every row sums to 1 over 4 units
}

TEST_CASE("the weight-gradient norm is the hand-computed ‖∂L/∂W‖; output activations are not hidden") {
  // One dense layer 2 -> 2 with W = 0, b = 0: logits 0, p = (½, ½), and for x = I, labels (0, 1):
  // ∂L/∂z = (p − onehot)/N = [[-¼, ¼], [¼, -¼]], ∂L/∂W = (∂L/∂z)ᵀ x, so ‖∂L/∂W‖ = √(4/16) = ½.
  json layers = json::array({{{"type", "dense"}, {"out_features", 2}}, "softmax"});
  Model<float> m = build_model<float>(layers, 2, 1);
  for (auto& p : m.layer(0).parameters()) p.value->setZero();
  const MatF x = batch({{1.0f, 0.0f}, {0.0f, 1.0f}});
  const std::vector<std::int32_t> y = {0, 1};
  // With mse on the softmax output instead, only check that the trailing softmax is not "hidden".
  const auto d_mse = probe_diagnostics(m, x, y, "mse");
  CHECK(d_mse.activations.empty());
  REQUIRE(d_mse.weights.size() == 1);

  json plain = json::array({{{"type", "dense"}, {"out_features", 2}}});
  Model<float> m2 = build_model<float>(plain, 2, 1);
  for (auto& p : m2.layer(0).parameters()) p.value->setZero();
  const auto d = probe_diagnostics(m2, x, y, "cross_entropy");
  REQUIRE(d.weights.size() == 1);
  CHECK(d.weights[0].grad_norm == doctest::Approx(0.5));
  CHECK(d.loss == doctest::Approx(std::log(2.0)));
}

namespace {

RunSpec spiral_config(const fs::path& out, const std::string& activation) {
  json doc = json::parse(R"({
    "model": {"hidden": [16, 16]},
    "data": {"dataset": "spirals", "test_samples": 200},
    "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9},
    "train": {"epochs": 4, "batch_size": 32, "seed": 3, "threads": 1}
  })");
  doc["model"]["activation"] = activation;
  doc["output"]["dir"] = out.string();
  return resolve_config(doc, "spirals.json");
}

}  // namespace

TEST_CASE("recording diagnostics does not change training (bit-identical metrics), and names its columns") {
  for (const std::string act : {"relu", "tanh", "prelu"}) {
    CAPTURE(act);
    TempDir a("diagnostics"), b("diagnostics");
    RunSpec plain = spiral_config(a.path, act), diag = spiral_config(b.path, act);
    const auto h1 = run_training(plain);
    RunCallbacks cb;
    cb.on_start = [](const RunData&, Model<float>& model) { start_diagnostics(model); };
    cb.on_epoch_end = [&](EpochMetrics& m, Model<float>& model, const RunData& data) {
      add_diagnostics(m, model, data, diag.train.loss);
    };
    const auto h2 = run_training(diag, cb);
    REQUIRE(h1.size() == h2.size());
    for (std::size_t e = 0; e < h1.size(); ++e) {
      CHECK(h1[e].train.loss == h2[e].train.loss);
      CHECK(h1[e].train.accuracy == h2[e].train.accuracy);
      CHECK(h1[e].test.loss == h2[e].test.loss);
      CHECK(h1[e].test.accuracy == h2[e].test.accuracy);
    }
    std::vector<std::string> names;
    for (const auto& [k, v] : h2.back().extra) names.push_back(k);
    std::vector<std::string> expected = {"act1_mean", "act1_std", "act1_dead", "act1_sat",
                                         "act2_mean", "act2_std", "act2_dead", "act2_sat"};
    // PReLU's one learnable slope per layer, after the activation statistics (one element: no _std).
    if (act == "prelu") expected.insert(expected.end(), {"act1_param_weight", "act2_param_weight"});
    expected.insert(expected.end(), {"w1_grad", "w2_grad", "w3_grad", "act_seconds", "act_share", "test_samples", "val_samples"});
    CHECK(names == expected);
    CHECK(extra(h2.back(), "test_samples") == static_cast<double>(h2.back().test.samples));
    CHECK(extra(h2.back(), "test_samples") > 0);
    CHECK(extra(h2.back(), "val_samples") == 0);  // no validation split here
    // Timers were on from the start, so even epoch 1 has its activation time.
    for (const auto& m : h2) {
      CHECK(extra(m, "act_seconds") > 0);
      // (Not compared with m.seconds: act_seconds apportions the timed forward passes between training
      // and evaluation by sample count, which a preempted evaluation pass skews; under load, and
      // under ASan, it exceeded a 3 ms training pass. act_share below compares like with like.)
      CHECK(extra(m, "act_share") > 0);
      CHECK(extra(m, "act_share") < 1);
      CHECK(extra(m, "w1_grad") > 0);
    }
    // metrics.csv carries the columns.
    CHECK(metrics_csv_header(h2.front()).find("act1_dead") != std::string::npos);
  }
}

TEST_CASE("diagnostics leave dropout's random stream and batchnorm's running statistics alone") {
  // Explicit layers: BatchNorm has a 1-D "weight" (not a weight matrix), Dropout draws random
  // numbers in training mode only. Both must come out of the probe untouched.
  json doc = json::parse(R"({
    "model": {"layers": [{"type": "dense", "out_features": 16}, "batchnorm", "relu", {"type": "dropout", "p": 0.3},
                         {"type": "dense", "out_features": 16}, "tanh", {"type": "dense", "out_features": 3}]},
    "data": {"dataset": "spirals", "test_samples": 200},
    "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9},
    "train": {"epochs": 4, "batch_size": 32, "seed": 3, "threads": 1}
  })");
  TempDir a("diagnostics"), b("diagnostics");
  doc["output"]["dir"] = a.path.string();
  RunSpec plain = resolve_config(doc, "bn.json");
  doc["output"]["dir"] = b.path.string();
  RunSpec diag = resolve_config(doc, "bn.json");
  const auto h1 = run_training(plain);
  RunCallbacks cb;
  cb.on_start = [](const RunData&, Model<float>& model) { start_diagnostics(model); };
  cb.on_epoch_end = [&](EpochMetrics& m, Model<float>& model, const RunData& data) { add_diagnostics(m, model, data, diag.train.loss); };
  const auto h2 = run_training(diag, cb);
  REQUIRE(h1.size() == h2.size());
  for (std::size_t e = 0; e < h1.size(); ++e) {
    CHECK(h1[e].train.loss == h2[e].train.loss);
    CHECK(h1[e].test.accuracy == h2[e].test.accuracy);
  }
  std::vector<std::string> names;
  for (const auto& [k, v] : h2.back().extra) names.push_back(k);
  const std::vector<std::string> expected = {"act1_mean", "act1_std", "act1_dead",   "act1_sat",    "act2_mean",
                                             "act2_std",  "act2_dead", "act2_sat",    "w1_grad",     "w2_grad",
                                             "w3_grad",   "act_seconds", "act_share", "test_samples", "val_samples"};
  CHECK(names == expected);  // no gradient column for batchnorm's scale
}

TEST_CASE("without start_diagnostics the first epoch has no activation time, later epochs do") {
  TempDir dir("diagnostics");
  RunSpec cfg = spiral_config(dir.path, "elu");
  RunCallbacks cb;
  cb.on_epoch_end = [&](EpochMetrics& m, Model<float>& model, const RunData& data) {
    add_diagnostics(m, model, data, cfg.train.loss);
  };
  const auto h = run_training(cfg, cb);
  CHECK(std::isnan(extra(h[0], "act_seconds")));
  CHECK(std::isnan(extra(h[0], "act_share")));
  CHECK(extra(h[1], "act_seconds") > 0);
  CHECK(extra(h[3], "act_share") > 0);
}

TEST_CASE("act_seconds is measured when evaluation handles 10x more samples than training") {
  TempDir dir("diagnostics");
  json doc = json::parse(R"({
    "model": {"hidden": [64, 64], "activation": "elu"},
    "data": {"dataset": "spirals", "samples": 300, "test_samples": 3000},
    "optimizer": {"type": "sgd", "lr": 0.05},
    "train": {"epochs": 3, "batch_size": 32, "seed": 3, "threads": 1}
  })");
  doc["output"]["dir"] = dir.path.string();
  RunSpec cfg = resolve_config(doc, "eval_heavy.json");
  RunCallbacks cb;
  cb.on_start = [](const RunData&, Model<float>& model) { start_diagnostics(model); };
  cb.on_epoch_end = [&](EpochMetrics& m, Model<float>& model, const RunData& data) { add_diagnostics(m, model, data, cfg.train.loss); };
  const auto h = run_training(cfg, cb);
  for (const auto& m : h) {
    CHECK(m.test.samples == 10 * m.train.samples);
    CHECK(extra(m, "act_seconds") > 0);
    // Not asserted: act_seconds < m.seconds. Evaluation's forward time is apportioned by sample
    // count (an estimate), so on a loaded machine the comparison of two ~1 ms timings is noise.
  }
}

TEST_CASE("the probe batch is the first 512 test samples, whatever the training seed") {
  TempDir dir("diagnostics");
  RunSpec c1 = spiral_config(dir.path, "relu");
  RunSpec c2 = spiral_config(dir.path, "relu");
  c2.train.seed = 99;
  MatF x1, x2;
  std::vector<std::int32_t> y1, y2;
  probe_batch(load_run_data(c1.data, c1.train.seed), x1, y1);
  probe_batch(load_run_data(c2.data, c2.train.seed), x2, y2);
  CHECK(x1.rows() == kProbeSamples);
  CHECK(x1 == x2);
  CHECK(y1 == y2);
  const RunData data = load_run_data(c1.data, c1.train.seed);
  MatF first;
  std::vector<std::int32_t> yf;
  std::vector<Index> idx = {0, 511};
  data.test.gather(idx, first, yf);
  CHECK(first.row(0) == x1.row(0));
  CHECK(first.row(1) == x1.row(511));
}

TEST_CASE("after a convolution a unit is a channel: dead when no position of any sample passes a gradient") {
  // conv2d 1 -> 3 channels (1x1 kernel), relu, flatten, dense. Channel 0 has weight -1 and bias -1
  // (all negative for non-negative inputs: dead), channel 1 weight +1 (alive wherever x > 0),
  // channel 2 weight +1 but bias -2.5 (alive only at the one position where x = 3).
  Model<float> m = build_model<float>(json::parse(R"([{"type": "conv2d", "out_channels": 3, "kernel_size": 1}, "relu",
                                                     "flatten", {"type": "dense", "out_features": 2}])"),
                                      Shape{1, 2, 2}, 7);
  auto ps = m.layer(0).parameters();
  *ps[0].value = (MatF(3, 1) << -1, 1, 1).finished();
  *ps[1].value = (MatF(1, 3) << -1, 0, -2.5f).finished();
  const MatF x = batch({{0.0f, 1.0f, 2.0f, 0.5f}, {1.0f, 0.0f, 3.0f, 0.0f}});
  const std::vector<std::int32_t> y = {0, 1};
  const ProbeDiagnostics d = probe_diagnostics(m, x, y, "cross_entropy");
  REQUIRE(d.activations.size() == 1);
  // channel 0 dead; channel 2 is alive (one position of one sample), though 7 of its 8 entries are flat
  CHECK(d.activations[0].dead == doctest::Approx(1.0 / 3.0));
  // flat entries: channel 0 all 8, channel 1 where x = 0 (3 of 8), channel 2 all but one (7 of 8)
  CHECK(d.activations[0].saturated == doctest::Approx(18.0 / 24.0));
  // both weight matrices (the 4-D convolution weight and the dense one) get a gradient norm
  REQUIRE(d.weights.size() == 2);
  CHECK(d.weights[0].type == "conv2d");
  CHECK(d.weights[0].grad_norm > 0);
}

TEST_CASE("learnable activation parameters are recorded per hidden layer: mean, and spread when there are several") {
  // spirals: dense 2 -> 4, PReLU with one slope per unit (set by hand), dense 4 -> 4, SMU (mu set by
  // hand), dense -> 3. The columns carry the values, and nothing else of the model moves.
  TempDir dir("diagnostics");
  RunSpec cfg = spiral_config(dir.path, "relu");
  const RunData data = load_run_data(cfg.data, cfg.train.seed);
  Model<float> m = build_model<float>(
      json::parse(R"([{"type": "dense", "out_features": 4}, {"type": "prelu", "num_parameters": 4},
                     {"type": "dense", "out_features": 4}, {"type": "smu", "mu": 2.5},
                     {"type": "dense", "out_features": 3}])"),
      Shape{2}, 7);
  *m.layer(1).parameters()[0].value = (MatF(1, 4) << 0.1f, 0.2f, 0.3f, 0.6f).finished();
  EpochMetrics e;
  e.test.samples = data.test.rows;
  add_diagnostics(e, m, data, "cross_entropy");
  CHECK(extra(e, "act1_param_weight") == doctest::Approx(0.3));
  // population std of (0.1, 0.2, 0.3, 0.6): deviations −0.2, −0.1, 0, 0.3 → sqrt(0.14/4)
  CHECK(extra(e, "act1_param_weight_std") == doctest::Approx(std::sqrt(0.14 / 4)));
  CHECK(extra(e, "act2_param_mu") == doctest::Approx(2.5));
  CHECK(extra(e, "test_samples") == static_cast<double>(data.test.rows));
  // The reader finds both parameters and pairs the spread with its mean.
  std::vector<std::string> columns;
  for (const auto& [k, v] : e.extra) columns.push_back(k);
  const auto params = activation_param_columns(columns);
  REQUIRE(params.size() == 2);
  CHECK(params[0].k == 1);
  CHECK(params[0].name == "weight");
  CHECK(params[0].std_column == "act1_param_weight_std");
  CHECK(params[1].k == 2);
  CHECK(params[1].name == "mu");
  CHECK(params[1].std_column.empty());
  // Headers written by hand or by another tool: no overflow, no false matches.
  CHECK(activation_param_columns({"act99999999999999999999_param_mu", "act_param_mu", "act1_param_", "w1_grad"}).empty());
}
