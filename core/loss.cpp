#include "core/loss.hpp"

#include <cmath>

#include "core/error.hpp"

namespace nnlab {

namespace {
template <typename T>
void check_labels(const Mat<T>& z, std::span<const std::int32_t> labels, const std::string& who) {
  if (static_cast<Index>(labels.size()) != z.rows())
    throw ShapeError(who + ": " + std::to_string(z.rows()) + " outputs but " + std::to_string(labels.size()) + " labels");
  for (std::size_t n = 0; n < labels.size(); ++n)
    if (labels[n] < 0 || labels[n] >= z.cols())
      throw ShapeError(who + ": label " + std::to_string(labels[n]) + " out of range for " + std::to_string(z.cols()) +
                       " outputs");
}
}  // namespace

template <typename T>
T SoftmaxCrossEntropy<T>::forward(const Mat<T>& z, const Target<T>& target) {
  check_labels(z, target.labels, "cross_entropy");
  const Index N = z.rows(), C = z.cols();
  grad_.resize(N, C);
  double total = 0;
  for (Index n = 0; n < N; ++n) {
    const T m = z.row(n).maxCoeff();
    // p = exp(z − m) / Σ exp(z − m);   loss = log Σ exp(z − m) + m − z_t
    grad_.row(n) = (z.row(n).array() - m).exp();
    const T s = grad_.row(n).sum();
    const std::int32_t t = target.labels[static_cast<std::size_t>(n)];
    total += static_cast<double>(std::log(s) + m - z(n, t));
    grad_.row(n) /= s;
    grad_(n, t) -= T(1);
  }
  grad_ /= static_cast<T>(N);
  return static_cast<T>(total / static_cast<double>(N));
}

template <typename T>
T MeanSquaredError<T>::forward(const Mat<T>& y, const Target<T>& target) {
  if (target.values) {
    if (target.values->rows() != y.rows() || target.values->cols() != y.cols())
      throw ShapeError("mse: output is " + std::to_string(y.rows()) + "x" + std::to_string(y.cols()) + ", target " +
                       std::to_string(target.values->rows()) + "x" + std::to_string(target.values->cols()));
    grad_ = y - *target.values;
  } else {
    check_labels(y, target.labels, "mse");
    grad_ = y;
    for (Index n = 0; n < y.rows(); ++n) grad_(n, target.labels[static_cast<std::size_t>(n)]) -= T(1);
  }
  const T count = static_cast<T>(y.size());
  const T loss = grad_.squaredNorm() / count;
  grad_ *= T(2) / count;
  return loss;
}

const std::vector<std::string>& loss_names() {
  static const std::vector<std::string> n = {"cross_entropy", "mse"};
  return n;
}

template <typename T>
std::unique_ptr<Loss<T>> make_loss(const std::string& name) {
  if (name == "cross_entropy") return std::make_unique<SoftmaxCrossEntropy<T>>();
  if (name == "mse") return std::make_unique<MeanSquaredError<T>>();
  throw ConfigError("unknown loss '" + name + "'" + did_you_mean(name, loss_names()) + "; known: " + join(loss_names()));
}

template <typename T>
Index count_correct(const Mat<T>& output, std::span<const std::int32_t> labels) {
  Index correct = 0;
  for (Index n = 0; n < output.rows(); ++n) {
    Index arg;
    output.row(n).maxCoeff(&arg);
    correct += (arg == labels[static_cast<std::size_t>(n)]);
  }
  return correct;
}

template class SoftmaxCrossEntropy<float>;
template class SoftmaxCrossEntropy<double>;
template class MeanSquaredError<float>;
template class MeanSquaredError<double>;
template std::unique_ptr<Loss<float>> make_loss<float>(const std::string&);
template std::unique_ptr<Loss<double>> make_loss<double>(const std::string&);
template Index count_correct<float>(const Mat<float>&, std::span<const std::int32_t>);
template Index count_correct<double>(const Mat<double>&, std::span<const std::int32_t>);

}  // namespace nnlab
