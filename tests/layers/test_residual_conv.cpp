// Convolutional residual blocks (needs conv2d): the basic block of He et al. 2016 with an identity
// shortcut, and a downsampling block (stride 2, twice the channels) with a 1x1 stride-2 conv2d
// projection shortcut, gradient-checked for the input and every parameter; the shape error when a
// downsampling block has no projection.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/gradcheck/gradcheck.hpp"
#include "core/registry.hpp"
#include "core/model.hpp"
#include "support/text.hpp"

using namespace nnlab;
using namespace nnlab::test;
using json = nlohmann::json;

TEST_CASE("conv residual block, identity shortcut: conv2d-relu-conv2d body, gradient-checked") {
  const json body = json::parse(R"([{"type": "conv2d", "out_channels": 3, "kernel_size": 3, "padding": 1}, "relu",
                                    {"type": "conv2d", "out_channels": 3, "kernel_size": 3, "padding": 1}])");
  auto block = make_layer<double>("residual", Shape{3, 5, 5}, {{"body", body}, {"activation", "tanh"}}, 2);
  CHECK(block->output_shape() == Shape{3, 5, 5});
  const MatD x = gradcheck_input(4, 75, 3);
  // At the all-zero edge row the input gradient is ~1e-4, where the rounding of 75 outputs over a
  // 1e-6 step (~3e-10) is already 3e-6 of it: a 1e-5 step keeps the truncation error (h²) far below.
  GradCheckOptions opt;
  opt.step = 1e-5;
  const auto r = check_layer(*block, x, opt);
  INFO(r.format());
  MESSAGE(r.format());
  CHECK(r.ok());
  REQUIRE(r.entries.size() == 5);  // input, body.0.weight/bias, body.2.weight/bias
  CHECK(r.entries[1].name == "body.0.weight");
  for (const auto& e : r.entries) CHECK(e.max_abs_gradient > 0);
}

TEST_CASE("conv residual block with stride 2: a 1x1 stride-2 conv2d projection shortcut, gradient-checked") {
  const json body = json::parse(R"([{"type": "conv2d", "out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1},
                                    "relu", {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1}])");
  const json shortcut = json::parse(R"([{"type": "conv2d", "out_channels": 4, "kernel_size": 1, "stride": 2, "bias": false}])");
  auto block = make_layer<double>("residual", Shape{2, 6, 6}, {{"body", body}, {"shortcut", shortcut}}, 4);
  CHECK(block->output_shape() == Shape{4, 3, 3});
  const MatD x = gradcheck_input(3, 72, 5);
  // The same small gradients at the edge rows as above (~3e-4): a 1e-5 step, or rounding of the
  // differences reaches 1.3e-6 of them (seen at -O1, the sanitizer build's optimisation level).
  GradCheckOptions opt;
  opt.step = 1e-5;
  const auto r = check_layer(*block, x, opt);
  INFO(r.format());
  MESSAGE(r.format());
  CHECK(r.ok());
  REQUIRE(r.entries.size() == 6);
  CHECK(r.entries[5].name == "shortcut.0.weight");
  for (const auto& e : r.entries) CHECK(e.max_abs_gradient > 0);

  // Without the projection the sum is undefined: the error names both shapes and the path.
  try {
    build_model<double>(json::array({{{"type", "residual"}, {"body", body}}}), Shape{2, 6, 6}, 1);
    FAIL("expected a ShapeError");
  } catch (const ShapeError& e) {
    CHECK(contains(e.what(), "model.layers[0]: residual body gives [4, 3, 3] but the shortcut gives [2, 6, 6]"));
  }
}
