// Per-epoch diagnostics of a model's hidden layers, measured on a fixed probe batch.
// (Used by `nnlab train --diagnostics` and, through it, by `nnlab compare`.)
//
// The probe batch is the first 512 samples of the test set (of the training set when there is no
// test set): the same samples for every run of a sweep, whatever the seed or the activation. After
// each epoch the probe goes through the model layer by layer in evaluation mode, and for the k-th
// hidden activation layer (an activation followed somewhere by a layer with a weight matrix) we record
//
//   act<k>_mean   mean of the outputs y over all probe samples and units   (zero-centredness)
//   act<k>_std    their standard deviation (population, over the same entries)
//   act<k>_dead   fraction of units j with f'(x_nj) = 0 for every probe sample n ("dead" units:
//                 no gradient flows through them for any of these inputs). A unit is a feature of
//                 a feature vector and a whole channel of an image ([C, H, W] output: dead when
//                 f' = 0 at every position of every probe sample, i.e. a convolution filter that
//                 never learns again)
//   act<k>_sat    fraction of (sample, unit) entries with |f'(x_nj)| < 0.01 (saturated: the
//                 gradient through them is damped at least 100-fold). For ReLU-like functions
//                 this is simply the fraction of entries on the flat side (f' = 0).
//
// f'(x) of an element-wise activation is what its backward returns for dy = 1. Whether a layer is
// element-wise is what its registration declares (LayerKind, core/registry.hpp); a row-wise
// activation that mixes units (softmax) gets NaN (an empty cell) for dead and sat, which are
// per-unit notions.
//
// For the k-th layer with a weight matrix (a "weight" parameter of 2 or more dimensions: dense and
// conv2d layers, not BatchNorm's 1-D scale, not activations):
//
//   w<k>_grad     ‖∂L/∂W_k‖ (Frobenius/L2 norm) of the training loss on the probe batch: forward,
//                 loss, backward once. Small norms in the first layers and large ones in the last
//                 are the vanishing-gradient picture.
//
// For every learnable parameter of the k-th hidden activation (PReLU's "weight", SMU's "mu",
// Swish's "beta" with learnable = true), its value after the epoch:
//
//   act<k>_param_<name>       the mean of its elements (the value itself for a scalar)
//   act<k>_param_<name>_std   the standard deviation of its elements, when it has more than one
//                             (PReLU with num_parameters = channels)
//
// And the sizes the epoch's accuracies were measured on: test_samples, val_samples (0 without a split).
//
// And from Model's per-layer timers, for the epoch's training pass:
//
//   act_seconds   wall time spent in the activation layers' forward + backward
//   act_share     act_seconds / time spent in all layers' forward + backward
//
// The timers also run during the epoch's evaluation (forward only, on the test and validation
// sets). Backward time is all training; of the forward time, the training pass's part is taken in
// proportion to the samples: forward · N_train / (N_train + N_test + N_validation). For
// element-wise activations, whose cost per sample does not depend on the batch size, that split is
// exact up to timer noise; for dense layers (the denominator of act_share) it is an estimate, since
// evaluation uses larger batches.
//
// Side effects, and why they do not change training: the probe backward overwrites the parameter
// gradients, but add_diagnostics runs after the epoch's last optimizer step, and the next training
// backward overwrites them again before the next step (backward never accumulates). Evaluation mode
// draws no random numbers. Nothing else in the model is written except scratch buffers. (Tested:
// a run with diagnostics has bit-identical metrics to a run without.)
//
// Timing: the timers run only when Model::set_timing(true) was called. start_diagnostics() turns
// them on before the first epoch; if it was not called, add_diagnostics() turns them on at the end
// of epoch 1, and that epoch's act_seconds/act_share are NaN (empty cells).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "core/model.hpp"
#include "core/run/data.hpp"
#include "core/run/metrics.hpp"

namespace nnlab {

// Probe batch size (the first kProbeSamples test samples).
inline constexpr Index kProbeSamples = 512;

// Statistics of one hidden activation layer on the probe batch.
struct ActivationStats {
  std::size_t layer = 0;  // index in the model
  std::string type;       // "relu"
  bool elementwise = true;
  double mean = 0, std = 0;
  double dead = 0;       // fraction of units (NaN when not element-wise)
  double saturated = 0;  // fraction of entries (NaN when not element-wise)
};

// Gradient of one weight matrix on the probe batch.
struct WeightGradStats {
  std::size_t layer = 0;
  std::string type;  // "dense"
  double grad_norm = 0;
};

struct ProbeDiagnostics {
  std::vector<ActivationStats> activations;  // hidden activation layers, in order
  std::vector<WeightGradStats> weights;      // layers with a weight matrix, in order
  double loss = 0;                           // loss of the probe batch
};

// Run the probe batch (x, labels) through `model` in evaluation mode and measure. `loss` names the
// training loss ("cross_entropy", "mse"). Overwrites the model's parameter gradients.
ProbeDiagnostics probe_diagnostics(Model<float>& model, const MatF& x, std::span<const std::int32_t> labels,
                                   const std::string& loss);

// The probe batch of a run: the first kProbeSamples test samples (training samples without a test set).
void probe_batch(const RunData& data, MatF& x, std::vector<std::int32_t>& labels);

// Turn the model's layer timers on (call before the first epoch, e.g. from RunCallbacks::on_start).
void start_diagnostics(Model<float>& model);

// Measure the diagnostics on `model` and append them to m.extra as named columns (see above);
// read and reset the layer timers.
// `loss` names the training loss. Column names come from core/run/metrics.hpp.
void add_diagnostics(EpochMetrics& m, Model<float>& model, const RunData& data, const std::string& loss);

}  // namespace nnlab
