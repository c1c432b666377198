// Training augmentation (CropFlip, datasets/augment.cpp: random crop with padding, horizontal
// flip) against a reference written out the long way: pad explicitly, cut the window, mirror; on
// toy image sets and on a gathered batch of a tiny CIFAR-10 directory.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "core/dataset.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "datasets/augment.hpp"
#include "support/cifar_files.hpp"
#include "support/datasets.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

using namespace nnlab;
using namespace nnlab::test;

namespace {

// A data set description and the augmentation under test.
struct Images : Dataset {
  int crop_padding = 0;
  bool random_flip = false;
  bool augments() const { return crop_flip(crop_padding, random_flip) != nullptr; }
  void augment(MatF& batch, Rng& rng) const { CropFlip(crop_padding, random_flip).apply(batch, *this, rng); }
};

// C×H×W samples with the given normalisation.
Images image_set(Index C, Index H, Index W, int crop_padding, bool random_flip) {
  Images d;
  d.name = "toy/train";
  d.features = C * H * W;
  d.channels = static_cast<int>(C);
  d.shape = {C, H, W};
  d.scale = 1.0f / 255.0f;
  d.mean.clear(), d.stddev.clear();
  for (Index c = 0; c < C; ++c) {
    d.mean.push_back(0.3f + 0.1f * static_cast<float>(c));
    d.stddev.push_back(0.2f + 0.05f * static_cast<float>(c));
  }
  d.crop_padding = crop_padding;
  d.random_flip = random_flip;
  return d;
}

// n rows of distinct positive values (row r, feature j) — never equal to a (negative) pad value.
MatF distinct_batch(Index n, Index features) {
  MatF m(n, features);
  for (Index r = 0; r < n; ++r)
    for (Index j = 0; j < features; ++j) m(r, j) = 1.0f + static_cast<float>(r * features + j) * 0.25f;
  return m;
}

// The long way round: build the (H+2p)×(W+2p) padded image, cut the H×W window at (top, left),
// mirror it if asked.
std::vector<float> reference(const Dataset& d, int crop_padding, const float* x, Index top, Index left, bool flip) {
  const Index C = d.shape[0], H = d.shape[1], W = d.shape[2], p = crop_padding;
  const Index PH = H + 2 * p, PW = W + 2 * p;
  std::vector<float> padded(static_cast<std::size_t>(C * PH * PW));
  for (Index c = 0; c < C; ++c)
    for (Index h = 0; h < PH; ++h)
      for (Index w = 0; w < PW; ++w) {
        const Index sh = h - p, sw = w - p;
        const bool inside = sh >= 0 && sh < H && sw >= 0 && sw < W;
        padded[static_cast<std::size_t>((c * PH + h) * PW + w)] =
            inside ? x[(c * H + sh) * W + sw] : -d.mean[static_cast<std::size_t>(c)] / d.stddev[static_cast<std::size_t>(c)];
      }
  std::vector<float> out(static_cast<std::size_t>(C * H * W));
  for (Index c = 0; c < C; ++c)
    for (Index h = 0; h < H; ++h)
      for (Index w = 0; w < W; ++w) {
        const Index cw = flip ? W - 1 - w : w;
        out[static_cast<std::size_t>((c * H + h) * W + w)] = padded[static_cast<std::size_t>((c * PH + h + top) * PW + cw + left)];
      }
  return out;
}

std::vector<float> row_of(const MatF& m, Index r) {
  return std::vector<float>(m.data() + r * m.cols(), m.data() + (r + 1) * m.cols());
}

}  // namespace

TEST_CASE("augment: flip mirrors every row of every channel, about half the time, as the Rng decides") {
  const Images d = image_set(3, 4, 5, 0, true);
  const MatF original = distinct_batch(200, d.features);
  MatF batch = original;
  Rng rng(42, 7);
  d.augment(batch, rng);

  Rng replay(42, 7);  // documented draw order: one uniform() per row, flip when < 0.5
  int flipped = 0;
  for (Index r = 0; r < batch.rows(); ++r) {
    const bool flip = replay.uniform() < 0.5;
    flipped += flip;
    for (Index c = 0; c < 3; ++c)
      for (Index h = 0; h < 4; ++h)
        for (Index w = 0; w < 5; ++w) {
          const Index at = (c * 4 + h) * 5 + w, mirrored = (c * 4 + h) * 5 + (4 - w);
          REQUIRE(batch(r, at) == original(r, flip ? mirrored : at));
        }
  }
  CHECK(rng.state() == replay.state());  // exactly one draw per row
  CHECK(flipped > 70);
  CHECK(flipped < 130);
  // Flipping is an involution: mirroring a mirrored image with the same draws restores it.
  Rng again(42, 7);
  d.augment(batch, again);
  CHECK(batch == original);
}

TEST_CASE("augment: crop with padding shifts the content and fills with the normalised black pixel") {
  const Index C = 3, H = 6, W = 5;
  const int p = 2;
  const Images d = image_set(C, H, W, p, false);
  const MatF original = distinct_batch(1, d.features).replicate(500, 1);
  MatF batch = original;
  Rng rng(3, 1);
  d.augment(batch, rng);

  // The pad value is what gather() makes of a 0 byte in each channel: −mean/std.
  Images bytes_set = image_set(C, H, W, 0, false);
  bytes_set.rows = 1;
  bytes_set.bytes.assign(static_cast<std::size_t>(d.features), 0);
  bytes_set.labels = {0};
  MatF black;
  std::vector<std::int32_t> y;
  bytes_set.gather(std::array<Index, 1>{0}, black, y);
  std::array<float, 3> pad{};
  for (Index c = 0; c < C; ++c) {
    pad[static_cast<std::size_t>(c)] = black(0, c * H * W);
    CHECK(pad[static_cast<std::size_t>(c)] == -d.mean[static_cast<std::size_t>(c)] / d.stddev[static_cast<std::size_t>(c)]);
    CHECK(pad[static_cast<std::size_t>(c)] < 0);
  }

  // Each row must be the original shifted by exactly one (dy, dx) ∈ [−p, p]², the one the Rng drew.
  Rng replay(3, 1);
  std::set<std::pair<Index, Index>> seen;
  for (Index r = 0; r < batch.rows(); ++r) {
    const Index dy = static_cast<Index>(replay.below(2 * p + 1)) - p;
    const Index dx = static_cast<Index>(replay.below(2 * p + 1)) - p;
    seen.insert({dy, dx});
    int matches = 0;
    for (Index ty = -p; ty <= p; ++ty)
      for (Index tx = -p; tx <= p; ++tx) {
        bool same = true;
        for (Index c = 0; c < C && same; ++c)
          for (Index h = 0; h < H && same; ++h)
            for (Index w = 0; w < W && same; ++w) {
              const Index sh = h + ty, sw = w + tx;
              const float want = (sh >= 0 && sh < H && sw >= 0 && sw < W) ? original(0, (c * H + sh) * W + sw)
                                                                             : pad[static_cast<std::size_t>(c)];
              same = batch(r, (c * H + h) * W + w) == want;
            }
        if (same) {
          ++matches;
          CHECK(ty == dy);
          CHECK(tx == dx);
        }
      }
    REQUIRE(matches == 1);
  }
  CHECK(seen.size() == 25);  // every offset occurs in 500 draws
  CHECK(rng.state() == replay.state());

  // A shift by (+2, −1) spelled out: top two rows come from rows 2, 3; the last two rows and the
  // first column are padding.
  const Images one = image_set(1, 4, 3, 2, false);
  MatF img(1, 12);
  for (Index j = 0; j < 12; ++j) img(0, j) = static_cast<float>(j + 1);
  // Find a seed whose first draws are top = 4 (dy = +2), left = 1 (dx = −1).
  std::uint64_t seed = 0;
  for (;; ++seed) {
    Rng probe(seed);
    if (probe.below(5) == 4 && probe.below(5) == 1) break;
  }
  Rng r1(seed);
  one.augment(img, r1);
  const float f = -one.mean[0] / one.stddev[0];
  const std::vector<float> want = {f, 7, 8,  //  row 0 ← source row 2, columns −1, 0, 1
                                   f, 10, 11,
                                   f, f, f,
                                   f, f, f};
  CHECK(row_of(img, 0) == want);
}

TEST_CASE("augment: crop and flip together equal pad → crop → mirror done the long way") {
  for (const int p : {1, 3, 7}) {  // 7 > H and W: some windows are almost all padding
    CAPTURE(p);
    const Images d = image_set(3, 5, 6, p, true);
    const MatF original = distinct_batch(300, d.features);
    MatF batch = original;
    Rng rng(11, static_cast<std::uint64_t>(p));
    d.augment(batch, rng);
    Rng replay(11, static_cast<std::uint64_t>(p));
    int flips = 0, shifted = 0;
    for (Index r = 0; r < batch.rows(); ++r) {
      const auto top = static_cast<Index>(replay.below(static_cast<std::uint64_t>(2 * p + 1)));
      const auto left = static_cast<Index>(replay.below(static_cast<std::uint64_t>(2 * p + 1)));
      const bool flip = replay.uniform() < 0.5;
      flips += flip, shifted += (top != p || left != p);
      REQUIRE(row_of(batch, r) == reference(d, d.crop_padding, original.data() + r * d.features, top, left, flip));
    }
    CHECK(rng.state() == replay.state());
    CHECK(flips > 100);
    CHECK(shifted > 200);
  }
}

TEST_CASE("augment: deterministic for a given Rng, different for another; off means untouched") {
  const Images d = image_set(3, 8, 8, 4, true);
  const MatF original = distinct_batch(64, d.features);
  MatF a = original, b = original, c = original;
  Rng ra(5, 2), rb(5, 2), rc(6, 2);
  d.augment(a, ra);
  d.augment(b, rb);
  d.augment(c, rc);
  CHECK(a == b);
  CHECK(a != c);
  CHECK(a != original);

  {
    const Images off = image_set(3, 8, 8, 0, false);
    CHECK_FALSE(off.augments());
    MatF x = original;
    Rng r(5, 2);
    const Rng::State before = r.state();
    off.augment(x, r);
    CHECK(x == original);
    CHECK(r.state() == before);  // nothing drawn
  }
  // Without augmentation any shape is fine (flat features, MNIST-style 1×28×28, ...).
  Images flat = image_set(3, 8, 8, 0, false);
  flat.shape = {192};
  MatF x = original;
  Rng r(1);
  CHECK_NOTHROW(flat.augment(x, r));
  CHECK(x == original);
}

TEST_CASE("augment: a sample shape that is not C×H×W is an error when augmentation is requested") {
  Rng rng(1);
  MatF x = distinct_batch(2, 12);
  Images d = image_set(3, 2, 2, 0, true);
  d.shape = {12};
  std::string msg = data_error([&] { d.augment(x, rng); });
  CHECK(msg == "toy/train: augmentation (crop_padding = 0, random_flip = true) needs image samples of shape "
               "{channels, height, width}, but the sample shape is {12}");
  d.shape = {};
  d.crop_padding = 4, d.random_flip = false;
  CHECK(contains(data_error([&] { d.augment(x, rng); }), "(crop_padding = 4, random_flip = false) needs image samples"));
  CHECK(contains(data_error([&] { d.augment(x, rng); }), "the sample shape is {}"));
  d.shape = {1, 3, 2, 2};
  CHECK(contains(data_error([&] { d.augment(x, rng); }), "the sample shape is {1, 3, 2, 2}"));
  d.shape = {3, 2, 3};
  CHECK(data_error([&] { d.augment(x, rng); }) == "toy/train: sample shape {3, 2, 3} does not hold its 12 features");
  d.shape = {3, 2, 2};
  MatF wrong = distinct_batch(2, 10);
  CHECK(contains(data_error([&] { d.augment(wrong, rng); }), "cannot augment a batch of 10 columns"));
  CHECK(x == distinct_batch(2, 12));  // the failed calls changed nothing
}

TEST_CASE("augment on real CIFAR layout: the padded border of a gathered batch is the per-channel black value") {
  TempDir tmp("cifar");
  write_cifar10(tmp.path, 4, 1);
  const DataSplits s = load("cifar10", {{"path", tmp.path.string()}, {"crop_padding", 4}});
  std::vector<Index> idx(20);
  for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<Index>(i);
  MatF x;
  std::vector<std::int32_t> y;
  s.train.gather(idx, x, y);
  const MatF before = x;
  Rng rng(9, 9);
  REQUIRE(s.augment);
  s.augment->apply(x, s.train, rng);
  Rng replay(9, 9);
  for (Index r = 0; r < x.rows(); ++r) {
    const auto top = static_cast<Index>(replay.below(9)), left = static_cast<Index>(replay.below(9));
    REQUIRE(row_of(x, r) == reference(s.train, 4, before.data() + r * 3072, top, left, false));
  }
}
