// Registries: map the names used in configs to factories, Caffe-style.
//
// A component registers itself with one statement in its own .cpp file, e.g.
//   NNLAB_REGISTER_LAYER(Elu, {.name = "elu",
//                              .kind = LayerKind::elementwise,
//                              .summary = "Exponential linear unit",
//                              .formula = "y = x if x > 0, else alpha·(e^x − 1)",
//                              .derivative = "dy/dx = 1 if x > 0, else alpha·e^x",
//                              .params = {number("alpha", 1.0, "saturation value for x -> -inf")},
//                              .stress = {R"({"alpha": 100})"}});
// The library is linked whole (CMake: WHOLE_ARCHIVE) so these static initialisers always run.
// Nothing in core/ names a concrete layer: core only looks names up here.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/layer.hpp"
#include "core/params.hpp"

namespace nnlab {

// Generic name -> entry map. Entries need `name`, `summary` and `params` members.
template <typename Entry>
class Registry {
 public:
  static Registry& instance() {
    static Registry r;
    return r;
  }
  bool add(Entry e) {
    const std::string name = e.name;
    if (!entries_.emplace(name, std::move(e)).second) throw Error("internal: '" + name + "' registered twice");
    return true;
  }
  const Entry* find(const std::string& name) const {
    auto it = entries_.find(name);
    return it == entries_.end() ? nullptr : &it->second;
  }
  // Throws ConfigError "<where>: unknown <what> 'x' (did you mean 'y'?); known: a, b, c".
  const Entry& get(const std::string& name, const std::string& what, const std::string& where) const {
    if (const Entry* e = find(name)) return *e;
    const auto known = names();
    throw ConfigError(where + ": unknown " + what + " '" + name + "'" + did_you_mean(name, known) +
                      "; known " + what + "s: " + join(known));
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [k, v] : entries_) out.push_back(k);
    return out;
  }
  std::vector<const Entry*> all() const {
    std::vector<const Entry*> out;
    for (const auto& [k, v] : entries_) out.push_back(&v);
    return out;
  }

 private:
  std::map<std::string, Entry> entries_;
};

// ---- layers -------------------------------------------------------------------------------

// What a layer is, as declared in its registration:
//   layer        anything that is not an activation function (dense, dropout, batchnorm, flatten)
//   elementwise  an activation y_i = f(x_i) (its Jacobian is diagonal; a learnable parameter may
//                depend on the channel): backward(1) gives f'(x), so diagnostics can count dead and
//                saturated units
//   rowwise      an activation over the whole sample (softmax): y_i depends on every x_j
enum class LayerKind { layer, elementwise, rowwise };
inline bool is_activation(LayerKind k) { return k != LayerKind::layer; }

// What a layer factory knows besides its own parameters.
struct BuildContext {
  Shape input;              // the shape of one input sample
  std::uint64_t seed = 0;   // the run's seed; layers derive their own streams from it
  std::int64_t index = 0;   // position in the model (so each layer's stream differs); see nested_index
  std::string path;         // the layer's JSON path, for messages of the layers a layer builds inside it
  Index in_features() const { return input.numel(); }
};

// The stream index of a layer built inside another (residual): entry `position` of the parent's
// list `branch` (0, 1, 2: body, shortcut, activation). Top-level layers have indices below 2^20;
// nested(p, b, i) = (p + 1)·2^20 + b·2^18 + i is at least 2^20 and decodes back to (p, b, i), so no
// two layers of a model, at any depth, share an init or dropout stream. ConfigError past 3 levels of
// nesting (the index would not fit 63 bits) or for 2^18 entries in one list.
std::int64_t nested_index(std::int64_t parent, int branch, std::size_t position);
inline constexpr std::int64_t max_top_level_layers = std::int64_t{1} << 20;

// `message` located at `path`: "path: message", unless the message already names a key inside that
// path (an error of a nested layer, "model.layers[3].body[1]: ..."), which is left as it is.
std::string at_path(const std::string& path, const std::string& message);

// A parameter gradient that finite differences cannot verify at the parameter's default value (the
// function is flat in it to double precision, or the step would cross a kink): `nnlab gradcheck`
// and the tests report those rows as inconclusive, saying why, and check the layer again with the
// parameter set to `value`, where they must pass.
struct Recheck {
  std::string param;
  double value = 0;
  std::string why;
};

// How tools/torch_reference.py checks an activation against PyTorch (the reference data in
// tests/data/activations_reference.json, read by tests/activations/test_reference.cpp). The script
// reads this from `nnlab list --json`, so adding an activation never touches the script.
struct ReferenceVariant {
  std::string params;               // a parameter setting, JSON object text: R"({"alpha": 0.5})"
  std::vector<double> points = {};  // inputs of interest for this setting, besides the standard ones and the kinks
  std::string values = {};          // learnable values to use instead of the layer's initial ones, JSON: R"({"weight": [...]})"
};
struct Reference {
  // The function in PyTorch ops, one Python expression of x (a 2-D tensor), torch, F
  // (torch.nn.functional) and every parameter by name (a learnable one as a tensor):
  // "F.elu(x, alpha)", "x * torch.sigmoid(beta * x)".
  std::string torch;
  std::vector<ReferenceVariant> variants = {{"{}"}};  // the defaults, and settings worth checking
  double atol = 0;  // absolute tolerance where the test's default would make comparisons vacuous (0: default)
};

struct LayerEntry {
  std::string name;
  LayerKind kind = LayerKind::layer;
  std::string summary;
  // What the layer computes and its derivatives, one line each in the notation of the file's
  // header comment, which contains both verbatim (tests/layers/test_formulas.cpp checks): the
  // forward, "y = x·σ(βx)", and the backward, "dy/dx = σ(βx)(1 + βx(1 − σ(βx))); dL/dβ = Σ dy·x²·σ'(βx)".
  // `nnlab list` and `nnlab explain` print them.
  std::string formula;
  std::string derivative;
  std::vector<ParamSpec> params;
  // Parameter settings (JSON objects, e.g. R"({"mu": 1e6})") that push the formulas to their limits:
  // the float32 stability test runs every activation with its defaults and with each of these.
  std::vector<std::string> stress;
  std::vector<Recheck> rechecks;
  Reference reference;  // activations: the PyTorch reference (required for every activation)
  // Layers that hold layers (residual): the nested specs of the resolved config for this input
  // shape, every nested input width filled in (LayerSpec::to_json), as {param: JSON}. Unset for
  // every other layer.
  std::function<nlohmann::json(const Args&, const Shape& input, const std::string& path)> nested_json;
  // Set by NNLAB_REGISTER_LAYER.
  std::function<LayerPtr<float>(const Args&, const BuildContext&)> make_float;
  std::function<LayerPtr<double>(const Args&, const BuildContext&)> make_double;

  template <typename T>
  LayerPtr<T> make(const Args& a, const BuildContext& c) const {
    if constexpr (std::is_same_v<T, float>) return make_float(a, c);
    else return make_double(a, c);
  }
};
using LayerRegistry = Registry<LayerEntry>;

// The registry entry of a built layer (by its type()), and the names of the registered activations.
const LayerEntry& layer_entry(const std::string& type);
template <typename T>
const LayerEntry& layer_entry(const Layer<T>& layer) {
  return layer_entry(layer.type());
}
template <typename T>
bool is_activation(const Layer<T>& layer) {
  return is_activation(layer_entry(layer).kind);
}
std::vector<std::string> activation_names();
// The entry of the activation `name`; otherwise ConfigError "<where>: unknown activation 'x' (did you
// mean 'y'?); known activations: ..." or "<where>: 'dense' is a layer, not an activation;
// activations: ...<layer_hint>".
const LayerEntry& activation_entry(const std::string& name, const std::string& where, const std::string& layer_hint = "");

// The factories of a layer class template Class<T> constructed as Class(const Args&, const BuildContext&).
template <template <typename> class Class>
LayerEntry with_factories(LayerEntry e) {
  e.make_float = [](const Args& a, const BuildContext& c) -> LayerPtr<float> { return std::make_unique<Class<float>>(a, c); };
  e.make_double = [](const Args& a, const BuildContext& c) -> LayerPtr<double> {
    return std::make_unique<Class<double>>(a, c);
  };
  return e;
}

// One layer of a config, resolved: its registry entry, its validated arguments (defaults filled in)
// and the JSON path the user wrote it at ("model.layers[2]", or for the MLP shorthand the key it
// comes from, "model.hidden[0]"), which every message about the layer names.
struct LayerSpec {
  const LayerEntry* entry = nullptr;
  Args args;
  std::string path;

  // {"type": ..., every parameter}: the resolved config. Given the layer's input shape, parameters
  // declared input_width that are 0 show the real width.
  nlohmann::json to_json(const Shape* input = nullptr) const;
};

// A layer written in a config: a name ("relu") or an object ({"type": "elu", "alpha": 0.5}).
// Throws ConfigError naming `path` (unknown type with the nearest name, unknown key, bad value).
LayerSpec resolve_layer(const nlohmann::json& spec, const std::string& path);

// Build one layer. ConfigErrors from the factory (impossible combinations) get the spec's path
// prefixed; a ShapeError (an input the layer cannot take) is left to the caller, who knows the model
// (build_model prefixes the path too).
template <typename T>
LayerPtr<T> make_layer(const LayerSpec& spec, const BuildContext& ctx);
// resolve_layer then make_layer.
template <typename T>
LayerPtr<T> make_layer(const nlohmann::json& spec, const BuildContext& ctx, const std::string& path = "layer");

// Convenience for tests and tools: make_layer<double>("elu", Shape{3, 4, 4}, {{"alpha", 0.5}}), or
// with a width for a feature-vector input: make_layer<double>("elu", 7, {{"alpha", 0.5}}).
template <typename T>
LayerPtr<T> make_layer(const std::string& name, const Shape& input, const nlohmann::json& params,
                       std::uint64_t seed = 0);
template <typename T>
LayerPtr<T> make_layer(const std::string& name, Index in_features, const nlohmann::json& params,
                       std::uint64_t seed = 0);
template <typename T>
LayerPtr<T> make_layer(const std::string& name, Index in_features);

}  // namespace nnlab

#define NNLAB_CONCAT_INNER(a, b) a##b
#define NNLAB_CONCAT(a, b) NNLAB_CONCAT_INNER(a, b)

// Register a layer class template `Class<T>` whose constructor is Class(const Args&, const BuildContext&);
// the second argument is the LayerEntry without its factories, in designated-initializer form.
#define NNLAB_REGISTER_LAYER(Class, ...)                                                \
  namespace {                                                                          \
  [[maybe_unused]] const bool NNLAB_CONCAT(nnlab_registered_, __LINE__) =              \
      ::nnlab::LayerRegistry::instance().add(::nnlab::with_factories<Class>(::nnlab::LayerEntry __VA_ARGS__)); \
  }
