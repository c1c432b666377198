#include "core/registry.hpp"

#include <limits>
#include <nlohmann/json.hpp>

namespace nnlab {

void throw_input_shape(const std::string& layer, Index rows, Index cols, Index features) {
  throw ShapeError(layer + ": expected input with " + std::to_string(features) + " features, got " +
                   std::to_string(rows) + "x" + std::to_string(cols));
}

std::int64_t nested_index(std::int64_t parent, int branch, std::size_t position) {
  constexpr std::int64_t list = std::int64_t{1} << 18;
  if (parent < 0 || branch < 0 || branch > 3 || position >= static_cast<std::size_t>(list) ||
      parent >= (std::numeric_limits<std::int64_t>::max() >> 20) - 1)
    throw ConfigError("layers nested too deeply (or a list too long) for distinct random streams");
  return (parent + 1) * max_top_level_layers + branch * list + static_cast<std::int64_t>(position);
}

std::string at_path(const std::string& path, const std::string& message) {
  if (message.rfind(path, 0) == 0 && message.size() > path.size() &&
      (message[path.size()] == '.' || message[path.size()] == '['))
    return message;
  return path + ": " + message;
}

namespace {
// Resolve the layer specs nested in a layer's arguments (residual's body, shortcut, activation), each
// with its own path ("model.layers[3].body[1]"), and store them back in full (defaults filled in).
void resolve_nested(const LayerEntry& e, Args& args, const std::string& path) {
  for (const auto& p : e.params) {
    if (p.kind == ValueKind::layers) {
      const nlohmann::json& list = args.layers(p.name);
      nlohmann::json full = nlohmann::json::array();
      for (std::size_t i = 0; i < list.size(); ++i)
        full.push_back(resolve_layer(list[i], path + "." + p.name + "[" + std::to_string(i) + "]").to_json());
      args.set(p.name, layer_json(full));
    } else if (p.kind == ValueKind::layer && !args.layers(p.name).is_null()) {
      args.set(p.name, layer_json(resolve_layer(args.layers(p.name), path + "." + p.name).to_json()));
    }
  }
}
}  // namespace

LayerSpec resolve_layer(const nlohmann::json& spec, const std::string& path) {
  const auto& reg = LayerRegistry::instance();
  if (spec.is_string()) {
    const auto& e = reg.get(spec.get<std::string>(), "layer", path);
    LayerSpec s{&e, parse_args(e.params, nlohmann::json::object(), path), path};
    resolve_nested(e, s.args, path);
    return s;
  }
  if (!spec.is_object()) throw ConfigError(path + ": a layer is a name (\"relu\") or an object with a \"type\"");
  if (!spec.contains("type")) throw ConfigError(path + ".type: missing (every layer object names its type)");
  if (!spec["type"].is_string()) throw ConfigError(path + ".type: expected a string, got " + spec["type"].dump());
  const auto& e = reg.get(spec["type"].get<std::string>(), "layer", path + ".type");
  LayerSpec s{&e, parse_args(e.params, spec, path), path};
  resolve_nested(e, s.args, path);
  return s;
}

nlohmann::json LayerSpec::to_json(const Shape* input) const {
  nlohmann::json j = {{"type", entry->name}};
  const nlohmann::json a = args_to_json(args);
  for (const auto& [k, v] : a.items()) j[k] = v;
  if (input) {
    for (const auto& p : entry->params)
      if (p.input_width && j[p.name] == 0) j[p.name] = p.input_channels ? input->channels() : input->numel();
    if (entry->nested_json) {
      const nlohmann::json nested = entry->nested_json(args, *input, path);
      for (const auto& [k, v] : nested.items()) j[k] = v;
    }
  }
  return j;
}

template <typename T>
LayerPtr<T> make_layer(const LayerSpec& spec, const BuildContext& ctx) {
  BuildContext c = ctx;
  c.path = spec.path;
  try {
    return spec.entry->template make<T>(spec.args, c);
  } catch (const ConfigError& e) {
    throw ConfigError(at_path(spec.path, e.what()));
  }
}

template <typename T>
LayerPtr<T> make_layer(const nlohmann::json& spec, const BuildContext& ctx, const std::string& path) {
  return make_layer<T>(resolve_layer(spec, path), ctx);
}

const LayerEntry& layer_entry(const std::string& type) {
  const LayerEntry* e = LayerRegistry::instance().find(type);
  if (!e) throw Error("internal: layer type '" + type + "' is not registered");
  return *e;
}

std::vector<std::string> activation_names() {
  std::vector<std::string> out;
  for (const auto* e : LayerRegistry::instance().all())
    if (is_activation(e->kind)) out.push_back(e->name);
  return out;
}

const LayerEntry& activation_entry(const std::string& name, const std::string& where, const std::string& layer_hint) {
  const LayerEntry* e = LayerRegistry::instance().find(name);
  if (e && is_activation(e->kind)) return *e;
  const auto known = activation_names();
  if (!e)
    throw ConfigError(where + ": unknown activation '" + name + "'" + did_you_mean(name, known) +
                      "; known activations: " + join(known));
  throw ConfigError(where + ": '" + name + "' is a layer, not an activation; activations: " + join(known) + layer_hint);
}

template <typename T>
LayerPtr<T> make_layer(const std::string& name, const Shape& input, const nlohmann::json& params,
                       std::uint64_t seed) {
  nlohmann::json spec = params.is_null() ? nlohmann::json::object() : params;
  spec["type"] = name;
  BuildContext ctx;
  ctx.input = input;
  ctx.seed = seed;
  return make_layer<T>(spec, ctx, name);
}

template <typename T>
LayerPtr<T> make_layer(const std::string& name, Index in_features, const nlohmann::json& params,
                       std::uint64_t seed) {
  return make_layer<T>(name, Shape{in_features}, params, seed);
}

template <typename T>
LayerPtr<T> make_layer(const std::string& name, Index in_features) {
  return make_layer<T>(name, in_features, nlohmann::json::object());
}

template LayerPtr<float> make_layer<float>(const LayerSpec&, const BuildContext&);
template LayerPtr<double> make_layer<double>(const LayerSpec&, const BuildContext&);
template LayerPtr<float> make_layer<float>(const nlohmann::json&, const BuildContext&, const std::string&);
template LayerPtr<double> make_layer<double>(const nlohmann::json&, const BuildContext&, const std::string&);
template LayerPtr<float> make_layer<float>(const std::string&, const Shape&, const nlohmann::json&, std::uint64_t);
template LayerPtr<double> make_layer<double>(const std::string&, const Shape&, const nlohmann::json&, std::uint64_t);
template LayerPtr<float> make_layer<float>(const std::string&, Index, const nlohmann::json&, std::uint64_t);
template LayerPtr<double> make_layer<double>(const std::string&, Index, const nlohmann::json&, std::uint64_t);
template LayerPtr<float> make_layer<float>(const std::string&, Index);
template LayerPtr<double> make_layer<double>(const std::string&, Index);

}  // namespace nnlab
