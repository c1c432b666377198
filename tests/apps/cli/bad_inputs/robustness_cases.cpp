// Adversarial inputs (issue 12): impossible sizes, special files, bytes that are not UTF-8, control
// characters that could split or forge the one-line error, integers beyond their type, ranges that
// overflow, weights whose metadata disagree with their model, image files of the wrong format.
// Each ran into a crash, a hang, std::bad_alloc, a raw library message or silent garbage before.
// (See support/bad_inputs.hpp for what every case asserts.)
#include <sys/stat.h>

#include <filesystem>
#include <stdexcept>
#include <cstdint>
#include <string>
#include <vector>

#include "core/io/safetensors.hpp"
#include "datasets/idx.hpp"
#include "support/bad_inputs.hpp"

namespace nnlab::test {
namespace {

// A run trained once from an explicit layer list (the MLP shorthand checks classes itself; a layer
// list did not, and eval then read past the model's outputs).
const char* const layered_config = R"({
  "model": {"layers": [{"type": "dense", "out_features": 8}, {"type": "relu"}, {"type": "dense", "out_features": 3}]},
  "data": {"dataset": "spirals", "samples": 40, "test_samples": 10},
  "optimizer": {"type": "sgd", "lr": 0.1},
  "train": {"epochs": 1, "batch_size": 16, "seed": 1, "threads": 1}
})";

struct Layered {
  TempDir dir{"bad-inputs-layered"};
  std::string config, model;
  Layered() {
    std::ofstream(dir / "c.json") << layered_config;
    const ProcessResult r = run_nnlab({"train", (dir / "c.json").string(), "--out", (dir / "run").string()}, dir.path);
    if (r.status != 0) throw std::runtime_error("layered golden run failed: " + r.err);
    config = slurp(dir / "run/config.json");
    model = slurp(dir / "run/model.safetensors");
  }
};
const Layered& layered() {
  static const Layered g;
  return g;
}

const std::vector<std::uint8_t>& points() {
  static const std::vector<std::uint8_t> p = {10, 200, 128, 128, 0, 255};  // 3 two-feature "images"
  return p;
}

// The layered run's directory with its weights' metadata edited; `command` (eval or predict) on it.
std::vector<std::string> with_metadata(Fixture& f, const std::vector<std::pair<std::string, std::string>>& edits,
                                       const std::string& command = "eval") {
  f.write("run/config.json", layered().config);
  f.write("run/model.safetensors", edited(layered().model, [&](TensorFile& t) {
            for (const auto& [key, value] : edits) t.metadata[key] = value;
          }));
  if (command == "predict") {
    write_idx(f.dir / "points.idx", {3, 2}, points());
    return {"predict", (f.dir / "run").string(), (f.dir / "points.idx").string()};
  }
  return {"eval", (f.dir / "run").string()};
}

// A finished run of the base config (for eval/predict with special files as their inputs).
std::vector<std::string> finished_run(Fixture& f) {
  f.write("run/config.json", golden().config);
  f.write("run/model.safetensors", golden().model);
  return {};
}

void make_fifo(const fs::path& p) {
  fs::create_directories(p.parent_path());
  if (::mkfifo(p.c_str(), 0644) != 0) throw std::runtime_error("mkfifo " + p.string());
}

std::string path_of(const Fixture& f, const std::string& name) { return (f.dir / name).string(); }

}  // namespace

std::vector<Case> robustness_cases() {
  const std::vector<std::string> too_big = {"needs", "more than this machine allows", "physical memory"};
  auto plus = [](std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  return {
      // ---- impossible sizes: refused before allocation, with the estimate and what is available
      {"two dense layers of 200000 units", [](Fixture& f) { return f.train({"model.hidden=[200000,200000]"}); },
       plus({"model.hidden[1]: dense(200000->200000)"}, too_big), {"bad_alloc"}},
      {"a width beyond int32", [](Fixture& f) { return f.train({"model.hidden=[40000000000]"}); },
       plus({"model.hidden[0]: dense(2->40000000000)"}, too_big), {"bad_alloc"}},
      {"activations of one batch larger than memory", [](Fixture& f) { return f.train({"model.hidden=[100000000]"}); },
       plus({"train.batch_size 16"}, too_big), {"bad_alloc"}},
      {"an explicit dense layer too wide", [](Fixture& f) {
         return f.train({R"(model={"layers": [{"type": "dense", "out_features": 3000000000}, {"type": "dense", "out_features": 3}]})"}); },
       plus({"model.layers[0]"}, too_big), {"bad_alloc"}},
      {"a synthetic set of 10^9 samples", [](Fixture& f) { return f.train({"data.samples=1000000000", "data.classes=100"}); },
       {"data.samples: 1000000000 is out of range"}, {"bad_alloc"}},
      {"plot with 10^9 samples", [](Fixture&) {
         return std::vector<std::string>{"plot", "--activations", "relu", "--samples", "1000000000"}; },
       {"--samples", "1000000000"}, {"bad_alloc"}},

      // ---- special files: never opened as if they were files (a FIFO blocks forever, /dev/zero never ends)
      {"config is /dev/zero", [](Fixture& f) {
         return std::vector<std::string>{"train", "/dev/zero", "--out", path_of(f, "run")}; },
       {"/dev/zero: not a regular file", "config"}},
      {"config is a directory", [](Fixture& f) {
         fs::create_directories(f.dir / "configs");
         return std::vector<std::string>{"train", path_of(f, "configs"), "--out", path_of(f, "run")}; },
       {"configs: is a directory, not a config file"}, {"not valid JSON", "unexpected end"}},
      {"config is a FIFO", [](Fixture& f) {
         make_fifo(f.dir / "pipe.json");
         return std::vector<std::string>{"train", path_of(f, "pipe.json"), "--out", path_of(f, "run")}; },
       {"pipe.json: not a regular file (a FIFO)"}},
      {"bench config is /dev/zero", [](Fixture&) { return std::vector<std::string>{"bench", "/dev/zero"}; },
       {"/dev/zero: not a regular file"}},
      {"weights are /dev/zero", [](Fixture& f) {
         finished_run(f);
         return std::vector<std::string>{"eval", path_of(f, "run"), "--weights", "/dev/zero"}; },
       {"/dev/zero: not a regular file", "safetensors"}},
      {"weights are a directory", [](Fixture& f) {
         finished_run(f);
         fs::create_directories(f.dir / "run/w.safetensors");
         return std::vector<std::string>{"eval", path_of(f, "run"), "--weights", "w.safetensors"}; },
       {"w.safetensors: is a directory"}, {"truncated: 0 bytes"}},
      {"weights are a FIFO", [](Fixture& f) {
         finished_run(f);
         make_fifo(f.dir / "run/w.safetensors");
         return std::vector<std::string>{"eval", path_of(f, "run"), "--weights", "w.safetensors"}; },
       {"w.safetensors: not a regular file (a FIFO)"}},
      {"checkpoint is a FIFO", [](Fixture& f) {
         f.write("run/config.json", golden().config);
         make_fifo(f.dir / "run/checkpoint.safetensors");
         return std::vector<std::string>{"train", "--resume", path_of(f, "run"), "--set", "train.epochs=2"}; },
       {"checkpoint.safetensors: not a regular file (a FIFO)"}},
      {"predict images are a directory", [](Fixture& f) {
         finished_run(f);
         fs::create_directories(f.dir / "images");
         return std::vector<std::string>{"predict", path_of(f, "run"), path_of(f, "images")}; },
       {"images: is a directory"}},
      {"predict images are a FIFO", [](Fixture& f) {
         finished_run(f);
         make_fifo(f.dir / "images.idx");
         return std::vector<std::string>{"predict", path_of(f, "run"), path_of(f, "images.idx")}; },
       {"images.idx: not a regular file (a FIFO)"}},
      {"predict images are /dev/zero", [](Fixture& f) {
         finished_run(f);
         return std::vector<std::string>{"predict", path_of(f, "run"), "/dev/zero"}; },
       {"/dev/zero: not a regular file"}},
      {"resume a file, not a directory", [](Fixture& f) {
         f.write("notes.txt", "hello");
         return std::vector<std::string>{"train", "--resume", path_of(f, "notes.txt")}; },
       {"notes.txt"}},

      // ---- bytes that are not UTF-8 (every name ends up in a JSON file) and control characters
      {"--out not UTF-8", [](Fixture& f) { return std::vector<std::string>{"train", f.write("c.json", base_config).string(), "--out", path_of(f, "r\xff")}; },
       {"--out", "r\\xff", "not valid UTF-8"}, {"json.exception"}},
      {"config path not UTF-8", [](Fixture& f) {
         return std::vector<std::string>{"train", f.write("c\xfe.json", base_config).string(), "--out", path_of(f, "run")}; },
       {"config", "c\\xfe.json", "not valid UTF-8"}, {"json.exception"}},
      {"--set key not UTF-8", [](Fixture& f) { return f.train({"mo\xff" "del=1"}); },
       {"--set 'mo\\xffdel=1': not valid UTF-8 text"}, {"json.exception"}},
      {"--set value not UTF-8", [](Fixture& f) { return f.train({"model.activation=\"re\xc3\x28lu\""}); },
       {"--set", "\\xc3", "not valid UTF-8 text"}, {"json.exception"}},
      {"config string not UTF-8", [](Fixture& f) {
         return std::vector<std::string>{"train", f.write("c.json", "{\"model\": {\"hidden\": [8], \"activation\": \"re\xfflu\"}}").string(),
                                         "--out", path_of(f, "run")}; },
       {"c.json: not valid JSON", "ill-formed UTF-8", "\\xff"}, {"json.exception"}},
      {"config key not UTF-8", [](Fixture& f) {
         return std::vector<std::string>{"train", f.write("c.json", "{\"mo\xff" "del\": 1}").string(), "--out", path_of(f, "run")}; },
       {"c.json: not valid JSON", "\\xff"}, {"json.exception"}},
      {"eval directory not UTF-8", [](Fixture& f) { return std::vector<std::string>{"eval", path_of(f, "run\xff")}; },
       {"\\xff", "not valid UTF-8"}},
      {"predict images path not UTF-8", [](Fixture& f) {
         finished_run(f);
         return std::vector<std::string>{"predict", path_of(f, "run"), path_of(f, "images\xff.idx")}; },
       {"images\\xff.idx", "not valid UTF-8"}},
      {"CIFAR-100 class name not UTF-8", [](Fixture& f) {
         std::string rec(2 + 3072, '\x40');
         rec[0] = 1;
         rec[1] = 2;
         f.write("c100/train.bin", rec + rec);
         f.write("c100/test.bin", rec);
         std::string names;
         for (int i = 0; i < 100; ++i) names += (i == 7 ? std::string("caf\xe9") : "class" + std::to_string(i)) + "\n";
         f.write("c100/fine_label_names.txt", names);
         return f.train_data({{"dataset", "cifar100"}, {"path", path_of(f, "c100")}}); },
       {"fine_label_names.txt: line 8 ('caf\\xe9') is not valid UTF-8 text"}, {"json.exception"}},
      {"newline in the config path", [](Fixture& f) {
         return std::vector<std::string>{"train", path_of(f, "c\n.json"), "--out", path_of(f, "run")}; },
       {"c\\n.json: config file not found"}},
      {"newline in a --set key", [](Fixture& f) { return f.train({"train.ep\nochs=3"}); },
       {"train.ep\\nochs: unknown key"}},
      {"a forged error line in a --set key", [](Fixture& f) { return f.train({"x\nnlab: error: all good=1"}); },
       {"x\\nnlab: error: all good"}},
      {"carriage return and escape in a path", [](Fixture& f) {
         return std::vector<std::string>{"train", path_of(f, "c\r\x1b[2K.json"), "--out", path_of(f, "run")}; },
       {"\\r", "\\x1b", "config file not found"}},

      // ---- integers beyond their type, ranges that overflow, tolerances that pass everything
      {"train.patience beyond int32", [](Fixture& f) { return f.train({"train.patience=4294967297"}); },
       {"train.patience: 4294967297 is out of range; allowed [0, 1000000]"}},
      {"train.patience at 2^31", [](Fixture& f) { return f.train({"train.patience=2147483648"}); },
       {"train.patience: 2147483648 is out of range"}},
      {"train.seed above 2^63", [](Fixture& f) { return f.train({"train.seed=9300000000000000000"}); },
       {"train.seed: 9300000000000000000 is out of range; allowed [0, 9200000000000000000]"}, {"-9"}},
      {"train.seed above 2^64", [](Fixture& f) { return f.train({"train.seed=18446744073709551617"}); },
       {"train.seed", "is out of range"}, {"expected an integer"}},
      {"train.epochs above 2^63", [](Fixture& f) { return f.train({"train.epochs=9223372036854775808"}); },
       {"train.epochs: 9223372036854775808 is out of range"}, {"-9223372036854775808"}},
      {"optimizer.lr overflowing a double", [](Fixture& f) { return f.train({"optimizer.lr=1e400"}); },
       {"optimizer.lr"}},
      {"gradcheck --tolerance inf", [](Fixture&) { return std::vector<std::string>{"gradcheck", "--tolerance", "inf"}; },
       {"--tolerance", "(0, 1)", "inf"}},
      {"gradcheck --tolerance nan", [](Fixture&) { return std::vector<std::string>{"gradcheck", "--tolerance", "nan"}; },
       {"--tolerance", "(0, 1)"}},
      {"gradcheck --tolerance 0", [](Fixture&) { return std::vector<std::string>{"gradcheck", "--tolerance", "0"}; },
       {"--tolerance", "(0, 1)"}},
      {"gradcheck --tolerance 1", [](Fixture&) { return std::vector<std::string>{"gradcheck", "--tolerance", "1"}; },
       {"--tolerance", "(0, 1)"}},
      {"plot --range whose span overflows", [](Fixture& f) {
         return std::vector<std::string>{"plot", "--activations", "relu", "--range", "-1e308:1e308", "--out", path_of(f, "p")}; },
       {"--range", "overflows", "narrower range"}},
      {"plot --range empty", [](Fixture& f) {
         return std::vector<std::string>{"plot", "--activations", "relu", "--range", "1:1", "--out", path_of(f, "p")}; },
       {"--range: need finite LO < HI, got '1:1'"}},
      {"plot --range nan", [](Fixture& f) {
         return std::vector<std::string>{"plot", "--activations", "relu", "--range", "nan:1", "--out", path_of(f, "p")}; },
       {"--range: need finite LO < HI"}},
      {"plot --range beyond a double", [](Fixture& f) {
         return std::vector<std::string>{"plot", "--activations", "relu", "--range", "-1e400:1", "--out", path_of(f, "p")}; },
       {"--range"}},
      {"plot --samples 1", [](Fixture& f) {
         return std::vector<std::string>{"plot", "--activations", "relu", "--samples", "1", "--out", path_of(f, "p")}; },
       {"--samples: need 2 to 1000000 points, got 1"}},
      {"plot --ylim nan", [](Fixture& f) {
         return std::vector<std::string>{"plot", "--activations", "relu", "--ylim", "1:nan", "--out", path_of(f, "p")}; },
       {"--ylim: need finite LO < HI"}},

      // ---- weights whose metadata disagree with the model they describe
      {"nnlab.classes above the model's outputs (eval)", [](Fixture& f) {
         return with_metadata(f, {{"nnlab.classes", "5"}, {"nnlab.class_names", R"(["a","b","c","d","e"])"}}); },
       {"model.safetensors: metadata 'nnlab.classes' is 5", "3"}},
      {"nnlab.classes below the model's outputs (eval)", [](Fixture& f) {
         return with_metadata(f, {{"nnlab.classes", "2"}, {"nnlab.class_names", R"(["a","b"])"}}); },
       {"model.safetensors: metadata 'nnlab.classes' is 2"}},
      {"nnlab.classes above the model's outputs (predict)", [](Fixture& f) {
         return with_metadata(f, {{"nnlab.classes", "5"}, {"nnlab.class_names", R"(["a","b","c","d","e"])"}}, "predict"); },
       {"model.safetensors: metadata 'nnlab.classes' is 5"}},
      {"nnlab.classes malformed", [](Fixture& f) { return with_metadata(f, {{"nnlab.classes", "3x"}}); },
       {"model.safetensors: metadata 'nnlab.classes' is malformed"}, {"json.exception"}},
      {"nnlab.class_names count", [](Fixture& f) { return with_metadata(f, {{"nnlab.class_names", R"(["a","b"])"}}); },
       {"metadata 'nnlab.class_names' has 2 names for nnlab.classes 3"}},
      {"nnlab.class_names not strings", [](Fixture& f) { return with_metadata(f, {{"nnlab.class_names", "[1,2,3]"}}); },
       {"metadata 'nnlab.class_names' is not a list of strings"}},
      {"nnlab.class_names malformed", [](Fixture& f) { return with_metadata(f, {{"nnlab.class_names", "not json"}}); },
       {"metadata 'nnlab.class_names' is malformed"}, {"json.exception"}},
      {"nnlab.std that makes pixels infinite (predict)", [](Fixture& f) {
         return with_metadata(f, {{"nnlab.std", "[1e-45]"}}, "predict"); },
       {"metadata 'nnlab.std'", "infinities"}},
      {"nnlab.std negative", [](Fixture& f) { return with_metadata(f, {{"nnlab.std", "[-1.0]"}}); },
       {"metadata 'nnlab.std' is not a list of positive numbers"}},
      {"nnlab.mean and nnlab.std of different lengths", [](Fixture& f) {
         return with_metadata(f, {{"nnlab.mean", "[0,0,0,0]"}}); },
       {"metadata 'nnlab.mean' has 4 values and 'nnlab.std' 1"}},
      {"nnlab.mean per channel for a 1-channel shape", [](Fixture& f) {
         return with_metadata(f, {{"nnlab.mean", "[0,0,0]"}, {"nnlab.std", "[1,1,1]"}}); },
       {"metadata 'nnlab.mean' has 3 values for samples of 1 channel(s)"}},
      {"nnlab.scale zero", [](Fixture& f) { return with_metadata(f, {{"nnlab.scale", "0"}}); },
       {"metadata 'nnlab.scale' is not a positive number"}},
      {"nnlab.shape that does not fit the model", [](Fixture& f) { return with_metadata(f, {{"nnlab.shape", "[3]"}}); },
       {"model.safetensors: its metadata (nnlab.shape, nnlab.classes) do not fit the model"}},
      {"nnlab.shape whose product overflows", [](Fixture& f) {
         return with_metadata(f, {{"nnlab.shape", "[4294967296, 4294967296, 4294967296]"}}); },
       {"metadata 'nnlab.shape'", "at most 2^40 values"}},

      // ---- image files are read in the format given (or trained on), never guessed from their bytes
      {"predict --format cifar10 on an IDX file", [](Fixture& f) {
         finished_run(f);
         write_idx(f.dir / "points.idx", {3, 2}, points());
         return std::vector<std::string>{"predict", path_of(f, "run"), path_of(f, "points.idx"), "--format", "cifar10"}; },
       {"points.idx: not a cifar10 batch"}},
      {"predict --format unknown", [](Fixture& f) {
         finished_run(f);
         return std::vector<std::string>{"predict", path_of(f, "run"), path_of(f, "points.idx"), "--format", "png"}; },
       {"--format", "png", "see nnlab predict --help"}},
      {"predict on raw bytes that are not IDX", [](Fixture& f) {
         finished_run(f);
         f.write("raw.bin", std::string(9, '\x07'));  // 3 x (2 + 1) bytes: once taken for a CIFAR batch
         return std::vector<std::string>{"predict", path_of(f, "run"), path_of(f, "raw.bin")}; },
       {"raw.bin"}},
  };
}

}  // namespace nnlab::test
