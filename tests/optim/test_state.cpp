// Optimizer state for checkpoints: saved mid-run and loaded into a fresh optimizer it continues
// bit-identically (every reference case), its tensors are named like PyTorch's state, and bad state
// is refused naming what is wrong, changing nothing.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/io/safetensors.hpp"
#include "core/optimizer.hpp"
#include "core/schedule.hpp"
#include "support/optim_reference.hpp"
#include "support/text.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("state saved after 10 steps and loaded into a fresh optimizer continues bit-identically") {
  const json& ref = optim_reference();
  const int steps = ref["steps"].get<int>();
  for (const auto& c : ref["cases"]) {
    const std::string name = c["name"];
    CAPTURE(name);
    // Uninterrupted.
    Problem whole;
    Run a(c);
    std::vector<double> lrs_whole;
    a.steps(c, whole, 0, steps, [&](int) { lrs_whole.push_back(a.lr_used); });
    // Interrupted after 10 steps: weights and state go through the safetensors bytes, then a new
    // optimizer and schedule from the same config continue.
    Problem first;
    Run b(c);
    std::vector<double> lrs_resumed;
    b.steps(c, first, 0, steps / 2, [&](int) { lrs_resumed.push_back(b.lr_used); });
    const TensorFile saved = decode_safetensors(encode_safetensors(b.state(first)), "state");
    const std::vector<float> weights = first.flat_values();

    Problem second;
    second.set_values(weights);
    Run r(c);
    r.load(saved, second);
    CHECK(r.optimizer->steps() == steps / 2);
    r.steps(c, second, steps / 2, steps, [&](int) { lrs_resumed.push_back(r.lr_used); });

    const std::vector<float> w1 = whole.flat_values(), w2 = second.flat_values();
    REQUIRE(w1.size() == w2.size());
    CHECK(std::memcmp(w1.data(), w2.data(), w1.size() * sizeof(float)) == 0);
    CHECK(lrs_whole == lrs_resumed);  // exact doubles
    // The final states agree byte for byte too.
    CHECK(encode_safetensors(a.state(whole)) == encode_safetensors(r.state(second)));
  }
}

TEST_CASE("state before the first step has no tensors and loads as a fresh start") {
  Problem p;
  auto opt = make_optimizer({{"type", "adam"}, {"lr", 0.01}});
  const TensorFile f = opt->state(p.params());
  CHECK(f.tensors.empty());
  CHECK(f.metadata.at("optimizer.step") == "0");
  CHECK(f.metadata.at("optimizer.lr") == "0.01");
  auto other = make_optimizer({{"type", "adam"}, {"lr", 0.5}});
  other->load_state(f, p.params(), "f");
  CHECK(other->lr() == 0.01);
  CHECK(other->steps() == 0);
}

TEST_CASE("state tensors are named optimizer.<parameter>.<PyTorch state key> with the parameter's shape") {
  const std::map<std::string, std::vector<std::string>> expected = {
      {R"({"type": "sgd"})", {}},
      {R"({"type": "sgd", "momentum": 0.9})", {"momentum_buffer"}},
      {R"({"type": "adam"})", {"exp_avg", "exp_avg_sq"}},
      {R"({"type": "adamw", "amsgrad": true})", {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}},
      {R"({"type": "rmsprop"})", {"square_avg"}},
      {R"({"type": "rmsprop", "momentum": 0.5, "centered": true})", {"grad_avg", "momentum_buffer", "square_avg"}},
      {R"({"type": "adagrad", "initial_accumulator_value": 0.5})", {"sum"}},
  };
  for (const auto& [config, slots] : expected) {
    CAPTURE(config);
    Problem p;
    auto opt = make_optimizer(json::parse(config));
    opt->step(p.params());
    const TensorFile f = opt->state(p.params());
    CHECK(f.tensors.size() == slots.size() * p.params().size());
    for (const auto& param : p.params())
      for (const auto& s : slots) {
        const auto it = f.tensors.find("optimizer." + param.name + "." + s);
        REQUIRE_MESSAGE(it != f.tensors.end(), param.name << "." << s);
        CHECK(it->second.shape == param.shape);
      }
    CHECK(f.metadata.at("optimizer.type") == json::parse(config)["type"]);
    CHECK(f.metadata.at("optimizer.step") == "1");
  }
}

TEST_CASE("loading bad optimizer state fails naming what is wrong, and changes nothing") {
  Problem p;
  auto adam = make_optimizer({{"type", "adam"}, {"lr", 0.01}, {"amsgrad", true}});
  for (int i = 0; i < 3; ++i) adam->step(p.params());
  const TensorFile good = adam->state(p.params());

  auto fresh = [] { return make_optimizer({{"type", "adam"}, {"lr", 0.01}, {"amsgrad", true}}); };
  auto load_error = [&](Optimizer& opt, const TensorFile& f) {
    const std::string msg = message_of([&] { opt.load_state(f, p.params(), "run/optimizer.safetensors"); });
    CHECK(contains(msg, "run/optimizer.safetensors: "));
    CHECK(opt.steps() == 0);  // nothing was loaded
    return msg;
  };

  SUBCASE("another optimizer's state") {
    auto sgd = make_optimizer({{"type", "sgd"}, {"momentum", 0.9}});
    CHECK(contains(load_error(*sgd, good), "this is the state of a 'adam' optimizer; the config uses 'sgd'"));
  }
  SUBCASE("amsgrad off in the config, on in the state") {
    auto plain = make_optimizer({{"type", "adam"}, {"lr", 0.01}});
    const std::string msg = load_error(*plain, good);
    CHECK(contains(msg, "max_exp_avg_sq' is not part of this adam optimizer's state"));
    CHECK(contains(msg, "exp_avg, exp_avg_sq for every parameter"));
  }
  SUBCASE("amsgrad on in the config, off in the state") {
    auto plain = make_optimizer({{"type", "adam"}, {"lr", 0.01}});
    plain->step(p.params());
    auto opt = fresh();
    CHECK(contains(load_error(*opt, plain->state(p.params())), "tensor 'optimizer.layers.0.weight.max_exp_avg_sq' is missing"));
  }
  SUBCASE("a missing tensor") {
    TensorFile f = good;
    f.tensors.erase("optimizer.layers.2.bias.exp_avg");
    auto opt = fresh();
    CHECK(contains(load_error(*opt, f), "tensor 'optimizer.layers.2.bias.exp_avg' is missing"));
  }
  SUBCASE("a tensor of another model") {
    TensorFile f = good;
    f.tensors["optimizer.layers.4.weight.exp_avg"] = f.tensors.at("optimizer.layers.2.weight.exp_avg");
    auto opt = fresh();
    CHECK(contains(load_error(*opt, f), "tensor 'optimizer.layers.4.weight.exp_avg' is not part of this adam optimizer's state"));
  }
  SUBCASE("a wrong shape") {
    TensorFile f = good;
    f.tensors.at("optimizer.layers.0.weight.exp_avg_sq").shape = {2, 3};
    auto opt = fresh();
    CHECK(contains(load_error(*opt, f), "tensor 'optimizer.layers.0.weight.exp_avg_sq' has shape [2,3], the parameter has [3,2]"));
  }
  SUBCASE("too few values for the shape") {
    TensorFile f = good;
    f.tensors.at("optimizer.layers.0.bias.exp_avg").data.pop_back();
    auto opt = fresh();
    CHECK(contains(load_error(*opt, f), "tensor 'optimizer.layers.0.bias.exp_avg' holds 2 values, the parameter 3"));
  }
  SUBCASE("no optimizer metadata") {
    TensorFile f = good;
    f.metadata.erase("optimizer.type");
    auto opt = fresh();
    CHECK(contains(load_error(*opt, f), "no optimizer state: metadata 'optimizer.type' is missing"));
  }
  SUBCASE("a step count that is not a count") {
    for (const char* bad : {"", "abc", "-1", "1.5", " 3", "3 ", "+3", "99999999999999999999"}) {
      CAPTURE(bad);
      TensorFile f = good;
      f.metadata["optimizer.step"] = bad;
      auto opt = fresh();
      CHECK(contains(load_error(*opt, f), "metadata optimizer.step: '" + std::string(bad) + "' is not a count"));
    }
  }
  SUBCASE("a learning rate that is not one") {
    for (const char* bad : {"x", "0.1.2", "nan", "inf", "-0.5"}) {
      CAPTURE(bad);
      TensorFile f = good;
      f.metadata["optimizer.lr"] = bad;
      auto opt = fresh();
      CHECK(contains(load_error(*opt, f), "optimizer.lr"));
    }
  }
  SUBCASE("unknown optimizer metadata") {
    TensorFile f = good;
    f.metadata["optimizer.stpe"] = "3";
    auto opt = fresh();
    CHECK(contains(load_error(*opt, f), "unexpected metadata 'optimizer.stpe'"));
  }
  SUBCASE("tensors and metadata outside optimizer.* (the model's, a schedule's) are ignored") {
    TensorFile f = good;
    f.metadata["schedule.type"] = "cosine";
    f.metadata["nnlab.epoch"] = "7";
    f.tensors["model.layers.0.weight"] = f.tensors.at("optimizer.layers.0.weight.exp_avg");
    f.tensors["layers.0.weight.exp_avg"] = f.tensors.at("optimizer.layers.0.weight.exp_avg");
    auto opt = fresh();
    opt->load_state(f, p.params(), "f");
    CHECK(opt->steps() == 3);
  }
}
