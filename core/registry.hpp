// Registries: map the names used in configs to factories, Caffe-style.
//
// A component registers itself with one line in its own .cpp file, e.g.
//   NNLAB_REGISTER_LAYER(Elu, "elu", LayerKind::activation, "Exponential linear unit",
//                        {number("alpha", 1.0, "saturation value for x -> -inf")});
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

enum class LayerKind { layer, activation };

// What a layer factory knows besides its own parameters.
struct BuildContext {
  Index in_features = 0;   // width of the input this layer receives
  std::uint64_t seed = 0;  // the run's seed; layers derive their own streams from it
  int index = 0;           // position in the model (so each layer's stream differs)
};

struct LayerEntry {
  std::string name;
  LayerKind kind = LayerKind::layer;
  std::string summary;
  std::vector<ParamSpec> params;
  std::function<LayerPtr<float>(const Args&, const BuildContext&)> make_float;
  std::function<LayerPtr<double>(const Args&, const BuildContext&)> make_double;

  template <typename T>
  LayerPtr<T> make(const Args& a, const BuildContext& c) const {
    if constexpr (std::is_same_v<T, float>) return make_float(a, c);
    else return make_double(a, c);
  }
};
using LayerRegistry = Registry<LayerEntry>;

// A layer spec is a string ("relu") or an object ({"type": "elu", "alpha": 0.5}).
// Returns the spec's name and validated arguments; `path` is its JSON path for messages.
struct ResolvedLayer {
  const LayerEntry* entry = nullptr;
  Args args;
};
ResolvedLayer resolve_layer(const nlohmann::json& spec, const std::string& path);

// The spec with every parameter spelled out (defaults filled in), for the resolved config.
nlohmann::json resolved_layer_json(const ResolvedLayer& r);

// Build one layer. Errors from the factory (impossible combinations) get `path` prefixed.
template <typename T>
LayerPtr<T> make_layer(const nlohmann::json& spec, const BuildContext& ctx, const std::string& path = "layer");

// Convenience for tests and tools: make_layer<double>("elu", in_features, {{"alpha", 0.5}}).
template <typename T>
LayerPtr<T> make_layer(const std::string& name, Index in_features, const nlohmann::json& params,
                       std::uint64_t seed = 0);
template <typename T>
LayerPtr<T> make_layer(const std::string& name, Index in_features);

}  // namespace nnlab

#define NNLAB_CONCAT_INNER(a, b) a##b
#define NNLAB_CONCAT(a, b) NNLAB_CONCAT_INNER(a, b)

// Register a layer class template `Class<T>` whose constructor is Class(const Args&, const BuildContext&).
#define NNLAB_REGISTER_LAYER(Class, name, kind, summary, ...)                                        \
  namespace {                                                                                       \
  [[maybe_unused]] const bool NNLAB_CONCAT(nnlab_registered_, __LINE__) =                           \
      ::nnlab::LayerRegistry::instance().add(::nnlab::LayerEntry{                                   \
          name, kind, summary, std::vector<::nnlab::ParamSpec> __VA_ARGS__,                         \
          [](const ::nnlab::Args& a, const ::nnlab::BuildContext& c) -> ::nnlab::LayerPtr<float> {  \
            return std::make_unique<Class<float>>(a, c);                                            \
          },                                                                                        \
          [](const ::nnlab::Args& a, const ::nnlab::BuildContext& c) -> ::nnlab::LayerPtr<double> { \
            return std::make_unique<Class<double>>(a, c);                                           \
          }});                                                                                      \
  }
