// MNIST and Fashion-MNIST: 28×28 grey-scale images in 10 classes, 60,000 for training and
// 10,000 for testing, stored as four IDX files (datasets/idx.hpp) in one directory:
//
//   train-images-idx3-ubyte   N×28×28 pixel bytes, 0 = background, 255 = full ink
//   train-labels-idx1-ubyte   N label bytes in 0..9
//   t10k-images-idx3-ubyte    the test set, same layout
//   t10k-labels-idx1-ubyte
//
// Each file may be raw or gzip-compressed with a .gz suffix (the download and the Debian package
// dataset-fashion-mnist ship .gz; if both spellings exist the raw file is read). Any H×W is
// accepted as long as train and test agree, so look-alikes (KMNIST, EMNIST digits) load too.
//
// The samples stay bytes in memory (47 MB for the training set); Dataset::gather() turns a batch
// into floats  x' = (x/255 − mean)/std  with the usual per-data-set constants:
//   MNIST          mean 0.1307, std 0.3081
//   Fashion-MNIST  mean 0.2860, std 0.3530
// (the pixel mean and standard deviation of the training set, after scaling to [0, 1]).
#include <algorithm>
#include <filesystem>

#include "core/dataset.hpp"
#include "core/error.hpp"
#include "datasets/files.hpp"
#include "datasets/idx.hpp"

namespace nnlab {
namespace {

namespace fs = std::filesystem;

struct Family {
  std::string name;                      // registry name, prefix of the Dataset names
  std::vector<std::string> class_names;  // label 0..9
  float mean = 0, stddev = 1;            // of x/255 over the training pixels
  std::string hint;                      // how to get the files
};

Family mnist() {
  return {"mnist", {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, 0.1307f, 0.3081f,
          "scripts/fetch_data.sh downloads it"};
}

Family fashion_mnist() {
  return {"fashion-mnist",
          {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"},
          0.2860f,
          0.3530f,
          "install the Debian package dataset-fashion-mnist or set data.path"};
}

// <dir>/<base>, else <dir>/<base>.gz.
fs::path find_file(const fs::path& dir, const std::string& base) {
  std::error_code ec;
  for (const fs::path& candidate : {dir / base, dir / (base + ".gz")})
    if (fs::is_regular_file(candidate, ec)) return candidate;
  throw DataError("data.path: '" + dir.string() + "' has no " + base + " or " + base + ".gz" + directory_listing(dir));
}

// One split from its two files. `split` is "train" or "test".
Dataset load_split(const Family& fam, const fs::path& images_path, const fs::path& labels_path,
                   const std::string& split) {
  IdxArray images = read_idx(images_path, "image data");
  const IdxArray labels = read_idx(labels_path, "label data");
  const std::string ip = images_path.string(), lp = labels_path.string();
  if (images.dims.size() != 3)
    throw DataError(ip + ": expected 3-D images (count x height x width), found a " +
                    std::to_string(images.dims.size()) + "-D array " + images.dims_string());
  if (labels.dims.size() != 1)
    throw DataError(lp + ": expected 1-D labels (count), found a " + std::to_string(labels.dims.size()) +
                    "-D array " + labels.dims_string());
  const std::uint32_t n = images.dims[0];
  if (n == 0) throw DataError(ip + ": holds no images (dimensions " + images.dims_string() + ")");
  if (labels.dims[0] != n)
    throw DataError(lp + ": " + std::to_string(labels.dims[0]) + " labels for the " + std::to_string(n) +
                    " images in " + ip);

  Dataset d;
  d.name = fam.name + "/" + split;
  d.rows = static_cast<Index>(n);
  d.features = static_cast<Index>(images.dims[1]) * static_cast<Index>(images.dims[2]);
  d.channels = 1;
  d.classes = static_cast<int>(fam.class_names.size());
  d.class_names = fam.class_names;
  d.shape = {1, static_cast<Index>(images.dims[1]), static_cast<Index>(images.dims[2])};
  d.bytes = std::move(images.data);
  d.labels.resize(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    const int label = labels.data[i];
    if (label >= d.classes)
      throw DataError(lp + ": label " + std::to_string(label) + " of sample " + std::to_string(i) +
                      " is outside 0.." + std::to_string(d.classes - 1));
    d.labels[i] = label;
  }
  d.scale = 1.0f / 255.0f;
  d.mean = {fam.mean};
  d.stddev = {fam.stddev};
  d.validate();
  return d;
}

DataSplits load_family(const Family& fam, const std::string& path) {
  const fs::path dir(path);
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    std::string where;
    if (dir.is_relative()) where = " (relative to the working directory " + fs::current_path(ec).string() + ")";
    throw DataError("data.path: directory '" + path + "' does not exist" + where + "; " + fam.hint);
  }
  if (!fs::is_directory(dir, ec))
    throw DataError("data.path: '" + path + "' is not a directory; it should hold the four " + fam.name +
                    " IDX files (train-images-idx3-ubyte, ...)");

  // Find all four files before reading any, so a missing one is reported at once.
  const fs::path train_images = find_file(dir, "train-images-idx3-ubyte");
  const fs::path train_labels = find_file(dir, "train-labels-idx1-ubyte");
  const fs::path test_images = find_file(dir, "t10k-images-idx3-ubyte");
  const fs::path test_labels = find_file(dir, "t10k-labels-idx1-ubyte");

  DataSplits s;
  s.train = load_split(fam, train_images, train_labels, "train");
  s.test = load_split(fam, test_images, test_labels, "test");
  if (s.test.shape != s.train.shape)
    throw DataError(test_images.string() + ": images are " + std::to_string(s.test.shape[1]) + "x" +
                    std::to_string(s.test.shape[2]) + " but the training images in " + train_images.string() +
                    " are " + std::to_string(s.train.shape[1]) + "x" + std::to_string(s.train.shape[2]));
  return s;
}

DataSplits load_mnist(const Args& a) { return load_family(mnist(), a.text("path")); }
DataSplits load_fashion_mnist(const Args& a) { return load_family(fashion_mnist(), a.text("path")); }

}  // namespace

NNLAB_REGISTER_DATASET(load_mnist, "mnist", "MNIST handwritten digits, 60k/10k 28x28 grey images, 10 classes",
                       {text("path", "data/mnist",
                             "directory with train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                             "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each raw or .gz)")});

NNLAB_REGISTER_DATASET(load_fashion_mnist, "fashion-mnist",
                       "Zalando Fashion-MNIST clothing images, 60k/10k 28x28 grey images, 10 classes",
                       {text("path", "/usr/share/datasets/fashion-mnist",
                             "directory with train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                             "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each raw or .gz)")});

}  // namespace nnlab
