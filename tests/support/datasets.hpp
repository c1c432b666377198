// Loading data sets through the registry in tests, and the message of the error a load gives.
#pragma once

#include <doctest/doctest.h>

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

// A real (downloaded) CIFAR-10 or CIFAR-100 directory: 50000 + 10000 images, the normalisation
// constants are the training set's pixel statistics (channel 0's is `mean0`), every class occurs.
inline void check_downloaded_cifar(const std::string& name, const std::filesystem::path& dir, double mean0) {
  const DataSplits s = load(name, {{"path", dir.string()}});
  CHECK(s.train.rows == 50000);
  CHECK(s.test.rows == 10000);
  std::vector<double> mean, sd;
  s.train.channel_stats(mean, sd);
  for (std::size_t c = 0; c < 3; ++c) {
    CHECK(mean[c] == doctest::Approx(s.train.mean[c]).epsilon(0.003));
    CHECK(sd[c] == doctest::Approx(s.train.stddev[c]).epsilon(0.01));
  }
  CHECK(s.train.mean[0] == doctest::Approx(mean0));
  std::map<int, int> hist;
  for (auto l : s.train.labels) ++hist[l];
  CHECK(static_cast<int>(hist.size()) == s.train.classes);
}

}  // namespace nnlab::test
