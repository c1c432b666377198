// Weight initialisers. Draws are made in double and rounded to T, so a float and a double model
// built from the same seed start from the same weights (up to float rounding).
#pragma once

#include <string>
#include <vector>

#include "core/rng.hpp"
#include "core/tensor.hpp"

namespace nnlab {

// Schemes (names used in configs):
//   pytorch        PyTorch's nn.Linear default: W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))
//   he_uniform     W ~ U(-sqrt(6/fan_in), +sqrt(6/fan_in)),  b = 0   (kaiming_uniform_, relu gain)
//   he_normal      W ~ N(0, 2/fan_in),                       b = 0   (kaiming_normal_)
//   xavier_uniform W ~ U(-sqrt(6/(fan_in+fan_out)), +...),   b = 0   (xavier_uniform_)
//   xavier_normal  W ~ N(0, 2/(fan_in+fan_out)),             b = 0
//   lecun_normal   W ~ N(0, 1/fan_in),                       b = 0   (for SELU)
const std::vector<std::string>& init_schemes();

// A weight's fan-in and fan-out as PyTorch computes them (torch.nn.init._calculate_fan_in_and_fan_out):
// dense (out, in): in and out; a convolution (out, in/groups, kh, kw): in/groups·kh·kw and out·kh·kw.
// The layer that owns the weight says which; the matrix's storage layout does not.
struct Fans {
  double in = 0, out = 0;
};

template <typename T>
void initialize(Mat<T>& weight, Mat<T>* bias, const std::string& scheme, Rng& rng, Fans fans);

}  // namespace nnlab
