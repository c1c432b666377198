// nnlab list: everything a config can name, straight from the registries.
//
//   nnlab list [activations|layers|optimizers|schedules|datasets] [--json [--width N]]
//   nnlab list --model CONFIG [--set key=value ...]
//
// Each entry prints its one-line summary, for layers and activations their formula and backward
// (the registry's .formula and .derivative, one line each), then one row per declared parameter:
// name, default, type with allowed range or choices, and help. Columns are aligned within a section.
// Because the rows come from the same ParamSpecs that validate configs, this listing cannot drift
// from them.
//
// --json prints the same as one JSON document for tools: every entry with its parameters (name,
// kind, default, min, max, choices, help) and, for layers, their kind, formula and derivative and
// the declarations the tests and tools/torch_reference.py read (stress settings, gradcheck
// re-checks, the PyTorch reference with its variants). Each reference variant is also built
// (float64, for a feature vector of --width values, default 8) to report what the layer holds: its
// resolved parameters, its learnable tensors (name, shape, initial values) and its kinks.
//
// --model CONFIG prints the model summary of the config instead (core/run/summary.hpp): the model
// `nnlab train CONFIG` would build, layer by layer, without training it. The model is bound to the
// data set's sample shape and class count, which come from loading the data set (a format knows
// them only from its files), then built by make_training exactly as training builds it.
#include <cmath>
#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "apps/cli/command.hpp"
#include "core/dataset.hpp"
#include "core/error.hpp"
#include "core/optimizer.hpp"
#include "core/parallel.hpp"
#include "core/schedule.hpp"
#include "core/registry.hpp"
#include "core/run/data.hpp"
#include "core/run/setup.hpp"
#include "core/run/spec.hpp"
#include "core/run/summary.hpp"

namespace nnlab::app {
namespace {

// One listed thing, whatever registry it came from.
struct Item {
  std::string name, summary;
  const std::vector<ParamSpec>* params = nullptr;
  std::string formula = {}, derivative = {};  // layers and activations only
};

std::string number_text(double v) {
  std::ostringstream os;
  os.precision(10);
  os << v;
  return os.str();
}

const char* value_kind(const ParamSpec& s) {
  static const char* const kinds[] = {"boolean", "integer", "number", "string", "numbers", "layers", "layer"};
  return kinds[static_cast<int>(s.kind)];
}

// "number >= 0", "integer in [1, 64]", "string", "boolean".
std::string type_text(const ParamSpec& s) {
  std::string t = value_kind(s);
  const bool has_min = std::isfinite(s.min), has_max = std::isfinite(s.max);
  if (has_min && has_max) t += " in [" + number_text(s.min) + ", " + number_text(s.max) + "]";
  else if (has_min) t += " >= " + number_text(s.min);
  else if (has_max) t += " <= " + number_text(s.max);
  return t;
}

std::string default_text(const ParamSpec& s) { return s.default_value ? to_string(*s.default_value) : "(required)"; }

void print_section(const std::string& title, const std::vector<Item>& items) {
  std::printf("%s (%zu)\n", title.c_str(), items.size());
  if (items.empty()) {
    std::printf("  (none registered)\n\n");
    return;
  }
  std::size_t name_w = 0, pname_w = 0, def_w = 0, type_w = 0;
  for (const auto& it : items) {
    name_w = std::max(name_w, it.name.size());
    for (const auto& p : *it.params) {
      pname_w = std::max(pname_w, p.name.size());
      def_w = std::max(def_w, default_text(p).size());
      type_w = std::max(type_w, type_text(p).size());
    }
  }
  const int indent = static_cast<int>(name_w) + 4;  // parameter rows start under the summary
  for (const auto& it : items) {
    std::printf("  %-*s  %s\n", static_cast<int>(name_w), it.name.c_str(), it.summary.c_str());
    if (!it.formula.empty()) std::printf("%*sforward:   %s\n", indent, "", it.formula.c_str());
    if (!it.derivative.empty()) std::printf("%*sbackward:  %s\n", indent, "", it.derivative.c_str());
    for (const auto& p : *it.params)
      std::printf("%*s%-*s  %-*s  %-*s  %s\n", indent, "", static_cast<int>(pname_w), p.name.c_str(),
                  static_cast<int>(def_w), default_text(p).c_str(), static_cast<int>(type_w), type_text(p).c_str(),
                  (p.help + (p.choices.empty() ? "" : " (one of: " + join(p.choices, ", ") + ")")).c_str());
  }
  std::printf("\n");
}

const char* kind_name(LayerKind k) {
  switch (k) {
    case LayerKind::layer: return "layer";
    case LayerKind::elementwise: return "elementwise";
    case LayerKind::rowwise: return "rowwise";
  }
  return "";
}

nlohmann::json params_json(const std::vector<ParamSpec>& params) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : params) {
    nlohmann::json j = {{"name", p.name}, {"kind", value_kind(p)}, {"help", p.help}};
    if (p.default_value) std::visit([&](const auto& v) { j["default"] = v; }, *p.default_value);
    else j["default"] = nullptr;
    if (std::isfinite(p.min)) j["min"] = p.min;
    if (std::isfinite(p.max)) j["max"] = p.max;
    if (!p.choices.empty()) j["choices"] = p.choices;
    out.push_back(j);
  }
  return out;
}

nlohmann::json parse_declared(const std::string& text, const std::string& what) {
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw Error("internal: " + what + " is not valid JSON: " + text);
  return j;
}

// A reference variant as built: resolved parameters, learnable tensors, kinks.
nlohmann::json built_variant(const LayerEntry& e, const ReferenceVariant& v, Index width) {
  const std::string where = e.name + " reference variant " + v.params;
  nlohmann::json params = parse_declared(v.params, where);
  nlohmann::json spec = params;
  spec["type"] = e.name;
  const LayerSpec resolved = resolve_layer(spec, where);
  auto layer = make_layer<double>(e.name, width, params);
  nlohmann::json learnable = nlohmann::json::object();
  for (const auto& p : layer->parameters())
    learnable[p.name] = {{"shape", p.shape}, {"init", std::vector<double>(p.value->data(), p.value->data() + p.value->size())}};
  nlohmann::json j = {{"params", params},       {"resolved", args_to_json(resolved.args)},
                      {"points", v.points},     {"learnable", learnable},
                      {"kinks", layer->kinks()}};
  if (!v.values.empty()) j["values"] = parse_declared(v.values, where + " values");
  return j;
}

nlohmann::json layer_json(const LayerEntry& e, Index width) {
  nlohmann::json j = {{"name", e.name},         {"kind", kind_name(e.kind)},     {"summary", e.summary},
                      {"formula", e.formula},   {"derivative", e.derivative},    {"params", params_json(e.params)}};
  nlohmann::json stress = nlohmann::json::array();
  for (const auto& s : e.stress) stress.push_back(parse_declared(s, e.name + " stress setting"));
  j["stress"] = stress;
  nlohmann::json rechecks = nlohmann::json::array();
  for (const auto& r : e.rechecks) rechecks.push_back({{"param", r.param}, {"value", r.value}, {"why", r.why}});
  j["rechecks"] = rechecks;
  if (!e.reference.torch.empty()) {
    nlohmann::json variants = nlohmann::json::array();
    for (const auto& v : e.reference.variants) variants.push_back(built_variant(e, v, width));
    j["reference"] = {{"torch", e.reference.torch}, {"atol", e.reference.atol}, {"variants", variants}};
  }
  return j;
}

void run_json(const std::string& section, Index width) {
  auto wanted = [&](const char* s) { return section.empty() || section == s; };
  nlohmann::json out = nlohmann::json::object();
  auto simple = [](const auto& entries) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto* e : entries) a.push_back({{"name", e->name}, {"summary", e->summary}, {"params", params_json(e->params)}});
    return a;
  };
  nlohmann::json activations = nlohmann::json::array(), layers = nlohmann::json::array();
  for (const LayerEntry* e : LayerRegistry::instance().all())
    (is_activation(e->kind) ? activations : layers).push_back(layer_json(*e, width));
  if (wanted("activations")) out["activations"] = activations;
  if (wanted("layers")) out["layers"] = layers;
  if (wanted("optimizers")) out["optimizers"] = simple(OptimizerRegistry::instance().all());
  if (wanted("schedules")) out["schedules"] = simple(ScheduleRegistry::instance().all());
  if (wanted("datasets")) out["datasets"] = simple(DatasetRegistry::instance().all());
  std::printf("%s\n", out.dump(1).c_str());
}

void run(const std::string& section, bool json, Index width) {
  const std::vector<std::string> sections = {"activations", "layers", "optimizers", "schedules", "datasets"};
  if (!section.empty() && std::find(sections.begin(), sections.end(), section) == sections.end())
    throw ConfigError("list: unknown section '" + section + "'" + did_you_mean(section, sections) +
                      "; sections: " + join(sections));
  if (json) return run_json(section, width);
  auto wanted = [&](const char* s) { return section.empty() || section == s; };

  std::vector<Item> activations, layers, optimizers, datasets;
  for (const LayerEntry* e : LayerRegistry::instance().all())
    (is_activation(e->kind) ? activations : layers).push_back({e->name, e->summary, &e->params, e->formula, e->derivative});
  for (const OptimizerEntry* e : OptimizerRegistry::instance().all()) optimizers.push_back({e->name, e->summary, &e->params});
  for (const DatasetEntry* e : DatasetRegistry::instance().all()) datasets.push_back({e->name, e->summary, &e->params});
  std::vector<Item> schedules;
  for (const ScheduleEntry* e : ScheduleRegistry::instance().all()) schedules.push_back({e->name, e->summary, &e->params});

  if (wanted("activations")) print_section("Activations", activations);
  if (wanted("layers")) print_section("Layers", layers);
  if (wanted("optimizers")) print_section("Optimizers", optimizers);
  if (wanted("schedules")) {
    print_section("Schedules (\"schedule\": {\"type\": ..., \"interval\": \"epoch\"|\"step\", \"warmup\": {...}})", schedules);
  }
  if (wanted("datasets")) print_section("Datasets", datasets);
}

void run_model(const std::string& config, const std::vector<std::string>& overrides) {
  require_utf8("--model", config);
  const RunSpec spec = load_config(config, overrides);
  set_threads(spec.train.threads);
  const RunData data = load_run_data(spec.data, spec.train.seed);
  TrainingSetup s = make_training(spec, data.train);
  std::printf("model of %s for %s (samples %s, %d classes)\n", config.c_str(), spec.data.dataset().c_str(),
              data.train.sample_shape().str().c_str(), data.train.classes);
  std::printf("%s", model_summary(s.model, s.model_spec.layers).c_str());
}

void setup(CLI::App& sub) {
  struct Args {
    std::string section;
    bool json = false;
    Index width = 8;
    std::string model;
    std::vector<std::string> overrides;
  };
  auto a = std::make_shared<Args>();
  sub.add_option("section", a->section, "activations, layers, optimizers, schedules or datasets (default: all)");
  sub.add_flag("--json", a->json, "print one JSON document (for tools) instead of the tables");
  sub.add_option("--width", a->width, "--json: build each reference variant for a feature vector of this width")
      ->check(CLI::Range(1, 4096));
  sub.add_option("--model", a->model,
                 "print the model summary of this run config (each layer's output shape, parameters, MFLOP) "
                 "instead of the registries");
  sub.add_option("--set", a->overrides, "--model: override a config value, e.g. --set model.hidden=[64] (repeatable)");
  sub.callback([a] {
    if (a->model.empty()) {
      if (!a->overrides.empty()) throw ConfigError("list: --set applies to --model CONFIG; give --model CONFIG too");
      return run(a->section, a->json, a->width);
    }
    if (!a->section.empty() || a->json)
      throw ConfigError("list: --model CONFIG prints the model's table; it takes no section and no --json");
    run_model(a->model, a->overrides);
  });
}

}  // namespace

NNLAB_COMMAND("list", "List registered activations, layers, optimizers and data sets with their parameters", setup);

}  // namespace nnlab::app
