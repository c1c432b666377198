// Bad data files (IDX, CIFAR) and output directories that cannot be written (see support/bad_inputs.hpp).
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "core/io/safetensors.hpp"
#include "datasets/idx.hpp"
#include "support/bad_inputs.hpp"

namespace nnlab::test {

std::vector<Case> data_cases() {
  return {
      {"data directory missing", [](Fixture& f) { return f.train_mnist((f.dir / "nowhere").string()); },
       {"data.path: directory '", "nowhere' does not exist"}},
      {"data path is a file", [](Fixture& f) { return f.train_mnist(f.write("file", "x").string()); },
       {"data.path: '", "file' is not a directory"}},
      {"data file missing", [](Fixture& f) {
         const std::string d = f.mnist_files();
         fs::remove(fs::path(d) / "t10k-labels-idx1-ubyte");
         return f.train_mnist(d); },
       {"has no t10k-labels-idx1-ubyte or t10k-labels-idx1-ubyte.gz", "it holds: "}},
      {"IDX wrong magic", [](Fixture& f) {
         const std::string d = f.mnist_files();
         f.write("data/train-images-idx3-ubyte", "PK\x03\x04 this is a zip file, not IDX");
         return f.train_mnist(d); },
       {"train-images-idx3-ubyte: not an IDX file"}},
      {"IDX empty file", [](Fixture& f) {
         const std::string d = f.mnist_files();
         f.write("data/train-labels-idx1-ubyte", "");
         return f.train_mnist(d); },
       {"train-labels-idx1-ubyte: file is empty"}},
      {"IDX truncated data", [](Fixture& f) {
         const std::string d = f.mnist_files();
         const std::string bytes = slurp(fs::path(d) / "train-images-idx3-ubyte");
         f.write("data/train-images-idx3-ubyte", bytes.substr(0, bytes.size() - 7));
         return f.train_mnist(d); },
       {"train-images-idx3-ubyte: expected 320 bytes of image data"}},
      {"IDX truncated header", [](Fixture& f) {
         const std::string d = f.mnist_files();
         f.write("data/t10k-images-idx3-ubyte", slurp(fs::path(d) / "t10k-images-idx3-ubyte").substr(0, 9));
         return f.train_mnist(d); },
       {"t10k-images-idx3-ubyte: file ends inside the IDX header"}},
      {"IDX trailing bytes", [](Fixture& f) {
         const std::string d = f.mnist_files();
         f.write("data/t10k-labels-idx1-ubyte", slurp(fs::path(d) / "t10k-labels-idx1-ubyte") + "xyz");
         return f.train_mnist(d); },
       {"t10k-labels-idx1-ubyte: 3 unexpected bytes after the"}},
      {"IDX gzip cut off", [](Fixture& f) {
         const std::string d = f.mnist_files();
         std::vector<std::uint8_t> pixels(20 * 16, 7);
         write_idx(fs::path(d) / "gz.tmp", {20, 4, 4}, pixels, /*gzip=*/true);
         const std::string gz = slurp(fs::path(d) / "gz.tmp");
         fs::remove(fs::path(d) / "gz.tmp");
         fs::remove(fs::path(d) / "train-images-idx3-ubyte");
         f.write("data/train-images-idx3-ubyte.gz", gz.substr(0, gz.size() - 12));
         return f.train_mnist(d); },
       {"train-images-idx3-ubyte.gz", "gzip"}},
      {"IDX label out of range", [](Fixture& f) {
         const std::string d = f.mnist_files();
         std::vector<std::uint8_t> labels(20, 1);
         labels[13] = 12;
         write_idx(fs::path(d) / "train-labels-idx1-ubyte", {20}, labels);
         return f.train_mnist(d); },
       {"train-labels-idx1-ubyte: label 12 of sample 13 is outside 0..9"}},
      {"IDX image and label counts differ", [](Fixture& f) {
         const std::string d = f.mnist_files();
         write_idx(fs::path(d) / "t10k-labels-idx1-ubyte", {9}, std::vector<std::uint8_t>(9, 1));
         return f.train_mnist(d); },
       {"t10k-labels-idx1-ubyte: 9 labels for the 10 images in", "t10k-images-idx3-ubyte"}},
      {"IDX images of the wrong rank", [](Fixture& f) {
         const std::string d = f.mnist_files();
         write_idx(fs::path(d) / "train-images-idx3-ubyte", {20, 16}, std::vector<std::uint8_t>(320, 1));
         return f.train_mnist(d); },
       {"train-images-idx3-ubyte: expected 3-D images", "2-D array 20x16"}},
      {"IDX train and test image sizes differ", [](Fixture& f) {
         const std::string d = f.mnist_files();
         write_idx(fs::path(d) / "t10k-images-idx3-ubyte", {10, 5, 5}, std::vector<std::uint8_t>(250, 1));
         return f.train_mnist(d); },
       {"t10k-images-idx3-ubyte: images are 5x5 but the training images", "are 4x4"}},
      {"CIFAR truncated record", [](Fixture& f) {
         const std::string d = f.cifar_files();
         f.write("cifar/data_batch_3.bin", std::string(3073 + 100, '\x01'));
         return f.train_cifar(d); },
       {"data_batch_3.bin: 3173 bytes is not a whole number of 3073-byte records"}},
      {"CIFAR label out of range", [](Fixture& f) {
         const std::string d = f.cifar_files(2, 11);
         return f.train_cifar(d); },
       {"data_batch_1.bin: label 11 of record 0 is outside 0..9"}},
      {"CIFAR file missing", [](Fixture& f) {
         const std::string d = f.cifar_files();
         fs::remove(fs::path(d) / "test_batch.bin");
         return f.train_cifar(d); },
       {"has no test_batch.bin"}},
  };
}


// The data section points nowhere: seeing the output directory's error rather than the data's shows
// that the directory is checked before the data is loaded.
std::vector<Case> io_cases() {
  return {
      {"output directory under a regular file", [](Fixture& f) {
         f.write("plain-file", "not a directory");
         auto args = f.train_data({{"dataset", "mnist"}, {"path", "/nonexistent/mnist"}});
         args[3] = (f.dir / "plain-file" / "run").string();
         return args; },
       {"output directory '", "plain-file' is a file, not a directory"}},
      {"output directory is a file", [](Fixture& f) {
         f.write("run", "a file where the run directory should be");
         return f.train_data({{"dataset", "mnist"}, {"path", "/nonexistent/mnist"}}); },
       {"run' is a file, not a directory"}},
      {"output directory empty", [](Fixture& f) {
         json doc = json::parse(base_config);
         doc["data"] = {{"dataset", "mnist"}, {"path", "/nonexistent/mnist"}};
         doc["output"]["dir"] = "";
         return std::vector<std::string>{"train", f.write("c.json", doc.dump()).string()}; },
       {"the output directory is an empty path"}},
      {"output directory cannot be created", [](Fixture& f) {
         auto args = f.train_data({{"dataset", "mnist"}, {"path", "/nonexistent/mnist"}});
         args[3] = "/proc/nnlab-cannot-create-this/run";
         return args; },
       {"output directory '/proc/nnlab-cannot-create-this/run' cannot be created"}},
  };
}

}  // namespace nnlab::test
