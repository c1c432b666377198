// nnlab list: everything a config can name, straight from the registries.
//
//   nnlab list [activations|layers|optimizers|datasets]
//
// Each entry prints its one-line summary, then one row per declared parameter: name, default,
// type with allowed range or choices, and help. Columns are aligned within a section. Because the
// rows come from the same ParamSpecs that validate configs, this listing cannot drift from them.
#include <cmath>
#include <cstdio>
#include <sstream>

#include "apps/cli/command.hpp"
#include "core/dataset.hpp"
#include "core/error.hpp"
#include "core/optimizer.hpp"
#include "core/schedule.hpp"
#include "core/registry.hpp"

namespace nnlab::app {
namespace {

// One listed thing, whatever registry it came from.
struct Item {
  std::string name, summary;
  const std::vector<ParamSpec>* params = nullptr;
};

std::string number_text(double v) {
  std::ostringstream os;
  os.precision(10);
  os << v;
  return os.str();
}

// "number >= 0", "integer in [1, 64]", "string", "boolean".
std::string type_text(const ParamSpec& s) {
  static const char* const kinds[] = {"boolean", "integer", "number", "string", "numbers"};
  std::string t = kinds[static_cast<int>(s.kind)];
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
    for (const auto& p : *it.params)
      std::printf("%*s%-*s  %-*s  %-*s  %s\n", indent, "", static_cast<int>(pname_w), p.name.c_str(),
                  static_cast<int>(def_w), default_text(p).c_str(), static_cast<int>(type_w), type_text(p).c_str(),
                  (p.help + (p.choices.empty() ? "" : " (one of: " + join(p.choices, ", ") + ")")).c_str());
  }
  std::printf("\n");
}

void run(const std::string& section) {
  const std::vector<std::string> sections = {"activations", "layers", "optimizers", "schedules", "datasets"};
  if (!section.empty() && std::find(sections.begin(), sections.end(), section) == sections.end())
    throw ConfigError("list: unknown section '" + section + "'" + did_you_mean(section, sections) +
                      "; sections: " + join(sections));
  auto wanted = [&](const char* s) { return section.empty() || section == s; };

  std::vector<Item> activations, layers, optimizers, datasets;
  for (const LayerEntry* e : LayerRegistry::instance().all())
    (is_activation(e->kind) ? activations : layers).push_back({e->name, e->summary, &e->params});
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

void setup(CLI::App& sub) {
  auto section = std::make_shared<std::string>();
  sub.add_option("section", *section, "activations, layers, optimizers, schedules or datasets (default: all)");
  sub.callback([section] { run(*section); });
}

}  // namespace

NNLAB_COMMAND("list", "List registered activations, layers, optimizers and data sets with their parameters", setup);

}  // namespace nnlab::app
