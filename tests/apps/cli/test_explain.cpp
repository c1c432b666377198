// nnlab explain, run as the built binary: one forward/backward pass told layer by layer, every
// gradient compared with finite differences; the tiny default prints every number, a CNN is
// summarised; bad input is refused.
#include <doctest/doctest.h>

#include <string>

#include "support/run_binary.hpp"
#include "support/files.hpp"
#include "support/text.hpp"

using namespace nnlab::test;

namespace {
std::string config(const std::string& name) { return std::string(NNLAB_SOURCE_DIR) + "/configs/" + name; }
}  // namespace

TEST_CASE("nnlab explain on the tiny 2-4-3 network: every layer, every tensor, every gradient close to finite differences") {
  TempDir dir("explain");
  const auto r = run_nnlab({"explain", config("explain_tiny.json")}, dir.path);
  INFO(r.output());
  REQUIRE(r.status == 0);
  CHECK(r.out.find("one forward and backward pass of dense(2->4) tanh dense(4->3) on 4 samples of spirals") != std::string::npos);
  // The formulas are the registry's summaries (what `nnlab list` prints).
  CHECK(r.out.find("[0] dense: Fully connected layer y = x W^T + b") != std::string::npos);
  CHECK(r.out.find("[1] tanh: Hyperbolic tangent") != std::string::npos);
  CHECK(r.out.find("loss cross_entropy = ") != std::string::npos);
  for (const char* t : {"weight      [4, 2]", "bias        [1, 4]", "dL/dy       [4, 3]", "dL/dweight  [3, 4]", "labels"})
    CHECK(r.out.find(t) != std::string::npos);
  // Input, weight and bias of both dense layers and the input of tanh: 7 comparisons, all close.
  CHECK(count_of(r.out, "vs finite differences: close") + count_of(r.out, "vs finite differences: exact") == 7);
  CHECK(count_of(r.out, "WRONG") == 0);
  CHECK(r.out.find("every gradient agrees with finite differences") != std::string::npos);
}

TEST_CASE("nnlab explain prints each layer's formula and derivative, the optimizer's update, and --html draws it") {
  TempDir dir("explain");
  const std::string html = (dir.path / "step.html").string();
  const auto r = run_nnlab({"explain", config("explain_tiny.json"), "--html", html}, dir.path);
  INFO(r.output());
  REQUIRE(r.status == 0);
  CHECK(r.out.find("wrote " + html) != std::string::npos);
  CHECK(r.out.find("      y = tanh(x)") != std::string::npos);                    // forward: the formula
  CHECK(r.out.find("[1] tanh   dy/dx = 1 − tanh²(x) = 1 − y²") != std::string::npos);  // backward: the derivative
  // explain_tiny.json: SGD, lr 0.1, momentum 0.9: the first buffer is the gradient, the step lr × it.
  CHECK(r.out.find("update (sgd: ") != std::string::npos);
  CHECK(r.out.find("the weight with the largest gradient: layers.0.weight[") != std::string::npos);
  CHECK(r.out.find("momentum_buffer") != std::string::npos);
  CHECK(r.out.find("(lr 0.1)") != std::string::npos);
  const std::string page = slurp(html);
  CHECK(page.find("<meta name=\"nnlab-plots\" content=\"2\">") != std::string::npos);
  CHECK(page.find("Every neuron and weight") != std::string::npos);
  CHECK(count_of(page, "<table") == 4);  // three layers and the update
}

TEST_CASE("nnlab explain on a CNN summarises its tensors and still agrees with finite differences") {
  TempDir dir("explain");
  const auto r = run_nnlab({"explain", config("cifar10_cnn_shapes.json"), "--batch", "2"}, dir.path);
  INFO(r.output());
  REQUIRE(r.status == 0);
  CHECK(r.out.find("conv2d") != std::string::npos);
  CHECK(r.out.find("batch_norm2d") != std::string::npos);
  CHECK(r.out.find("values)") != std::string::npos);  // summarised: mean, std, min, max (N values)
  CHECK(r.out.find("16 of ") != std::string::npos);   // probed at 16 elements of the large tensors
  CHECK(count_of(r.out, "WRONG") == 0);
  CHECK(r.out.find("every gradient agrees with finite differences") != std::string::npos);
}

TEST_CASE("nnlab explain refuses a bad batch and a bad override, naming them") {
  TempDir dir("explain");
  auto r = run_nnlab({"explain", config("explain_tiny.json"), "--batch", "0"}, dir.path);
  CHECK(r.status == 1);
  CHECK(r.err.find("--batch: expected 1 to 64 samples, got 0") != std::string::npos);
  r = run_nnlab({"explain", config("explain_tiny.json"), "--batch", "64"}, dir.path);
  CHECK(r.status == 1);
  CHECK(r.err.find("the training set has only") != std::string::npos);
  r = run_nnlab({"explain", config("explain_tiny.json"), "--set", "model.activaton=elu"}, dir.path);
  CHECK(r.status != 0);
  CHECK(r.err.find("did you mean 'activation'") != std::string::npos);
}
