// Declared parameters of a configurable thing (a layer, an activation, an optimizer, a data set).
//
// Each registered component lists its parameters as ParamSpecs: name, type, default, allowed range
// and a one-line help. From that one list nnlab validates configs (unknown keys with the nearest
// valid name, wrong types, out-of-range values, all with their JSON path), fills in defaults for
// the resolved config, and prints `nnlab list`. Components then read validated values from Args.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace nnlab {

// Layer specs held by a layer that contains layers (residual's body, shortcut and activation), as
// JSON: a list for ValueKind::layers, one spec or null (none) for ValueKind::layer. params knows no
// layers: core/registry's resolve_layer resolves every nested spec (with its own path) and stores them
// back with their defaults filled in, so the resolved config prints them in full.
struct LayerJson {
  std::shared_ptr<const nlohmann::json> json;  // never null
  bool operator==(const LayerJson& other) const;
};
void to_json(nlohmann::json& j, const LayerJson& l);  // lets nlohmann assign a LayerJson: j[key] = l
LayerJson layer_json(const nlohmann::json& j);

using Value = std::variant<bool, std::int64_t, double, std::string, std::vector<double>, LayerJson>;
enum class ValueKind { boolean, integer, number, text, numbers, layers, layer };

struct ParamSpec {
  std::string name;
  ValueKind kind = ValueKind::number;
  std::optional<Value> default_value;  // none: the parameter is required
  std::string help;
  double min = -std::numeric_limits<double>::infinity();  // inclusive bounds (integer/number)
  double max = std::numeric_limits<double>::infinity();
  std::vector<std::string> choices;  // allowed values for text parameters (empty: any)
  // (layers: min is the fewest entries the list may have.)
  // An integer whose 0 means "the width of the layer's input" (dense in_features, batchnorm
  // num_features): the resolved config of a built model shows the real width instead of 0.
  bool input_width = false;
  // With input_width: the 0 stands for the input's channels (Shape::channels(): conv2d in_channels,
  // batch_norm2d num_features) rather than its values per sample.
  bool input_channels = false;
};

// Helpers that read like a table in the component's source file.
ParamSpec number(std::string name, double def, std::string help,
                 double min = -std::numeric_limits<double>::infinity(),
                 double max = std::numeric_limits<double>::infinity());
ParamSpec integer(std::string name, std::int64_t def, std::string help,
                  double min = -std::numeric_limits<double>::infinity(),
                  double max = std::numeric_limits<double>::infinity());
ParamSpec required_integer(std::string name, std::string help, double min = 1,
                           double max = std::numeric_limits<double>::infinity());
// integer(name, 0, help, 0) marked input_width (see ParamSpec::input_width).
ParamSpec input_width(std::string name, std::string help);
// integer(name, 0, help, 0) whose 0 means the input's channels (see ParamSpec::input_channels).
ParamSpec input_channels(std::string name, std::string help);
ParamSpec boolean(std::string name, bool def, std::string help);
ParamSpec text(std::string name, std::string def, std::string help,
               std::vector<std::string> choices = {});
ParamSpec numbers(std::string name, std::vector<double> def, std::string help);
// A list of layer specs: required and non-empty, or optional with the default [].
ParamSpec required_layer_list(std::string name, std::string help);
ParamSpec layer_list(std::string name, std::string help);
// One layer spec, or null (the default: none).
ParamSpec optional_layer(std::string name, std::string help);

std::string to_string(const Value& v);
std::string kind_name(ValueKind k);

// Validated parameter values, every declared parameter present (defaults filled in).
class Args {
 public:
  Args() = default;
  explicit Args(std::map<std::string, Value> values) : values_(std::move(values)) {}

  double number(const std::string& name) const;
  std::int64_t integer(const std::string& name) const;
  bool boolean(const std::string& name) const;
  const std::string& text(const std::string& name) const;
  const std::vector<double>& numbers(const std::string& name) const;
  // The JSON of a layers or layer parameter (an array, one spec, or null).
  const nlohmann::json& layers(const std::string& name) const;
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  const std::map<std::string, Value>& values() const { return values_; }
  void set(const std::string& name, Value v) { values_[name] = std::move(v); }

 private:
  const Value& get(const std::string& name) const;
  std::map<std::string, Value> values_;
};

// Validate a JSON object against specs. `path` names the object in messages ("model.layers[1]").
// Keys listed in `ignore` (e.g. "type") are skipped. Throws ConfigError naming the JSON path of an
// unknown key (with the nearest valid key and the list of valid ones), a wrong type, a value out of
// range or not among the choices, or a missing required parameter.
Args parse_args(const std::vector<ParamSpec>& specs, const nlohmann::json& obj, const std::string& path,
                const std::vector<std::string>& ignore = {"type"});

// Args as JSON (every parameter, defaults included), for the resolved config.
nlohmann::json args_to_json(const Args& args);

// "alpha=1 (ELU's alpha), ..." for `nnlab list`.
std::string describe(const std::vector<ParamSpec>& specs);

}  // namespace nnlab
