#include "core/init.hpp"

#include <cmath>

#include "core/error.hpp"

namespace nnlab {

const std::vector<std::string>& init_schemes() {
  static const std::vector<std::string> s = {"pytorch", "he_uniform", "he_normal", "xavier_uniform",
                                             "xavier_normal", "lecun_normal"};
  return s;
}

template <typename T>
void initialize(Mat<T>& weight, Mat<T>* bias, const std::string& scheme, Rng& rng, Fans fans) {
  const double fan_in = fans.in, fan_out = fans.out;
  if (!(fan_in > 0) || !(fan_out > 0)) throw Error("internal: initialize needs positive fans");
  auto fill_uniform = [&](Mat<T>& m, double bound) {
    for (Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<T>(rng.uniform(-bound, bound));
  };
  auto fill_normal = [&](Mat<T>& m, double std) {
    for (Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<T>(std * rng.normal());
  };
  if (scheme == "pytorch") {
    const double bound = 1.0 / std::sqrt(fan_in);
    fill_uniform(weight, bound);
    if (bias) fill_uniform(*bias, bound);
    return;
  }
  if (scheme == "he_uniform") fill_uniform(weight, std::sqrt(6.0 / fan_in));
  else if (scheme == "he_normal") fill_normal(weight, std::sqrt(2.0 / fan_in));
  else if (scheme == "xavier_uniform") fill_uniform(weight, std::sqrt(6.0 / (fan_in + fan_out)));
  else if (scheme == "xavier_normal") fill_normal(weight, std::sqrt(2.0 / (fan_in + fan_out)));
  else if (scheme == "lecun_normal") fill_normal(weight, std::sqrt(1.0 / fan_in));
  else throw ConfigError("unknown init '" + scheme + "'" + did_you_mean(scheme, init_schemes()));
  if (bias) bias->setZero();
}

template void initialize<float>(Mat<float>&, Mat<float>*, const std::string&, Rng&, Fans);
template void initialize<double>(Mat<double>&, Mat<double>*, const std::string&, Rng&, Fans);

}  // namespace nnlab
