#include "core/diagnostics.hpp"

namespace nnlab {

void add_diagnostics(EpochMetrics&, Model<float>&, const RunData&, const TrainSettings&) {
  throw Error("diagnostics are not implemented yet");
}

}  // namespace nnlab
