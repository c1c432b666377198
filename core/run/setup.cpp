#include "core/run/setup.hpp"

#include "core/error.hpp"

namespace nnlab {

TrainingSetup make_training(const RunSpec& spec, const Dataset& train) {
  TrainingSetup s;
  s.model_spec = spec.model.bind(train.sample_shape(), train.classes, spec.data.dataset());
  s.model = build_model<float>(s.model_spec.layers, s.model_spec.input_shape, spec.train.seed);
  if (s.model.out_features() != train.classes)
    throw ShapeError("the model has " + std::to_string(s.model.out_features()) + " outputs but the data set has " +
                     std::to_string(train.classes) + " classes");
  s.loss = make_loss<float>(spec.train.loss);
  s.optimizer = spec.optimizer.make();
  s.steps_per_epoch = spec.train.steps_per_epoch(train.rows);
  if (spec.schedule)
    s.schedule = make_schedule(*spec.schedule, s.optimizer->lr(), {spec.train.epochs, static_cast<std::int64_t>(s.steps_per_epoch)});
  return s;
}

}  // namespace nnlab
