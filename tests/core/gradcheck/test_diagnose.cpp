// The diagnosing checker (core/gradcheck/diagnose.hpp): each usual mistake, made on purpose in a
// broken activation built here, is recognised by name; a correct activation is ok; an error that
// follows no pattern is reported as such, with the worst points.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "core/gradcheck/diagnose.hpp"
#include <nlohmann/json.hpp>

#include "core/registry.hpp"

using namespace nnlab;

namespace {

enum class Bug { none, sign, factor, upstream, at_output, unstable, kink, other };

// The logistic sigmoid, y = 1/(1 + e^-x), f'(x) = y(1 − y), with one mistake in its backward (or,
// for Bug::kink, a ReLU whose backward takes f'(0) = 1 and declares no kink).
class Broken final : public Layer<double> {
 public:
  Broken(Bug bug, Index width) : bug_(bug) { set_shapes(Shape{width}, Shape{width}); }
  std::string type() const override { return "broken"; }
  const MatD& forward(const MatD& x, bool) override {
    x_ = x;
    if (bug_ == Bug::kink) y_ = x.cwiseMax(0.0);
    else y_ = x.unaryExpr([](double v) { return v >= 0 ? 1 / (1 + std::exp(-v)) : std::exp(v) / (1 + std::exp(v)); });
    return y_;
  }
  const MatD& backward(const MatD& dy) override {
    const auto s = [](double v) { return v >= 0 ? 1 / (1 + std::exp(-v)) : std::exp(v) / (1 + std::exp(v)); };
    const MatD fprime = (y_.array() * (1 - y_.array())).matrix();  // σ'(x) from the saved output
    switch (bug_) {
      case Bug::none: dx_ = dy.cwiseProduct(fprime); break;
      case Bug::sign: dx_ = -dy.cwiseProduct(fprime); break;
      case Bug::factor: dx_ = 0.5 * dy.cwiseProduct(fprime); break;
      case Bug::upstream: dx_ = fprime; break;
      case Bug::at_output: dx_ = dy.cwiseProduct(y_.unaryExpr([&](double y) { return s(y) * (1 - s(y)); })); break;
      case Bug::unstable:
        // e^-x / (1 + e^-x)^2 with e^-x in float32: inf / inf = NaN at x = -100.
        dx_ = dy.cwiseProduct(x_.unaryExpr([](double v) {
          const double e = static_cast<float>(std::exp(static_cast<float>(-v)));
          return e / ((1 + e) * (1 + e));
        }));
        break;
      case Bug::kink: dx_ = dy.cwiseProduct(x_.unaryExpr([](double v) { return v >= 0 ? 1.0 : 0.0; })); break;
      case Bug::other: dx_ = dy.cwiseProduct(fprime) + 0.1 * x_; break;
    }
    return dx_;
  }

 private:
  Bug bug_;
  MatD x_, y_, dx_;
};

GradDiagnosis diagnose(Bug bug) {
  Broken layer(bug, 7);
  return diagnose_elementwise(layer, gradcheck_input(6, 7, 1), GradCheckOptions{}, "relu'(0) = 0");
}

}  // namespace

TEST_CASE("a correct backward is ok, and the generic checker agrees") {
  const GradDiagnosis d = diagnose(Bug::none);
  CHECK(d.ok);
  CHECK(d.mistake.empty());
  CHECK(d.failing == 0);
  CHECK(d.message.find("matches central differences at all 42 inputs, largest relative error") != std::string::npos);
  Broken layer(Bug::none, 7);
  CHECK(check_layer(layer, gradcheck_input(6, 7, 1)).ok());
  // A registered activation too.
  auto relu = make_layer<double>("relu", 7, nlohmann::json::object(), 1);
  CHECK(diagnose_elementwise(*relu, gradcheck_input(6, 7, 1)).ok);
}

TEST_CASE("each usual mistake is recognised by name") {
  SUBCASE("sign flipped") {
    const GradDiagnosis d = diagnose(Bug::sign);
    CHECK(d.mistake == "sign");
    CHECK(d.message.find("ratio -1") != std::string::npos);
    REQUIRE(!d.worst.empty());
    CHECK(d.worst[0].analytic == doctest::Approx(-d.worst[0].numeric).epsilon(1e-6));
  }
  SUBCASE("a constant factor") {
    const GradDiagnosis d = diagnose(Bug::factor);
    CHECK(d.mistake == "factor");
    CHECK(d.factor == doctest::Approx(0.5).epsilon(1e-6));
    CHECK(d.message.find("analytic = 0.5 * numeric") != std::string::npos);
  }
  SUBCASE("the upstream gradient ignored") {
    const GradDiagnosis d = diagnose(Bug::upstream);
    CHECK(d.mistake == "upstream");
    CHECK(d.message.find("the upstream gradient dy is ignored") != std::string::npos);
  }
  SUBCASE("the derivative evaluated at the output") {
    const GradDiagnosis d = diagnose(Bug::at_output);
    CHECK(d.mistake == "at_output");
    CHECK(d.message.find("evaluated at the output y instead of the input x") != std::string::npos);
  }
  SUBCASE("unstable for large |x|") {
    const GradDiagnosis d = diagnose(Bug::unstable);
    CHECK(d.mistake == "large_inputs");
    REQUIRE(!d.worst.empty());
    CHECK(std::abs(d.worst[0].x) >= 10);
    CHECK(d.failing < d.compared);
  }
  SUBCASE("wrong only at a kink, with PyTorch's convention named") {
    const GradDiagnosis d = diagnose(Bug::kink);
    CHECK(d.mistake == "kinks");
    CHECK(d.failing == 1);  // gradcheck_input holds the edge point 0 once
    CHECK(d.message.find("x = 0") != std::string::npos);
    CHECK(d.message.find("relu'(0) = 0") != std::string::npos);
  }
}

TEST_CASE("an error that follows no pattern is said to, with the worst points listed") {
  const GradDiagnosis d = diagnose(Bug::other);
  CHECK_FALSE(d.ok);
  CHECK(d.mistake.empty());
  CHECK(d.message.find("follow none of the usual patterns") != std::string::npos);
  CHECK(d.worst.size() == 5);
  CHECK(d.worst[0].error >= d.worst[4].error);
  const std::string table = d.format();
  CHECK(table.find("analytic") != std::string::npos);
  CHECK(table.find("numeric") != std::string::npos);
}
