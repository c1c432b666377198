// Experiment files: validation and expansion into runs (see report_experiment.hpp).
#include "apps/sweep/experiment.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/run/spec.hpp"
#include "core/error.hpp"
#include "core/io/fileio.hpp"
#include "core/registry.hpp"

namespace nnlab::report {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string>& experiment_keys() {
  static const std::vector<std::string> k = {"description", "base",           "set",   "activations",
                                             "sweep",       "seeds",          "target_accuracy", "output"};
  return k;
}

json plain(const ojson& v) { return json::parse(v.dump()); }

std::string where(const std::string& source, const std::string& path) { return source + ": " + path; }

// The last component of a --set path: "optimizer.lr" -> "lr".
std::string short_name(const std::string& path) {
  const auto dot = path.rfind('.');
  return dot == std::string::npos ? path : path.substr(dot + 1);
}

std::string number_text(const json& v) {
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v.get<double>());
  return buf;
}

// The slug of one value (no axis name): 0.1 -> "0.1", [64,64] -> "64x64", {"type":"elu","alpha":0.5} -> "elu-alpha0.5".
std::string value_slug(const json& v) {
  if (v.is_string()) return slug(v.get<std::string>());
  if (v.is_number()) return slug(number_text(v));
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_array()) {
    std::string s;
    for (const auto& e : v) s += (s.empty() ? "" : "x") + value_slug(e);
    return s.empty() ? "none" : s;
  }
  if (v.is_object()) {
    std::string s = v.contains("type") ? value_slug(v["type"]) : "";
    for (const auto& [k, e] : v.items())
      if (k != "type") s += (s.empty() ? "" : "-") + slug(k) + value_slug(e);
    return s;
  }
  return "null";
}

}  // namespace

std::string slug(const std::string& text) {
  std::string s;
  for (char c : text) {
    if (c == '+') continue;  // 1e+30 -> 1e30 (a '-' would read as a negative exponent)
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    s += keep ? c : '-';
  }
  return s;
}

std::string display_value(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number()) return number_text(v);
  if (v.is_object() && v.contains("type") && v["type"].is_string()) {
    std::string s = v["type"].get<std::string>(), args;
    for (const auto& [k, e] : v.items())
      if (k != "type") args += (args.empty() ? "" : ", ") + k + "=" + display_value(e);
    return args.empty() ? s : s + "(" + args + ")";
  }
  return v.dump();
}

Experiment parse_experiment(const ojson& doc, const std::string& source, const fs::path& dir) {
  Experiment e;
  e.source = source;
  e.name = fs::path(source).stem().string();
  e.doc = plain(doc);
  if (!doc.is_object()) throw ConfigError(source + ": an experiment must be a JSON object");
  for (const auto& [key, v] : doc.items())
    if (std::find(experiment_keys().begin(), experiment_keys().end(), key) == experiment_keys().end())
      throw ConfigError(where(source, key) + ": unknown key" + did_you_mean(key, experiment_keys()) +
                        "; valid keys: " + join(experiment_keys()));

  if (doc.contains("description")) {
    if (!doc["description"].is_string()) throw ConfigError(where(source, "description") + ": expected a string");
    e.description = doc["description"].get<std::string>();
  }

  if (!doc.contains("base") || !doc["base"].is_string())
    throw ConfigError(where(source, "base") + ": expected the path of the base training config, e.g. \"fashion_mlp.json\"");
  fs::path base = doc["base"].get<std::string>();
  if (base.is_relative()) base = dir / base;
  if (!fs::exists(base)) throw ConfigError(where(source, "base") + ": " + base.string() + " not found");
  e.base = fs::absolute(base).lexically_normal();

  if (doc.contains("set")) {
    if (!doc["set"].is_object())
      throw ConfigError(where(source, "set") + ": expected an object of --set paths and values, e.g. {\"train.epochs\": 3}");
    for (const auto& [path, v] : doc["set"].items()) e.fixed.push_back(path + "=" + v.dump());
  }

  if (doc.contains("activations")) {
    const ojson& a = doc["activations"];
    if (!a.is_array() || a.empty())
      throw ConfigError(where(source, "activations") + ": expected a non-empty list like [\"relu\", {\"type\": \"elu\", \"alpha\": 0.5}]");
    for (std::size_t i = 0; i < a.size(); ++i) {
      const std::string path = "activations[" + std::to_string(i) + "]";
      const json spec = plain(a[i]);
      const LayerSpec r = resolve_layer(spec, where(source, path));
      if (!is_activation(r.entry->kind))
        throw ConfigError(where(source, path) + ": '" + r.entry->name + "' is not an activation");
      e.activations.push_back(spec);
    }
  }

  if (doc.contains("sweep")) {
    const ojson& s = doc["sweep"];
    if (!s.is_object())
      throw ConfigError(where(source, "sweep") + ": expected an object of --set paths and value lists, e.g. {\"optimizer.lr\": [0.01, 0.1]}");
    for (const auto& [path, values] : s.items()) {
      const std::string p = "sweep." + path;
      if (path.empty()) throw ConfigError(where(source, "sweep") + ": empty path");
      if (path == "model.activation" && !e.activations.empty())
        throw ConfigError(where(source, p) + ": the activation is already swept by \"activations\"");
      if (path == "train.seed") throw ConfigError(where(source, p) + ": sweep seeds with \"seeds\"");
      if (!values.is_array() || values.empty())
        throw ConfigError(where(source, p) + ": expected a non-empty list of values");
      Axis axis{path, {}};
      for (const auto& v : values) axis.values.push_back(plain(v));
      e.sweep.push_back(std::move(axis));
    }
  }

  if (doc.contains("seeds")) {
    const ojson& s = doc["seeds"];
    if (!s.is_array() || s.empty()) throw ConfigError(where(source, "seeds") + ": expected a non-empty list of seeds like [1, 2, 3]");
    std::set<std::uint64_t> seen;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (!s[i].is_number_unsigned() && !(s[i].is_number_integer() && s[i].get<std::int64_t>() >= 0))
        throw ConfigError(where(source, "seeds[" + std::to_string(i) + "]") + ": expected a non-negative integer, got " + s[i].dump());
      const auto seed = s[i].get<std::uint64_t>();
      if (!seen.insert(seed).second)
        throw ConfigError(where(source, "seeds[" + std::to_string(i) + "]") + ": seed " + std::to_string(seed) + " is listed twice");
      e.seeds.push_back(seed);
    }
  } else {
    e.seeds.push_back(load_config(e.base.string()).train.seed);
  }

  if (doc.contains("target_accuracy")) {
    const ojson& t = doc["target_accuracy"];
    if (!t.is_number() || !(t.get<double>() > 0 && t.get<double>() <= 1))
      throw ConfigError(where(source, "target_accuracy") + ": expected a number in (0, 1], got " + t.dump());
    e.target_accuracy = t.get<double>();
  }

  e.output = "runs/" + e.name;
  if (doc.contains("output")) {
    if (!doc["output"].is_string() || doc["output"].get<std::string>().empty())
      throw ConfigError(where(source, "output") + ": expected a directory name");
    e.output = doc["output"].get<std::string>();
  }
  return e;
}

Experiment load_experiment(const std::string& path) {
  if (!fs::exists(path)) throw ConfigError(path + ": experiment file not found");
  ojson doc;
  try {
    doc = ojson::parse(read_file(path, "experiment"), nullptr, true, /*ignore_comments=*/true);
  } catch (const ojson::exception& err) {  // parse_error, and out_of_range for a number too large for a double
    throw ConfigError(path + ": not valid JSON: " + err.what());
  }
  return parse_experiment(doc, path, fs::path(path).parent_path());
}

Plan expand(const Experiment& e) {
  Plan plan;
  // Axes: the activation (if swept), then the sweep paths in file order.
  struct AxisValues {
    std::string path, label;  // --set path; the name in setting labels ("" for the activation)
    std::vector<json> values;
  };
  std::vector<AxisValues> axes;
  if (!e.activations.empty()) axes.push_back({"model.activation", "", e.activations});
  for (const auto& a : e.sweep) axes.push_back({a.path, short_name(a.path), a.values});
  for (const auto& a : axes) plan.axes.push_back(a.label.empty() ? "activation" : a.path);

  // Odometer over the axes, the last one fastest; seeds innermost.
  std::vector<std::size_t> pos(axes.size(), 0);
  std::set<std::string> used_ids;
  while (true) {
    std::string label, id_base;
    std::vector<std::string> values, overrides = e.fixed;
    for (std::size_t k = 0; k < axes.size(); ++k) {
      const json& v = axes[k].values[pos[k]];
      const std::string shown = display_value(v);
      values.push_back(shown);
      label += (label.empty() ? "" : ", ") + (axes[k].label.empty() ? shown : axes[k].label + "=" + shown);
      id_base += (id_base.empty() ? "" : "_") + slug(axes[k].label) + value_slug(v);
      overrides.push_back(axes[k].path + "=" + v.dump());
    }
    if (label.empty()) label = "base";
    const std::size_t setting = plan.settings.size();
    plan.settings.push_back(label);
    for (const auto seed : e.seeds) {
      PlannedRun r;
      const std::string id = (id_base.empty() ? "" : id_base + "_") + "s" + std::to_string(seed);
      r.id = id;
      for (int n = 2; used_ids.count(r.id); ++n) r.id = id + "-" + std::to_string(n);  // distinct values, same slug
      used_ids.insert(r.id);
      r.setting = setting;
      r.values = values;
      r.seed = seed;
      r.overrides = overrides;
      r.overrides.push_back("train.seed=" + std::to_string(seed));
      plan.runs.push_back(std::move(r));
    }
    std::size_t k = axes.size();
    while (k > 0 && ++pos[k - 1] == axes[k - 1].values.size()) pos[--k] = 0;
    if (k == 0) break;
  }

  // Validate every run's config now, so a typo fails before hours of training.
  for (const auto& r : plan.runs) {
    try {
      load_config(e.base.string(), r.overrides);
    } catch (const Error& err) {
      throw ConfigError(e.source + ": run " + r.id + " (" + plan.settings[r.setting] + ", seed " + std::to_string(r.seed) +
                        "): " + err.what());
    }
  }
  return plan;
}

}  // namespace nnlab::report
