// The CNN layers (pooling, batch_norm2d, dropout2d) allocate nothing per batch after the first: their
// buffers are sized once and resized to the same size. Requires the resource allocation-counting
// (tests/CMakeLists.txt: support/allocations.cpp counts malloc): reported as skipped in sanitizer
// builds, whose allocator replaces malloc.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "core/registry.hpp"
#include "support/allocations.hpp"
#include "support/layers_reference.hpp"
#include "support/threads.hpp"

using namespace nnlab;
using namespace nnlab::test;
using json = nlohmann::json;

TEST_CASE("pooling, batch_norm2d and dropout2d allocate nothing per batch after the first") {
  const Shape in{8, 12, 12};
  for (const char* spec : {R"({"type": "max_pool2d", "kernel_size": 3, "stride": 2, "padding": 1, "dilation": 1})",
                           R"({"type": "avg_pool2d", "kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": true})",
                           R"({"type": "adaptive_avg_pool2d", "output_size": 5})", R"({"type": "batch_norm2d"})",
                           R"({"type": "dropout2d", "p": 0.3})"}) {
    for (int threads : {1, 2}) {
      const std::string text = spec;
      CAPTURE(text);
      CAPTURE(threads);
      Threads t(threads);
      BuildContext ctx;
      ctx.input = in;
      auto layer = make_layer<float>(json::parse(spec), ctx);
      const MatF x = random_batch<float>(64, in.numel(), 1);
      const MatF dy = random_batch<float>(64, layer->out_features(), 2);
      for (bool training : {true, false}) {  // first batch of each mode sizes the buffers
        layer->forward(x, training);
        layer->backward(dy);
      }
      const long before = allocation_count();
      for (int batch = 0; batch < 20; ++batch) {
        const bool training = batch % 4 != 3;
        layer->forward(x, training);
        layer->backward(dy);
      }
      CHECK(allocation_count() - before == 0);
    }
  }
}
