// The training loop allocates nothing per batch: buffers are sized once, and Eigen's product
// scratch is on the stack (EIGEN_STACK_ALLOCATION_LIMIT in the top-level CMakeLists.txt). Requires
// the resource allocation-counting (tests/CMakeLists.txt: support/allocations.cpp counts malloc):
// reported as skipped in sanitizer builds, whose allocator replaces malloc.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "core/dataset.hpp"
#include "core/loss.hpp"
#include "core/model.hpp"
#include "core/optimizer.hpp"
#include "core/run/run.hpp"
#include "support/allocations.hpp"
#include "support/threads.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("a training epoch allocates nothing per batch (buffers sized once, product scratch on the stack)") {
  Dataset data;
  data.name = "random";
  data.rows = 64 * 40, data.features = 784, data.classes = 10, data.channels = 1;
  data.bytes.resize(static_cast<std::size_t>(data.rows * data.features));
  data.labels.resize(static_cast<std::size_t>(data.rows));
  for (std::size_t i = 0; i < data.bytes.size(); ++i) data.bytes[i] = static_cast<std::uint8_t>((i * 2654435761u) >> 24);
  for (std::size_t i = 0; i < data.labels.size(); ++i) data.labels[i] = static_cast<std::int32_t>(i % 10);
  data.mean = {0.5f}, data.stddev = {0.25f}, data.scale = 1.0f / 255.0f;
  const auto spec = nlohmann::json::parse(R"([{"type": "dense", "out_features": 256}, {"type": "relu"},
      {"type": "dense", "out_features": 128}, {"type": "elu"}, {"type": "dense", "out_features": 10}])");
  for (int threads : {1, 2})
  for (std::string on_nonfinite : {"stop", "skip"}) {  // skip: the per-batch gradient check too
    Threads t(threads);
    Model<float> model = build_model<float>(spec, 784, 1);
    auto loss = make_loss<float>("cross_entropy");
    auto opt = make_optimizer(nlohmann::json::parse(R"({"type": "sgd", "lr": 0.01, "momentum": 0.9})"));
    TrainSpec settings;
    settings.batch_size = 64;
    settings.on_nonfinite = on_nonfinite;
    Trainer trainer(model, *loss, *opt, settings);
    trainer.train_epoch(data, 1);  // sizes every buffer
    const long before = allocation_count();
    trainer.train_epoch(data, 2);  // 40 batches
    const long per_epoch = allocation_count() - before;
    CAPTURE(threads);
    CAPTURE(on_nonfinite);
    CHECK(per_epoch < 10);  // the epoch's shuffled order, not one per batch
  }
}
