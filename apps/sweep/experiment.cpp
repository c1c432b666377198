// Experiment files: validation and expansion into runs (see report_experiment.hpp).
#include "apps/sweep/experiment.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "core/error.hpp"
#include "core/io/fileio.hpp"
#include "core/io/json_parse.hpp"
#include "core/registry.hpp"
#include "core/run/spec.hpp"

namespace nnlab::report {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string>& experiment_keys() {
  static const std::vector<std::string> k = {"description", "base",     "set",     "activations", "sweep",
                                             "seeds",       "target_accuracy", "output", "baseline", "compare",
                                             "metric",      "alpha",    "detect",  "tune"};
  return k;
}

json plain(const ojson& v) { return json::parse(v.dump()); }

std::string where(const std::string& source, const std::string& path) { return source + ": " + path; }

// a × b, saturating at SIZE_MAX (a plan's run count must not wrap around to something small).
std::size_t times(std::size_t a, std::size_t b) {
  if (a != 0 && b > std::numeric_limits<std::size_t>::max() / a) return std::numeric_limits<std::size_t>::max();
  return a * b;
}

// A list that alone would make the plan too big is refused before its values are validated (a
// million activations would otherwise be resolved one by one first).
void check_axis_size(const std::string& source, const std::string& path, std::size_t n) {
  if (n > max_planned_runs)
    throw ConfigError(where(source, path) + ": " + std::to_string(n) + " values make more than the limit of " +
                      std::to_string(max_planned_runs) + " runs per experiment; sweep fewer values or split the "
                      "experiment into several files");
}

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

// A list of distinct non-negative integer seeds ("seeds", "tune.seeds").
std::vector<std::uint64_t> parse_seeds(const ojson& s, const std::string& source, const std::string& path,
                                       const std::string& expected) {
  if (!s.is_array() || s.empty()) throw ConfigError(where(source, path) + ": expected " + expected);
  check_axis_size(source, path, s.size());
  std::vector<std::uint64_t> seeds;
  std::set<std::uint64_t> seen;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const std::string at = where(source, path + "[" + std::to_string(i) + "]");
    if (!s[i].is_number_unsigned() && !(s[i].is_number_integer() && s[i].get<std::int64_t>() >= 0))
      throw ConfigError(at + ": expected a non-negative integer, got " + s[i].dump());
    const auto seed = s[i].get<std::uint64_t>();
    if (!seen.insert(seed).second) throw ConfigError(at + ": seed " + std::to_string(seed) + " is listed twice");
    seeds.push_back(seed);
  }
  return seeds;
}

}  // namespace

const std::vector<std::string>& comparison_metrics() {
  static const std::vector<std::string> m = {"selected_test_acc", "final_test_acc", "best_test_acc"};
  return m;
}

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
  std::error_code ec;
  if (!fs::exists(base, ec)) throw ConfigError(where(source, "base") + ": " + base.string() + " not found");
  if (!fs::is_regular_file(base, ec))
    throw ConfigError(where(source, "base") + ": " + base.string() + " is not a regular file (expected a training config)");
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
    check_axis_size(source, "activations", a.size());
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
      check_axis_size(source, p, values.size());
      Axis axis{path, {}};
      for (const auto& v : values) axis.values.push_back(plain(v));
      e.sweep.push_back(std::move(axis));
    }
  }

  if (doc.contains("seeds")) {
    e.seeds = parse_seeds(doc["seeds"], source, "seeds", "a non-empty list of seeds like [1, 2, 3]");
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

  // Paired comparisons.
  if (doc.contains("baseline")) {
    const json b = plain(doc["baseline"]);
    const std::vector<json>* values = !e.activations.empty() ? &e.activations : !e.sweep.empty() ? &e.sweep[0].values : nullptr;
    const std::string axis = !e.activations.empty() ? "activations" : !e.sweep.empty() ? "sweep." + e.sweep[0].path : "";
    if (!values)
      throw ConfigError(where(source, "baseline") + ": nothing is swept, so there is nothing to compare with a baseline");
    std::vector<std::string> shown;
    bool found = false;
    for (const auto& v : *values) {
      shown.push_back(display_value(v));
      if (v == b || (b.is_string() && display_value(v) == b.get<std::string>())) found = true;
    }
    if (!found)
      throw ConfigError(where(source, "baseline") + ": " + b.dump() + " is not one of the values of " + axis +
                        (b.is_string() ? did_you_mean(b.get<std::string>(), shown) : std::string()) + "; its values: " + join(shown));
    e.baseline = b;
  }
  if (doc.contains("compare")) {
    const ojson& c = doc["compare"];
    const std::vector<std::string> choices = {"baseline", "all"};
    if (!c.is_string() || std::find(choices.begin(), choices.end(), c.get<std::string>()) == choices.end())
      throw ConfigError(where(source, "compare") + ": expected \"baseline\" (every setting against the baseline) or "
                        "\"all\" (every pair), got " + c.dump() + (c.is_string() ? did_you_mean(c.get<std::string>(), choices) : ""));
    e.all_pairs = c.get<std::string>() == "all";
  }
  if (doc.contains("metric")) {
    const ojson& m = doc["metric"];
    if (!m.is_string() || std::find(comparison_metrics().begin(), comparison_metrics().end(), m.get<std::string>()) == comparison_metrics().end())
      throw ConfigError(where(source, "metric") + ": " + m.dump() + " is not a comparison metric" +
                        (m.is_string() ? did_you_mean(m.get<std::string>(), comparison_metrics()) : "") + "; valid: " +
                        join(comparison_metrics()));
    e.metric = m.get<std::string>();
  }
  if (doc.contains("alpha")) {
    const ojson& a = doc["alpha"];
    if (!a.is_number() || !(a.get<double>() > 0 && a.get<double>() <= 0.5))
      throw ConfigError(where(source, "alpha") + ": expected a significance level in (0, 0.5], e.g. 0.05, got " + a.dump());
    e.alpha = a.get<double>();
  }
  if (doc.contains("detect")) {
    const ojson& d = doc["detect"];
    if (!d.is_number() || !(d.get<double>() > 0 && d.get<double>() <= 100))
      throw ConfigError(where(source, "detect") + ": expected a difference in accuracy points in (0, 100], e.g. 0.2, got " + d.dump());
    e.detect = d.get<double>();
  }
  if (doc.contains("tune")) {
    const ojson& t = doc["tune"];
    const std::vector<std::string> keys = {"path", "values", "seeds", "set"};
    if (!t.is_object())
      throw ConfigError(where(source, "tune") + ": expected an object like {\"path\": \"optimizer.lr\", \"values\": [0.01, 0.1]}");
    for (const auto& [key, v] : t.items())
      if (std::find(keys.begin(), keys.end(), key) == keys.end())
        throw ConfigError(where(source, "tune." + key) + ": unknown key" + did_you_mean(key, keys) + "; valid keys: " + join(keys));
    Tune tune;
    if (!t.contains("path") || !t["path"].is_string() || t["path"].get<std::string>().empty())
      throw ConfigError(where(source, "tune.path") + ": expected the --set path to tune, e.g. \"optimizer.lr\"");
    tune.path = t["path"].get<std::string>();
    if (tune.path == "train.seed" || tune.path == "model.activation")
      throw ConfigError(where(source, "tune.path") + ": '" + tune.path + "' cannot be tuned (it is what the runs differ in)");
    for (const auto& a : e.sweep)
      if (a.path == tune.path)
        throw ConfigError(where(source, "tune.path") + ": '" + tune.path + "' is swept by \"sweep\"; tune it or sweep it");
    if (!t.contains("values") || !t["values"].is_array() || t["values"].size() < 2)
      throw ConfigError(where(source, "tune.values") + ": expected a list of at least 2 candidate values");
    check_axis_size(source, "tune.values", t["values"].size());
    for (const auto& v : t["values"]) tune.values.push_back(plain(v));
    if (t.contains("seeds")) tune.seeds = parse_seeds(t["seeds"], source, "tune.seeds", "a non-empty list of seeds");
    if (t.contains("set")) {
      if (!t["set"].is_object())
        throw ConfigError(where(source, "tune.set") + ": expected an object of --set paths and values, e.g. {\"train.epochs\": 3}");
      for (const auto& [path, v] : t["set"].items()) tune.fixed.push_back(path + "=" + v.dump());
    }
    e.tune = std::move(tune);
  }
  check_plan_size(e);
  return e;
}

std::size_t planned_runs(const Experiment& e) {
  std::size_t n = times(std::max<std::size_t>(1, e.activations.size()), std::max<std::size_t>(1, e.seeds.size()));
  for (const auto& a : e.sweep) n = times(n, a.values.size());
  return n;
}

void check_plan_size(const Experiment& e) {
  const std::size_t n = planned_runs(e);
  if (n <= max_planned_runs) return;
  std::string axes;
  auto axis = [&](const std::string& name, std::size_t count) {
    axes += (axes.empty() ? "" : " x ") + name + " " + std::to_string(count);
  };
  if (!e.activations.empty()) axis("activations", e.activations.size());
  for (const auto& a : e.sweep) axis("sweep." + a.path, a.values.size());
  axis("seeds", e.seeds.size());
  const std::string count = n == std::numeric_limits<std::size_t>::max() ? "more than 10^19" : std::to_string(n);
  throw ConfigError(e.source + ": the plan has " + count + " runs (" + axes + "), more than the limit of " +
                    std::to_string(max_planned_runs) + " runs per experiment; sweep fewer values or split the "
                    "experiment into several files");
}

Experiment load_experiment(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw ConfigError(path + ": experiment file not found");
  if (!fs::is_regular_file(path, ec)) throw ConfigError(path + ": not a regular file (expected an experiment JSON file)");
  const auto size = fs::file_size(path, ec);
  if (!ec && size > max_experiment_bytes)
    throw ConfigError(path + ": " + std::to_string(size) + " bytes; an experiment file is at most " +
                      std::to_string(max_experiment_bytes >> 20) + " MiB (is this the right file?)");
  const std::string text = read_file(path, "experiment");
  ojson doc;
  try {
    // parse_json() first: it refuses nesting deeper than max_json_depth, which nlohmann's recursive
    // copy and dump() of the document would overflow the stack on; then the ordered parse, which
    // keeps the file order of the sweep axes (it cannot fail where parse_json() succeeded).
    (void)parse_json(text, /*ignore_comments=*/true);
    doc = ojson::parse(text, nullptr, true, /*ignore_comments=*/true);
  } catch (const nlohmann::json::exception& err) {  // parse_error, and out_of_range for a number too large for a double
    throw ConfigError(path + ": not valid JSON: " + json_error_text(err));
  }
  return parse_experiment(doc, path, fs::path(path).parent_path());
}

Plan expand(const Experiment& e, const std::vector<json>& tuned) {
  check_plan_size(e);  // an Experiment built in code has not been through parse_experiment()
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
    if (e.tune && setting < tuned.size()) overrides.push_back(e.tune->path + "=" + tuned[setting].dump());
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

Plan expand_tuning(const Experiment& e) {
  if (!e.tune) return {};
  const Tune& t = *e.tune;
  Experiment base = e;
  base.tune.reset();
  base.seeds = {e.seeds.front()};  // one run per setting: its id and overrides
  const Plan settings = expand(base);
  const std::size_t total = times(times(settings.settings.size(), t.values.size()), t.seeds.size());
  if (total > max_planned_runs)
    throw ConfigError(e.source + ": tune: " + std::to_string(total) + " tuning runs (" + std::to_string(settings.settings.size()) +
                      " settings x " + std::to_string(t.values.size()) + " values x " + std::to_string(t.seeds.size()) +
                      " seeds), more than the limit of " + std::to_string(max_planned_runs));
  Plan plan;
  plan.axes = settings.axes;
  plan.axes.push_back(t.path);
  const std::string seed_suffix = "_s" + std::to_string(e.seeds.front());
  std::set<std::string> used_ids;
  for (std::size_t s = 0; s < settings.runs.size(); ++s) {
    const PlannedRun& head = settings.runs[s];
    std::string id = head.id;  // the setting's id without its seed
    if (id.size() > seed_suffix.size() && id.compare(id.size() - seed_suffix.size(), seed_suffix.size(), seed_suffix) == 0)
      id.resize(id.size() - seed_suffix.size());
    std::vector<std::string> overrides(head.overrides.begin(), head.overrides.end() - 1);  // without train.seed
    overrides.insert(overrides.end(), t.fixed.begin(), t.fixed.end());
    for (const auto& v : t.values) {
      const std::size_t setting = plan.settings.size();
      plan.settings.push_back(settings.settings[s] + ", " + short_name(t.path) + "=" + display_value(v));
      for (const auto seed : t.seeds) {
        PlannedRun r;
        const std::string tune_id = "tune_" + id + "_" + slug(short_name(t.path)) + value_slug(v) + "_s" + std::to_string(seed);
        r.id = tune_id;
        for (int n = 2; used_ids.count(r.id); ++n) r.id = tune_id + "-" + std::to_string(n);  // distinct values, same slug
        used_ids.insert(r.id);
        r.setting = setting;
        r.values = head.values;
        r.values.push_back(display_value(v));
        r.seed = seed;
        r.overrides = overrides;
        r.overrides.push_back(t.path + "=" + v.dump());
        r.overrides.push_back("train.seed=" + std::to_string(seed));
        plan.runs.push_back(std::move(r));
      }
    }
  }
  for (std::size_t i = 0; i < plan.runs.size(); ++i) {
    const auto& r = plan.runs[i];
    RunSpec spec;
    try {
      spec = load_config(e.base.string(), r.overrides);
    } catch (const Error& err) {
      throw ConfigError(e.source + ": tune: run " + r.id + " (" + plan.settings[r.setting] + "): " + err.what());
    }
    if (i == 0 && !(spec.data.validation_split > 0))
      throw ConfigError(e.source + ": tune: the value is chosen on the validation split, and these runs have none; set "
                        "data.validation_split, e.g. \"set\": {\"data.validation_split\": 0.1}");
  }
  return plan;
}

}  // namespace nnlab::report
