// No allocation in an optimizer step after the first: every reference case's optimizer, schedule
// and clipping (support/optim_reference.hpp). Requires the resource allocation-counting
// (tests/CMakeLists.txt: support/allocations.cpp counts malloc): reported as skipped in sanitizer
// builds, whose allocator replaces malloc.
#include <doctest/doctest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "core/optimizer.hpp"
#include "core/schedule.hpp"
#include "support/allocations.hpp"
#include "support/optim_reference.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("no allocation in a step after the first (optimizers, schedules, clipping)") {
  for (const auto& c : optim_reference()["cases"]) {
    const std::string name = c["name"];
    CAPTURE(name);
    Problem p;
    Run run(c);
    std::vector<std::vector<float>> grads;  // parsed before counting (JSON access allocates)
    for (const auto& g : c["grads"]) grads.push_back(g.get<std::vector<float>>());
    std::vector<std::optional<double>> metrics(grads.size());
    if (c.contains("metrics"))
      for (std::size_t k = 0; k < grads.size(); ++k) metrics[k] = c["metrics"][k].get<double>();
    const double max_norm = c.value("clip_max_norm", 0.0);
    long during = 0;
    for (std::size_t k = 0; k < grads.size(); ++k) {
      std::size_t i = 0;
      for (auto& param : p.params())
        for (Index j = 0; j < param.grad->size(); ++j) param.grad->data()[j] = grads[k][i++];
      const long before = allocation_count();
      if (max_norm > 0) clip_grad_norm(p.params(), max_norm);
      run.optimizer->step(p.params());
      if (run.schedule) {
        run.schedule->step(metrics[k]);
        run.optimizer->set_lr(run.schedule->lr());
      }
      if (k > 0) during += allocation_count() - before;
    }
    CHECK(during == 0);
  }
}
