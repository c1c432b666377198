// Dataset::augment — placeholder implementation until the CIFAR work lands: with no augmentation
// configured it is the identity; asking for augmentation without an implementation is an error.
#include "core/dataset.hpp"
#include "core/error.hpp"

namespace nnlab {

void Dataset::augment(MatF&, Rng&) const {
  if (augments()) throw Error(name + ": data augmentation is not implemented yet");
}

}  // namespace nnlab
