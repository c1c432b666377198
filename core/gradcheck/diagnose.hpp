// A gradient checker that says what is wrong. For an element-wise layer (y_i = f(x_i)), backward(dy)
// must return dy_i · f'(x_i). diagnose_elementwise() measures f' at every input by central
// differences (double precision, the checker's step and output weights), compares the layer's
// backward with it element by element (skipping inputs at the kinks the layer declares, like
// check_layer), lists the worst points, and recognises the usual mistakes by the pattern of the
// errors:
//
//   sign           backward returns −dy·f'(x): analytic / numeric = −1 everywhere
//   factor         a constant factor c ≠ 1 (a forgotten ½ or 2, a β not applied): the ratio is c
//   upstream       the upstream gradient is ignored: backward returns f'(x), not dy·f'(x)
//   at_output      f' is evaluated at the output: backward returns dy·f'(f(x)) (σ'(y) for σ'(x))
//   kinks          wrong only where f has a kink (left and right derivatives differ): a convention
//                  question, any value between them is a subgradient; PyTorch's is named
//   large_inputs   wrong only for |x| ≥ 10 (or not finite there): a formula that overflows or
//                  cancels for large inputs (exp(x) is inf beyond 88 in float32)
//
// "" (with a message saying so) when it is right, or when the errors follow none of the patterns.
// tests/core/gradcheck/test_diagnose.cpp proves each diagnosis on a deliberately broken activation.
#pragma once

#include <string>
#include <vector>

#include "core/gradcheck/gradcheck.hpp"

namespace nnlab {

struct GradPoint {
  Index index = 0;    // flat index into x
  double x = 0;       // the input there
  double analytic = 0, numeric = 0;  // dL/dx_i from backward and from central differences
  double error = 0;   // |a − n| / max(|a|, |n|, floor)
};

struct GradDiagnosis {
  bool ok = false;            // every element within the tolerance
  std::string mistake;        // "", "sign", "factor", "upstream", "at_output", "kinks", "large_inputs"
  std::string message;        // what it means, in a sentence or two
  double factor = 0;          // for "factor": the ratio analytic / numeric
  std::vector<GradPoint> worst;  // up to 5 failing elements, the worst first
  Index compared = 0, skipped = 0, failing = 0;  // skipped: inputs at the layer's declared kinks
  std::string format() const;    // the message and a table of the worst points
};

// `convention`: what PyTorch returns at this function's kinks (e.g. "relu'(0) = 0"), quoted by the
// "kinks" diagnosis; "" says only that PyTorch picks one side.
GradDiagnosis diagnose_elementwise(Layer<double>& layer, const MatD& x, const GradCheckOptions& opt = {},
                                   const std::string& convention = "");

}  // namespace nnlab
