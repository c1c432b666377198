// shapes — a synthetic stand-in for CIFAR-10: colour images (3×S×S, S = 32 by default) of ten
// classes of geometric shapes, generated in memory from a seed. It is built so that a network that
// is invariant to translation (a CNN) clearly beats one that is not (an MLP): the class is what the
// outline looks like, while where the shape is, how large it is, how it is turned and what colours
// it and the background have are all random and independent of the class.
//
// Classes (the shape's outline, in its own frame, all inside the unit disc):
//   0 circle      1 square     2 triangle   3 plus        4 star (five points)
//   5 ring        6 crescent   7 half-disc  8 ell ("L")   9 heart
// None is another rotated: a turned square stays a square (there is no "diamond" class); the ell
// is also mirrored at random (an L and a J are the same class).
//
// One image, drawn in this order (every random number from the image's own stream):
//   background   a linear colour gradient c₀ → c₁ along a random direction φ:
//                    bg(p) = c₀ + t·(c₁ − c₀),   t = clamp(½ + ((p − centre)·(cos φ, sin φ))/S, 0, 1)
//   clutter      below(1 + round(6·clutter)) distractors, each a small disc (radius 0.03S..0.07S) or
//                a thin line (length 0.15S..0.4S, 0.6..1.2 px wide) of a random colour, behind the
//                shape; the smallest disc is well below the smallest shape
//   shape        radius R = S·U(1/8, 3/8) (so its size is 1/4 to 3/4 of the image), centre
//                uniform in [0.7R, S − 0.7R]² (fully or mostly inside), rotation θ ~ U(0, 2π),
//                colour c_s ~ U(0, 1)³; c₀ and c₁ are redrawn until each is at least 0.5 from c_s
//                in RGB (so the shape is always visible), up to 32 times, else the corner of the
//                RGB cube farthest from c_s
//   noise        every value += a·(u₁ + u₂ − 1), u ~ U(0, 1) on 8 bits, a = 0.08·clutter
//                (a triangular distribution on [−a, a])
// then each value is clamped to [0, 1] and stored as a byte round(255·v).
//
// Anti-aliasing by analytic coverage. Each shape is given by its signed distance function
// sd(p) (negative inside, Inigo Quilez's exact 2-D distances for the primitives; unions and cuts
// as min and max, exact near the outline). For a pixel of unit side centred at p, the fraction of
// the pixel inside the shape is, to first order in the outline's curvature,
//     coverage(p) = clamp(½ − sd(p), 0, 1)           (sd in pixels)
// (a straight edge at distance d from the centre cuts off ½ − d of the pixel when it crosses it
// perpendicularly), and the pixel becomes  v = (1 − coverage)·v + coverage·colour.
// The distance is evaluated only in the shape's bounding square, so a small shape costs little.
//
// Layout and normalisation are CIFAR's: bytes channel-major (c·S² + h·S + w, PyTorch's CHW), scale
// 1/255, and per-channel mean and std — of the training set as generated, computed exactly from
// integer sums (so they too are the same for any thread count), used for both splits.
//
// Counts and reproducibility: `samples` training and `test_samples` test images, label i mod 10
// (interleaved like the spirals, so every prefix is balanced). Image i of a split is drawn from
// Rng(seed, stream_id("shapes/<split>", i)) alone, so images are generated in parallel blocks
// (parallel_for_blocks) and the bytes are identical for every thread count; the data seed is the
// set's own, independent of the training seed.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>

#include "core/dataset.hpp"
#include "core/error.hpp"
#include "core/memory.hpp"
#include "core/parallel.hpp"
#include "core/rng.hpp"
#include "datasets/augment.hpp"

namespace nnlab {
namespace {

constexpr int kClasses = 10;

const std::vector<std::string>& shape_names() {
  static const std::vector<std::string> names = {"circle", "square",   "triangle",  "plus", "star",
                                                 "ring",   "crescent", "half-disc", "ell",  "heart"};
  return names;
}

double length(double x, double y) { return std::sqrt(x * x + y * y); }

// Signed distances in the shape's frame (unit radius); negative inside.

// An axis-aligned box of half-sides (bx, by) centred at the origin.
double sd_box(double x, double y, double bx, double by) {
  const double dx = std::abs(x) - bx, dy = std::abs(y) - by;
  return length(std::max(dx, 0.0), std::max(dy, 0.0)) + std::min(std::max(dx, dy), 0.0);
}

// An equilateral triangle of half-side r, centroid at the origin, apex up (circumradius 2r/√3).
double sd_triangle(double x, double y, double r) {
  const double k = std::numbers::sqrt3;
  x = std::abs(x) - r;
  y = y + r / k;
  if (x + k * y > 0.0) {
    const double nx = (x - k * y) / 2.0, ny = (-k * x - y) / 2.0;
    x = nx, y = ny;
  }
  x -= std::clamp(x, -2.0 * r, 0.0);
  return -length(x, y) * (y < 0 ? -1.0 : 1.0);
}

// A five-pointed star of outer radius r; rf sets how deep the notches are (inner radius ≈ rf·r·0.6).
double sd_star5(double x, double y, double r, double rf) {
  const double k1x = 0.809016994375, k1y = -0.587785252292;
  const double k2x = -k1x, k2y = k1y;
  x = std::abs(x);
  double d = std::max(k1x * x + k1y * y, 0.0);
  x -= 2.0 * d * k1x, y -= 2.0 * d * k1y;
  d = std::max(k2x * x + k2y * y, 0.0);
  x -= 2.0 * d * k2x, y -= 2.0 * d * k2y;
  x = std::abs(x);
  y -= r;
  const double bax = rf * -k1y, bay = rf * k1x - 1.0;
  const double h = std::clamp((x * bax + y * bay) / (bax * bax + bay * bay), 0.0, r);
  const double s = y * bax - x * bay;
  return length(x - bax * h, y - bay * h) * (s < 0 ? -1.0 : 1.0);
}

// A heart with its tip at the origin and its lobes reaching y ≈ 1.1 (Quilez's sdHeart).
double sd_heart(double x, double y) {
  x = std::abs(x);
  if (y + x > 1.0) return length(x - 0.25, y - 0.75) - std::numbers::sqrt2 / 4.0;
  const double a = x * x + (y - 1.0) * (y - 1.0);
  const double m = 0.5 * std::max(x + y, 0.0);
  const double b = (x - m) * (x - m) + (y - m) * (y - m);
  return std::sqrt(std::min(a, b)) * (x - y < 0 ? -1.0 : 1.0);
}

// The outline of class k, in the shape's frame: every shape lies within radius ~1 of the origin.
double shape_distance(int k, double x, double y) {
  switch (k) {
    case 0: return length(x, y) - 0.9;
    case 1: return sd_box(x, y, 0.68, 0.68);
    case 2: return sd_triangle(x, y + 0.05, 0.87);
    case 3: return std::min(sd_box(x, y, 0.95, 0.3), sd_box(x, y, 0.3, 0.95));
    case 4: return sd_star5(x, y, 1.0, 0.45);
    case 5: return std::abs(length(x, y) - 0.65) - 0.25;
    case 6: return std::max(length(x, y) - 0.9, -(length(x - 0.45, y) - 0.7));
    case 7: return std::max(length(x, y + 0.3) - 0.95, -(y + 0.3));
    case 8: return std::min(sd_box(x + 0.45, y, 0.25, 0.9), sd_box(x, y + 0.65, 0.7, 0.25));
    default: return sd_heart(0.6 * x, 0.6 * y + 0.55) / 0.6;
  }
}

// Distance from p to the segment a–b (for the distractor lines).
double segment_distance(double px, double py, double ax, double ay, double bx, double by) {
  const double pax = px - ax, pay = py - ay, bax = bx - ax, bay = by - ay;
  const double h = std::clamp((pax * bax + pay * bay) / std::max(bax * bax + bay * bay, 1e-12), 0.0, 1.0);
  return length(pax - bax * h, pay - bay * h);
}

struct Colour {
  double c[3];
};

Colour random_colour(Rng& rng) { return {{rng.uniform(), rng.uniform(), rng.uniform()}}; }

double colour_distance(const Colour& a, const Colour& b) {
  return length(length(a.c[0] - b.c[0], a.c[1] - b.c[1]), a.c[2] - b.c[2]);
}

// A background colour at least 0.5 from the shape's colour.
Colour contrasting(const Colour& shape, Rng& rng) {
  for (int attempt = 0; attempt < 32; ++attempt)
    if (const Colour c = random_colour(rng); colour_distance(c, shape) >= 0.5) return c;
  return {{shape.c[0] < 0.5 ? 1.0 : 0.0, shape.c[1] < 0.5 ? 1.0 : 0.0, shape.c[2] < 0.5 ? 1.0 : 0.0}};
}

// An S×S image, channel-major, values in [0, 1].
class Canvas {
 public:
  explicit Canvas(int side) : side_(side), v_(static_cast<std::size_t>(3 * side * side)) {}

  void gradient(const Colour& c0, const Colour& c1, double phi) {
    const double s = side_, cs = std::cos(phi) / s, sn = std::sin(phi) / s;
    for (int h = 0; h < side_; ++h)
      for (int w = 0; w < side_; ++w) {
        const double t = std::clamp(0.5 + (w + 0.5 - s / 2) * cs + (h + 0.5 - s / 2) * sn, 0.0, 1.0);
        for (int ch = 0; ch < 3; ++ch) at(ch, h, w) = c0.c[ch] + t * (c1.c[ch] - c0.c[ch]);
      }
  }

  // Paint with `colour` where the signed distance sd(x, y) (in pixels, at pixel centres) is below
  // ½, blending by coverage; only within the square |x − cx|, |y − cy| <= reach.
  template <typename Distance>
  void paint(double cx, double cy, double reach, const Colour& colour, Distance sd) {
    const int w0 = std::max(0, static_cast<int>(std::floor(cx - reach))), w1 = std::min(side_, static_cast<int>(std::ceil(cx + reach)) + 1);
    const int h0 = std::max(0, static_cast<int>(std::floor(cy - reach))), h1 = std::min(side_, static_cast<int>(std::ceil(cy + reach)) + 1);
    for (int h = h0; h < h1; ++h)
      for (int w = w0; w < w1; ++w) {
        const double cover = std::clamp(0.5 - sd(w + 0.5, h + 0.5), 0.0, 1.0);
        if (cover <= 0) continue;
        for (int ch = 0; ch < 3; ++ch) at(ch, h, w) += cover * (colour.c[ch] - at(ch, h, w));
      }
  }

  // Add triangular noise of amplitude a, then store as bytes.
  void store(std::uint8_t* out, double a, Rng& rng) const {
    const std::size_t n = v_.size();
    std::uint64_t bits = 0;
    int left = 0;
    for (std::size_t i = 0; i < n; ++i) {
      double v = v_[i];
      if (a > 0) {
        if (left == 0) bits = rng.next(), left = 4;
        const double u1 = static_cast<double>(bits & 0xff), u2 = static_cast<double>((bits >> 8) & 0xff);
        bits >>= 16, --left;
        v += a * ((u1 + u2 + 1.0) / 256.0 - 1.0);
      }
      out[i] = static_cast<std::uint8_t>(std::clamp(v, 0.0, 1.0) * 255.0 + 0.5);
    }
  }

 private:
  double& at(int ch, int h, int w) { return v_[static_cast<std::size_t>((ch * side_ + h) * side_ + w)]; }
  int side_;
  std::vector<double> v_;
};

// One image of class `label` from its own stream `rng`, into out (3·S² bytes).
void draw_image(Canvas& canvas, int side, int label, double clutter, Rng& rng, std::uint8_t* out) {
  const double s = side;
  constexpr double two_pi = 2.0 * std::numbers::pi;
  // The shape's pose and colour, then the background's colours against it.
  const double radius = s * rng.uniform(1.0 / 8.0, 3.0 / 8.0);
  const double cx = rng.uniform(0.7 * radius, s - 0.7 * radius), cy = rng.uniform(0.7 * radius, s - 0.7 * radius);
  const double theta = two_pi * rng.uniform();
  const double mirror = rng.uniform() < 0.5 ? -1.0 : 1.0;
  const Colour colour = random_colour(rng);
  const Colour c0 = contrasting(colour, rng), c1 = contrasting(colour, rng);
  canvas.gradient(c0, c1, two_pi * rng.uniform());

  const auto distractors = rng.below(1 + static_cast<std::uint64_t>(std::lround(6.0 * clutter)));
  for (std::uint64_t d = 0; d < distractors; ++d) {
    const Colour c = random_colour(rng);
    const double x = rng.uniform(0.0, s), y = rng.uniform(0.0, s);
    if (rng.uniform() < 0.5) {
      const double r = s * rng.uniform(0.03, 0.07);
      canvas.paint(x, y, r + 1, c, [&](double px, double py) { return length(px - x, py - y) - r; });
    } else {
      const double half = 0.5 * s * rng.uniform(0.15, 0.4), phi = two_pi * rng.uniform();
      const double width = rng.uniform(0.3, 0.6);  // half the line's width
      const double dx = half * std::cos(phi), dy = half * std::sin(phi);
      canvas.paint(x, y, half + width + 1, c,
                   [&](double px, double py) { return segment_distance(px, py, x - dx, y - dy, x + dx, y + dy) - width; });
    }
  }

  const double cs = std::cos(theta) / radius, sn = std::sin(theta) / radius;
  canvas.paint(cx, cy, 1.05 * radius + 1, colour, [&](double px, double py) {
    const double dx = px - cx, dy = py - cy;
    return radius * shape_distance(label, mirror * (cs * dx + sn * dy), -sn * dx + cs * dy);
  });
  canvas.store(out, 0.08 * clutter, rng);
}

// One split: `rows` images, image i of class i mod 10.
Dataset generate(const std::string& split, std::int64_t rows, int side, double clutter, std::uint64_t seed) {
  Dataset d;
  d.name = "shapes/" + split;
  d.rows = rows;
  d.channels = 3;
  d.shape = {3, side, side};
  d.features = 3 * static_cast<Index>(side) * side;
  d.classes = kClasses;
  d.class_names = shape_names();
  d.scale = 1.0f / 255.0f;
  d.bytes.resize(static_cast<std::size_t>(rows * d.features));
  d.labels.resize(static_cast<std::size_t>(rows));
  const std::string stream = "shapes/" + split;
  const Index features = d.features;
  parallel_for_blocks(rows, 60.0 * static_cast<double>(rows * features), [&](Index begin, Index end) {
    Canvas canvas(side);
    for (Index i = begin; i < end; ++i) {
      const int label = static_cast<int>(i % kClasses);
      Rng rng(seed, Rng::stream_id(stream, static_cast<std::uint64_t>(i)));
      draw_image(canvas, side, label, clutter, rng, d.bytes.data() + i * features);
      d.labels[static_cast<std::size_t>(i)] = label;
    }
  });
  return d;
}

// Per-channel mean and std of x/255 over a set, from exact integer sums (any summation order gives
// the same result), in parallel blocks combined in block order.
void byte_stats(const Dataset& d, std::vector<float>& mean, std::vector<float>& stddev) {
  const Index plane = d.features / 3;
  const Index n = d.rows;
  const int blocks = parallel_block_count(n, static_cast<double>(n * d.features));
  std::vector<std::uint64_t> sums(static_cast<std::size_t>(6 * blocks), 0);
  parallel_blocks(n, static_cast<double>(n * d.features), [&](int block, Index begin, Index end) {
    std::uint64_t* s = sums.data() + 6 * block;
    for (Index r = begin; r < end; ++r)
      for (int c = 0; c < 3; ++c) {
        const std::uint8_t* p = d.bytes.data() + r * d.features + c * plane;
        std::uint64_t sum = 0, sq = 0;
        for (Index j = 0; j < plane; ++j) sum += p[j], sq += static_cast<std::uint64_t>(p[j]) * p[j];
        s[c] += sum, s[3 + c] += sq;
      }
  });
  mean.assign(3, 0.0f), stddev.assign(3, 1.0f);
  const double count = static_cast<double>(n * plane);
  for (int c = 0; c < 3; ++c) {
    std::uint64_t sum = 0, sq = 0;
    for (int b = 0; b < blocks; ++b) sum += sums[static_cast<std::size_t>(6 * b + c)], sq += sums[static_cast<std::size_t>(6 * b + 3 + c)];
    const double mu = static_cast<double>(sum) / count / 255.0;
    const double var = static_cast<double>(sq) / count / (255.0 * 255.0) - mu * mu;
    mean[static_cast<std::size_t>(c)] = static_cast<float>(mu);
    stddev[static_cast<std::size_t>(c)] = static_cast<float>(std::max(std::sqrt(std::max(var, 0.0)), 1e-3));
  }
}

DataSplits load_shapes(const Args& a) {
  const std::int64_t train_rows = a.integer("samples"), test_rows = a.integer("test_samples");
  const int side = static_cast<int>(a.integer("size"));
  const double clutter = a.number("clutter");
  const auto seed = static_cast<std::uint64_t>(a.integer("seed"));
  // The bytes of both splits and a label each: refused before anything is generated if it cannot fit.
  const Index features = 3 * static_cast<Index>(side) * side;
  const Index train_bytes = checked_product({train_rows, features}, "shapes: data.samples x 3 x size x size");
  const Index test_bytes = checked_product({test_rows, features}, "shapes: data.test_samples x 3 x size x size");
  check_memory(static_cast<double>(train_bytes) + static_cast<double>(test_bytes) +
                   4.0 * static_cast<double>(train_rows + test_rows),
               "shapes: " + std::to_string(train_rows) + " + " + std::to_string(test_rows) + " images of 3x" +
                   std::to_string(side) + "x" + std::to_string(side));
  DataSplits s;
  s.train = generate("train", train_rows, side, clutter, seed);
  s.test = generate("test", test_rows, side, clutter, seed);
  byte_stats(s.train, s.train.mean, s.train.stddev);
  s.test.mean = s.train.mean, s.test.stddev = s.train.stddev;
  s.train.validate();
  s.test.validate();
  s.augment = crop_flip(static_cast<int>(a.integer("crop_padding")), a.boolean("random_flip"));
  return s;
}

}  // namespace

NNLAB_REGISTER_DATASET(load_shapes, "shapes",
                       "10 classes of shapes at random position, size, rotation and colour on cluttered "
                       "backgrounds, 3xSxS (synthetic, CIFAR-sized)",
                       {integer("samples", 50000, "training images (label = index mod 10)", 1, 1.0e9),
                        integer("test_samples", 10000, "test images", 1, 1.0e9),
                        integer("size", 32, "image side in pixels", 16, 64),
                        number("clutter", 0.5, "background clutter: distractors and pixel noise (0: a plain gradient)", 0, 1),
                        integer("seed", 0, "data seed (independent of the training seed)", 0, 9.0e15),
                        crop_padding_param(), random_flip_param()});

}  // namespace nnlab
