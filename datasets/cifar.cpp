// CIFAR-10 and CIFAR-100: 32×32 colour images, 50,000 for training and 10,000 for testing, in
// the "binary version" of the official archives (cifar-10-binary.tar.gz, cifar-100-binary.tar.gz;
// scripts/fetch_data.sh downloads and unpacks them).
//
// A file is a plain sequence of fixed-size records, no header:
//
//   CIFAR-10   <label> <3072 pixels>                 1 + 3072 = 3073 bytes per record
//   CIFAR-100  <coarse label> <fine label> <pixels>  2 + 3072 = 3074 bytes per record
//
// The 3072 pixel bytes are the three colour planes one after the other, each row-major 32×32:
// bytes 0..1023 red, 1024..2047 green, 2048..3071 blue; so pixel (row h, column w) of channel c
// is byte c·1024 + h·32 + w. That is exactly PyTorch's C×H×W layout, so the loader copies the
// pixels unchanged into Dataset::bytes (shape {3, 32, 32}).
//
//   cifar-10-batches-bin/   data_batch_1.bin … data_batch_5.bin (train, 10,000 records each),
//                           test_batch.bin, batches.meta.txt (class names), readme.html
//   cifar-100-binary/       train.bin (50,000 records), test.bin (10,000),
//                           fine_label_names.txt (100 names), coarse_label_names.txt (20 names)
//
// CIFAR-100 labels every image twice: with one of 100 fine classes ("apple", "aquarium_fish", …)
// and with one of 20 coarse superclasses ("fruit_and_vegetables", …); `label` picks which one is
// the target. Class names come from the *_label_names.txt file when it is there, else "0".."99".
//
// Any whole number of records per file is accepted (so cut-down sets load too); a size that is
// not a multiple of the record size is a truncated or foreign file and an error, as is an empty
// file or a label outside the class range. Every message starts with the file's path.
//
// Normalisation (Dataset::gather): x' = (x/255 − mean[c]) / std[c] per colour channel c, with the
// standard per-channel statistics of each training set (the values torchvision examples use):
//   CIFAR-10   mean (0.4914, 0.4822, 0.4465)  std (0.2470, 0.2435, 0.2616)
//   CIFAR-100  mean (0.5071, 0.4865, 0.4409)  std (0.2673, 0.2564, 0.2762)
//
// Training augmentation (Dataset::augment, core/augment.cpp), training split only:
//   crop_padding = p   random 32×32 crop of the image padded by p black pixels on each side
//   random_flip        mirror left-right with probability 1/2
// The usual CIFAR recipe is p = 4 with flips.
#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <functional>
#include <fstream>
#include <system_error>

#include "core/dataset.hpp"
#include "core/error.hpp"
#include "core/file_check.hpp"
#include "datasets/files.hpp"
#include "datasets/augment.hpp"

namespace nnlab {
namespace {

namespace fs = std::filesystem;

constexpr Index image_side = 32;
constexpr Index image_channels = 3;
constexpr Index pixels_per_image = image_channels * image_side * image_side;  // 3072

// One label byte of a record: what it is called in messages and how many classes it has.
struct LabelField {
  std::string what;  // "label", "coarse label", "fine label"
  int classes = 0;
};

// What differs between CIFAR-10 and CIFAR-100.
struct Format {
  std::string name;                      // registry name and prefix of the Dataset names
  std::string archive;                   // the official archive, for hints
  std::vector<LabelField> label_fields;  // the label bytes at the start of each record, in order
  std::vector<std::string> train_files, test_files;
  std::vector<float> mean, stddev;       // per channel, of x/255 over the training pixels

  Index record_bytes() const { return static_cast<Index>(label_fields.size()) + pixels_per_image; }
};

Format cifar10_format() {
  return {"cifar10",
          "cifar-10-binary.tar.gz",
          {{"label", 10}},
          {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"},
          {"test_batch.bin"},
          {0.4914f, 0.4822f, 0.4465f},
          {0.2470f, 0.2435f, 0.2616f}};
}

Format cifar100_format() {
  return {"cifar100",
          "cifar-100-binary.tar.gz",
          {{"coarse label", 20}, {"fine label", 100}},
          {"train.bin"},
          {"test.bin"},
          {0.5071f, 0.4865f, 0.4409f},
          {0.2673f, 0.2564f, 0.2762f}};
}

const std::vector<std::string>& cifar10_class_names() {
  static const std::vector<std::string> names = {"airplane", "automobile", "bird",  "cat",  "deer",
                                                 "dog",      "frog",       "horse", "ship", "truck"};
  return names;
}

std::string fetch_hint(const Format& fmt) {
  return "scripts/fetch_data.sh " + fmt.name + " downloads and unpacks " + fmt.archive;
}

// The directory must exist and hold every data file; all are checked before any is read.
void check_directory(const Format& fmt, const fs::path& dir, const std::string& default_folder) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    std::string where;
    if (dir.is_relative()) where = " (relative to the working directory " + fs::current_path(ec).string() + ")";
    throw DataError("data.path: directory '" + dir.string() + "' does not exist" + where + "; " + fetch_hint(fmt));
  }
  if (!fs::is_directory(dir, ec))
    throw DataError("data.path: '" + dir.string() + "' is not a directory; it should hold the " + fmt.name +
                    " binary files (" + join(fmt.train_files) + ", " + join(fmt.test_files) + ")");
  std::vector<std::string> missing;
  for (const auto* files : {&fmt.train_files, &fmt.test_files})
    for (const std::string& f : *files)
      if (!fs::is_regular_file(dir / f, ec)) missing.push_back(f);
  if (missing.empty()) return;
  std::string hint = "; " + fetch_hint(fmt);
  // A common slip: pointing at the folder that holds the unpacked archive's folder.
  if (fs::is_directory(dir / default_folder, ec))
    hint = "; did you mean data.path = '" + (dir / default_folder).string() + "'?";
  throw DataError("data.path: '" + dir.string() + "' has no " + join(missing) + directory_listing(dir) + hint);
}

// Append the records of one file to d.bytes and d.labels; `target` is the label field used.
void read_records(const Format& fmt, const fs::path& path, std::size_t target, Dataset& d) {
  const std::string p = path.string();
  const Index record = fmt.record_bytes();
  if (const std::string why = unreadable_reason(path, fmt.name); !why.empty()) throw DataError(why);
  std::error_code ec;
  const auto size = static_cast<Index>(fs::file_size(path, ec));
  if (ec) throw DataError(p + ": cannot read its size: " + ec.message());
  if (size == 0)
    throw DataError(p + ": file is empty (expected " + fmt.name + " records of " + std::to_string(record) +
                    " bytes)");
  if (size % record != 0)
    throw DataError(p + ": " + std::to_string(size) + " bytes is not a whole number of " + std::to_string(record) +
                    "-byte records (truncated?)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(p + ": cannot open: " + std::error_code(errno, std::generic_category()).message());
  std::vector<std::uint8_t> file(static_cast<std::size_t>(size));
  in.read(reinterpret_cast<char*>(file.data()), static_cast<std::streamsize>(size));
  if (in.gcount() != static_cast<std::streamsize>(size))
    throw DataError(p + ": read " + std::to_string(in.gcount()) + " of its " + std::to_string(size) + " bytes");

  const Index n = size / record;
  const std::size_t label_bytes = fmt.label_fields.size();
  for (Index r = 0; r < n; ++r) {
    const std::uint8_t* rec = file.data() + r * record;
    // Every label byte is checked, the unused one too: a bad byte means a damaged or foreign file.
    for (std::size_t k = 0; k < label_bytes; ++k)
      if (rec[k] >= fmt.label_fields[k].classes)
        throw DataError(p + ": " + fmt.label_fields[k].what + " " + std::to_string(rec[k]) + " of record " +
                        std::to_string(r) + " is outside 0.." + std::to_string(fmt.label_fields[k].classes - 1));
    d.labels.push_back(rec[target]);
    d.bytes.insert(d.bytes.end(), rec + label_bytes, rec + record);
  }
}

// Class names, one per line (blank lines and surrounding spaces ignored), if the file exists.
std::vector<std::string> read_class_names(const fs::path& path, int classes) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    std::vector<std::string> numbers;
    for (int k = 0; k < classes; ++k) numbers.push_back(std::to_string(k));
    return numbers;
  }
  if (const std::string why = unreadable_reason(path, "class names"); !why.empty()) throw DataError(why);
  std::ifstream in(path);
  if (!in) throw DataError(path.string() + ": cannot open: " + std::error_code(errno, std::generic_category()).message());
  std::vector<std::string> names;
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    const auto last = line.find_last_not_of(" \t\r");
    names.push_back(line.substr(first, last - first + 1));
    // The names go into the model's metadata (JSON): refuse them here, not after training.
    if (!valid_utf8(names.back()))
      throw DataError(path.string() + ": line " + std::to_string(number) + " ('" + printable(names.back()) +
                      "') is not valid UTF-8 text");
  }
  if (static_cast<int>(names.size()) != classes)
    throw DataError(path.string() + ": " + std::to_string(names.size()) + " class names (non-empty lines) for " +
                    std::to_string(classes) + " classes");
  return names;
}

// One split from its files, in the given order.
Dataset load_split(const Format& fmt, const fs::path& dir, const std::vector<std::string>& files, std::size_t target,
                   const std::vector<std::string>& class_names, const std::string& split) {
  Dataset d;
  d.name = fmt.name + "/" + split;
  Index total = 0;
  std::error_code ec;
  for (const std::string& f : files) total += static_cast<Index>(fs::file_size(dir / f, ec)) / fmt.record_bytes();
  d.bytes.reserve(static_cast<std::size_t>(total * pixels_per_image));
  d.labels.reserve(static_cast<std::size_t>(total));
  for (const std::string& f : files) read_records(fmt, dir / f, target, d);
  d.rows = static_cast<Index>(d.labels.size());
  d.features = pixels_per_image;
  d.channels = static_cast<int>(image_channels);
  d.shape = {image_channels, image_side, image_side};
  d.classes = fmt.label_fields[target].classes;
  d.class_names = class_names;
  d.scale = 1.0f / 255.0f;
  d.mean = fmt.mean;
  d.stddev = fmt.stddev;
  d.validate();
  return d;
}

// `names(dir)` gives the class names once the directory is known to be complete.
DataSplits load_format(const Format& fmt, const Args& a, std::size_t target, const std::string& default_folder,
                       const std::function<std::vector<std::string>(const fs::path&)>& names) {
  const fs::path dir(a.text("path"));
  check_directory(fmt, dir, default_folder);
  const std::vector<std::string> class_names = names(dir);
  DataSplits s;
  s.train = load_split(fmt, dir, fmt.train_files, target, class_names, "train");
  s.test = load_split(fmt, dir, fmt.test_files, target, class_names, "test");
  s.augment = crop_flip(static_cast<int>(a.integer("crop_padding")), a.boolean("random_flip"));
  return s;
}

DataSplits load_cifar10(const Args& a) {
  return load_format(cifar10_format(), a, 0, "cifar-10-batches-bin",
                     [](const fs::path&) { return cifar10_class_names(); });
}

DataSplits load_cifar100(const Args& a) {
  const Format fmt = cifar100_format();
  const bool coarse = a.text("label") == "coarse";
  const std::size_t target = coarse ? 0 : 1;
  return load_format(fmt, a, target, "cifar-100-binary", [&](const fs::path& dir) {
    return read_class_names(dir / (coarse ? "coarse_label_names.txt" : "fine_label_names.txt"),
                            fmt.label_fields[target].classes);
  });
}

}  // namespace

NNLAB_REGISTER_DATASET(load_cifar10, "cifar10",
                       "CIFAR-10 colour images (binary version), 50k/10k 3x32x32, 10 classes",
                       {text("path", "data/cifar-10-batches-bin",
                             "directory with data_batch_1.bin ... data_batch_5.bin and test_batch.bin"),
                        crop_padding_param(), random_flip_param()});

NNLAB_REGISTER_DATASET(load_cifar100, "cifar100",
                       "CIFAR-100 colour images (binary version), 50k/10k 3x32x32, 100 fine or 20 coarse classes",
                       {text("path", "data/cifar-100-binary",
                             "directory with train.bin and test.bin (and optionally fine_label_names.txt, "
                             "coarse_label_names.txt)"),
                        text("label", "fine", "target: the 100 fine classes or the 20 coarse superclasses",
                             {"fine", "coarse"}),
                        crop_padding_param(), random_flip_param()});

}  // namespace nnlab
