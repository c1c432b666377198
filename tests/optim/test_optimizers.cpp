// The optimizers' configs (errors name the key and suggest the nearest) and their weight decay,
// from which a parameter can be exempt.
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

TEST_CASE("optimizer config errors name the key and suggest the nearest") {
  auto error = [](const json& spec) { return message_of([&] { make_optimizer(spec, "optimizer"); }); };
  std::string msg = error({{"type", "adamm"}});
  CHECK(contains(msg, "optimizer.type: unknown optimizer 'adamm' (did you mean 'adam'?)"));
  CHECK(contains(msg, "adagrad, adam, adamw, rmsprop, sgd"));
  CHECK(contains(error({{"type", "rmsprob"}}), "did you mean 'rmsprop'"));
  msg = error({{"type", "adam"}, {"amsgrd", true}});
  CHECK(contains(msg, "optimizer.amsgrd: unknown key (did you mean 'amsgrad'?)"));
  CHECK(contains(msg, "valid keys: lr, beta1, beta2, eps, weight_decay, amsgrad"));
  CHECK(contains(error({{"type", "adam"}, {"betas", {0.9, 0.99}}}), "optimizer.betas: unknown key (did you mean 'beta"));
  CHECK(contains(error({{"type", "adam"}, {"amsgrad", 1}}), "optimizer.amsgrad: expected a boolean, got an integer"));
  CHECK(contains(error({{"type", "adamw"}, {"amsgrad", "yes"}}), "optimizer.amsgrad: expected a boolean, got a string"));
  CHECK(contains(error({{"type", "adam"}, {"beta1", 1.0}}), "optimizer: beta1 must be < 1"));
  CHECK(contains(error({{"type", "adamw"}, {"beta2", 1}}), "optimizer: beta2 must be < 1"));
  CHECK(contains(error({{"type", "adam"}, {"beta2", 1.5}}), "optimizer.beta2: 1.5 is out of range; allowed [0, 1]"));
  CHECK(contains(error({{"type", "adamw"}, {"weight_decay", -0.01}}), "optimizer.weight_decay: -0.01 is out of range"));
  CHECK(contains(error({{"type", "adam"}, {"eps", -1e-8}}), "optimizer.eps: -1e-08 is out of range"));
  CHECK(contains(error({{"type", "rmsprop"}, {"momentum", -0.1}}), "optimizer.momentum: -0.1 is out of range"));
  CHECK(contains(error({{"type", "rmsprop"}, {"centred", true}}), "did you mean 'centered'"));
  CHECK(contains(error({{"type", "adagrad"}, {"lr_decay", -1}}), "optimizer.lr_decay: -1 is out of range"));
  CHECK(contains(error({{"type", "adagrad"}, {"initial_accumulator", 0.1}}), "did you mean 'initial_accumulator_value'"));
  CHECK(contains(error({{"type", "sgd"}, {"nesterov", true}}), "nesterov momentum requires momentum > 0"));
  CHECK(contains(error({{"type", "sgd"}, {"lr", "0.1"}}), "optimizer.lr: expected a number, got a string"));
}

TEST_CASE("weight_decay = false exempts a parameter") {
  // Same gradient, huge decay: the exempt bias moves exactly as without decay.
  for (const char* type : {"sgd", "adam", "adamw", "rmsprop", "adagrad"}) {
    CAPTURE(type);
    Problem with, without;
    auto a = make_optimizer({{"type", type}, {"lr", 0.1}, {"weight_decay", 0.5}});
    auto b = make_optimizer({{"type", type}, {"lr", 0.1}, {"weight_decay", 0.0}});
    const json& c = find_case("sgd_plain");
    for (int k = 0; k < 3; ++k) {
      with.set_grads(c["grads"][k]);
      without.set_grads(c["grads"][k]);
      a->step(with.params());
      b->step(without.params());
    }
    CHECK(*with.params()[1].value == *without.params()[1].value);  // layers.0.bias: exempt
    CHECK(*with.params()[0].value != *without.params()[0].value);  // layers.0.weight: decayed
  }
}
