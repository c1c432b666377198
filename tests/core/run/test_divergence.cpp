// Divergence: a NaN/Inf in the loss or the gradients stops the run naming the epoch, the batch and
// the first layer with a non-finite value, keeps the last good checkpoint and writes no NaN; with
// train.on_nonfinite=skip such batches are skipped (no update), counted, and the run stops only
// after train.max_consecutive_skips of them in a row.
#include <doctest/doctest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/run/spec.hpp"
#include "core/dataset.hpp"
#include "core/registry.hpp"
#include "core/io/safetensors.hpp"
#include "core/run/run.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"
#include "support/tensors.hpp"
#include "support/text.hpp"

using namespace nnlab;
using namespace nnlab::test;
using json = nlohmann::json;

namespace {

// A data set for these tests: `rows` points of 2 features, labels alternating 0/1. Rows listed in
// nan_rows hold a NaN; rows in marker_rows have the first feature 42, which makes the test layer
// below produce a NaN weight gradient (a finite loss with non-finite gradients).
DataSplits load_marked(const Args& a) {
  Dataset d;
  d.name = "marked/train";
  d.rows = a.integer("rows");
  d.features = 2;
  d.classes = 2;
  d.shape = {2};
  for (Index i = 0; i < d.rows; ++i) {
    const float t = static_cast<float>(i) / static_cast<float>(d.rows);
    d.values.push_back(i % 2 ? t : -t);
    d.values.push_back(i % 2 ? 1.0f - t : t - 1.0f);
    d.labels.push_back(static_cast<std::int32_t>(i % 2));
  }
  for (double r : a.numbers("nan_rows")) d.values[static_cast<std::size_t>(r) * 2 + 1] = std::nanf("");
  for (double r : a.numbers("marker_rows")) d.values[static_cast<std::size_t>(r) * 2] = 42.0f;
  DataSplits s;
  s.test = d;
  s.test.name = "marked/test";
  for (double r : a.numbers("nan_rows")) s.test.values[static_cast<std::size_t>(r) * 2 + 1] = 0.0f;
  for (double r : a.numbers("marker_rows")) s.test.values[static_cast<std::size_t>(r) * 2] = 0.0f;
  s.train = std::move(d);
  return s;
}

// y = w·x with one learnable scalar w (init 1); its gradient is NaN for a batch holding a row whose
// first input is 42. Deterministic, so re-running the batch (the diagnosis) sees the same NaN.
template <typename T>
class GradFault final : public Layer<T> {
 public:
  GradFault(const Args&, const BuildContext& c) : n_(c.in_features()) {
    w_.setOnes(1, 1), dw_.setZero(1, 1);
    this->set_shapes(c.input, c.input);
  }
  std::string type() const override { return "test_grad_fault"; }
  const Mat<T>& forward(const Mat<T>& x, bool) override {
    x_ = &x;
    y_ = x * w_(0, 0);
    return y_;
  }
  const Mat<T>& backward(const Mat<T>& dy) override {
    dw_(0, 0) = (dy.array() * x_->array()).sum();
    for (Index r = 0; r < x_->rows(); ++r)
      if ((*x_)(r, 0) == T(42)) dw_(0, 0) = std::numeric_limits<T>::quiet_NaN();
    dx_ = dy * w_(0, 0);
    return dx_;
  }
  std::vector<Param<T>> parameters() override { return {{"weight", &w_, &dw_, {1}, false}}; }

 private:
  Index n_;
  const Mat<T>* x_ = nullptr;
  Mat<T> w_, dw_, y_, dx_;
};

}  // namespace

NNLAB_REGISTER_DATASET(load_marked, "test-marked", "test data with NaN rows and gradient-fault markers",
                       {integer("rows", 64, "samples", 2), numbers("nan_rows", {}, "rows holding a NaN"),
                        numbers("marker_rows", {}, "rows whose first feature is 42")});
NNLAB_REGISTER_LAYER(GradFault, {.name = "test_grad_fault",
                                 .kind = LayerKind::layer,
                                 .summary = "test: NaN weight gradient on marked rows",
                                 .params = {}});

namespace {

// Batches of 8 in order (no shuffling): row r is in batch r / 8 + 1 of 8.
json marked_config(const fs::path& out, const json& data, const json& layers) {
  json doc = {{"model", {{"layers", layers}}},
              {"data", data},
              {"optimizer", {{"type", "sgd"}, {"lr", 0.1}}},
              {"train", {{"epochs", 2}, {"batch_size", 8}, {"shuffle", false}, {"seed", 1}, {"threads", 1}}},
              {"output", {{"dir", out.string()}}}};
  doc["data"]["dataset"] = "test-marked";
  return doc;
}

const json mlp = json::array({json{{"type", "dense"}, {"out_features", 8}}, "relu", json{{"type", "dense"}, {"out_features", 2}}});
const json fault_mlp = json::array({json{{"type", "test_grad_fault"}}, json{{"type", "dense"}, {"out_features", 8}}, "relu",
                                    json{{"type", "dense"}, {"out_features", 2}}});

std::string diverged_message(RunSpec& cfg, const RunCallbacks& cb = {}) {
  try {
    run_training(cfg, cb);
  } catch (const DivergedError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a NaN in the data: stop names the batch and the input; skip skips exactly those batches") {
  TempDir dir("nan-data");
  // Rows 19 and 50 hold a NaN: batches 3 and 7 of 8.
  const json data = {{"rows", 64}, {"nan_rows", {19, 50}}};
  RunSpec stop = resolve_config(marked_config(dir / "stop", data, mlp), "t.json");
  const std::string msg = diverged_message(stop);
  CHECK(msg.rfind("training diverged at epoch 1, batch 3 of 8: the loss is nan; first non-finite value: the input batch itself", 0) == 0);
  CHECK_FALSE(fs::exists(dir / "stop/checkpoint.safetensors"));
  CHECK_FALSE(fs::exists(dir / "stop/model.safetensors"));

  json doc = marked_config(dir / "skip", data, mlp);
  doc["train"]["on_nonfinite"] = "skip";
  RunSpec skip = resolve_config(doc, "t.json");
  std::vector<std::string> skipped;
  RunCallbacks cb;
  cb.loop.on_skip = [&](const std::string& s) { skipped.push_back(s); };
  const auto history = run_training(skip, cb);
  REQUIRE(history.size() == 2);
  REQUIRE(skipped.size() == 4);  // two batches in each of two epochs
  CHECK(skipped[0].rfind("epoch 1, batch 3 of 8: the loss is nan; first non-finite value: the input batch itself", 0) == 0);
  CHECK(skipped[0].find("batch skipped") != std::string::npos);
  CHECK(skipped[1].rfind("epoch 1, batch 7 of 8", 0) == 0);
  CHECK(skipped[3].rfind("epoch 2, batch 7 of 8", 0) == 0);
  CHECK(history[0].train.skipped == 2);
  CHECK(history[0].train.samples == 48);  // the skipped batches count in neither loss nor accuracy
  CHECK(std::isfinite(history[1].train.loss));
  CHECK(file_finite(dir / "skip/model.safetensors"));
  const auto csv = lines_of(slurp(dir / "skip/metrics.csv"));
  REQUIRE(csv.size() == 3);
  CHECK(csv[0].substr(csv[0].rfind(',') + 1) == "skipped_batches");
  CHECK(csv[1].substr(csv[1].rfind(',') + 1) == "2");
  CHECK(slurp(dir / "skip/metrics.jsonl").find("\"skipped_batches\":2") != std::string::npos);
}

TEST_CASE("skip mode restores BatchNorm's running statistics after a skipped batch") {
  TempDir dir("nan-batchnorm");
  json layers = json::array({json{{"type", "dense"}, {"out_features", 8}}, "batchnorm", "relu",
                             json{{"type", "dense"}, {"out_features", 2}}});
  json doc = marked_config(dir / "run", {{"rows", 64}, {"nan_rows", {3}}}, layers);
  doc["train"]["on_nonfinite"] = "skip";
  RunSpec cfg = resolve_config(doc, "t.json");
  const auto history = run_training(cfg);
  CHECK(history.back().train.skipped == 1);
  const auto t = load_safetensors(dir / "run/model.safetensors").tensors;
  CHECK(t.at("layers.1.num_batches_tracked").data[0] == 14.0f);  // 2 epochs x 7 batches that counted
  CHECK(file_finite(dir / "run/model.safetensors"));
  CHECK(std::isfinite(history.back().test.loss));
}

TEST_CASE("finite loss, NaN gradients: found by skip mode and by clipping; in stop mode the next batch names the weights") {
  TempDir dir("nan-grad");
  // Row 20 is a marker: batch 3 of 8 has a finite loss but a NaN gradient in layer 0.
  const json data = {{"rows", 64}, {"marker_rows", {20}}};

  json doc = marked_config(dir / "skip", data, fault_mlp);
  doc["train"]["on_nonfinite"] = "skip";
  RunSpec skip = resolve_config(doc, "t.json");
  std::vector<std::string> skipped;
  RunCallbacks cb;
  cb.loop.on_skip = [&](const std::string& s) { skipped.push_back(s); };
  run_training(skip, cb);
  REQUIRE(skipped.size() == 2);
  CHECK(skipped[0].rfind("epoch 1, batch 3 of 8: the gradients are not finite (the loss is ", 0) == 0);
  CHECK(skipped[0].find("first non-finite value: the gradient of the weight of layer 0 (test_grad_fault) in the backward pass") !=
        std::string::npos);
  CHECK(file_finite(dir / "skip/model.safetensors"));

  doc = marked_config(dir / "clip", data, fault_mlp);
  doc["train"]["clip_grad_norm"] = 5.0;
  RunSpec clip = resolve_config(doc, "t.json");
  std::string msg = diverged_message(clip);
  CHECK(msg.rfind("training diverged at epoch 1, batch 3 of 8: the gradients are not finite", 0) == 0);
  CHECK(msg.find("the gradient of the weight of layer 0 (test_grad_fault)") != std::string::npos);

  // Stop mode checks only the loss every batch: the NaN update is found at the next batch, and the
  // diagnosis names the layer whose weights it made non-finite.
  RunSpec stop = resolve_config(marked_config(dir / "stop", data, fault_mlp), "t.json");
  msg = diverged_message(stop);
  CHECK(msg.rfind("training diverged at epoch 1, batch 4 of 8: the loss is nan; first non-finite value: the weights of layer 0 "
                  "(test_grad_fault) (its weight), made non-finite by an earlier update", 0) == 0);
}

TEST_CASE("NaN weights after an epoch's last batch: nothing of that epoch is saved") {
  TempDir dir("nan-last");
  // Row 60 is in the last batch of epoch 1; the loss stays finite in it.
  RunSpec cfg = resolve_config(marked_config(dir / "run", {{"rows", 64}, {"marker_rows", {60}}}, fault_mlp), "t.json");
  const std::string msg = diverged_message(cfg);
  CHECK(msg == "training diverged in epoch 1: after its last batch the weights of layer 0 (test_grad_fault) (its weight) are "
               "not finite (lower optimizer.lr or set train.clip_grad_norm)");
  CHECK_FALSE(fs::exists(dir / "run/checkpoint.safetensors"));
  CHECK_FALSE(fs::exists(dir / "run/metrics.csv"));
  CHECK_FALSE(fs::exists(dir / "run/model.safetensors"));
  CHECK(leftover_temporaries(dir.path).empty());
}

TEST_CASE("skip mode stops after max_consecutive_skips batches in a row") {
  TempDir dir("nan-streak");
  // Rows 0..39 hold NaNs: batches 1..5 are all bad.
  json nan_rows = json::array();
  for (int i = 0; i < 40; i += 8) nan_rows.push_back(i);
  json doc = marked_config(dir / "run", {{"rows", 64}, {"nan_rows", nan_rows}}, mlp);
  doc["train"]["on_nonfinite"] = "skip";
  doc["train"]["max_consecutive_skips"] = 4;
  RunSpec cfg = resolve_config(doc, "t.json");
  int skips = 0;
  RunCallbacks cb;
  cb.loop.on_skip = [&](const std::string&) { ++skips; };
  const std::string msg = diverged_message(cfg, cb);
  CHECK(skips == 4);
  CHECK(msg.rfind("training diverged at epoch 1, batch 5 of 8: the loss is nan", 0) == 0);
  CHECK(msg.find("stopping after 4 skipped batches in a row (train.max_consecutive_skips)") != std::string::npos);

  // Five bad batches but not in a row: no stop.
  doc = marked_config(dir / "apart", {{"rows", 64}, {"nan_rows", {0, 16, 32, 48}}}, mlp);
  doc["train"]["on_nonfinite"] = "skip";
  doc["train"]["max_consecutive_skips"] = 1;
  RunSpec apart = resolve_config(doc, "t.json");
  CHECK(run_training(apart).back().train.skipped == 4);
}
