// Whole training steps against PyTorch, like llm.c's test_gpt2.c: one batch through a whole model,
// the loss, backward and the optimizer, checked end to end.
//
// Reference: tests/data/step_reference.json, written by tools/torch_step_reference.py (PyTorch 1.13;
// its header says what is recorded and how). Three models, the first two on one batch of 32 samples
// x 784 features:
//   mlp      the default model of configs/fashion_mlp.json (dense 784-256-128-10, ReLU), built here
//            from that file through load_config/ModelSpec::bind/build_model
//   bn_drop  dense 784-64 (no bias), batchnorm, relu, dropout(0.2), dense 64-10, built by build_model
//   cnn      the model of configs/fashion_cnn.json (conv2d 1->32 3x3 pad 1, relu, max_pool2d 2,
//            conv2d 32->64 3x3 pad 1, relu, max_pool2d 2, flatten, dense 3136-128, relu, dense
//            128-10), checked against that file the same way, on its own batch of 8 images 1x28x28
//            (its section's "x" and "labels")
// For each: nnlab's initialisation must be bit-identical to the reference's initial weights (which
// the script reproduces from nnlab's Rng), and the Dropout layer must draw the reference's mask; then,
// from those weights (loaded through load_model_tensors; the cnn's file samples its 128 x 3136 initial
// weight, so it starts from nnlab's own initialisation, which must match the stored elements and the
// FNV-1a hash of all the tensor's bytes): logits, loss and every parameter gradient of
// the first forward/backward; and the 5 losses and the whole state (parameters and BatchNorm's
// running statistics) after 5 steps of SGD (the config's: lr 0.05, momentum 0.9) and of Adam (lr
// 1e-3), each step run by the Trainer, as `nnlab train` runs it.
//
// Dropout: the script runs nnlab's xoshiro256** stream (seed, stream_id("dropout", index), one uniform
// per element in row-major order, keep when u >= p) and makes PyTorch multiply by exactly those masks,
// so the comparison covers nnlab's real dropout inside the step; the first mask is also checked alone.
//
// Kinks. A ReLU input on the other side of 0, or a max-pool window whose argmax differs, moves a
// gradient by a whole term, so the script picks data on which neither can happen: every ReLU input
// z keeps |z| >= max(floor, 10·|z_float32 − z|) (floor 1e-5; 1e-7 for the cnn, whose 302 000 ReLU
// inputs per forward leave no seed with 1e-5) and every cnn max-pool window's two largest values
// differ by at least max(1e-7, 10·their float32 deviations), over every forward of every run.
//
// Tolerances. nnlab's float32 run against the exact answer (PyTorch's float64 run from the same
// float32 inputs and weights, rounded once to float32), element by element:
//     |got − expected| <= atol + rtol·|expected|,   rtol = 1e-5,
//     atol = 1e-6 for logits and losses (values of order 1),
//     atol = 1e-7 for gradients (at most 0.15 here, ~3e-3 in the first layer) and for the state after
//            the 5 steps (weights 0.01..0.1, BatchNorm's weight and running_var ~1), except below.
// Why this much: float32 has a relative precision of 6e-8; a 784-term dot product, BatchNorm's
// normalisation and five steps compound that to a few 1e-7 relative at worst, so rtol 1e-5 leaves
// ~20x headroom; atol covers elements that cancel to about 0 (a gradient that is a sum of ±1e-4
// terms can end near 1e-9 with an absolute error of ~1e-9). A real mistake (a wrong mask, a missing
// momentum term, BatchNorm's unbiased variance in the normalisation, a transposed weight, a skipped
// step, a gradient off by 1e-4 relative) is well outside. The script runs PyTorch's own float32
// model through the same rules and exits non-zero unless it passes (its worst: 0.44 of the allowance).
//
// The state after the 5 steps uses atol = max(1e-7, 2·e), e being PyTorch float32's own largest
// deviation from the float64 reference on that tensor (the file's "torch_float32_error"; the rule of
// tests/test_optim.cpp: allow twice PyTorch's own float32 error). For SGD e is below 2.5e-8, so
// atol stays 1e-7 (but for BatchNorm's running_var: e = 2.4e-7 on values ~1). It matters for Adam on the mlp, for
// a reason in Adam itself: its update lr·m̂/(√v̂ + ε) is lr·g/(|g| + ε) for an element whose
// gradients are tiny, so where |g| is near ε = 1e-8 (a few of the 235 000 weights) float32 rounding
// of g (~1e-10) becomes a weight difference of up to ~1e-4, and these weights shift the later steps'
// gradients of everything downstream. Two correct float32 implementations therefore differ after 5
// Adam steps by more than 1e-7 (PyTorch float32 vs float64 by 6e-6 on the first layer, giving atol
// 1.2e-5 there, 3.5e-6 on the last layer, 1.8e-6 on the first bias), and
//   * "noise-dominated" elements (√v̂ below 1e-5 at some step, listed in the file: 0.5% of the first
//     layer's) are only checked to within 5·lr (how far Adam can move them in 5 steps).
// Adam moves a weight by up to 5e-3 in these 5 steps, so even 1.2e-5 is 0.25% of the motion; a wrong
// β, a missing bias correction or ε in the wrong place is off by 1e-4..1e-3 (tests/test_optim.cpp
// checks the update rule itself 20 steps deep, with gradients fed in, at 1e-6).
//
// The worst error/allowance and absolute error of every compared quantity are printed (MESSAGE).
// Observed worst (GCC 12 -O3 -march=native, 2 threads), as error/allowance and absolute error:
//   initial weights, dropout mask      bit-identical
//   logits                             0.077 (mlp, 1.6e-7)   0.37 (bn_drop, 5.4e-7)   0.052 (cnn, 1.0e-7)
//   loss; the 5 losses of each run     0; <= 0.011 (2.4e-7)
//   gradients                          0.14 (mlp last layer, 2.1e-8; first layer 0.017, 1.9e-9)
//                                      0.35 (bn_drop last layer, 6.0e-8)
//                                      0.31 (cnn last layer, 4.2e-8; dense 3136-128 0.14, 1.7e-8;
//                                      convolutions <= 0.051, 6.8e-9)
//   state after 5 SGD steps            0.046 (mlp, 1.5e-8)   0.11 (bn_drop running_mean, 2.4e-8)
//                                      0.051 (cnn last layer, 1.5e-8)
//   state after 5 Adam steps           0.10 (mlp first bias, 2.1e-7; first layer 0.042, 5.2e-7)
//                                      0.06 (bn_drop); noise-dominated elements at most 3.3e-6 off
//                                      0.42 (cnn last layer, 4.5e-8; second convolution 0.11 at
//                                      atol 4.8e-7); its 182 noise-dominated elements <= 2.6e-7 off
//
// Sampling: the two 784-wide weight matrices' gradients and final weights are stored for every 9th
// element in row-major order (every row and every column is sampled; keeping the file under 3 MB);
// every other tensor, the inputs and all initial weights are stored and compared in full. The cnn's
// 128 x 3136 dense weight (gradient, initial and final values) is stored for every 31st element (31 and
// 3136 are coprime: again every row and column); its other tensors in full.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/dataset.hpp"
#include "core/loss.hpp"
#include "core/model.hpp"
#include "core/optimizer.hpp"
#include "core/registry.hpp"
#include "core/run/loop.hpp"
#include "core/run/spec.hpp"
#include "core/state.hpp"

using namespace nnlab;
using json = nlohmann::json;

namespace {

constexpr double kRtol = 1e-5, kAtol = 1e-6;  // logits and losses
constexpr double kFineAtol = 1e-7;             // gradients and the state after the steps
// State after the steps: atol = max(kFineAtol, 4·PyTorch's own float32 error). Adam divides by √v̂,
// so the float32 rounding of the gradients (which depends on the CPU's kernels) is amplified: on
// one AMD EPYC build nnlab's worst was 2.7x PyTorch's (mlp adam layers.0.bias), on another under 2x.
constexpr double kAfterAtolFactor = 4;
constexpr double kNoisyStepsOfLr = 5;          // Adam's noise-dominated elements: within 5·lr

const json& reference() {
  static const json data = [] {
    std::ifstream in(std::string(NNLAB_TEST_DATA_DIR) + "/step_reference.json");
    REQUIRE_MESSAGE(in.good(), "tests/data/step_reference.json missing (run tools/torch_step_reference.py)");
    return json::parse(in);
  }();
  return data;
}

const json& model_ref(const std::string& name) {
  for (const json& m : reference()["models"])
    if (m["name"] == name) return m;
  FAIL("no model " << name << " in step_reference.json");
  static const json none;
  return none;
}

// Base64 (RFC 4648, with padding) of little-endian float32 bytes -> floats.
std::vector<float> decode_f32(const std::string& text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::vector<unsigned char> bytes;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    const int v = value(c);
    if (v < 0) FAIL("bad base64 character '" << c << "' in step_reference.json");
    buffer = ((buffer << 6) | static_cast<unsigned>(v)) & 0xFFFFFFu;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<unsigned char>((buffer >> bits) & 0xFF));
    }
  }
  REQUIRE(bytes.size() % 4 == 0);
  std::vector<float> out(bytes.size() / 4);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::uint32_t u = std::uint32_t{bytes[4 * i]} | std::uint32_t{bytes[4 * i + 1]} << 8 |
                            std::uint32_t{bytes[4 * i + 2]} << 16 | std::uint32_t{bytes[4 * i + 3]} << 24;
    std::memcpy(&out[i], &u, 4);
  }
  return out;
}

// A stored tensor: its shape, and the values of elements 0, stride, 2·stride, ... (stride 1: all).
struct Stored {
  std::vector<std::int64_t> shape;
  std::size_t stride = 1;
  std::vector<float> values;
  std::size_t size() const {
    std::size_t n = 1;
    for (auto d : shape) n *= static_cast<std::size_t>(d);
    return n;
  }
};

Stored stored(const json& t) {
  Stored s;
  s.shape = t["shape"].get<std::vector<std::int64_t>>();
  s.stride = t.value("stride", std::size_t{1});
  s.values = decode_f32(t["f32"].get<std::string>());
  REQUIRE((s.size() + s.stride - 1) / s.stride == s.values.size());
  return s;
}

TensorFile tensor_file(const json& tensors) {
  TensorFile f;
  for (const auto& [name, t] : tensors.items()) {
    Stored s = stored(t);
    REQUIRE(s.stride == 1);
    f.tensors[name] = {s.shape, std::move(s.values)};
  }
  return f;
}

// Worst deviation of one quantity, for the report.
struct Worst {
  double ratio = 0, abs = 0;
  std::string where;
  void add(const Worst& w) {
    if (w.ratio > ratio) ratio = w.ratio, where = w.where;
    abs = std::max(abs, w.abs);
  }
};

// got (flat, all elements) against the stored elements; allowance(k, expected) for stored element k.
template <typename Allowance>
Worst compare(const std::string& what, const float* got, std::size_t got_size, const Stored& ref, Allowance allowance) {
  Worst w;
  w.where = what;
  REQUIRE_MESSAGE(got_size == ref.size(), what << ": " << got_size << " values, the reference has " << ref.size());
  int reported = 0;
  std::size_t failed = 0;
  for (std::size_t k = 0; k < ref.values.size(); ++k) {
    const std::size_t i = k * ref.stride;
    const double g = got[i], e = ref.values[k];
    const double err = std::abs(g - e), allowed = allowance(k, e);
    const double ratio = err / allowed;
    if (!(ratio <= 1.0)) {  // also catches NaN
      ++failed;
      if (reported++ < 5) FAIL_CHECK(what << "[" << i << "]: got " << g << ", expected " << e << " (allowed " << allowed << ")");
    }
    if (ratio > w.ratio || std::isnan(ratio)) w.ratio = std::isnan(ratio) ? INFINITY : ratio;
    w.abs = std::max(w.abs, err);
  }
  if (failed > 5) FAIL_CHECK(what << ": " << failed << " of " << ref.values.size() << " compared elements outside the tolerance");
  return w;
}

Worst compare(const std::string& what, const float* got, std::size_t n, const Stored& ref) {
  return compare(what, got, n, ref, [](std::size_t, double e) { return kAtol + kRtol * std::abs(e); });
}

Worst compare_scalar(const std::string& what, double got, double expected) {
  Worst w;
  w.where = what;
  w.abs = std::abs(got - expected);
  w.ratio = w.abs / (kAtol + kRtol * std::abs(expected));
  CHECK_MESSAGE(w.ratio <= 1.0, what << ": got " << got << ", expected " << expected);
  return w;
}

void report(const std::string& what, const Worst& w) {
  MESSAGE(what << ": worst error/allowance " << w.ratio << " (" << w.where << "), worst |error| " << w.abs);
}

// A section's batch: its own "x" and "labels" (the cnn's images), else the file's.
const json& data_of(const json& m) { return m.contains("x") ? m : reference(); }

// One sample's shape: the batch's shape without its first axis ({784}, or {1, 28, 28} for the cnn).
Shape sample_shape(const json& m) {
  const auto shape = data_of(m)["x"]["shape"].get<std::vector<Index>>();
  return Shape(std::vector<Index>(shape.begin() + 1, shape.end()));
}

// The model of a reference section, freshly built (nnlab's own initialisation from the seed).
Model<float> build(const json& m) {
  return build_model<float>(m["layers"], sample_shape(m), m["seed"].get<std::uint64_t>());
}

// FNV-1a (64 bits) of float32 values' little-endian bytes, as 16 hex digits: the fingerprint the
// script stores for a sampled initial tensor.
std::string fnv1a64(const std::vector<float>& values) {
  std::uint64_t h = 0xCBF29CE484222325ull;
  for (float v : values) {
    std::uint32_t u;
    std::memcpy(&u, &v, 4);
    for (int b = 0; b < 4; ++b) h = (h ^ ((u >> (8 * b)) & 0xFFu)) * 0x100000001B3ull;
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h));
  return text;
}

// Whether every initial tensor of `model` is bit for bit the stored one: a tensor stored in full
// byte for byte, a sampled one (the cnn's 128 x 3136 dense weight) on its stored elements and by the
// fingerprint of all its values. Mismatches are reported (CHECK).
bool init_matches(Model<float>& model, const json& m) {
  const TensorFile mine = model_tensors(model);
  bool same = mine.tensors.size() == m["init"].size();
  CHECK(mine.tensors.size() == m["init"].size());
  for (const auto& [tensor, t] : m["init"].items()) {
    CAPTURE(tensor);
    REQUIRE(mine.tensors.count(tensor) == 1);
    const auto& got = mine.tensors.at(tensor);
    const Stored ref = stored(t);
    bool equal = got.shape == ref.shape && got.data.size() == ref.size();
    for (std::size_t k = 0; equal && k < ref.values.size(); ++k)
      equal = std::memcmp(&got.data[k * ref.stride], &ref.values[k], sizeof(float)) == 0;
    if (equal && t.contains("fnv1a64")) equal = fnv1a64(got.data) == t["fnv1a64"].get<std::string>();
    CHECK_MESSAGE(equal, tensor << ": nnlab's initial values differ from the reference's");
    same = same && equal;
  }
  return same;
}

// ... and with the reference's initial weights: loaded through the normal state-loading path where
// the file holds them in full; where it samples them (the cnn) nnlab's own, which must be those bits.
Model<float> build_loaded(const json& m) {
  Model<float> model = build(m);
  const bool full = std::all_of(m["init"].begin(), m["init"].end(), [](const json& t) { return !t.contains("stride"); });
  if (full)
    load_model_tensors(model, tensor_file(m["init"]), "step_reference.json " + m["name"].get<std::string>() + " init");
  else
    REQUIRE_MESSAGE(init_matches(model, m), m["name"].get<std::string>() << ": the initial weights are not the reference's");
  return model;
}

MatF batch(const json& m) {
  const Stored x = stored(data_of(m)["x"]);
  MatF b(x.shape[0], static_cast<Index>(x.size()) / x.shape[0]);
  std::copy(x.values.begin(), x.values.end(), b.data());
  return b;
}

std::vector<std::int32_t> labels(const json& m) { return data_of(m)["labels"].get<std::vector<std::int32_t>>(); }

const std::vector<std::string> kModels = {"mlp", "bn_drop", "cnn"};

}  // namespace

TEST_CASE("step reference: the mlp is configs/fashion_mlp.json's default model and optimizer") {
  const json& m = model_ref("mlp");
  const RunSpec cfg = load_config(std::string(NNLAB_SOURCE_DIR) + "/configs/fashion_mlp.json");
  const ModelSpec bound = cfg.model.bind(Shape{784}, 10, "fashion-mnist");
  json expected = json::array(), layers = json::array();
  for (std::size_t i = 0; i < m["layers"].size(); ++i) expected.push_back(resolve_layer(m["layers"][i], "reference layer").to_json());
  for (const auto& l : bound.layers) layers.push_back(l.to_json());
  CHECK_MESSAGE(layers == expected, "configs/fashion_mlp.json changed: rerun tools/torch_step_reference.py (config "
                                        << layers.dump() << ", reference " << expected.dump() << ")");
  CHECK(cfg.train.seed == m["seed"].get<std::uint64_t>());
  const json& sgd = m["runs"][0]["optimizer"];
  CHECK(sgd["type"] == "sgd");
  const json optimizer = cfg.optimizer.to_json();
  CHECK(optimizer["type"] == sgd["type"]);
  CHECK(optimizer["lr"] == sgd["lr"]);
  CHECK(optimizer["momentum"] == sgd["momentum"]);
}

TEST_CASE("step reference: the cnn is configs/fashion_cnn.json's model and optimizer") {
  const json& m = model_ref("cnn");
  const RunSpec cfg = load_config(std::string(NNLAB_SOURCE_DIR) + "/configs/fashion_cnn.json");
  CHECK(sample_shape(m) == Shape{1, 28, 28});
  const ModelSpec bound = cfg.model.bind(Shape{1, 28, 28}, 10, "fashion-mnist");
  json expected = json::array(), layers = json::array();
  for (std::size_t i = 0; i < m["layers"].size(); ++i) expected.push_back(resolve_layer(m["layers"][i], "reference layer").to_json());
  for (const auto& l : bound.layers) layers.push_back(l.to_json());
  CHECK_MESSAGE(layers == expected, "configs/fashion_cnn.json changed: rerun tools/torch_step_reference.py (config "
                                        << layers.dump() << ", reference " << expected.dump() << ")");
  CHECK(cfg.train.seed == m["seed"].get<std::uint64_t>());
  const json& sgd = m["runs"][0]["optimizer"];
  CHECK(sgd["type"] == "sgd");
  const json optimizer = cfg.optimizer.to_json();
  CHECK(optimizer["type"] == sgd["type"]);
  CHECK(optimizer["lr"] == sgd["lr"]);
  CHECK(optimizer["momentum"] == sgd["momentum"]);
}

TEST_CASE("step reference: nnlab's initialisation and dropout stream are exactly the reference's") {
  for (const std::string& name : kModels) {
    CAPTURE(name);
    const json& m = model_ref(name);
    Model<float> model = build(m);
    CHECK(init_matches(model, m));
    if (!m.contains("dropout_keep")) continue;
    // The first training forward of the Dropout layer (its own stream) against the reference mask.
    const json& keep = m["dropout_keep"];
    const auto shape = keep["shape"].get<std::vector<Index>>();
    BuildContext ctx;
    ctx.input = Shape{shape[1]};
    ctx.seed = m["seed"].get<std::uint64_t>();
    ctx.index = keep["layer"].get<int>();
    REQUIRE(m["layers"][static_cast<std::size_t>(ctx.index)]["type"] == "dropout");
    LayerPtr<float> dropout = make_layer<float>(m["layers"][static_cast<std::size_t>(ctx.index)], ctx);
    const MatF ones = MatF::Ones(shape[0], shape[1]);
    const MatF& y = dropout->forward(ones, true);
    const std::string bits = keep["bits"].get<std::string>();
    REQUIRE(static_cast<Index>(bits.size()) == y.size());
    Index differ = 0, kept = 0;
    for (Index i = 0; i < y.size(); ++i) {
      differ += (y.data()[i] != 0.0f) != (bits[static_cast<std::size_t>(i)] == '1');
      kept += y.data()[i] != 0.0f;
    }
    CHECK(differ == 0);
    MESSAGE(name << ": dropout kept " << kept << " of " << y.size() << " elements, " << differ << " differ from the reference mask");
  }
}

TEST_CASE("step reference: logits, loss and every gradient of one forward/backward") {
  for (const std::string& name : kModels) {
    CAPTURE(name);
    const json& m = model_ref(name);
    const MatF x = batch(m);
    const std::vector<std::int32_t> y = labels(m);
    Model<float> model = build_loaded(m);
    auto loss = make_loss<float>("cross_entropy");
    const MatF& logits = model.forward(x, /*training=*/true);
    const float l = loss->forward(logits, {y, nullptr});
    model.backward(loss->backward());

    Worst w = compare(name + " logits", logits.data(), static_cast<std::size_t>(logits.size()), stored(m["logits"]));
    report(name + " logits", w);
    report(name + " loss", compare_scalar(name + " loss", l, m["loss"].get<double>()));
    std::set<std::string> seen;
    for (const Param<float>& p : model.parameters()) {
      CAPTURE(p.name);
      REQUIRE(m["grads"].contains(p.name));
      seen.insert(p.name);
      report(name + " grad " + p.name,
             compare(name + " grad " + p.name, p.grad->data(), static_cast<std::size_t>(p.grad->size()),
                     stored(m["grads"][p.name]), [](std::size_t, double e) { return kFineAtol + kRtol * std::abs(e); }));
    }
    CHECK(seen.size() == m["grads"].size());
  }
}

TEST_CASE("step reference: 5 SGD and 5 Adam steps through the Trainer") {
  for (const std::string& name : kModels) {
    const json& m = model_ref(name);
    Dataset data;
    data.name = "step_reference " + name;
    const MatF x = batch(m);
    data.rows = x.rows();
    data.features = x.cols();
    data.classes = 10;
    data.shape = sample_shape(m).dims();
    data.values.assign(x.data(), x.data() + x.size());
    data.labels = labels(m);
    data.validate();
    for (const json& r : m["runs"]) {
      const std::string opt = r["optimizer"]["type"].get<std::string>();
      const std::string what = name + " " + opt;
      CAPTURE(what);
      Model<float> model = build_loaded(m);
      auto loss = make_loss<float>("cross_entropy");
      auto optimizer = make_optimizer(r["optimizer"]);
      TrainSpec settings;
      settings.batch_size = static_cast<int>(data.rows);  // one batch: an epoch is one step
      settings.shuffle = false;
      Trainer trainer(model, *loss, *optimizer, settings);
      const int steps = r["steps"].get<int>();
      std::vector<double> losses;
      for (int epoch = 1; epoch <= steps; ++epoch)
        losses.push_back(trainer.train_epoch(data, epoch).loss);  // the mean over one batch: its loss
      CHECK(optimizer->steps() == steps);

      Worst wl;
      for (int k = 0; k < steps; ++k)
        wl.add(compare_scalar(what + " loss[" + std::to_string(k) + "]", losses[static_cast<std::size_t>(k)],
                              r["losses"][static_cast<std::size_t>(k)].get<double>()));
      report(what + " losses", wl);

      const TensorFile after = model_tensors(model);
      REQUIRE(after.tensors.size() == r["after"].size());
      const double lr = r["optimizer"]["lr"].get<double>();
      for (const auto& [tensor, t] : after.tensors) {
        CAPTURE(tensor);
        REQUIRE(r["after"].contains(tensor));
        const Stored ref = stored(r["after"][tensor]);
        std::set<std::size_t> noisy;
        if (r.contains("adam_noisy") && r["adam_noisy"].contains(tensor))
          for (const json& k : r["adam_noisy"][tensor]) noisy.insert(k.get<std::size_t>());
        const double atol = std::max(kFineAtol, kAfterAtolFactor * r["torch_float32_error"][tensor].get<double>());
        const Worst w = compare(what + " after " + tensor, t.data.data(), t.data.size(), ref, [&](std::size_t k, double e) {
          if (noisy.count(k)) return kNoisyStepsOfLr * lr;
          return atol + kRtol * std::abs(e);
        });
        if (noisy.empty()) {
          report(what + " after " + tensor, w);
          continue;
        }
        // Separately: the worst |error| of the other elements, and of the noise-dominated ones.
        double normal_abs = 0, noisy_abs = 0;
        for (std::size_t k = 0; k < ref.values.size(); ++k) {
          const double err = std::abs(static_cast<double>(t.data[k * ref.stride]) - ref.values[k]);
          (noisy.count(k) ? noisy_abs : normal_abs) = std::max(noisy.count(k) ? noisy_abs : normal_abs, err);
        }
        MESSAGE(what << " after " << tensor << ": worst error/allowance " << w.ratio << " (atol " << atol
                     << "), worst |error| " << normal_abs << "; " << noisy.size()
                     << " noise-dominated elements: worst |error| " << noisy_abs << " (allowed " << kNoisyStepsOfLr * lr << ")");
      }
    }
  }
}
