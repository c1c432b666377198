// `nnlab explain --html FILE`: one training step (core/gradcheck/explain.hpp) as a self-contained
// page, no scripts and nothing to fetch (scripts/check_report.sh checks it like a sweep report).
//
//   * "The network": every layer a node (its type, output shape and formula), top to bottom; the
//     edge into each node carries the norm of the tensor flowing forward, ‖y‖, and of the gradient
//     flowing back, ‖dL/dy‖ (Frobenius norms over the batch), so vanishing or exploding gradients
//     are visible at a glance.
//   * "Every neuron and weight" (networks on feature vectors with at most kExplainMaxUnits units,
//     inputs included, made of dense layers and activations): micrograd's draw_dot for a whole
//     layer stack. Each unit shows its value and dL/d(value) for the first sample of the batch; each
//     weight is an edge coloured by its sign, as thick as its magnitude, labelled with its value
//     and gradient; the bias sits in its unit.
//   * One table per layer: the formula and derivative, then every tensor (whole when small,
//     summarised otherwise) with its finite-difference verdict; then the loss and the optimizer's
//     update of one weight.
//
// The page declares its table and plot counts in <meta name="nnlab-tables"> / "nnlab-plots".
#pragma once

#include <string>

#include "core/gradcheck/explain.hpp"

namespace nnlab::report {

inline constexpr Index kExplainMaxUnits = 50;

std::string explain_html(const Explanation& e, const ExplainedUpdate& update);
// explain_html, written atomically; throws nnlab::Error naming the file on failure.
void write_explain_html(const Explanation& e, const ExplainedUpdate& update, const std::string& path);

}  // namespace nnlab::report
