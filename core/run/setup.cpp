#include "core/run/setup.hpp"

#include "core/error.hpp"
#include "core/memory.hpp"

namespace nnlab {

TrainingSetup make_training(const RunSpec& spec, const Dataset& train) {
  TrainingSetup s;
  s.model_spec = spec.model.bind(train.sample_shape(), train.classes, spec.data.dataset());
  s.model = build_model<float>(s.model_spec.layers, s.model_spec.input_shape, spec.train.seed);
  if (s.model.out_features() != train.classes)
    throw ShapeError("the model has " + std::to_string(s.model.out_features()) + " outputs but the data set has " +
                     std::to_string(train.classes) + " classes");
  // What training holds beside the weights (built above, so they fit): up to two optimizer moments
  // per parameter, and per layer a batch of outputs and of gradients (training) and of outputs
  // (evaluation, 1000 samples). Refused here, with the estimate, rather than failing mid-epoch.
  double widths = static_cast<double>(s.model.in_features());
  for (std::size_t i = 0; i < s.model.size(); ++i) widths += static_cast<double>(s.model.layer(i).out_features());
  const double batch = static_cast<double>(std::min<Index>(spec.train.batch_size, std::max<Index>(train.rows, 1)));
  check_memory(4.0 * (2.0 * static_cast<double>(s.model.parameter_count()) + 2.0 * batch * widths + 1000.0 * widths),
               "training with train.batch_size " + std::to_string(spec.train.batch_size) + " (" +
                   std::to_string(static_cast<long long>(widths)) + " values per sample through the layers)");
  s.loss = make_loss<float>(spec.train.loss);
  s.optimizer = spec.optimizer.make();
  s.steps_per_epoch = spec.train.steps_per_epoch(train.rows);
  if (spec.schedule)
    s.schedule = make_schedule(*spec.schedule, s.optimizer->lr(), {spec.train.epochs, static_cast<std::int64_t>(s.steps_per_epoch)});
  return s;
}

}  // namespace nnlab
