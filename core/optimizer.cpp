#include "core/optimizer.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

namespace nnlab {

std::unique_ptr<Optimizer> OptimizerSpec::make() const {
  try {
    return entry->make(args);
  } catch (const ConfigError& err) {
    throw ConfigError(path + ": " + err.what());
  }
}

nlohmann::json OptimizerSpec::to_json() const {
  nlohmann::json j = args_to_json(args);
  j["type"] = entry->name;
  return j;
}

OptimizerSpec resolve_optimizer(const nlohmann::json& spec, const std::string& path) {
  if (!spec.is_object()) throw ConfigError(path + ": expected an object like {\"type\": \"sgd\", \"lr\": 0.1}");
  if (!spec.contains("type") || !spec["type"].is_string())
    throw ConfigError(path + ".type: missing (one of " + join(OptimizerRegistry::instance().names()) + ")");
  OptimizerSpec s;
  s.entry = &OptimizerRegistry::instance().get(spec["type"].get<std::string>(), "optimizer", path + ".type");
  s.args = parse_args(s.entry->params, spec, path);
  s.path = path;
  s.make();  // the optimizer's own rules between its arguments
  return s;
}

std::unique_ptr<Optimizer> make_optimizer(const nlohmann::json& spec, const std::string& path) {
  return resolve_optimizer(spec, path).make();
}

// ---- state ----------------------------------------------------------------------------------

std::size_t Optimizer::add_slot(std::string name, SlotRange range) {
  slots_.push_back({std::move(name), {}, range});
  return slots_.size() - 1;
}

void Optimizer::allocate(const std::vector<Param<float>>& params) {
  for (Slot& s : slots_) {
    s.buffers.resize(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) s.buffers[i].setZero(params[i].value->rows(), params[i].value->cols());
  }
  init_state();
}

void Optimizer::step(std::vector<Param<float>>& params) {
  if (steps_ == 0) {
    allocate(params);
  } else {
    // Cheap guard against a caller passing another parameter list (state is kept per position).
    for (const Slot& s : slots_) {
      bool same = s.buffers.size() == params.size();
      for (std::size_t i = 0; same && i < params.size(); ++i)
        same = s.buffers[i].rows() == params[i].value->rows() && s.buffers[i].cols() == params[i].value->cols();
      if (!same) throw Error("internal: " + name() + " optimizer stepped with a different parameter list than before");
    }
  }
  ++steps_;
  update(params);
}

namespace {
const std::string kPrefix = "optimizer.";  // of every tensor and metadata key of the state

std::string shape_string(const std::vector<std::int64_t>& s) {
  std::string o = "[";
  for (std::size_t i = 0; i < s.size(); ++i) o += (i ? "," : "") + std::to_string(s[i]);
  return o + "]";
}

void check_unique_names(const std::vector<Param<float>>& params) {
  std::set<std::string> seen;
  for (const auto& p : params)
    if (p.name.empty() || !seen.insert(p.name).second)
      throw Error("internal: optimizer state needs distinct parameter names ('" + p.name + "' is empty or repeated)");
}
}  // namespace

TensorFile Optimizer::state(const std::vector<Param<float>>& params) const {
  check_unique_names(params);
  TensorFile f;
  f.metadata["optimizer.type"] = name();
  f.metadata["optimizer.step"] = std::to_string(steps_);
  f.metadata["optimizer.lr"] = exact_decimal(lr_);
  if (steps_ == 0) return f;
  for (const Slot& s : slots_) {
    if (s.buffers.size() != params.size())
      throw Error("internal: " + name() + " optimizer state asked for a different parameter list");
    for (std::size_t i = 0; i < params.size(); ++i) {
      const MatF& b = s.buffers[i];
      StoredTensor t;
      t.shape = params[i].shape;
      t.data.assign(b.data(), b.data() + b.size());
      f.tensors.emplace(kPrefix + params[i].name + "." + s.name, std::move(t));
    }
  }
  return f;
}

void Optimizer::load_state(const TensorFile& file, const std::vector<Param<float>>& params, const std::string& source) {
  check_unique_names(params);
  auto fail = [&](const std::string& why) { return CheckpointError(source + ": " + why); };
  auto meta = [&](const std::string& key) -> const std::string& {
    auto it = file.metadata.find(key);
    if (it == file.metadata.end()) throw fail("no optimizer state: metadata '" + key + "' is missing");
    return it->second;
  };
  const std::string& type = meta("optimizer.type");
  if (type != name())
    throw fail("this is the state of a '" + type + "' optimizer; the config uses '" + name() + "'");
  const std::int64_t steps = parse_count(meta("optimizer.step"), source + ": metadata optimizer.step");
  const double lr = parse_decimal(meta("optimizer.lr"), source + ": metadata optimizer.lr");
  if (!std::isfinite(lr) || lr < 0) throw fail("metadata optimizer.lr: " + meta("optimizer.lr") + " is not a learning rate");
  for (const auto& [key, value] : file.metadata)
    if (key.rfind("optimizer.", 0) == 0 && key != "optimizer.type" && key != "optimizer.step" && key != "optimizer.lr")
      throw fail("unexpected metadata '" + key + "' (an optimizer's state has optimizer.type, optimizer.step, optimizer.lr)");

  // The tensors this optimizer expects: every slot of every parameter once it has stepped.
  std::vector<std::string> slot_names, expected;
  for (const Slot& s : slots_) slot_names.push_back(s.name);
  if (steps > 0)
    for (const Slot& s : slots_)
      for (const auto& p : params) expected.push_back(kPrefix + p.name + "." + s.name);
  const std::string holds =
      steps == 0 ? "none before its first step"
                 : (slots_.empty() ? "none" : join(slot_names) + " for every parameter");
  for (const auto& [tname, t] : file.tensors)
    if (tname.rfind(kPrefix, 0) == 0 && std::find(expected.begin(), expected.end(), tname) == expected.end())
      throw fail("tensor '" + tname + "' is not part of this " + name() + " optimizer's state (which holds " + holds + ")" +
                 did_you_mean(tname, expected));

  // Validate everything before changing anything.
  std::vector<Slot> loaded = slots_;
  if (steps > 0) {
    for (Slot& s : loaded) {
      s.buffers.assign(params.size(), MatF());
      for (std::size_t i = 0; i < params.size(); ++i) {
        const std::string tname = kPrefix + params[i].name + "." + s.name;
        auto it = file.tensors.find(tname);
        if (it == file.tensors.end())
          throw fail("tensor '" + tname + "' is missing (this " + name() + " optimizer's state holds " + holds + ")");
        const StoredTensor& t = it->second;
        if (t.shape != params[i].shape)
          throw fail("tensor '" + tname + "' has shape " + shape_string(t.shape) + ", the parameter has " +
                     shape_string(params[i].shape));
        const MatF& v = *params[i].value;
        if (static_cast<Index>(t.data.size()) != v.size())
          throw fail("tensor '" + tname + "' holds " + std::to_string(t.data.size()) + " values, the parameter " +
                     std::to_string(v.size()));
        for (std::size_t k = 0; k < t.data.size(); ++k) {
          const float x = t.data[k];
          if (!std::isfinite(x))
            throw fail("tensor '" + tname + "' holds NaN or infinite values (element " + std::to_string(k) +
                       "): a damaged file, or one written by a diverged run");
          if (s.range == SlotRange::non_negative && x < 0)
            throw fail("tensor '" + tname + "' holds " + exact_decimal(x) + " (element " + std::to_string(k) + "), but " +
                       s.name + " is never negative (a damaged file?)");
        }
        s.buffers[i].resize(v.rows(), v.cols());
        std::copy(t.data.begin(), t.data.end(), s.buffers[i].data());
      }
    }
  }
  slots_ = std::move(loaded);
  steps_ = steps;
  lr_ = lr;
}

// ---- clipping -------------------------------------------------------------------------------

double clip_grad_norm(std::vector<Param<float>>& params, double max_norm) {
  if (!(max_norm > 0)) throw ConfigError("clip_grad_norm: max_norm must be > 0, got " + std::to_string(max_norm));
  double sum = 0;
  for (const auto& p : params) sum += flat(*p.grad).cast<double>().square().sum();
  const double norm = std::sqrt(sum);
  if (!std::isfinite(norm)) return norm;
  const double coef = max_norm / (norm + 1e-6);
  if (coef < 1.0) {
    const float c = static_cast<float>(coef);
    for (auto& p : params) flat(*p.grad) *= c;
  }
  return norm;
}

// ---- metadata values ------------------------------------------------------------------------

std::string exact_decimal(double x) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, x);  // shortest round-trip form
  return std::string(buf, r.ptr);
}

double parse_decimal(const std::string& text, const std::string& what) {
  double v = 0;
  const char* end = text.data() + text.size();
  const auto r = std::from_chars(text.data(), end, v);
  if (text.empty() || r.ec != std::errc() || r.ptr != end) throw CheckpointError(what + ": '" + text + "' is not a number");
  return v;
}

std::int64_t parse_count(const std::string& text, const std::string& what) {
  std::int64_t v = 0;
  const char* end = text.data() + text.size();
  const auto r = std::from_chars(text.data(), end, v);
  if (text.empty() || r.ec != std::errc() || r.ptr != end || v < 0)
    throw CheckpointError(what + ": '" + text + "' is not a count (an integer >= 0)");
  return v;
}

}  // namespace nnlab
