#include "core/dataset.hpp"

#include <cmath>

#include "core/error.hpp"
#include "core/parallel.hpp"

namespace nnlab {

template <typename T>
void Dataset::gather(std::span<const Index> idx, Mat<T>& out, std::vector<std::int32_t>& out_labels) const {
  const Index n = static_cast<Index>(idx.size());
  out.resize(n, features);
  out_labels.resize(idx.size());
  const Index per_channel = features / std::max(1, channels);
  // Rows are independent: threads convert blocks of them (bytes → normalised floats).
  parallel_for_blocks(n, static_cast<double>(n * features), [&](Index r0, Index r1) {
    for (Index r = r0; r < r1; ++r) {
      const Index src = idx[static_cast<std::size_t>(r)];
      out_labels[static_cast<std::size_t>(r)] = labels[static_cast<std::size_t>(src)];
      T* dst = out.data() + r * features;
      for (int c = 0; c < channels; ++c) {
        const std::size_t ci = static_cast<std::size_t>(c) < mean.size() ? static_cast<std::size_t>(c) : 0;
        // x' = (x·scale − mean)/std = x·a + b with a = scale/std, b = −mean/std
        const T a = static_cast<T>(scale / stddev[ci]);
        const T b = static_cast<T>(-mean[ci] / stddev[ci]);
        const Index lo = c * per_channel, hi = (c + 1 == channels) ? features : lo + per_channel;
        if (!bytes.empty()) {
          const std::uint8_t* s = bytes.data() + src * features;
          for (Index j = lo; j < hi; ++j) dst[j] = static_cast<T>(s[j]) * a + b;
        } else {
          const float* s = values.data() + src * features;
          for (Index j = lo; j < hi; ++j) dst[j] = static_cast<T>(s[j]) * a + b;
        }
      }
    }
  });
}

void Dataset::gather(std::span<const Index> idx, MatF& out, std::vector<std::int32_t>& out_labels) const {
  gather<float>(idx, out, out_labels);
}

template void Dataset::gather<double>(std::span<const Index>, Mat<double>&, std::vector<std::int32_t>&) const;

Dataset Dataset::take(std::span<const Index> idx, const std::string& new_name) const {
  Dataset d;
  d.name = new_name;
  d.rows = static_cast<Index>(idx.size());
  d.features = features, d.channels = channels, d.classes = classes;
  d.class_names = class_names, d.shape = shape;
  d.scale = scale, d.mean = mean, d.stddev = stddev;
  const auto F = static_cast<std::size_t>(features);
  for (Index i : idx) {
    if (i < 0 || i >= rows) throw DataError(name + ": row " + std::to_string(i) + " out of range");
    const auto off = static_cast<std::size_t>(i) * F;
    if (!bytes.empty()) d.bytes.insert(d.bytes.end(), bytes.begin() + static_cast<std::ptrdiff_t>(off),
                                       bytes.begin() + static_cast<std::ptrdiff_t>(off + F));
    else d.values.insert(d.values.end(), values.begin() + static_cast<std::ptrdiff_t>(off),
                         values.begin() + static_cast<std::ptrdiff_t>(off + F));
    d.labels.push_back(labels[static_cast<std::size_t>(i)]);
  }
  return d;
}

void Dataset::channel_stats(std::vector<double>& m, std::vector<double>& s) const {
  m.assign(static_cast<std::size_t>(channels), 0.0);
  s.assign(static_cast<std::size_t>(channels), 0.0);
  const Index per_channel = features / std::max(1, channels);
  for (int c = 0; c < channels; ++c) {
    double sum = 0, sq = 0;
    Index count = 0;
    for (Index r = 0; r < rows; ++r) {
      for (Index j = c * per_channel; j < (c + 1) * per_channel; ++j) {
        const std::size_t k = static_cast<std::size_t>(r * features + j);
        const double v = (bytes.empty() ? values[k] : bytes[k]) * static_cast<double>(scale);
        sum += v, sq += v * v, ++count;
      }
    }
    const double mu = count ? sum / static_cast<double>(count) : 0.0;
    m[static_cast<std::size_t>(c)] = mu;
    s[static_cast<std::size_t>(c)] = count ? std::sqrt(std::max(0.0, sq / static_cast<double>(count) - mu * mu)) : 1.0;
  }
}

void Dataset::validate() const {
  const auto expect = static_cast<std::size_t>(rows * features);
  const std::size_t have = bytes.empty() ? values.size() : bytes.size();
  if (have != expect)
    throw DataError(name + ": " + std::to_string(have) + " values for " + std::to_string(rows) + " samples of " +
                    std::to_string(features) + " features");
  if (labels.size() != static_cast<std::size_t>(rows))
    throw DataError(name + ": " + std::to_string(labels.size()) + " labels for " + std::to_string(rows) + " samples");
  if (channels < 1 || features % channels != 0)
    throw DataError(name + ": " + std::to_string(features) + " features do not split into " + std::to_string(channels) +
                    " channels");
  if (mean.empty() || stddev.size() != mean.size()) throw DataError(name + ": normalisation mean/std sizes differ");
  for (float sd : stddev)
    if (!(sd > 0)) throw DataError(name + ": normalisation std must be positive");
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || labels[i] >= classes)
      throw DataError(name + ": label " + std::to_string(labels[i]) + " of sample " + std::to_string(i) +
                      " is outside [0, " + std::to_string(classes) + ")");
}

}  // namespace nnlab
