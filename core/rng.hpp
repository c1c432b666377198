// A small, fast, seedable random number generator (xoshiro256**), with the distributions nnlab
// needs written out here so that results do not depend on the standard library's implementation.
//
// Reproducibility: every consumer of randomness gets its own stream, derived from the run's seed
// and a fixed stream id (weight init of layer i, data shuffling, dropout, ...). So changing one
// consumer, e.g. swapping an activation that draws no numbers, leaves every other stream unchanged:
// the same seed gives the same initial weights and the same data order for every activation.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace nnlab {

class Rng {
 public:
  using State = std::array<std::uint64_t, 4>;

  explicit Rng(std::uint64_t seed = 0, std::uint64_t stream = 0);

  // A stream id from a name (FNV-1a), for Rng(seed, stream_id("shuffle")).
  static std::uint64_t stream_id(const std::string& name, std::uint64_t index = 0);

  std::uint64_t next();              // 64 random bits
  double uniform();                  // [0, 1), 53 bits
  double uniform(double lo, double hi);
  double normal();                   // standard normal (Box-Muller, both values used)
  std::uint64_t below(std::uint64_t n);  // uniform integer in [0, n), unbiased

  State state() const { return s_; }
  void set_state(const State& s) { s_ = s, has_spare_ = false; }

 private:
  State s_{};
  bool has_spare_ = false;
  double spare_ = 0;
};

// Fisher-Yates shuffle driven by an Rng.
template <typename It>
void shuffle(It first, It last, Rng& rng) {
  const auto n = static_cast<std::uint64_t>(last - first);
  for (std::uint64_t i = n; i > 1; --i) {
    const auto j = rng.below(i);
    std::swap(first[i - 1], first[j]);
  }
}

}  // namespace nnlab
