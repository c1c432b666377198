// CropFlip — training-time image augmentation of a gathered (already normalised) batch, in place,
// one sample per row laid out C×H×W as in the data set's `shape`:
//
//   random crop   pad the image by p = crop_padding pixels on every side, then cut out an H×W
//                 window at a random offset (top, left) ∈ {0..2p}²; i.e. shift the content by
//                 (dy, dx) = (top − p, left − p) ∈ [−p, p]², filling what comes in from outside:
//                     crop(x)[c][h][w] = x[c][h+dy][w+dx]   if inside the image, else pad[c]
//   horizontal    with probability 1/2 mirror left-right:
//   flip              flip(x)[c][h][w] = x[c][h][W−1−w]
//
// applied in that order (crop, then flip), as torchvision's usual CIFAR training transform
//   Compose([RandomCrop(32, padding=4), RandomHorizontalFlip(), ToTensor(), Normalize(mean, std)]).
// Both are done in one pass:  out[c][h][w] = x[c][h+dy][(flip ? W−1−w : w) + dx]  (or pad[c]).
//
// Padding value. torchvision pads the raw image with black pixels (value 0) BEFORE normalising,
// so a padded pixel reaches the network as (0·scale − mean[c]) / std[c] = −mean[c]/std[c], not 0.
// nnlab matches that: pad[c] is exactly the value gather() gives a 0 byte in channel c (−mean/std
// with normalisation on, 0 with `normalize: false`). Padding with 0 in normalised space would
// instead pad with the mean colour.
//
// Random draws, per row in row order (fixed, so a seeded Rng gives reproducible batches):
//   if crop_padding > 0:  top = rng.below(2p+1), then left = rng.below(2p+1)
//   if random_flip:       flip = rng.uniform() < 0.5
// (torchvision draws in the same order: the crop's i, j, then the flip's coin.) Nothing is drawn
// when augmentation is off, and the batch is untouched.
#include <algorithm>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "datasets/augment.hpp"

namespace nnlab {

namespace {
std::string shape_string(const std::vector<Index>& shape) {
  if (shape.empty()) return "{}";
  std::string s;
  for (Index d : shape) s += (s.empty() ? "{" : ", ") + std::to_string(d);
  return s + "}";
}
}  // namespace

std::string CropFlip::describe() const {
  return "crop_padding = " + std::to_string(crop_padding_) + ", random_flip = " + (random_flip_ ? "true" : "false");
}

std::shared_ptr<const BatchTransform> crop_flip(int crop_padding, bool random_flip) {
  if (crop_padding <= 0 && !random_flip) return nullptr;
  return std::make_shared<CropFlip>(crop_padding, random_flip);
}

void CropFlip::apply(MatF& batch, const Dataset& data, Rng& rng) const {
  const int crop_padding = crop_padding_;
  const bool random_flip = random_flip_;
  if (crop_padding <= 0 && !random_flip) return;
  const std::string& name = data.name;
  const std::vector<Index>& shape = data.shape;
  const Index features = data.features;
  const std::vector<float>& mean = data.mean;
  const std::vector<float>& stddev = data.stddev;
  const std::string what = describe();
  if (shape.size() != 3)
    throw DataError(name + ": augmentation (" + what + ") needs image samples of shape {channels, height, width}, " +
                    "but the sample shape is " + shape_string(shape));
  const Index C = shape[0], H = shape[1], W = shape[2];
  if (C < 1 || H < 1 || W < 1 || C * H * W != features)
    throw DataError(name + ": sample shape " + shape_string(shape) + " does not hold its " + std::to_string(features) +
                    " features");
  if (batch.cols() != features)
    throw DataError(name + ": cannot augment a batch of " + std::to_string(batch.cols()) + " columns; samples have " +
                    std::to_string(features) + " features");
  if (crop_padding < 0) throw DataError(name + ": crop_padding must be >= 0, not " + std::to_string(crop_padding));

  // The normalised value of a black (0) pixel in each channel, computed as gather() does.
  std::vector<float> pad(static_cast<std::size_t>(C));
  for (Index c = 0; c < C; ++c) {
    const std::size_t ci = static_cast<std::size_t>(c) < mean.size() ? static_cast<std::size_t>(c) : 0;
    pad[static_cast<std::size_t>(c)] = -mean[ci] / stddev[ci];
  }

  const auto p = static_cast<std::uint64_t>(crop_padding);
  std::vector<float> scratch(static_cast<std::size_t>(features));  // one sample, reused for every row
  for (Index r = 0; r < batch.rows(); ++r) {
    Index dy = 0, dx = 0;
    if (p > 0) {
      dy = static_cast<Index>(rng.below(2 * p + 1)) - crop_padding;
      dx = static_cast<Index>(rng.below(2 * p + 1)) - crop_padding;
    }
    const bool flip = random_flip && rng.uniform() < 0.5;
    if (dy == 0 && dx == 0 && !flip) continue;  // this row keeps its image

    float* x = batch.data() + r * features;  // row-major: the sample is contiguous
    for (Index c = 0; c < C; ++c) {
      const float fill = pad[static_cast<std::size_t>(c)];
      for (Index h = 0; h < H; ++h) {
        float* out = scratch.data() + (c * H + h) * W;
        const Index sh = h + dy;  // source row
        if (sh < 0 || sh >= H) {
          std::fill(out, out + W, fill);
          continue;
        }
        const float* in = x + (c * H + sh) * W;
        for (Index w = 0; w < W; ++w) {
          const Index sw = (flip ? W - 1 - w : w) + dx;  // source column
          out[w] = (sw >= 0 && sw < W) ? in[sw] : fill;
        }
      }
    }
    std::copy(scratch.begin(), scratch.end(), x);
  }
}

ParamSpec crop_padding_param() {
  return integer("crop_padding", 0,
                 "training augmentation: a random crop of the image's size from the image padded by this many "
                 "black pixels on each side (4 is usual; 0: off)",
                 0, 32);
}

ParamSpec random_flip_param() {
  return boolean("random_flip", false, "training augmentation: mirror each image left-right with probability 1/2");
}

}  // namespace nnlab
