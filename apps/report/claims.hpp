// The tutorial's claims about activations, each next to what this sweep measured, in sentences
// generated from the numbers (the report's "Claims" section and summary.md).
//
//   vanishing gradients   "sigmoid and tanh make the gradient vanish in deep networks": the ratio
//                         ‖∂L/∂W₁‖ / ‖∂L/∂W_last‖ after epoch 1 (first layer against last), per setting
//   dead units            "ReLU units die": the dead-unit share at the last epoch, per setting
//   zero-centred          "sigmoid's outputs are not zero-centred; tanh's and ELU's are closer": the
//                         mean hidden activation at the last epoch, per setting
//   saturation            "sigmoid and tanh saturate": the saturated share of entries
//   cost of exp           "exp-based activations are slower": the activation layers' time per epoch
//                         and its share of the layers' time, relative to the fastest setting
//   accuracy              what the verdict table says, in one sentence
//
// A claim appears only when the sweep measured its figure (--diagnostics columns present for at
// least two settings); settings are listed in the order of the figure.
#pragma once

#include <string>
#include <vector>

#include "apps/report/paired.hpp"
#include "apps/report/results.hpp"

namespace nnlab::report {

struct Claim {
  std::string topic;     // "Vanishing gradients"
  std::string claim;     // what tutorials say
  std::string measured;  // the sentence with this sweep's figures
};

std::vector<Claim> make_claims(const Plan& plan, const std::vector<SettingSummary>& s, const Comparisons& c);

// The claims as Markdown (### topic, the claim quoted, the measurement).
std::string claims_md(const std::vector<Claim>& claims);

}  // namespace nnlab::report
