// The gradient checker: every hand-written backward is proven against central finite differences
// in double precision. Every layer's test calls it, and `nnlab gradcheck` prints its report.
//
// Method (Caffe/mlpack style):
// * objective L = Σ_k w_k · out_k with fixed random weights w (so every output element matters);
// * analytic gradient: the layer's backward(w) for the input, and its parameter gradients;
// * numeric gradient of variable v: Σ_k w_k (out_k(v+h) − out_k(v−h)) / 2h, with h = step·max(1,|v|).
//   Differencing each output before the weighted sum avoids the cancellation of subtracting two
//   large totals, so even tiny gradients (σ'(−20) ≈ 2e−9) are measured accurately;
// * error of one element: |a − n| / max(|a|, |n|, floor); the check passes when the largest error
//   is ≤ tolerance;
// * input elements within `kink_band` of a layer's kinks are skipped (the function is not
//   differentiable there; the PyTorch reference tests fix the convention);
// * a check FAILS when it compared nothing, or when the analytic and numeric gradients are both
//   zero everywhere (a check of two zeros proves nothing; tiny-dnn PR #871).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/layer.hpp"
#include "core/loss.hpp"
#include "core/model.hpp"

namespace nnlab {

struct GradCheckOptions {
  double step = 1e-6;
  double tolerance = 1e-6;
  double floor = 1e-4;       // denominators never drop below this (absolute error for tiny gradients)
  double kink_band = 1e-3;
  bool training = false;     // the `training` flag passed to forward
  std::uint64_t seed = 1;    // for the random output weights
};

struct GradCheckEntry {
  std::string name;           // "input", "weight", "mu", ...
  double max_error = 0;       // largest element error
  Index worst = -1;           // flat index of that element
  double analytic_at_worst = 0, numeric_at_worst = 0;
  Index compared = 0, skipped = 0;
  double max_abs_gradient = 0;  // max(|a|, |n|) over compared elements
  bool ok = false;
  std::string problem;        // why it failed ("" when ok)
};

struct GradCheckReport {
  std::string subject;
  std::vector<GradCheckEntry> entries;
  bool ok() const;
  double max_error() const;
  std::string format() const;  // one line per entry
};

// A variable to check: its storage (perturbed in place, then restored) and its analytic gradient.
struct GradVariable {
  std::string name;
  MatD* value = nullptr;
  MatD analytic;
  std::vector<char> skip;  // optional per-element skip mask (same size as value)
};

// The generic core: `outputs()` recomputes the outputs from the current variable values.
GradCheckReport check_gradients(const std::string& subject, const std::function<const MatD&()>& outputs,
                                const MatD& weights, std::vector<GradVariable>& vars, const GradCheckOptions& opt);

// A layer: input gradient and every parameter gradient, at input x.
GradCheckReport check_layer(Layer<double>& layer, const MatD& x, const GradCheckOptions& opt = {});

// A loss: gradient w.r.t. its input at z.
GradCheckReport check_loss(Loss<double>& loss, const MatD& z, const Target<double>& target,
                           const GradCheckOptions& opt = {});

// A whole model followed by a loss: gradient w.r.t. every parameter and the input.
GradCheckReport check_model(Model<double>& model, Loss<double>& loss, const MatD& x, const Target<double>& target,
                            const GradCheckOptions& opt = {});

// The fixed random output weights w of check_layer's objective Σ_k w_k · out_k (its dy), and the
// error of one element, |a − n| / max(|a|, |n|, floor) (inf when either is not finite): shared
// with the diagnosis (diagnose.hpp), which must judge the same numbers the same way.
MatD gradcheck_weights(Index rows, Index cols, std::uint64_t seed);
double gradcheck_error(double analytic, double numeric, double floor);

// Test inputs: `rows` rows of `cols` values, the first rows holding the edge points
// 0, ±1e-4, ±1, ±20, ±100 (repeated across columns), the rest uniform in [-lo, hi].
MatD gradcheck_input(Index rows, Index cols, std::uint64_t seed, double lo = -3, double hi = 3);

}  // namespace nnlab
