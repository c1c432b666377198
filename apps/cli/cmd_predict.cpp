// nnlab predict DIR IMAGES [--top K] [--weights FILE] [--logits]
// Top-K classes with probabilities for every image of an IDX file (MNIST format, raw or .gz) or a
// CIFAR binary batch file, using the normalisation stored with the weights. --logits prints the
// model's raw outputs instead, all of them, to 9 significant digits (what tools/to_torch.py compares).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>

#include "apps/cli/command.hpp"
#include "core/io/fileio.hpp"
#include "core/parallel.hpp"
#include "core/run/model_file.hpp"
#include "datasets/idx.hpp"

namespace nnlab::app {
namespace {

struct PredictArgs {
  std::string dir, images, weights = "model.safetensors", format = "auto";
  int top = 3;
  int threads = 0;
  bool logits = false;
};

// The image file format: given, or that of the data the model was trained on. Never guessed from
// the bytes (a CIFAR-100 batch whose first labels are 0, 0 starts like an IDX file).
std::string image_format(const std::string& given, const std::string& dataset) {
  if (given != "auto") return given;
  if (dataset == "cifar10" || dataset == "cifar100") return dataset;
  return "idx";  // MNIST, Fashion-MNIST and the synthetic sets: IDX, the generic tensor format
}

// Raw image bytes, one row per image, and how many images.
std::vector<std::uint8_t> read_images(const std::string& path, Index features, const std::string& format, Index& count) {
  if (format == "idx") {
    IdxArray a = read_idx(path, "image data");
    if (a.dims.size() < 2) throw DataError(path + ": an image file needs at least 2 dimensions, got " + a.dims_string());
    Index per = 1;
    for (std::size_t i = 1; i < a.dims.size(); ++i) per *= a.dims[i];
    if (per != features)
      throw ShapeError(path + ": images of " + std::to_string(per) + " values (" + a.dims_string() + "), the model takes " +
                       std::to_string(features));
    count = a.dims[0];
    return std::move(a.data);
  }
  // CIFAR binary: records of <label bytes> + pixels.
  const std::string bytes = read_file(path, "images");
  const std::size_t label_bytes = format == "cifar100" ? 2 : 1;
  const std::size_t record = label_bytes + static_cast<std::size_t>(features);
  if (bytes.empty() || bytes.size() % record != 0)
    throw DataError(path + ": not a " + format + " batch of " + std::to_string(record) + "-byte records (" +
                    std::to_string(bytes.size()) + " bytes)");
  count = static_cast<Index>(bytes.size() / record);
  // The label bytes say whether this is a batch of that format at all (CIFAR-10: 0..9; CIFAR-100:
  // coarse 0..19, fine 0..99); the labels themselves are not used.
  const std::vector<int> label_limits = format == "cifar100" ? std::vector<int>{20, 100} : std::vector<int>{10};
  for (Index i = 0; i < count; ++i)
    for (std::size_t k = 0; k < label_bytes; ++k) {
      const auto label = static_cast<unsigned char>(bytes[static_cast<std::size_t>(i) * record + k]);
      if (label >= label_limits[k])
        throw DataError(path + ": not a " + format + " batch: record " + std::to_string(i) + " has label byte " +
                        std::to_string(label) + " (a " + format + " label is below " + std::to_string(label_limits[k]) +
                        "); give --format idx for an IDX file");
    }
  std::vector<std::uint8_t> out(static_cast<std::size_t>(count) * static_cast<std::size_t>(features));
  for (Index i = 0; i < count; ++i)
    std::copy_n(bytes.data() + static_cast<std::size_t>(i) * record + label_bytes, features,
                out.begin() + static_cast<std::ptrdiff_t>(i * features));
  return out;
}

void run_predict(const PredictArgs& a) {
  require_utf8("run directory", a.dir);
  require_utf8("--weights", a.weights);
  require_utf8("images", a.images);
  SavedRun run = load_saved_run(a.dir, a.weights);
  set_threads(a.threads);
  const Index F = run.model.in_features();
  Index count = 0;
  Dataset d;
  d.name = a.images;
  d.bytes = read_images(a.images, F, image_format(a.format, run.spec.data.dataset()), count);
  d.rows = count, d.features = F, d.classes = run.info.classes;
  d.channels = static_cast<int>(run.info.mean.size());
  d.scale = run.info.scale, d.mean = run.info.mean, d.stddev = run.info.stddev;
  d.labels.assign(static_cast<std::size_t>(count), 0);
  MatF x;
  std::vector<std::int32_t> unused;
  std::vector<Index> idx;
  const int K = std::min(a.top, run.info.classes);
  for (Index start = 0; start < count; start += 1000) {
    const Index n = std::min<Index>(1000, count - start);
    idx.resize(static_cast<std::size_t>(n));
    std::iota(idx.begin(), idx.end(), start);
    d.gather(idx, x, unused);
    const MatF& logits = run.model.forward(x, false);
    for (Index r = 0; r < n && a.logits; ++r) {
      std::printf("%ld:", static_cast<long>(start + r));
      for (Index c = 0; c < logits.cols(); ++c) std::printf(" %.9g", static_cast<double>(logits(r, c)));
      std::printf("\n");
    }
    for (Index r = 0; r < n && !a.logits; ++r) {
      // softmax of the row, max subtracted
      Eigen::ArrayXf p = (logits.row(r).array() - logits.row(r).maxCoeff()).exp().transpose();
      p /= p.sum();
      std::vector<int> order(static_cast<std::size_t>(run.info.classes));
      std::iota(order.begin(), order.end(), 0);
      std::partial_sort(order.begin(), order.begin() + K, order.end(), [&](int i, int j) { return p(i) > p(j); });
      std::printf("%ld:", static_cast<long>(start + r));
      for (int k = 0; k < K; ++k) {
        const int c = order[static_cast<std::size_t>(k)];
        const std::string name = static_cast<std::size_t>(c) < run.info.class_names.size() ? run.info.class_names[static_cast<std::size_t>(c)]
                                                                                       : std::to_string(c);
        std::printf("  %s %.4f", name.c_str(), static_cast<double>(p(c)));
      }
      std::printf("\n");
    }
  }
}

void setup(CLI::App& sub) {
  auto a = std::make_shared<PredictArgs>();
  sub.add_option("dir", a->dir, "run directory written by nnlab train")->required();
  sub.add_option("images", a->images, "IDX image file (raw or .gz) or CIFAR binary batch")->required();
  sub.add_option("--top", a->top, "classes to print per image")->check(CLI::Range(1, 1000));
  sub.add_option("--format", a->format, "image file format (auto: that of the data the model was trained on)")
      ->check(CLI::IsMember({"auto", "idx", "cifar10", "cifar100"}));
  sub.add_option("--weights", a->weights, "weights file in DIR (model.safetensors, best.safetensors) or a path");
  sub.add_option("--threads", a->threads, "CPU threads (0: all cores)");
  sub.add_flag("--logits", a->logits, "print every raw output (logit) of each image, to 9 significant digits");
  sub.callback([a] { run_predict(*a); });
}

}  // namespace

NNLAB_COMMAND("predict", "print the top classes of images with a saved model", setup);

}  // namespace nnlab::app
