#include "core/run/data.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace nnlab {

namespace {
Dataset first_rows(Dataset d, Index limit) {
  if (limit <= 0 || limit >= d.rows) return d;  // moved, not copied: a data set may be most of the memory
  std::vector<Index> idx(static_cast<std::size_t>(limit));
  std::iota(idx.begin(), idx.end(), Index{0});
  return d.take(idx, d.name);
}
}  // namespace

RunData load_run_data(const DataSpec& spec, std::uint64_t seed) {
  DataSplits splits = spec.format->load(spec.format_args);
  RunData out;
  out.augment = splits.augment;
  out.train = first_rows(std::move(splits.train), spec.limit_train);
  out.test = first_rows(std::move(splits.test), spec.limit_test);
  if (!spec.normalize) {
    for (Dataset* s : {&out.train, &out.test}) {
      s->mean.assign(s->mean.size(), 0.0f);
      s->stddev.assign(s->stddev.size(), 1.0f);
    }
  }
  const double split = spec.validation_split;
  if (split > 0) {
    const Index n_val = static_cast<Index>(std::llround(split * static_cast<double>(out.train.rows)));
    if (n_val < 1 || n_val >= out.train.rows)
      throw ConfigError("data.validation_split: " + std::to_string(split) + " of " + std::to_string(out.train.rows) +
                        " samples leaves an empty training or validation set");
    std::vector<Index> order(static_cast<std::size_t>(out.train.rows));
    std::iota(order.begin(), order.end(), Index{0});
    Rng rng(seed, Rng::stream_id("validation-split"));
    shuffle(order.begin(), order.end(), rng);
    std::vector<Index> val(order.begin(), order.begin() + n_val), rest(order.begin() + n_val, order.end());
    std::sort(val.begin(), val.end());
    std::sort(rest.begin(), rest.end());
    const std::string base = out.train.name;
    out.validation = out.train.take(val, base + "[validation]");
    out.train = out.train.take(rest, base);
  }
  for (const Dataset* s : {&out.train, &out.test}) s->validate();
  if (out.train.rows == 0) throw DataError("the training set is empty");
  return out;
}

}  // namespace nnlab
