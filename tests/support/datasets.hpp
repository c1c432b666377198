// Loading data sets through the registry in tests, and the message of the error a load gives.
#pragma once

#include <exception>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/dataset.hpp"
#include "core/error.hpp"

namespace nnlab::test {

// The message of the DataError f() throws ("<no error>" / "<other exception: ...>" otherwise).
template <typename F>
std::string data_error(F&& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("<other exception: ") + e.what() + ">";
  }
  return "<no error>";
}

// The data set `name` with the `data` section `params`, as a run would load it.
inline DataSplits load(const std::string& name, const nlohmann::json& params) {
  const auto& entry = DatasetRegistry::instance().get(name, "dataset", "data.dataset");
  return entry.load(parse_args(entry.params, params, "data"));
}

// The error of loading `name` from the directory `dir` (with further `params`).
inline std::string load_error(const std::string& name, const std::filesystem::path& dir,
                              nlohmann::json params = nlohmann::json::object()) {
  params["path"] = dir.string();
  return data_error([&] { load(name, params); });
}

// How many samples of each class.
inline std::map<int, int> histogram(const std::vector<std::int32_t>& labels) {
  std::map<int, int> h;
  for (auto l : labels) ++h[l];
  return h;
}

}  // namespace nnlab::test
