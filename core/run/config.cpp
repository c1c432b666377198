#include "core/run/config.hpp"

#include <filesystem>

#include "core/dataset.hpp"
#include "core/error.hpp"
#include "core/io/fileio.hpp"
#include "core/init.hpp"
#include "core/io/json_parse.hpp"
#include "core/loss.hpp"
#include "core/optimizer.hpp"
#include "core/params.hpp"
#include "core/registry.hpp"
#include "core/schedule.hpp"

namespace nnlab {

using json = nlohmann::json;

namespace {

void check_keys(const json& obj, const std::string& path, const std::vector<std::string>& valid) {
  if (!obj.is_object()) throw ConfigError(path + ": expected an object, got " + obj.dump());
  for (const auto& [key, v] : obj.items()) {
    if (std::find(valid.begin(), valid.end(), key) == valid.end())
      throw ConfigError((path.empty() ? "" : path + ".") + key + ": unknown key" + did_you_mean(key, valid) +
                        "; valid keys: " + join(valid));
  }
}

const std::vector<ParamSpec>& train_specs() {
  static const std::vector<ParamSpec> s = {
      integer("epochs", 10, "passes over the training set", 1, 1e6),
      integer("batch_size", 128, "samples per mini-batch", 1, 1e7),
      integer("seed", 1, "seed of every random stream (init, shuffling, dropout)", 0, 9.2e18),
      integer("threads", 0, "CPU threads (0: all cores); results are bit-identical for the same count", 0, 1024),
      text("loss", "cross_entropy", "training loss", loss_names()),
      boolean("shuffle", true, "reshuffle the training set every epoch"),
      boolean("drop_last", false, "drop the last incomplete batch of each epoch"),
      text("monitor", "auto", "metric for best.safetensors and early stopping (auto: val_loss with a validation split)",
           {"auto", "none", "val_loss", "val_acc", "test_loss", "test_acc", "train_loss", "train_acc"}),
      integer("patience", 0, "early stopping: epochs without improvement of the monitored metric (0: off)", 0),
      number("min_delta", 0.0, "early stopping: smallest change that counts as an improvement", 0),
      boolean("save_best", true, "save best.safetensors when the monitored metric improves"),
      number("clip_grad_norm", 0.0, "clip the global gradient norm to this before each step (0: off)", 0),
      text("on_nonfinite", "stop",
           "a batch with a NaN/Inf loss or gradient: stop (keep the last checkpoint, exit non-zero) or skip it "
           "(no update)",
           {"stop", "skip"}),
      integer("max_consecutive_skips", 10, "on_nonfinite=skip: stop anyway after this many skipped batches in a row",
              1, 1e6),
  };
  return s;
}

const std::vector<ParamSpec>& data_specs() {
  static const std::vector<ParamSpec> s = {
      text("dataset", "fashion-mnist", "data-set format (nnlab list datasets)"),
      number("validation_split", 0.0, "fraction of the training set held out for validation", 0, 0.9),
      boolean("normalize", true, "standardise inputs with the data set's mean/std (else only scale to [0,1])"),
      integer("limit_train", 0, "use only the first N training samples (0: all)", 0),
      integer("limit_test", 0, "use only the first N test samples (0: all)", 0),
  };
  return s;
}

json resolve_data(const json& data) {
  const json d = data.is_null() ? json::object() : data;
  if (!d.is_object()) throw ConfigError("data: expected an object like {\"dataset\": \"fashion-mnist\"}");
  std::string name = "fashion-mnist";
  if (d.contains("dataset")) {
    if (!d["dataset"].is_string()) throw ConfigError("data.dataset: expected a string, got " + d["dataset"].dump());
    name = d["dataset"].get<std::string>();
  }
  const auto& entry = DatasetRegistry::instance().get(name, "dataset", "data.dataset");
  // Generic keys first, then the format's own keys; an unknown key gets the nearest of both.
  std::vector<ParamSpec> all = data_specs();
  all.insert(all.end(), entry.params.begin(), entry.params.end());
  const Args generic = parse_args(all, d, "data", {});
  return args_to_json(generic);
}

json resolve_model_shorthand(const json& m) {
  json out = m;
  if (!m.contains("hidden")) out["hidden"] = json::array();
  const json& hidden = out["hidden"];
  if (!hidden.is_array())
    throw ConfigError("model.hidden: expected an array of layer widths like [256, 128], got " + hidden.dump());
  for (std::size_t i = 0; i < hidden.size(); ++i)
    if (!hidden[i].is_number_integer() || hidden[i].get<std::int64_t>() < 1)
      throw ConfigError("model.hidden[" + std::to_string(i) + "]: expected a positive integer, got " + hidden[i].dump());
  if (!m.contains("activation")) out["activation"] = "relu";
  // The name is checked against the activations only, before any parameter: "dense" is not an
  // activation (rather than a dense layer missing its out_features), and a typo is matched
  // against activation names, not layer names.
  {
    const json& spec = out["activation"];
    const json* type = spec.is_string() ? &spec : (spec.is_object() && spec.contains("type") ? &spec["type"] : nullptr);
    if (type && type->is_string())
      activation_entry(type->get<std::string>(), spec.is_string() ? "model.activation" : "model.activation.type",
                       " (use an explicit model.layers list for other layers)");
  }
  const ResolvedLayer act = resolve_layer(out["activation"], "model.activation");
  out["activation"] = resolved_layer_json(act);
  if (!m.contains("init")) out["init"] = "pytorch";
  if (!out["init"].is_string())
    throw ConfigError("model.init: expected a string naming an initialisation scheme, got " + out["init"].dump());
  const auto& schemes = init_schemes();
  const std::string init = out["init"].get<std::string>();
  if (std::find(schemes.begin(), schemes.end(), init) == schemes.end())
    throw ConfigError("model.init: unknown scheme '" + init + "'" + did_you_mean(init, schemes) + "; known: " + join(schemes));
  if (!m.contains("dropout")) out["dropout"] = 0.0;
  if (!out["dropout"].is_number() || out["dropout"].get<double>() < 0 || out["dropout"].get<double>() >= 1)
    throw ConfigError("model.dropout: expected a probability in [0, 1), got " + out["dropout"].dump());
  if (!m.contains("classes")) out["classes"] = 0;
  if (!out["classes"].is_number_integer() || out["classes"].get<std::int64_t>() < 0)
    throw ConfigError("model.classes: expected a non-negative integer (0 or leave it out to take the data set's "
                      "class count), got " + out["classes"].dump());
  return out;
}

json resolve_model(const json& m) {
  static const std::vector<std::string> shorthand = {"input", "hidden", "activation", "classes", "init", "dropout"};
  static const std::vector<std::string> explicit_keys = {"input", "layers"};
  if (!m.is_object())
    throw ConfigError("model: expected an object: {\"hidden\": [256, 128], \"activation\": \"relu\"} or {\"layers\": [...]}");
  std::vector<std::string> all = shorthand;
  all.push_back("layers");
  check_keys(m, "model", all);
  json out = m;
  if (!m.contains("input")) out["input"] = 0;
  if (!out["input"].is_number_integer() || out["input"].get<std::int64_t>() < 0)
    throw ConfigError("model.input: expected a non-negative integer (0 or leave it out to take the data's width), got " +
                      out["input"].dump());
  if (m.contains("layers")) {
    for (const auto& k : shorthand)
      if (k != "input" && m.contains(k))
        throw ConfigError("model." + k + ": belongs to the MLP shorthand; with an explicit \"layers\" list put it in the layers");
    if (!m["layers"].is_array() || m["layers"].empty()) throw ConfigError("model.layers: expected a non-empty array");
    json layers = json::array();
    for (std::size_t i = 0; i < m["layers"].size(); ++i)
      layers.push_back(resolved_layer_json(resolve_layer(m["layers"][i], "model.layers[" + std::to_string(i) + "]")));
    out["layers"] = layers;
    return out;
  }
  return resolve_model_shorthand(out);
}

}  // namespace

void apply_override(json& doc, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError("--set " + assignment + ": expected key.path=value, e.g. train.epochs=3");
  // Command-line text is bytes, JSON text is UTF-8: a key or value that is not would make every
  // later dump() of the config (error messages, the saved config.json) throw.
  try {
    (void)json(assignment).dump();
  } catch (const json::type_error&) {
    throw ConfigError("--set " + json(assignment).dump(-1, ' ', false, json::error_handler_t::replace) +
                      ": not valid UTF-8 text");
  }
  const std::string path = assignment.substr(0, eq), text_value = assignment.substr(eq + 1);
  json value;
  try {
    value = parse_json(text_value);
  } catch (const json::exception&) {
    value = text_value;  // a bare word: a string
  }
  json* node = &doc;
  std::string walked;
  std::size_t start = 0;
  while (true) {
    const auto dot = path.find('.', start);
    const std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (key.empty()) throw ConfigError("--set " + assignment + ": empty key in '" + path + "'");
    const bool last = dot == std::string::npos;
    if (node->is_array()) {
      std::size_t idx = 0;
      try {
        idx = std::stoul(key);
      } catch (...) {
        throw ConfigError("--set " + assignment + ": " + walked + " is a list; expected an index, got '" + key + "'");
      }
      if (idx >= node->size())
        throw ConfigError("--set " + assignment + ": " + walked + " has " + std::to_string(node->size()) + " entries");
      node = &(*node)[idx];
    } else {
      if (node->is_null()) *node = json::object();
      if (!node->is_object())
        throw ConfigError("--set " + assignment + ": " + (walked.empty() ? "config" : walked) + " is not an object");
      // A bare string layer ("relu") becomes {"type": "relu"} so a parameter can be set on it.
      node = &(*node)[key];
    }
    walked += (walked.empty() ? "" : ".") + key;
    if (last) break;
    if (node->is_string()) *node = json{{"type", node->get<std::string>()}};
    start = dot + 1;
  }
  *node = value;
}

RunConfig resolve_config(json doc, const std::string& source) {
  RunConfig cfg;
  cfg.source = source;
  cfg.raw = doc;
  if (!doc.is_object()) throw ConfigError(source + ": the config must be a JSON object");
  check_keys(doc, "", {"description", "model", "data", "optimizer", "schedule", "train", "output"});
  if (!doc.contains("model")) throw ConfigError("model: missing (the network to train)");

  cfg.model = resolve_model(doc["model"]);
  cfg.data = resolve_data(doc.value("data", json::object()));

  json opt = doc.value("optimizer", json{{"type", "sgd"}});
  if (opt.is_object() && !opt.contains("type")) opt["type"] = "sgd";
  make_optimizer(opt, "optimizer");  // validates
  const auto& oe = OptimizerRegistry::instance().get(opt["type"].get<std::string>(), "optimizer", "optimizer.type");
  cfg.optimizer = args_to_json(parse_args(oe.params, opt, "optimizer"));
  cfg.optimizer["type"] = oe.name;

  const Args t = parse_args(train_specs(), doc.value("train", json::object()), "train", {});
  cfg.train.epochs = static_cast<int>(t.integer("epochs"));
  cfg.train.batch_size = static_cast<int>(t.integer("batch_size"));
  cfg.train.seed = static_cast<std::uint64_t>(t.integer("seed"));
  cfg.train.threads = static_cast<int>(t.integer("threads"));
  cfg.train.loss = t.text("loss");
  cfg.train.shuffle = t.boolean("shuffle");
  cfg.train.drop_last = t.boolean("drop_last");
  cfg.train.monitor = t.text("monitor");
  cfg.train.patience = static_cast<int>(t.integer("patience"));
  cfg.train.min_delta = t.number("min_delta");
  cfg.train.save_best = t.boolean("save_best");
  cfg.train.clip_grad_norm = t.number("clip_grad_norm");
  cfg.train.on_nonfinite = t.text("on_nonfinite");
  cfg.train.max_consecutive_skips = static_cast<int>(t.integer("max_consecutive_skips"));
  if (doc.contains("schedule") && !doc["schedule"].is_null()) {
    cfg.schedule = resolve_schedule(doc["schedule"], "schedule");
    const std::string metric = cfg.schedule.value("metric", "");
    if (metric.rfind("val_", 0) == 0 && !(cfg.data["validation_split"].get<double>() > 0))
      throw ConfigError("schedule.metric: '" + metric + "' needs a validation set; set data.validation_split");
  }
  if (cfg.train.monitor == "auto")
    cfg.train.monitor = cfg.data["validation_split"].get<double>() > 0 ? "val_loss" : "none";
  if (cfg.train.monitor.rfind("val_", 0) == 0 && !(cfg.data["validation_split"].get<double>() > 0))
    throw ConfigError("train.monitor: '" + cfg.train.monitor + "' needs a validation set; set data.validation_split");
  if (cfg.train.patience > 0 && cfg.train.monitor == "none")
    throw ConfigError("train.patience: early stopping needs a monitored metric: set data.validation_split (or train.monitor)");

  const std::string stem = std::filesystem::path(source).stem().string();
  const Args o = parse_args({text("dir", "runs/" + (stem.empty() ? std::string("run") : stem), "output directory")},
                            doc.value("output", json::object()), "output", {});
  cfg.output_dir = o.text("dir");

  cfg.resolved = json::object();
  if (doc.contains("description")) cfg.resolved["description"] = doc["description"];
  cfg.resolved["model"] = cfg.model;
  cfg.resolved["data"] = cfg.data;
  cfg.resolved["optimizer"] = cfg.optimizer;
  if (!cfg.schedule.is_null()) cfg.resolved["schedule"] = cfg.schedule;
  cfg.resolved["train"] = args_to_json(t);
  cfg.resolved["train"]["monitor"] = cfg.train.monitor;
  cfg.resolved["output"] = args_to_json(o);
  return cfg;
}

RunConfig load_config(const std::string& path, const std::vector<std::string>& overrides) {
  if (!std::filesystem::exists(path)) throw ConfigError(path + ": config file not found");
  json doc;
  try {
    doc = parse_json(read_file(path, "config"), /*ignore_comments=*/true);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number too large for a double
    throw ConfigError(path + ": not valid JSON: " + e.what());
  }
  for (const auto& o : overrides) apply_override(doc, o);
  return resolve_config(std::move(doc), path);
}

void resolve_data_shape(RunConfig& cfg, std::int64_t features, int classes) {
  json& m = cfg.model;
  const std::int64_t input = m["input"].get<std::int64_t>();
  if (input != 0 && input != features)
    throw ShapeError("model.input is " + std::to_string(input) + " but the data set '" + cfg.data["dataset"].get<std::string>() +
                     "' has " + std::to_string(features) + " features per sample");
  m["input"] = features;
  if (m.contains("hidden")) {  // the MLP shorthand (idempotent: re-expands the same list)
    m.erase("layers");
    std::int64_t k = m["classes"].get<std::int64_t>();
    if (k != 0 && k != classes)
      throw ShapeError("model.classes is " + std::to_string(k) + " but the data set has " + std::to_string(classes) + " classes");
    m["classes"] = classes;
    json layers = json::array();
    // Each expanded layer remembers the shorthand key it comes from, for messages.
    cfg.layer_paths.clear();
    for (std::size_t i = 0; i < m["hidden"].size(); ++i) {
      layers.push_back({{"type", "dense"}, {"out_features", m["hidden"][i]}, {"init", m["init"]}});
      cfg.layer_paths.push_back("model.hidden[" + std::to_string(i) + "]");
      layers.push_back(m["activation"]);
      cfg.layer_paths.push_back("model.activation");
      if (m["dropout"].get<double>() > 0) {
        layers.push_back({{"type", "dropout"}, {"p", m["dropout"]}});
        cfg.layer_paths.push_back("model.dropout");
      }
    }
    layers.push_back({{"type", "dense"}, {"out_features", classes}, {"init", m["init"]}});
    cfg.layer_paths.push_back("model.classes");
    json expanded = json::array();
    for (std::size_t i = 0; i < layers.size(); ++i)
      expanded.push_back(resolved_layer_json(resolve_layer(layers[i], cfg.layer_paths[i])));
    // The saved config keeps the shorthand (so --set model.activation=... works on it again);
    // the expanded list is what the model is built from.
    cfg.resolved["model"] = m;
    m["layers"] = expanded;
    return;
  }
  cfg.resolved["model"] = m;
}

std::string name_shorthand_layer(const RunConfig& cfg, const std::string& message) {
  static const std::string prefix = "model.layers[";
  if (cfg.layer_paths.empty() || message.rfind(prefix, 0) != 0) return message;
  const auto close = message.find(']', prefix.size());
  if (close == std::string::npos) return message;
  std::size_t i = 0;
  try {
    i = std::stoul(message.substr(prefix.size(), close - prefix.size()));
  } catch (const std::logic_error&) {
    return message;
  }
  if (i >= cfg.layer_paths.size()) return message;
  return cfg.layer_paths[i] + message.substr(close + 1);
}

}  // namespace nnlab
