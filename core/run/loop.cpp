#include "core/run/loop.hpp"

#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

#include "core/rng.hpp"
#include "core/run/divergence.hpp"

namespace nnlab {

Trainer::Trainer(Model<float>& model, Loss<float>& loss, Optimizer& optimizer, const TrainSpec& settings,
                 Schedule* schedule, LoopHooks hooks, Communicator& comm)
    : model_(model), loss_(loss), optimizer_(optimizer), settings_(settings), schedule_(schedule),
      hooks_(std::move(hooks)), evaluator_(model, loss, comm), params_(model.parameters()), buffers_(model.buffers()),
      comm_(comm) {
  model_.set_input_grad(false);  // nothing needs dL/d(images): the first layer skips computing it
  if (comm_.size() > 1) {
    std::size_t n = 0;
    for (const auto& p : params_) n += static_cast<std::size_t>(p.grad->size());
    packed_.resize(n);
  }
}

void Trainer::all_reduce_gradients(float scale) {
  float* at = packed_.data();
  for (const auto& p : params_) {
    Eigen::Map<MatF>(at, p.grad->rows(), p.grad->cols()) = *p.grad * scale;
    at += p.grad->size();
  }
  comm_.sum(packed_);
  at = packed_.data();
  for (const auto& p : params_) {
    *p.grad = Eigen::Map<const MatF>(at, p.grad->rows(), p.grad->cols());
    at += p.grad->size();
  }
}

void Trainer::mix_random_state(const std::vector<std::vector<std::uint64_t>>& from, std::uint64_t tag) {
  for (std::size_t i = 0; i < from.size(); ++i) {
    if (from[i].empty()) continue;
    std::vector<std::uint64_t> words = from[i];
    for (auto& w : words) w = Rng(w, tag).next();  // a word of a stream seeded by (w, tag): well mixed
    model_.layer(i).set_rng_state(words);
  }
}

void Trainer::nonfinite_batch(int epoch, Index batch, Index batches, float loss) {
  const bool skip = settings_.on_nonfinite == "skip";
  auto text = [](float v) {
    if (std::isnan(v)) return std::string("nan");
    if (std::isinf(v)) return std::string(v > 0 ? "inf" : "-inf");
    char b[32];
    std::snprintf(b, sizeof b, "%.6g", static_cast<double>(v));
    return std::string(b);
  };
  const std::string what = std::isfinite(loss) ? "the gradients are not finite (the loss is " + text(loss) + ")"
                                               : "the loss is " + text(loss);
  const std::string where = "epoch " + std::to_string(epoch) + ", batch " + std::to_string(batch) + " of " +
                            std::to_string(batches);
  // Diagnosis (this path only): re-run the batch layer by layer. In skip mode the buffers (which
  // the failed forward pass updated) are restored before and after it.
  auto restore_buffers = [&] {
    for (std::size_t i = 0; i < buffers_.size(); ++i) *buffers_[i].value = saved_buffers_[i];
  };
  if (skip) restore_buffers();
  // (Data-parallel: this process's rows; on a process whose rows were all finite it finds none.)
  const bool parallel = comm_.size() > 1;
  const std::string first = locate_nonfinite(model_, loss_, parallel ? slice_x_ : x_, parallel ? slice_y_ : y_);
  const bool weights_bad = !layer_with_nonfinite_weights(model_, /*buffers=*/false).empty();
  if (skip) {
    restore_buffers();
    ++skips_in_a_row_;
    if (!weights_bad && skips_in_a_row_ <= settings_.max_consecutive_skips) {
      if (hooks_.on_skip) hooks_.on_skip(where + ": " + what + "; first non-finite value: " + first + "; batch skipped");
      return;
    }
  }
  std::string msg = "training diverged at " + where + ": " + what + "; first non-finite value: " + first;
  if (skip && weights_bad) msg += "; skipping cannot help once the weights are not finite";
  else if (skip) msg += "; stopping after " + std::to_string(settings_.max_consecutive_skips) +
                        " skipped batches in a row (train.max_consecutive_skips)";
  else msg += " (lower optimizer.lr, set train.clip_grad_norm, or set train.on_nonfinite=skip to skip such batches)";
  throw DivergedError(msg, epoch);
}

std::vector<Index> Trainer::epoch_order(Index rows, int epoch) const {
  std::vector<Index> order(static_cast<std::size_t>(rows));
  std::iota(order.begin(), order.end(), Index{0});
  if (settings_.shuffle) {
    Rng rng(settings_.seed, Rng::stream_id("shuffle", static_cast<std::uint64_t>(epoch)));
    shuffle(order.begin(), order.end(), rng);
  }
  return order;
}

EvalResult Trainer::train_epoch(const Dataset& data, int epoch, const BatchTransform* augment, const EpochPosition* from) {
  const std::vector<Index> order = epoch_order(data.rows, epoch);
  const Index B = settings_.batch_size;
  const Index total = settings_.drop_last ? (data.rows / B) * B : data.rows;
  Rng augment_rng(settings_.seed, Rng::stream_id("augment", static_cast<std::uint64_t>(epoch)));
  double loss_sum = 0;
  Index correct = 0, seen = 0, skipped = 0;
  const bool skip_mode = settings_.on_nonfinite == "skip";
  const Index batches = (total + B - 1) / B;
  Index first = 0;
  if (from) {
    if (from->epoch != epoch || from->batch < 0 || from->batch >= batches)
      throw Error("internal: resuming epoch " + std::to_string(epoch) + " at batch " + std::to_string(from->batch) +
                  " of a position in epoch " + std::to_string(from->epoch));
    first = from->batch * B;
    loss_sum = from->loss_sum, correct = from->correct, seen = from->seen, skipped = from->skipped;
    skips_in_a_row_ = from->skips_in_a_row;
    augment_rng.set_state(from->augment);
    position_ = *from;
  } else {
    position_ = EpochPosition{};
    position_.epoch = epoch;
    position_.lr = optimizer_.lr();
    position_.augment = augment_rng.state();
  }
  const bool parallel = comm_.size() > 1;
  bool random_layers = false;
  if (parallel) {
    random_state_.resize(model_.size());
    for (std::size_t i = 0; i < model_.size(); ++i) random_layers |= !model_.layer(i).rng_state().empty();
  }
  for (Index start = first; start < total; start += B) {
    const Index n = std::min(B, total - start);
    // Data-parallel without augmentation: only this process's rows are gathered (with augmentation
    // the whole batch is, so that its random stream is drawn exactly as by one process).
    const RowSlice rows = parallel ? row_slice(n, comm_.rank(), comm_.size()) : RowSlice{0, n};
    const bool whole = !parallel || augment;
    if (whole) {
      data.gather(std::span<const Index>(order.data() + start, static_cast<std::size_t>(n)), x_, y_);
      if (augment) augment->apply(x_, data, augment_rng);
    } else {
      data.gather(std::span<const Index>(order.data() + start + rows.begin, static_cast<std::size_t>(rows.end - rows.begin)),
                  slice_x_, slice_y_);
    }
    if (skip_mode) {  // a skipped batch must not leave its statistics in BatchNorm's running buffers
      saved_buffers_.resize(buffers_.size());
      for (std::size_t i = 0; i < buffers_.size(); ++i) saved_buffers_[i] = *buffers_[i].value;
    }
    // forward → loss → backward → update. Non-finite checks: the loss always; the gradients when
    // clipping computes their norm anyway, or in skip mode (core/divergence.hpp).
    bool finite = true;
    float loss = 0;
    Index batch_correct = 0;
    bool stop = false;
    if (!parallel) {
      const MatF& out = model_.forward(x_, /*training=*/true);
      loss = loss_.forward(out, {y_, nullptr});
      finite = std::isfinite(loss);
      if (finite) {
        batch_correct = count_correct(out, y_);
        model_.backward(loss_.backward());
      }
    } else {
      // This process's rows; the random layers draw from a stream of this process and batch.
      const Index m = rows.end - rows.begin;
      if (random_layers) {
        for (std::size_t i = 0; i < model_.size(); ++i) random_state_[i] = model_.layer(i).rng_state();
        mix_random_state(random_state_, static_cast<std::uint64_t>(comm_.rank()) + 1);
      }
      double local[4] = {0, 0, 0, hooks_.should_stop && hooks_.should_stop() ? 1.0 : 0.0};
      if (m > 0) {
        if (whole) {
          slice_x_ = x_.middleRows(rows.begin, m);
          slice_y_.assign(y_.begin() + rows.begin, y_.begin() + rows.end);
        }
        const MatF& out = model_.forward(slice_x_, /*training=*/true);
        const float local_loss = loss_.forward(out, {slice_y_, nullptr});
        if (std::isfinite(local_loss)) {
          local[0] = static_cast<double>(local_loss) * static_cast<double>(m);
          local[1] = static_cast<double>(count_correct(out, slice_y_));
          model_.backward(loss_.backward());
        } else {
          local[2] = 1;
        }
      } else {
        for (const auto& p : params_) p.grad->setZero();
      }
      if (random_layers) mix_random_state(random_state_, 0);  // the shared stream, one batch on
      comm_.sum(local);  // every process now knows the batch's loss, whether to go on, and whether to stop
      stop = local[3] > 0;
      finite = local[2] == 0;
      loss = finite ? static_cast<float>(local[0] / static_cast<double>(n)) : std::numeric_limits<float>::quiet_NaN();
      batch_correct = static_cast<Index>(local[1]);
      if (finite) all_reduce_gradients(static_cast<float>(static_cast<double>(m) / static_cast<double>(n)));
    }
    if (finite) {
      if (hooks_.on_gradients) hooks_.on_gradients(params_);
      if (settings_.clip_grad_norm > 0) finite = std::isfinite(clip_grad_norm(params_, settings_.clip_grad_norm));
      else if (skip_mode) finite = gradients_finite(params_);
      if (finite) {
        optimizer_.step(params_);
        if (schedule_) schedule_->on_batch_end(optimizer_);
        loss_sum += static_cast<double>(loss) * static_cast<double>(n);
        correct += batch_correct;
        seen += n;
        skips_in_a_row_ = 0;
      }
    }
    const Index batch = start / B + 1;
    if (!finite) nonfinite_batch(epoch, batch, batches, loss), ++skipped;  // throws unless skipping
    position_.batch = batch;
    position_.loss_sum = loss_sum, position_.correct = correct, position_.seen = seen, position_.skipped = skipped;
    position_.skips_in_a_row = skips_in_a_row_;
    position_.augment = augment_rng.state();
    if (hooks_.on_batch)
      hooks_.on_batch({epoch, batch, batches, start + n, total, seen ? loss_sum / static_cast<double>(seen) : 0.0});
    if (on_position_ && batch < batches) on_position_(position_);
    if (parallel ? stop : hooks_.should_stop && hooks_.should_stop())
      throw InterruptedError("interrupted during epoch " + std::to_string(epoch) + ", after batch " +
                                 std::to_string(batch) + " of " + std::to_string(batches),
                             epoch);
  }
  EvalResult r;
  r.samples = seen;
  r.skipped = skipped;
  if (seen) r.loss = loss_sum / static_cast<double>(seen), r.accuracy = static_cast<double>(correct) / static_cast<double>(seen);
  return r;
}

EvalResult Evaluator::evaluate(const Dataset& data, Index batch, const OutputsHook& on_outputs) {
  EvalResult r;
  if (data.rows == 0) return r;
  double loss_sum = 0;
  Index correct = 0;
  // Data-parallel without a hook: this process's slice of the rows, the sums combined below.
  const bool shard = comm_.size() > 1 && !on_outputs;
  const RowSlice mine = shard ? row_slice(data.rows, comm_.rank(), comm_.size()) : RowSlice{0, data.rows};
  for (Index start = mine.begin; start < mine.end; start += batch) {
    const Index n = std::min(batch, mine.end - start);
    idx_.resize(static_cast<std::size_t>(n));
    std::iota(idx_.begin(), idx_.end(), start);
    data.gather(idx_, x_, y_);
    const MatF& out = model_.forward(x_, /*training=*/false);
    loss_sum += static_cast<double>(loss_.forward(out, {y_, nullptr})) * static_cast<double>(n);
    correct += count_correct(out, y_);
    if (on_outputs) on_outputs(out, y_);
  }
  if (shard) {
    double sums[2] = {loss_sum, static_cast<double>(correct)};
    comm_.sum(sums);
    loss_sum = sums[0], correct = static_cast<Index>(sums[1]);
  }
  r.samples = data.rows;
  r.loss = loss_sum / static_cast<double>(data.rows);
  r.accuracy = static_cast<double>(correct) / static_cast<double>(data.rows);
  return r;
}

}  // namespace nnlab
