// Image augmentation for training batches, torchvision's usual CIFAR transform: a random crop after
// padding, and a random horizontal flip (see augment.cpp for the definition and the draw order).
#pragma once

#include <memory>

#include "core/dataset.hpp"
#include "core/params.hpp"

namespace nnlab {

class CropFlip final : public BatchTransform {
 public:
  CropFlip(int crop_padding, bool random_flip) : crop_padding_(crop_padding), random_flip_(random_flip) {}
  std::string describe() const override;  // "crop_padding = 4, random_flip = true"
  // Throws DataError (naming `data`) unless the samples are C×H×W images of the batch's width.
  void apply(MatF& batch, const Dataset& data, Rng& rng) const override;

 private:
  int crop_padding_;
  bool random_flip_;
};

// A CropFlip, or null when both are off (nothing to do, nothing drawn).
std::shared_ptr<const BatchTransform> crop_flip(int crop_padding, bool random_flip);

// The two data keys that configure it, for every image format that offers them (cifar10, cifar100,
// shapes): "crop_padding" and "random_flip".
ParamSpec crop_padding_param();
ParamSpec random_flip_param();

}  // namespace nnlab
