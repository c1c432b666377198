#include "core/optimizer.hpp"

#include <nlohmann/json.hpp>

namespace nnlab {

std::unique_ptr<Optimizer> make_optimizer(const nlohmann::json& spec, const std::string& path) {
  if (!spec.is_object()) throw ConfigError(path + ": expected an object like {\"type\": \"sgd\", \"lr\": 0.1}");
  if (!spec.contains("type") || !spec["type"].is_string())
    throw ConfigError(path + ".type: missing (one of " + join(OptimizerRegistry::instance().names()) + ")");
  const auto& e = OptimizerRegistry::instance().get(spec["type"].get<std::string>(), "optimizer", path + ".type");
  const Args args = parse_args(e.params, spec, path);
  try {
    return e.make(args);
  } catch (const ConfigError& err) {
    throw ConfigError(path + ": " + err.what());
  }
}

}  // namespace nnlab
