// In-memory data sets and the data-set registry.
//
// Images stay as bytes (1 byte per pixel, 47 MB for Fashion-MNIST's training set) and are converted
// to normalised floats one mini-batch at a time by gather(). Synthetic sets store floats directly.
// Per-channel normalisation: x' = (x·scale − mean[c]) / std[c], where c is the channel of the
// feature (features are laid out channel-major: c·(H·W) + h·W + w, like PyTorch's CHW).
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/params.hpp"
#include "core/registry.hpp"
#include "core/shape.hpp"
#include "core/tensor.hpp"

namespace nnlab {

class Rng;

struct Dataset {
  std::string name;                 // "fashion-mnist/train"
  Index rows = 0;                   // samples
  Index features = 0;               // values per sample
  int channels = 1;                 // for per-channel normalisation (1 for MNIST, 3 for CIFAR)
  int classes = 0;
  std::vector<std::string> class_names;  // optional
  std::vector<Index> shape;         // sample shape, e.g. {1, 28, 28}; empty: {features}
  Shape sample_shape() const { return shape.empty() ? Shape{features} : Shape(shape); }

  // Exactly one of these holds the samples (rows x features, row-major).
  std::vector<std::uint8_t> bytes;
  std::vector<float> values;
  std::vector<std::int32_t> labels;  // rows entries, each in [0, classes)

  // Normalisation applied by gather(). Defaults: identity.
  float scale = 1.0f;
  std::vector<float> mean{0.0f};  // one per channel
  std::vector<float> stddev{1.0f};

  // Write the normalised samples idx[0..n) into out (n x features) and their labels.
  void gather(std::span<const Index> idx, MatF& out, std::vector<std::int32_t>& out_labels) const;
  template <typename T>
  void gather(std::span<const Index> idx, Mat<T>& out, std::vector<std::int32_t>& out_labels) const;

  // A new data set holding rows idx (same normalisation), e.g. for a validation split.
  Dataset take(std::span<const Index> idx, const std::string& new_name) const;

  // Per-channel mean and std of the scaled values (x·scale) over all samples.
  void channel_stats(std::vector<double>& mean, std::vector<double>& stddev) const;

  // Throws DataError unless the sizes are consistent and every label is in range.
  void validate() const;
};

// A transformation of gathered training batches (augmentation: random crops, flips, noise). The
// training loop applies it after gather(), drawing from a stream of its own per epoch; evaluation
// data is never transformed. `data` describes the samples (shape, normalisation).
class BatchTransform {
 public:
  virtual ~BatchTransform() = default;
  virtual std::string describe() const = 0;
  virtual void apply(MatF& batch, const Dataset& data, Rng& rng) const = 0;
};

// Train and test sets as a loader returns them, and the loader's training augmentation (null: none).
struct DataSplits {
  Dataset train;
  Dataset test;
  std::shared_ptr<const BatchTransform> augment;
};

// A registered data-set format. `params` are the keys it accepts in the config's "data" section
// besides the generic ones (dataset, validation_split, normalize, limit_train, limit_test).
struct DatasetEntry {
  std::string name;
  std::string summary;
  std::vector<ParamSpec> params;
  std::function<DataSplits(const Args&)> load;
};
using DatasetRegistry = Registry<DatasetEntry>;

}  // namespace nnlab

#define NNLAB_REGISTER_DATASET(fn, name, summary, ...)                                  \
  namespace {                                                                          \
  [[maybe_unused]] const bool NNLAB_CONCAT(nnlab_registered_data_, __LINE__) =         \
      ::nnlab::DatasetRegistry::instance().add(                                        \
          ::nnlab::DatasetEntry{name, summary, std::vector<::nnlab::ParamSpec> __VA_ARGS__, fn}); \
  }
