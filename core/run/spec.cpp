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

// model.activation (default relu) as a layer spec. The name is checked against the activations only,
// before any parameter: "dense" is not an activation (rather than a dense layer missing its
// out_features), and a typo is matched against activation names, not layer names.
LayerSpec resolve_activation(const json& m) {
  const json activation = m.contains("activation") ? m["activation"] : json("relu");
  const json* type = activation.is_string() ? &activation
                     : (activation.is_object() && activation.contains("type") ? &activation["type"] : nullptr);
  if (type && type->is_string())
    activation_entry(type->get<std::string>(), activation.is_string() ? "model.activation" : "model.activation.type",
                     " (use an explicit model.layers list for other layers)");
  return resolve_layer(activation, "model.activation");
}

// A list of positive integers at `path` (model.hidden): `example` shows the form in the message.
std::vector<Index> positive_list(const json& m, const std::string& key, const std::string& path, const std::string& example) {
  const json list = m.contains(key) ? m[key] : json::array();
  if (!list.is_array()) throw ConfigError(path + ": expected an array of " + example + ", got " + list.dump());
  std::vector<Index> out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_number_integer() || list[i].get<std::int64_t>() < 1)
      throw ConfigError(path + "[" + std::to_string(i) + "]: expected a positive integer, got " + list[i].dump());
    out.push_back(list[i].get<Index>());
  }
  return out;
}

std::string resolve_init(const json& m) {
  const json init = m.contains("init") ? m["init"] : json("pytorch");
  if (!init.is_string())
    throw ConfigError("model.init: expected a string naming an initialisation scheme, got " + init.dump());
  const auto& schemes = init_schemes();
  const std::string name = init.get<std::string>();
  if (std::find(schemes.begin(), schemes.end(), name) == schemes.end())
    throw ConfigError("model.init: unknown scheme '" + name + "'" + did_you_mean(name, schemes) + "; known: " + join(schemes));
  return name;
}

double resolve_dropout(const json& m) {
  const json dropout = m.contains("dropout") ? m["dropout"] : json(0.0);
  if (!dropout.is_number() || dropout.get<double>() < 0 || dropout.get<double>() >= 1)
    throw ConfigError("model.dropout: expected a probability in [0, 1), got " + dropout.dump());
  return dropout.get<double>();
}

Index resolve_classes(const json& m) {
  const json classes = m.contains("classes") ? m["classes"] : json(0);
  if (!classes.is_number_integer() || classes.get<std::int64_t>() < 0)
    throw ConfigError("model.classes: expected a non-negative integer (0 or leave it out to take the data set's "
                      "class count), got " + classes.dump());
  return classes.get<Index>();
}

MlpSpec resolve_mlp(const json& m) {
  MlpSpec s;
  s.hidden = positive_list(m, "hidden", "model.hidden", "layer widths like [256, 128]");
  s.activation = resolve_activation(m);
  s.init = resolve_init(m);
  s.dropout = resolve_dropout(m);
  s.classes = resolve_classes(m);
  return s;
}

CnnSpec resolve_cnn(const json& m) {
  CnnSpec s;
  const json& cnn = m["cnn"];
  if (!cnn.is_array())
    throw ConfigError("model.cnn: expected an array of convolution widths like [32, 64] (an entry may be a stage "
                      "[64, 64]), got " + cnn.dump());
  for (std::size_t i = 0; i < cnn.size(); ++i) {
    const std::string path = "model.cnn[" + std::to_string(i) + "]";
    const json stage = cnn[i].is_array() ? cnn[i] : json::array({cnn[i]});
    if (stage.empty()) throw ConfigError(path + ": expected a width or a non-empty list of widths, got []");
    std::vector<Index> widths;
    for (std::size_t j = 0; j < stage.size(); ++j) {
      if (!stage[j].is_number_integer() || stage[j].get<std::int64_t>() < 1)
        throw ConfigError(path + (cnn[i].is_array() ? "[" + std::to_string(j) + "]" : "") +
                          ": expected a positive integer (output channels), got " + stage[j].dump());
      widths.push_back(stage[j].get<Index>());
    }
    s.stages.push_back(std::move(widths));
  }
  s.hidden = positive_list(m, "hidden", "model.hidden", "layer widths like [128]");
  s.activation = resolve_activation(m);
  const Args a = parse_args({integer("kernel_size", 3, "", 1, 1e6), text("pool", "max", "", {"max", "avg", "none"}),
                             boolean("batch_norm", false, "")},
                            m, "model", {"input", "cnn", "hidden", "activation", "dropout", "init", "classes"});
  s.kernel_size = a.integer("kernel_size");
  s.pool = a.text("pool");
  s.batch_norm = a.boolean("batch_norm");
  s.dropout = resolve_dropout(m);
  s.init = resolve_init(m);
  s.classes = resolve_classes(m);
  return s;
}

// "8, 14, 20, 26, ...": depths 6n + 2.
ResNetSpec resolve_resnet(const json& m) {
  ResNetSpec s;
  const json& r = m["resnet"];
  if (!r.is_object()) throw ConfigError("model.resnet: expected an object like {\"depth\": 20, \"width\": 16}, got " + r.dump());
  const Args a = parse_args({integer("depth", 20, "", 8, 6e5), integer("width", 16, "", 1, 1e5)}, r, "model.resnet", {});
  s.depth = a.integer("depth");
  s.width = a.integer("width");
  if ((s.depth - 2) % 6 != 0) {
    const Index below = s.depth - (s.depth - 2) % 6, above = below + 6;
    throw ConfigError("model.resnet.depth: " + std::to_string(s.depth) + " is not 6n+2 (two convolutions in each of n "
                      "blocks of three stages, plus the first convolution and the classifier); nearest: " +
                      (below >= 8 ? std::to_string(below) + " or " : std::string()) + std::to_string(above) +
                      " (He et al. use 20, 32, 44, 56, 110)");
  }
  s.activation = resolve_activation(m);
  s.classes = resolve_classes(m);
  return s;
}

// The form of the model section and the keys each form takes.
struct ModelForm {
  std::string key;   // "layers", "cnn", "resnet", "" (the MLP shorthand)
  std::string name;  // for messages
  std::vector<std::string> keys;
};
const std::vector<ModelForm>& model_forms() {
  static const std::vector<ModelForm> forms = {
      {"layers", "explicit \"layers\" list", {"input", "layers", "activation"}},
      {"cnn", "CNN shorthand (model.cnn)",
       {"input", "cnn", "hidden", "activation", "kernel_size", "pool", "batch_norm", "dropout", "init", "classes"}},
      {"resnet", "ResNet shorthand (model.resnet)", {"input", "resnet", "activation", "classes"}},
      {"", "MLP shorthand", {"input", "hidden", "activation", "classes", "init", "dropout"}},
  };
  return forms;
}

ModelSpec resolve_model(const json& m) {
  if (!m.is_object())
    throw ConfigError("model: expected an object: {\"hidden\": [256, 128], \"activation\": \"relu\"}, {\"cnn\": [32, 64]}, "
                      "{\"resnet\": {\"depth\": 20}} or {\"layers\": [...]}");
  std::vector<std::string> all;
  for (const auto& f : model_forms())
    for (const auto& k : f.keys)
      if (std::find(all.begin(), all.end(), k) == all.end()) all.push_back(k);
  check_keys(m, "model", all);
  const auto& forms = model_forms();
  const auto form = std::find_if(forms.begin(), forms.end(), [&](const ModelForm& f) { return f.key.empty() || m.contains(f.key); });
  // A key of another form: name the form(s) it belongs to. Two forms' own keys: say which to keep.
  for (const auto& item : m.items()) {
    const std::string& key = item.key();  // not a structured binding: lambdas below capture it
    if (std::find(form->keys.begin(), form->keys.end(), key) != form->keys.end()) continue;
    std::vector<std::string> owners;
    for (auto f = forms.rbegin(); f != forms.rend(); ++f)  // the MLP shorthand first
      if (std::find(f->keys.begin(), f->keys.end(), key) != f->keys.end()) owners.push_back(f->name);
    const bool other_form = std::any_of(forms.begin(), forms.end(), [&](const ModelForm& f) { return f.key == key; });
    if (other_form)
      throw ConfigError("model." + key + ": the model is given twice, by model." + form->key + " and model." + key +
                        "; keep one");
    if (form->key == "layers")
      throw ConfigError("model." + key + ": belongs to the " + join(owners, " and the ") +
                        "; with an explicit \"layers\" list put it in the layers");
    throw ConfigError("model." + key + ": belongs to the " + join(owners, " and the ") + ", not the " + form->name +
                      "; the " + form->name + " takes " + join(form->keys));
  }
  ModelSpec spec;
  const json input = m.contains("input") ? m["input"] : json(0);
  if (!input.is_number_integer() || input.get<std::int64_t>() < 0)
    throw ConfigError("model.input: expected a non-negative integer (0 or leave it out to take the data's width), got " +
                      input.dump());
  spec.input = input.get<Index>();
  if (form->key == "layers") {
    if (!m["layers"].is_array() || m["layers"].empty()) throw ConfigError("model.layers: expected a non-empty array");
    // model.activation swaps every activation of the list (nested ones too) but an output softmax.
    // The saved config lists the swapped layers without model.activation: it says what was built,
    // re-loading it builds the same model, and --set model.activation swaps them again.
    std::optional<LayerSpec> activation;
    if (m.contains("activation")) activation = resolve_activation(m);
    const json layers = activation ? swap_activations(m["layers"], activation->to_json()) : m["layers"];
    for (std::size_t i = 0; i < layers.size(); ++i)
      spec.layers.push_back(resolve_layer(layers[i], "model.layers[" + std::to_string(i) + "]"));
    return spec;
  }
  if (form->key == "cnn") spec.cnn = resolve_cnn(m);
  else if (form->key == "resnet") spec.resnet = resolve_resnet(m);
  else spec.mlp = resolve_mlp(m);
  return spec;
}

const LayerEntry* named_entry(const json& layer) {
  const json* type = layer.is_string() ? &layer : (layer.is_object() && layer.contains("type") ? &layer["type"] : nullptr);
  return type && type->is_string() ? LayerRegistry::instance().find(type->get<std::string>()) : nullptr;
}

json swap_in(const json& layer, const json& activation) {
  const LayerEntry* e = named_entry(layer);
  if (!e) return layer;
  if (is_activation(e->kind)) return activation;
  if (!layer.is_object()) return layer;
  json out = layer;
  for (const auto& p : e->params) {
    if (!out.contains(p.name)) continue;
    json& v = out[p.name];
    if (p.kind == ValueKind::layers && v.is_array())
      for (auto& nested : v) nested = swap_in(nested, activation);
    else if (p.kind == ValueKind::layer && !v.is_null())
      v = swap_in(v, activation);
  }
  return out;
}

}  // namespace

json swap_activations(const json& layers, const json& activation) {
  if (!layers.is_array()) return layers;
  json out = json::array();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const LayerEntry* e = named_entry(layers[i]);
    const bool output_softmax = i + 1 == layers.size() && e && e->kind == LayerKind::rowwise;
    out.push_back(output_softmax ? layers[i] : swap_in(layers[i], activation));
  }
  return out;
}

// ---- shorthands -------------------------------------------------------------------------------

std::vector<LayerSpec> MlpSpec::expand() const {
  // dense(hidden[i]) activation [dropout] ... dense(classes); each layer keeps the key it comes from.
  std::vector<LayerSpec> out;
  for (std::size_t i = 0; i < hidden.size(); ++i) {
    const std::string path = "model.hidden[" + std::to_string(i) + "]";
    out.push_back(resolve_layer({{"type", "dense"}, {"out_features", hidden[i]}, {"init", init}}, path));
    out.push_back(activation);
    if (dropout > 0) out.push_back(resolve_layer({{"type", "dropout"}, {"p", dropout}}, "model.dropout"));
  }
  out.push_back(resolve_layer({{"type", "dense"}, {"out_features", classes}, {"init", init}}, "model.classes"));
  return out;
}

std::vector<LayerSpec> CnnSpec::expand() const {
  std::vector<LayerSpec> out;
  for (std::size_t i = 0; i < stages.size(); ++i) {
    for (std::size_t j = 0; j < stages[i].size(); ++j) {
      const std::string path = "model.cnn[" + std::to_string(i) + "]" + (stages[i].size() > 1 ? "[" + std::to_string(j) + "]" : "");
      out.push_back(resolve_layer({{"type", "conv2d"}, {"out_channels", stages[i][j]}, {"kernel_size", kernel_size},
                                   {"padding", kernel_size / 2}, {"init", init}},
                                  path));
      if (batch_norm) out.push_back(resolve_layer({{"type", "batch_norm2d"}}, "model.batch_norm"));
      out.push_back(activation);
    }
    if (pool != "none")
      out.push_back(resolve_layer({{"type", pool == "max" ? "max_pool2d" : "avg_pool2d"}, {"kernel_size", 2}}, "model.pool"));
  }
  out.push_back(resolve_layer("flatten", "model.cnn"));
  for (std::size_t i = 0; i < hidden.size(); ++i) {
    out.push_back(resolve_layer({{"type", "dense"}, {"out_features", hidden[i]}, {"init", init}},
                                "model.hidden[" + std::to_string(i) + "]"));
    out.push_back(activation);
    if (dropout > 0) out.push_back(resolve_layer({{"type", "dropout"}, {"p", dropout}}, "model.dropout"));
  }
  out.push_back(resolve_layer({{"type", "dense"}, {"out_features", classes}, {"init", init}}, "model.classes"));
  return out;
}

std::vector<LayerSpec> ResNetSpec::expand() const {
  const json act = activation.to_json();
  const auto conv = [](Index width, Index k, Index stride) {
    return json{{"type", "conv2d"}, {"out_channels", width}, {"kernel_size", k}, {"stride", stride},
                {"padding", k / 2}, {"bias", false}};
  };
  const json bn = {{"type", "batch_norm2d"}};
  std::vector<LayerSpec> out;
  out.push_back(resolve_layer(conv(width, 3, 1), "model.resnet.width"));
  out.push_back(resolve_layer(bn, "model.resnet"));
  out.push_back(activation);
  const Index n = (depth - 2) / 6;
  for (int stage = 0; stage < 3; ++stage) {
    const Index w = width << stage;
    for (Index b = 0; b < n; ++b) {
      const Index stride = stage > 0 && b == 0 ? 2 : 1;
      json block = {{"type", "residual"},
                    {"body", json::array({conv(w, 3, stride), bn, act, conv(w, 3, 1), bn})},
                    {"activation", act}};
      // Option B: a projection where the shape changes (stride 2 and twice the channels).
      if (stride != 1) block["shortcut"] = json::array({conv(w, 1, stride), bn});
      out.push_back(resolve_layer(block, "model.resnet.depth"));
    }
  }
  out.push_back(resolve_layer({{"type", "adaptive_avg_pool2d"}, {"output_size", 1}}, "model.resnet"));
  out.push_back(resolve_layer("flatten", "model.resnet"));
  out.push_back(resolve_layer({{"type", "dense"}, {"out_features", classes}}, "model.classes"));
  return out;
}

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
  const auto bind_classes = [&](Index& c) {
    if (c != 0 && c != classes)
      throw ShapeError("model.classes is " + std::to_string(c) + " but the data set has " + std::to_string(classes) +
                       " classes");
    c = classes;
  };
  if (b.mlp) bind_classes(b.mlp->classes), b.layers = b.mlp->expand();
  if (b.cnn) bind_classes(b.cnn->classes), b.layers = b.cnn->expand();
  if (b.resnet) bind_classes(b.resnet->classes), b.layers = b.resnet->expand();
  return b;
}

json ModelSpec::to_json(const Model<float>* built) const {
  json j = {{"input", input}};
  // A shorthand is saved as the shorthand (so --set model.activation=... works on it again).
  if (mlp) {
    j["hidden"] = mlp->hidden;
    j["activation"] = mlp->activation.to_json();
    j["init"] = mlp->init;
    j["dropout"] = mlp->dropout;
    j["classes"] = mlp->classes;
    return j;
  }
  if (cnn) {
    json stages = json::array();
    for (const auto& s : cnn->stages) stages.push_back(s.size() == 1 ? json(s[0]) : json(s));
    j["cnn"] = stages;
    j["hidden"] = cnn->hidden;
    j["activation"] = cnn->activation.to_json();
    j["kernel_size"] = cnn->kernel_size;
    j["pool"] = cnn->pool;
    j["batch_norm"] = cnn->batch_norm;
    j["dropout"] = cnn->dropout;
    j["init"] = cnn->init;
    j["classes"] = cnn->classes;
    return j;
  }
  if (resnet) {
    j["resnet"] = {{"depth", resnet->depth}, {"width", resnet->width}};
    j["activation"] = resnet->activation.to_json();
    j["classes"] = resnet->classes;
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
