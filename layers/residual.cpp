// Residual block (He, Zhang, Ren & Sun 2016): a body of layers whose output is added to a shortcut
// of the input, then an optional activation.
//
//   forward:   z = F(x) + S(x)            F = body (a list of layers applied in order)
//              y = g(z)                   S = shortcut (a list of layers; empty: S(x) = x, identity)
//                                         g = activation (absent: g(z) = z)
//   backward:  dz = g'(z)ᵀ dy             g's own backward (for an element-wise g: dy ⊙ g'(z))
//              dx = J_F(x)ᵀ dz + J_S(x)ᵀ dz       each branch's backward applied to the same dz
//                 = body.backward(dz) + shortcut.backward(dz)     (identity: + dz)
//
//   In one line: y = g(F(x) + S(x));  dL/dx = J_F(x)ᵀ dz + J_S(x)ᵀ dz, dz = g'(z)ᵀ dy, z = F(x) + S(x);
//   dL/dθ = the backward of θ's own layer, from dz in F or S, from dy in g
//
// Derivation: z depends on x through both branches, so by the multivariate chain rule
// ∂L/∂x = (∂F/∂x)ᵀ ∂L/∂z + (∂S/∂x)ᵀ ∂L/∂z; for S = identity, ∂S/∂x = I. Every parameter lives in
// exactly one branch (or in g), so its gradient is the one that branch's backward computes from dz
// — there is nothing to sum across branches but dx.
//
// Shapes: F(x) and S(x) must have the same shape (with the identity: x's), or the sum is undefined;
// the block's output shape is g's output shape (activations keep it). A block that changes the
// resolution or the channels (stride 2, wider) therefore needs a projection shortcut, e.g. a 1×1
// convolution with the same stride ("option B" of the paper).
//
// Names follow the equivalent PyTorch module tree, so state dicts match: the body's layer i is
// "body.<i>", the shortcut's "shortcut.<i>", the activation "activation" (Model prefixes
// "layers.<k>."). Each nested layer draws its initialisation (and dropout) stream from its own index,
// nested_index(block's index, branch, position): no two layers of a model share a stream. The random
// state of the block is its sub-layers' states one after another (body, shortcut, activation), so a
// dropout inside a body resumes bit-identically from a checkpoint.
//
// Buffers: the sum z and dx are the block's own, resized to the same size every batch (no
// allocation after the first); each sub-layer keeps its own buffers as everywhere else. When the
// block is the first layer of a model (input gradients off) the first layer of each branch skips dx
// too, and the sum of the two is never formed.
#include <nlohmann/json.hpp>

#include "core/registry.hpp"

namespace nnlab {
namespace {

template <typename T>
class Residual final : public Layer<T> {
 public:
  Residual(const Args& a, const BuildContext& c) : n_(c.in_features()) {
    if (n_ <= 0) throw ShapeError("residual needs a positive input width, got " + std::to_string(n_));
    Shape body_out = build_list(a.layers("body"), "body", 0, c, body_);
    Shape shortcut_out = build_list(a.layers("shortcut"), "shortcut", 1, c, shortcut_);
    if (body_out != shortcut_out)
      throw ShapeError("residual body gives " + body_out.str() + " but the shortcut gives " + shortcut_out.str() +
                       (shortcut_.empty() ? " (the identity: the block's input)" : "") +
                       "; the two are added, so they must agree (a shortcut such as a 1x1 conv2d can match them)");
    Shape out = body_out;
    const nlohmann::json& act = a.layers("activation");
    if (!act.is_null()) {
      BuildContext sub = c;
      sub.input = body_out;
      sub.index = nested_index(c.index, 2, 0);
      activation_spec_ = resolve_layer(act, c.path + ".activation");
      activation_ = build_one(activation_spec_, sub);
      if (activation_->output_shape() != body_out)
        throw ShapeError(c.path + ".activation: '" + activation_->type() + "' changes the shape " + body_out.str() +
                         " to " + activation_->output_shape().str() + "; a residual's activation must keep it");
    }
    this->set_shapes(c.input, out);
  }

  std::string type() const override { return "residual"; }

  const Mat<T>& forward(const Mat<T>& x, bool training) override {
    check_input_shape("residual", x.rows(), x.cols(), n_);
    const Mat<T>* f = &x;
    for (auto& l : body_) f = &l->forward(*f, training);
    const Mat<T>* s = &x;
    for (auto& l : shortcut_) s = &l->forward(*s, training);
    z_.resize(x.rows(), f->cols());
    z_.noalias() = *f + *s;
    return activation_ ? activation_->forward(z_, training) : z_;
  }

  const Mat<T>& backward(const Mat<T>& dy) override {
    const Mat<T>& dz = activation_ ? activation_->backward(dy) : dy;
    // Model switches input gradients only on its first layer: pass the switch on to both branches.
    const bool want_dx = this->input_grad();
    body_.front()->set_input_grad(want_dx);
    if (!shortcut_.empty()) shortcut_.front()->set_input_grad(want_dx);
    const Mat<T>* gf = &dz;
    for (std::size_t i = body_.size(); i-- > 0;) gf = &body_[i]->backward(*gf);
    const Mat<T>* gs = &dz;
    for (std::size_t i = shortcut_.size(); i-- > 0;) gs = &shortcut_[i]->backward(*gs);
    if (!want_dx) return dx_;  // first layer while training: dx is not needed
    dx_.resize(dy.rows(), n_);
    dx_.noalias() = *gf + *gs;
    return dx_;
  }

  std::vector<Param<T>> parameters() override {
    std::vector<Param<T>> out;
    each([&](Layer<T>& l, const std::string& prefix) {
      for (auto p : l.parameters()) {
        p.name = prefix + p.name;
        out.push_back(std::move(p));
      }
    });
    return out;
  }

  std::vector<Buffer<T>> buffers() override {
    std::vector<Buffer<T>> out;
    each([&](Layer<T>& l, const std::string& prefix) {
      for (auto b : l.buffers()) {
        b.name = prefix + b.name;
        out.push_back(std::move(b));
      }
    });
    return out;
  }

  std::vector<std::uint64_t> rng_state() const override {
    std::vector<std::uint64_t> out;
    each_const([&](const Layer<T>& l) {
      const auto s = l.rng_state();
      out.insert(out.end(), s.begin(), s.end());
    });
    return out;
  }

  void set_rng_state(const std::vector<std::uint64_t>& state) override {
    std::size_t total = 0;
    each_const([&](const Layer<T>& l) { total += l.rng_state().size(); });
    if (state.size() != total)
      throw CheckpointError("residual: random state has " + std::to_string(state.size()) + " words, its layers hold " +
                            std::to_string(total));
    std::size_t at = 0;
    each([&](Layer<T>& l, const std::string&) {
      const std::size_t n = l.rng_state().size();
      if (n == 0) return;
      const auto first = state.begin() + static_cast<std::ptrdiff_t>(at);
      l.set_rng_state(std::vector<std::uint64_t>(first, first + static_cast<std::ptrdiff_t>(n)));
      at += n;
    });
  }

  // Every sub-layer's forward, plus one addition per output value.
  double flops() const override {
    double f = static_cast<double>(this->out_features());
    each_const([&](const Layer<T>& l) { f += l.flops(); });
    return f;
  }

  // The nested specs with every input width filled in, for the resolved config (LayerEntry::nested_json).
  nlohmann::json resolved_json() const {
    nlohmann::json j = nlohmann::json::object();
    const auto list = [](const std::vector<LayerSpec>& specs, const std::vector<LayerPtr<T>>& layers) {
      nlohmann::json out = nlohmann::json::array();
      for (std::size_t i = 0; i < specs.size(); ++i) out.push_back(specs[i].to_json(&layers[i]->input_shape()));
      return out;
    };
    j["body"] = list(body_specs_, body_);
    j["shortcut"] = list(shortcut_specs_, shortcut_);
    j["activation"] = activation_ ? activation_spec_.to_json(&activation_->input_shape()) : nlohmann::json(nullptr);
    return j;
  }

 private:
  // Build the layers of one branch in order from the block's input; returns the branch's output shape.
  Shape build_list(const nlohmann::json& specs, const std::string& name, int branch, const BuildContext& c,
                   std::vector<LayerPtr<T>>& layers) {
    Shape shape = c.input;
    for (std::size_t i = 0; i < specs.size(); ++i) {
      BuildContext sub = c;
      sub.input = shape;
      sub.index = nested_index(c.index, branch, i);
      LayerSpec spec = resolve_layer(specs[i], c.path + "." + name + "[" + std::to_string(i) + "]");
      layers.push_back(build_one(spec, sub));
      shape = layers.back()->output_shape();
      (branch == 0 ? body_specs_ : shortcut_specs_).push_back(std::move(spec));
    }
    return shape;
  }

  LayerPtr<T> build_one(const LayerSpec& spec, const BuildContext& sub) {
    try {
      return make_layer<T>(spec, sub);
    } catch (const ShapeError& e) {
      throw ShapeError(at_path(spec.path, e.what()));
    }
  }

  // f(layer, its name prefix) for every sub-layer: body, shortcut, activation.
  template <typename F>
  void each(F&& f) {
    for (std::size_t i = 0; i < body_.size(); ++i) f(*body_[i], "body." + std::to_string(i) + ".");
    for (std::size_t i = 0; i < shortcut_.size(); ++i) f(*shortcut_[i], "shortcut." + std::to_string(i) + ".");
    if (activation_) f(*activation_, std::string("activation."));
  }
  template <typename F>
  void each_const(F&& f) const {
    for (const auto& l : body_) f(*l);
    for (const auto& l : shortcut_) f(*l);
    if (activation_) f(*activation_);
  }

  Index n_;
  std::vector<LayerPtr<T>> body_, shortcut_;
  LayerPtr<T> activation_;
  std::vector<LayerSpec> body_specs_, shortcut_specs_;
  LayerSpec activation_spec_;
  Mat<T> z_, dx_;  // z = F(x) + S(x); dx
};

nlohmann::json residual_nested_json(const Args& a, const Shape& input, const std::string& path) {
  BuildContext c;
  c.input = input;
  c.path = path;
  return Residual<float>(a, c).resolved_json();
}

}  // namespace

NNLAB_REGISTER_LAYER(Residual, {.name = "residual",
                                .kind = LayerKind::layer,
                                .summary = "Residual block y = activation(body(x) + shortcut(x)); an empty shortcut is "
                                           "the identity (He et al. 2016)",
                                .formula = "y = g(F(x) + S(x))",
                                .derivative = "dL/dx = J_F(x)ᵀ dz + J_S(x)ᵀ dz, dz = g'(z)ᵀ dy, z = F(x) + S(x); "
                                              "dL/dθ = the backward of θ's own layer, from dz in F or S, from dy in g",
                                .params = {required_layer_list("body", "layers applied in order to the input (added to "
                                                                       "the shortcut's output)"),
                                           layer_list("shortcut", "layers applied to the input for the sum; [] = the identity"),
                                           optional_layer("activation", "applied to the sum (a layer spec); null = none")},
                                .nested_json = residual_nested_json});

}  // namespace nnlab
