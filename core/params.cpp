#include "core/params.hpp"

#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.hpp"

namespace nnlab {

ParamSpec number(std::string name, double def, std::string help, double min, double max) {
  return {std::move(name), ValueKind::number, Value{def}, std::move(help), min, max, {}};
}
ParamSpec integer(std::string name, std::int64_t def, std::string help, double min, double max) {
  return {std::move(name), ValueKind::integer, Value{def}, std::move(help), min, max, {}};
}
ParamSpec required_integer(std::string name, std::string help, double min, double max) {
  return {std::move(name), ValueKind::integer, std::nullopt, std::move(help), min, max, {}};
}
ParamSpec input_width(std::string name, std::string help) {
  ParamSpec s = integer(std::move(name), 0, std::move(help), 0);
  s.input_width = true;
  return s;
}
ParamSpec input_channels(std::string name, std::string help) {
  ParamSpec s = input_width(std::move(name), std::move(help));
  s.input_channels = true;
  return s;
}
ParamSpec boolean(std::string name, bool def, std::string help) {
  ParamSpec s;
  s.name = std::move(name), s.kind = ValueKind::boolean, s.default_value = Value{def}, s.help = std::move(help);
  return s;
}
ParamSpec text(std::string name, std::string def, std::string help, std::vector<std::string> choices) {
  ParamSpec s;
  s.name = std::move(name), s.kind = ValueKind::text, s.default_value = Value{std::move(def)};
  s.help = std::move(help), s.choices = std::move(choices);
  return s;
}
ParamSpec numbers(std::string name, std::vector<double> def, std::string help) {
  ParamSpec s;
  s.name = std::move(name), s.kind = ValueKind::numbers, s.default_value = Value{std::move(def)};
  s.help = std::move(help);
  return s;
}

ParamSpec required_layer_list(std::string name, std::string help) {
  ParamSpec s;
  s.name = std::move(name), s.kind = ValueKind::layers, s.help = std::move(help), s.min = 1;
  return s;
}
ParamSpec layer_list(std::string name, std::string help) {
  ParamSpec s;
  s.name = std::move(name), s.kind = ValueKind::layers, s.default_value = Value{layer_json(nlohmann::json::array())};
  s.help = std::move(help), s.min = 0;
  return s;
}
ParamSpec optional_layer(std::string name, std::string help) {
  ParamSpec s;
  s.name = std::move(name), s.kind = ValueKind::layer, s.default_value = Value{layer_json(nullptr)};
  s.help = std::move(help);
  return s;
}

LayerJson layer_json(const nlohmann::json& j) { return LayerJson{std::make_shared<const nlohmann::json>(j)}; }
bool LayerJson::operator==(const LayerJson& other) const { return *json == *other.json; }
void to_json(nlohmann::json& j, const LayerJson& l) { j = *l.json; }

std::string kind_name(ValueKind k) {
  switch (k) {
    case ValueKind::boolean: return "a boolean";
    case ValueKind::integer: return "an integer";
    case ValueKind::number: return "a number";
    case ValueKind::text: return "a string";
    case ValueKind::numbers: return "an array of numbers";
    case ValueKind::layers: return "an array of layer specs";
    case ValueKind::layer: return "a layer spec or null";
  }
  return "?";
}

std::string to_string(const Value& v) {
  struct V {
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const {
      std::ostringstream os;
      os.precision(10);
      os << d;
      return os.str();
    }
    std::string operator()(const std::string& s) const { return "\"" + s + "\""; }
    std::string operator()(const std::vector<double>& xs) const {
      std::string out = "[";
      for (std::size_t i = 0; i < xs.size(); ++i) out += (i ? "," : "") + (*this)(xs[i]);
      return out + "]";
    }
    std::string operator()(const LayerJson& l) const { return l.json->dump(); }
  };
  return std::visit(V{}, v);
}

const Value& Args::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw Error("internal: parameter '" + name + "' was not declared");
  return it->second;
}
double Args::number(const std::string& name) const {
  const Value& v = get(name);
  if (auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  return std::get<double>(v);
}
std::int64_t Args::integer(const std::string& name) const { return std::get<std::int64_t>(get(name)); }
bool Args::boolean(const std::string& name) const { return std::get<bool>(get(name)); }
const std::string& Args::text(const std::string& name) const { return std::get<std::string>(get(name)); }
const std::vector<double>& Args::numbers(const std::string& name) const {
  return std::get<std::vector<double>>(get(name));
}
const nlohmann::json& Args::layers(const std::string& name) const { return *std::get<LayerJson>(get(name)).json; }

namespace {
std::string json_type(const nlohmann::json& j) {
  if (j.is_boolean()) return "a boolean";
  if (j.is_number_integer() || j.is_number_unsigned()) return "an integer";
  if (j.is_number()) return "a number";
  if (j.is_string()) return "a string";
  if (j.is_array()) return "an array";
  if (j.is_object()) return "an object";
  return "null";
}

// `text`: the value as the user wrote it (integers exactly), for the message.
void check_range(const ParamSpec& s, double x, const std::string& where, const std::string& text = "") {
  if (!std::isfinite(x)) throw ConfigError(where + ": must be a finite number");
  if (x < s.min || x > s.max) {
    std::ostringstream os;
    os << where << ": ";
    if (text.empty()) os << x;
    else os << text;
    os << " is out of range; allowed ";
    // Bounds of an integer parameter exactly (9223372036854775807, not 9.2e+18).
    const auto bound = [&](double b) {
      if (s.kind == ValueKind::integer && std::abs(b) <= 9.2e18) return std::to_string(static_cast<std::int64_t>(b));
      std::ostringstream b_os;
      b_os << b;
      return b_os.str();
    };
    if (std::isfinite(s.min) && std::isfinite(s.max)) os << "[" << bound(s.min) << ", " << bound(s.max) << "]";
    else if (std::isfinite(s.min)) os << ">= " << bound(s.min);
    else os << "<= " << bound(s.max);
    throw ConfigError(os.str());
  }
}

Value convert(const ParamSpec& s, const nlohmann::json& j, const std::string& where) {
  auto wrong = [&] {
    return ConfigError(where + ": expected " + kind_name(s.kind) + ", got " + json_type(j) + " (" + j.dump() + ")");
  };
  switch (s.kind) {
    case ValueKind::boolean:
      if (!j.is_boolean()) throw wrong();
      return j.get<bool>();
    case ValueKind::integer: {
      std::int64_t v;
      // Integers beyond int64 (nlohmann keeps them unsigned) are out of every range: say so with the
      // value as written, not its two's-complement reading.
      if (j.is_number_unsigned() && j.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
        check_range(s, static_cast<double>(j.get<std::uint64_t>()), where, j.dump());
      if (j.is_number_integer() || j.is_number_unsigned()) v = j.get<std::int64_t>();
      else if (j.is_number_float() && std::nearbyint(j.get<double>()) == j.get<double>() &&
               std::abs(j.get<double>()) < 9e15)
        v = static_cast<std::int64_t>(j.get<double>());
      else if (j.is_number_float() && std::nearbyint(j.get<double>()) == j.get<double>()) {
        check_range(s, j.get<double>(), where, j.dump());  // a whole number too large for int64
        throw wrong();
      } else throw wrong();
      check_range(s, static_cast<double>(v), where, std::to_string(v));
      return v;
    }
    case ValueKind::number: {
      if (!j.is_number()) throw wrong();
      const double v = j.get<double>();
      check_range(s, v, where);
      return v;
    }
    case ValueKind::text: {
      if (!j.is_string()) throw wrong();
      std::string v = j.get<std::string>();
      if (!s.choices.empty() && std::find(s.choices.begin(), s.choices.end(), v) == s.choices.end())
        throw ConfigError(where + ": '" + v + "' is not one of " + join(s.choices) + did_you_mean(v, s.choices));
      return v;
    }
    case ValueKind::numbers: {
      if (!j.is_array()) throw wrong();
      std::vector<double> v;
      for (std::size_t i = 0; i < j.size(); ++i) {
        if (!j[i].is_number()) throw ConfigError(where + "[" + std::to_string(i) + "]: expected a number, got " + json_type(j[i]));
        v.push_back(j[i].get<double>());
        check_range(s, v.back(), where + "[" + std::to_string(i) + "]");
      }
      return v;
    }
    case ValueKind::layers:
      // Only the list itself: core/registry resolves each entry with its own path.
      if (!j.is_array()) throw wrong();
      if (static_cast<double>(j.size()) < s.min)
        throw ConfigError(where + ": expected a non-empty array of layer specs, got " + j.dump());
      return layer_json(j);
    case ValueKind::layer:
      if (!j.is_null() && !j.is_string() && !j.is_object()) throw wrong();
      return layer_json(j);
  }
  throw wrong();
}
}  // namespace

Args parse_args(const std::vector<ParamSpec>& specs, const nlohmann::json& obj, const std::string& path,
                const std::vector<std::string>& ignore) {
  const std::string prefix = path.empty() ? "" : path + ".";
  if (!obj.is_null() && !obj.is_object())
    throw ConfigError((path.empty() ? "config" : path) + ": expected an object, got " + json_type(obj));
  std::vector<std::string> valid;
  for (const auto& s : specs) valid.push_back(s.name);
  std::map<std::string, Value> values;
  if (obj.is_object()) {
    for (const auto& [key, val] : obj.items()) {
      if (std::find(ignore.begin(), ignore.end(), key) != ignore.end()) continue;
      const std::string& name = key;  // (clang 14 cannot capture a structured binding)
      auto it = std::find_if(specs.begin(), specs.end(), [&](const ParamSpec& s) { return s.name == name; });
      if (it == specs.end()) {
        throw ConfigError(prefix + key + ": unknown key" + did_you_mean(key, valid) +
                          (valid.empty() ? "; this takes no parameters" : "; valid keys: " + join(valid)));
      }
      values[key] = convert(*it, val, prefix + key);
    }
  }
  for (const auto& s : specs) {
    if (values.count(s.name)) continue;
    if (!s.default_value) throw ConfigError(prefix + s.name + ": missing required key (" + s.help + ")");
    values[s.name] = *s.default_value;
  }
  return Args(std::move(values));
}

nlohmann::json args_to_json(const Args& args) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : args.values()) {
    const std::string& key = k;  // (clang 14 cannot capture a structured binding)
    std::visit([&](const auto& x) { j[key] = x; }, v);
  }
  return j;
}

std::string describe(const std::vector<ParamSpec>& specs) {
  std::vector<std::string> parts;
  for (const auto& s : specs) {
    std::string p = s.name + "=" + (s.default_value ? to_string(*s.default_value) : std::string("<required>"));
    if (!s.choices.empty()) p += " {" + join(s.choices, "|") + "}";
    parts.push_back(p);
  }
  return join(parts, ", ");
}

}  // namespace nnlab
