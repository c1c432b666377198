#include "core/run/spec.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>

#include "core/error.hpp"
#include "core/init.hpp"
#include "core/io/fileio.hpp"
#include "core/io/json_parse.hpp"
#include "core/loss.hpp"
#include "core/run/metrics.hpp"

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

std::vector<std::string> with_auto_none(const std::vector<std::string>& metrics) {
  std::vector<std::string> out = {"auto", "none"};
  out.insert(out.end(), metrics.begin(), metrics.end());
  return out;
}

// "epoch", "<N> steps" (N a whole number from 1 to 10^12) or "<N> s" (N seconds, 0.001 to 10^7).
void parse_checkpoint_every(TrainSpec& t) {
  const std::string& v = t.checkpoint_every;
  t.checkpoint_steps = 0, t.checkpoint_seconds = 0;
  if (v == "epoch") return;
  auto fail = [&](const std::string& why) {
    return ConfigError("train.checkpoint_every: '" + v + "' " + why +
                       "; give \"epoch\", \"<N> steps\" or \"<N> s\" (e.g. \"500 steps\", \"60 s\")");
  };
  const auto space = v.find(' ');
  if (space == std::string::npos || space == 0) throw fail("is not a count with a unit");
  const std::string number = v.substr(0, space), unit = v.substr(space + 1);
  double n = 0;
  const auto r = std::from_chars(number.data(), number.data() + number.size(), n);
  if (r.ec != std::errc() || r.ptr != number.data() + number.size() || !std::isfinite(n))
    throw fail("does not start with a number");
  if (unit == "steps" || unit == "step") {
    if (n < 1 || n > 1e12 || std::floor(n) != n) throw fail("needs a whole number of steps from 1 to 10^12");
    t.checkpoint_steps = static_cast<std::int64_t>(n);
  } else if (unit == "s" || unit == "seconds") {
    if (n < 0.001 || n > 1e7) throw fail("needs seconds from 0.001 to 10^7");
    t.checkpoint_seconds = n;
  } else {
    throw fail("has the unit '" + unit + "', not steps or s");
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
           with_auto_none(monitorable_metrics())),
      integer("patience", 0, "early stopping: epochs without improvement of the monitored metric (0: off)", 0, 1e6),
      number("min_delta", 0.0, "early stopping: smallest change that counts as an improvement", 0),
      boolean("save_best", true, "save best.safetensors when the monitored metric improves"),
      number("clip_grad_norm", 0.0, "clip the global gradient norm to this before each step (0: off)", 0),
      text("on_nonfinite", "stop",
           "a batch with a NaN/Inf loss or gradient: stop (keep the last checkpoint, exit non-zero) or skip it "
           "(no update)",
           {"stop", "skip"}),
      integer("max_consecutive_skips", 10, "on_nonfinite=skip: stop anyway after this many skipped batches in a row",
              1, 1e6),
      text("checkpoint_every", "epoch",
           "also write the checkpoint inside epochs: \"<N> steps\" or \"<N> s\" (bounds what a kill loses); "
           "\"epoch\": only at epoch ends"),
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

DataSpec resolve_data(const json& data) {
  const json d = data.is_null() ? json::object() : data;
  if (!d.is_object()) throw ConfigError("data: expected an object like {\"dataset\": \"fashion-mnist\"}");
  std::string name = "fashion-mnist";
  if (d.contains("dataset")) {
    if (!d["dataset"].is_string()) throw ConfigError("data.dataset: expected a string, got " + d["dataset"].dump());
    name = d["dataset"].get<std::string>();
  }
  DataSpec spec;
  spec.format = &DatasetRegistry::instance().get(name, "dataset", "data.dataset");
  // Generic keys first, then the format's own keys; an unknown key gets the nearest of both.
  std::vector<ParamSpec> all = data_specs();
  all.insert(all.end(), spec.format->params.begin(), spec.format->params.end());
  const Args generic = parse_args(all, d, "data", {});
  spec.validation_split = generic.number("validation_split");
  spec.normalize = generic.boolean("normalize");
  spec.limit_train = generic.integer("limit_train");
  spec.limit_test = generic.integer("limit_test");
  std::map<std::string, Value> own;
  for (const auto& p : spec.format->params) own[p.name] = generic.values().at(p.name);
  spec.format_args = Args(std::move(own));
  return spec;
}

MlpSpec resolve_mlp(const json& m) {
  MlpSpec s;
  const json hidden = m.contains("hidden") ? m["hidden"] : json::array();
  if (!hidden.is_array())
    throw ConfigError("model.hidden: expected an array of layer widths like [256, 128], got " + hidden.dump());
  for (std::size_t i = 0; i < hidden.size(); ++i) {
    if (!hidden[i].is_number_integer() || hidden[i].get<std::int64_t>() < 1)
      throw ConfigError("model.hidden[" + std::to_string(i) + "]: expected a positive integer, got " + hidden[i].dump());
    s.hidden.push_back(hidden[i].get<Index>());
  }
  const json activation = m.contains("activation") ? m["activation"] : json("relu");
  // The name is checked against the activations only, before any parameter: "dense" is not an
  // activation (rather than a dense layer missing its out_features), and a typo is matched
  // against activation names, not layer names.
  {
    const json* type = activation.is_string() ? &activation
                       : (activation.is_object() && activation.contains("type") ? &activation["type"] : nullptr);
    if (type && type->is_string())
      activation_entry(type->get<std::string>(), activation.is_string() ? "model.activation" : "model.activation.type",
                       " (use an explicit model.layers list for other layers)");
  }
  s.activation = resolve_layer(activation, "model.activation");
  const json init = m.contains("init") ? m["init"] : json("pytorch");
  if (!init.is_string())
    throw ConfigError("model.init: expected a string naming an initialisation scheme, got " + init.dump());
  const auto& schemes = init_schemes();
  s.init = init.get<std::string>();
  if (std::find(schemes.begin(), schemes.end(), s.init) == schemes.end())
    throw ConfigError("model.init: unknown scheme '" + s.init + "'" + did_you_mean(s.init, schemes) + "; known: " + join(schemes));
  const json dropout = m.contains("dropout") ? m["dropout"] : json(0.0);
  if (!dropout.is_number() || dropout.get<double>() < 0 || dropout.get<double>() >= 1)
    throw ConfigError("model.dropout: expected a probability in [0, 1), got " + dropout.dump());
  s.dropout = dropout.get<double>();
  const json classes = m.contains("classes") ? m["classes"] : json(0);
  if (!classes.is_number_integer() || classes.get<std::int64_t>() < 0)
    throw ConfigError("model.classes: expected a non-negative integer (0 or leave it out to take the data set's "
                      "class count), got " + classes.dump());
  s.classes = classes.get<Index>();
  return s;
}

ModelSpec resolve_model(const json& m) {
  static const std::vector<std::string> shorthand = {"input", "hidden", "activation", "classes", "init", "dropout"};
  if (!m.is_object())
    throw ConfigError("model: expected an object: {\"hidden\": [256, 128], \"activation\": \"relu\"} or {\"layers\": [...]}");
  std::vector<std::string> all = shorthand;
  all.push_back("layers");
  check_keys(m, "model", all);
  ModelSpec spec;
  const json input = m.contains("input") ? m["input"] : json(0);
  if (!input.is_number_integer() || input.get<std::int64_t>() < 0)
    throw ConfigError("model.input: expected a non-negative integer (0 or leave it out to take the data's width), got " +
                      input.dump());
  spec.input = input.get<Index>();
  if (m.contains("layers")) {
    for (const auto& k : shorthand)
      if (k != "input" && m.contains(k))
        throw ConfigError("model." + k + ": belongs to the MLP shorthand; with an explicit \"layers\" list put it in the layers");
    if (!m["layers"].is_array() || m["layers"].empty()) throw ConfigError("model.layers: expected a non-empty array");
    for (std::size_t i = 0; i < m["layers"].size(); ++i)
      spec.layers.push_back(resolve_layer(m["layers"][i], "model.layers[" + std::to_string(i) + "]"));
    return spec;
  }
  spec.mlp = resolve_mlp(m);
  return spec;
}

}  // namespace

// ---- specs ----------------------------------------------------------------------------------

Index TrainSpec::steps_per_epoch(Index rows) const {
  const Index B = batch_size;
  return drop_last ? rows / B : (rows + B - 1) / B;
}

json TrainSpec::to_json() const {
  return {{"epochs", epochs},
          {"batch_size", batch_size},
          {"seed", seed},
          {"threads", threads},
          {"loss", loss},
          {"shuffle", shuffle},
          {"drop_last", drop_last},
          {"monitor", monitor},
          {"patience", patience},
          {"min_delta", min_delta},
          {"save_best", save_best},
          {"clip_grad_norm", clip_grad_norm},
          {"on_nonfinite", on_nonfinite},
          {"max_consecutive_skips", max_consecutive_skips},
          {"checkpoint_every", checkpoint_every}};
}

json DataSpec::to_json() const {
  json j = args_to_json(format_args);
  j["dataset"] = format->name;
  j["validation_split"] = validation_split;
  j["normalize"] = normalize;
  j["limit_train"] = limit_train;
  j["limit_test"] = limit_test;
  return j;
}

ModelSpec ModelSpec::bind(const Shape& data, int classes, const std::string& dataset) const {
  const Index features = data.numel();
  if (input != 0 && input != features)
    throw ShapeError("model.input is " + std::to_string(input) + " but the data set '" + dataset + "' has " +
                     std::to_string(features) + " features per sample");
  ModelSpec b = *this;
  b.input = features;
  b.input_shape = data;
  if (!mlp) return b;
  MlpSpec& s = *b.mlp;
  if (s.classes != 0 && s.classes != classes)
    throw ShapeError("model.classes is " + std::to_string(s.classes) + " but the data set has " + std::to_string(classes) +
                     " classes");
  s.classes = classes;
  // dense(hidden[i]) activation [dropout] ... dense(classes); each layer keeps the key it comes from.
  b.layers.clear();
  for (std::size_t i = 0; i < s.hidden.size(); ++i) {
    const std::string path = "model.hidden[" + std::to_string(i) + "]";
    b.layers.push_back(resolve_layer({{"type", "dense"}, {"out_features", s.hidden[i]}, {"init", s.init}}, path));
    b.layers.push_back(s.activation);
    if (s.dropout > 0) b.layers.push_back(resolve_layer({{"type", "dropout"}, {"p", s.dropout}}, "model.dropout"));
  }
  b.layers.push_back(resolve_layer({{"type", "dense"}, {"out_features", s.classes}, {"init", s.init}}, "model.classes"));
  return b;
}

json ModelSpec::to_json(const Model<float>* built) const {
  json j = {{"input", input}};
  if (mlp) {
    // The shorthand is saved as the shorthand (so --set model.activation=... works on it again).
    j["hidden"] = mlp->hidden;
    j["activation"] = mlp->activation.to_json();
    j["init"] = mlp->init;
    j["dropout"] = mlp->dropout;
    j["classes"] = mlp->classes;
    return j;
  }
  json layers = json::array();
  for (std::size_t i = 0; i < this->layers.size(); ++i) {
    const Shape* in = built && i < built->size() ? &built->layer(i).input_shape() : nullptr;
    layers.push_back(this->layers[i].to_json(in));
  }
  j["layers"] = layers;
  return j;
}

json RunSpec::to_json(const Model<float>* built) const {
  json j = json::object();
  if (description) j["description"] = *description;
  j["model"] = model.to_json(built);
  j["data"] = data.to_json();
  j["optimizer"] = optimizer.to_json();
  if (schedule) j["schedule"] = schedule->to_json();
  j["train"] = train.to_json();
  j["output"] = {{"dir", output.dir}};
  return j;
}

// ---- resolving --------------------------------------------------------------------------------

void apply_override(json& doc, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError("--set " + assignment + ": expected key.path=value, e.g. train.epochs=3");
  // Command-line text is bytes, JSON text is UTF-8: a key or value that is not would make every
  // later dump() of the config (error messages, the saved config.json) throw.
  try {
    (void)json(assignment).dump();
  } catch (const json::type_error&) {
    throw ConfigError("--set '" + printable(assignment) + "': not valid UTF-8 text");
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

RunSpec resolve_config(json doc, const std::string& source) {
  RunSpec spec;
  spec.source = source;
  if (!doc.is_object()) throw ConfigError(source + ": the config must be a JSON object");
  check_keys(doc, "", {"description", "model", "data", "optimizer", "schedule", "train", "output"});
  if (!doc.contains("model")) throw ConfigError("model: missing (the network to train)");
  if (doc.contains("description")) spec.description = doc["description"];

  spec.model = resolve_model(doc["model"]);
  spec.data = resolve_data(doc.value("data", json::object()));

  json opt = doc.value("optimizer", json{{"type", "sgd"}});
  if (opt.is_object() && !opt.contains("type")) opt["type"] = "sgd";
  spec.optimizer = resolve_optimizer(opt, "optimizer");

  const Args t = parse_args(train_specs(), doc.value("train", json::object()), "train", {});
  TrainSpec& train = spec.train;
  train.epochs = static_cast<int>(t.integer("epochs"));
  train.batch_size = static_cast<int>(t.integer("batch_size"));
  train.seed = static_cast<std::uint64_t>(t.integer("seed"));
  train.threads = static_cast<int>(t.integer("threads"));
  train.loss = t.text("loss");
  train.shuffle = t.boolean("shuffle");
  train.drop_last = t.boolean("drop_last");
  train.monitor = t.text("monitor");
  train.patience = static_cast<int>(t.integer("patience"));
  train.min_delta = t.number("min_delta");
  train.save_best = t.boolean("save_best");
  train.clip_grad_norm = t.number("clip_grad_norm");
  train.on_nonfinite = t.text("on_nonfinite");
  train.max_consecutive_skips = static_cast<int>(t.integer("max_consecutive_skips"));
  train.checkpoint_every = t.text("checkpoint_every");
  parse_checkpoint_every(train);
  const bool validation = spec.data.validation_split > 0;
  if (doc.contains("schedule") && !doc["schedule"].is_null()) {
    spec.schedule = resolve_schedule_spec(doc["schedule"], "schedule");
    const std::string metric = spec.schedule->metric();
    if (metric.rfind("val_", 0) == 0 && !validation)
      throw ConfigError("schedule.metric: '" + metric + "' needs a validation set; set data.validation_split");
  }
  if (train.monitor == "auto") train.monitor = validation ? "val_loss" : "none";
  if (train.monitor.rfind("val_", 0) == 0 && !validation)
    throw ConfigError("train.monitor: '" + train.monitor + "' needs a validation set; set data.validation_split");
  if (train.patience > 0 && train.monitor == "none")
    throw ConfigError("train.patience: early stopping needs a monitored metric: set data.validation_split (or train.monitor)");

  const std::string stem = std::filesystem::path(source).stem().string();
  const Args o = parse_args({text("dir", "runs/" + (stem.empty() ? std::string("run") : stem), "output directory")},
                            doc.value("output", json::object()), "output", {});
  spec.output.dir = o.text("dir");
  return spec;
}

RunSpec load_config(const std::string& path, const std::vector<std::string>& overrides) {
  if (!std::filesystem::exists(path)) throw ConfigError(path + ": config file not found");
  json doc;
  try {
    doc = parse_json(read_file(path, "config"), /*ignore_comments=*/true);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number too large for a double
    throw ConfigError(path + ": not valid JSON: " + json_error_text(e));
  }
  for (const auto& o : overrides) apply_override(doc, o);
  return resolve_config(std::move(doc), path);
}

}  // namespace nnlab
