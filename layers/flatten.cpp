// Flatten — PyTorch nn.Flatten (start_dim = 1): reshape each sample to one row of features.
//
//   forward:   y = x            x: (N, F)  ->  y: (N, F)
//   backward:  dL/dx = dy       (a reshape moves no values, so its Jacobian is the identity)
//
// In nnlab every batch is already an (N, F) matrix with each sample a contiguous row, i.e. exactly
// what flattening an (N, C, H, W) tensor in row-major order produces. So Flatten is the identity
// here; it exists so configs written for PyTorch-style Sequential models ("flatten" before the first
// Linear) build unchanged, and as the place where a spatial layer's output becomes a feature row once
// convolutions arrive. It moves nothing: forward returns x itself and backward dy itself (the
// identity exception of core/layer.hpp's contract), where a copy cost 1.2 % of the Fashion CNN's
// epoch (nnlab bench --per-layer, AMD EPYC).
#include "core/registry.hpp"

namespace nnlab {
namespace {

template <typename T>
class Flatten final : public Layer<T> {
 public:
  Flatten(const Args&, const BuildContext& c) : n_(c.in_features()) {
    if (n_ <= 0) throw ShapeError("flatten needs a positive input width, got " + std::to_string(n_));
    this->set_shapes(c.input, Shape{n_});
  }

  std::string type() const override { return "flatten"; }

  const Mat<T>& forward(const Mat<T>& x, bool) override {
    check_input_shape("flatten", x.rows(), x.cols(), n_);
    return x;
  }

  const Mat<T>& backward(const Mat<T>& dy) override {
    check_input_shape("flatten backward", dy.rows(), dy.cols(), n_);
    return dy;
  }

 private:
  Index n_;
};

}  // namespace

NNLAB_REGISTER_LAYER(Flatten, {.name = "flatten",
                               .kind = LayerKind::layer,
                               .summary = "Flatten each sample to a feature row (PyTorch nn.Flatten); the identity on nnlab's (N, F) " "batches",
                               .formula = "y = x",
                               .derivative = "dL/dx = dy",
                               .params = {}});

}  // namespace nnlab
