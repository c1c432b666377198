// nnlab train CONFIG [--set key=value ...] [--out DIR]
#include <spdlog/spdlog.h>

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdint>
#include <filesystem>

#include "apps/cli/command.hpp"
#include "apps/cli/progress.hpp"
#include "core/io/safetensors.hpp"
#include "core/parallel.hpp"
#include "core/run/diagnostics.hpp"
#include "core/run/run.hpp"
#include "core/run/spec.hpp"
#include "core/run/summary.hpp"

namespace nnlab::app {
namespace {

// Set by SIGINT/SIGTERM; the training loop checks it after every batch, so the batch in progress
// is finished and the run stops with a checkpoint (exit status 128 + signal).
//
// One request can arrive as several signals: coreutils timeout sends its signal to the process
// and then to the whole process group, and a terminal sends Ctrl-C to every process of the
// foreground group. Every copy within kSameRequest of the first is that same request. Only a
// signal later than that (Ctrl-C pressed again) stops at once: it says so, then takes the default
// action. Files are written atomically, so even then none is left half-written.
std::atomic<int> g_stop_signal{0};
std::atomic<std::int64_t> g_first_signal_ns{0};
constexpr std::int64_t kSameRequest = 1'000'000'000;  // 1 s
static_assert(std::atomic<std::int64_t>::is_always_lock_free, "used in a signal handler");

std::int64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);  // async-signal-safe
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

extern "C" void request_stop(int sig) {
  const std::int64_t now = monotonic_ns();
  int none = 0;
  if (g_stop_signal.compare_exchange_strong(none, sig)) {
    g_first_signal_ns.store(now);
    return;
  }
  if (now - g_first_signal_ns.load() < kSameRequest) return;  // a copy of the first request
  static const char msg[] =
      "\nnnlab: error: stopped at once by a second signal: this point is not saved (the last checkpoint, if any, is "
      "kept)\n";
  [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = request_stop;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // a read or write in progress is resumed, not failed with EINTR
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

std::string signal_name(int sig) { return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "signal " + std::to_string(sig); }

// What is on disk to resume from, for a run stopped in `epoch`: "the checkpoint of epoch 3 is kept
// in DIR/checkpoint.safetensors", or "the checkpoint at batch 120 of epoch 4 ..." when the last one
// was written inside the epoch (train.checkpoint_every). Read from the checkpoint itself.
bool has_checkpoint(const std::string& dir, int epoch, std::string* what = nullptr) {
  const auto path = std::filesystem::path(dir) / "checkpoint.safetensors";
  if (!std::filesystem::exists(path)) return false;
  long long done = -1, batch = 0;
  try {
    const auto meta = load_safetensors_metadata(path);
    done = std::stoll(meta.at("nnlab.epoch"));
    if (auto it = meta.find("nnlab.batch"); it != meta.end()) batch = std::stoll(it->second);
  } catch (const std::exception&) {
    done = epoch - 1, batch = 0;  // unreadable here: resume will say why
  }
  if (done >= epoch || (done == 0 && batch == 0)) return false;  // not this run's
  if (what)
    *what = (batch > 0 ? "the checkpoint at batch " + std::to_string(batch) + " of epoch " + std::to_string(done + 1)
                       : "the checkpoint of epoch " + std::to_string(done)) +
            " is kept in " + path.string();
  return true;
}

std::string kept_checkpoint(const std::string& dir, int epoch) {
  std::string what;
  if (!has_checkpoint(dir, epoch, &what)) return "no epoch was completed, so there is no checkpoint to resume from";
  return what;
}

struct TrainArgs {
  std::string config;
  std::string resume;
  std::vector<std::string> overrides;
  std::string out;
  bool diagnostics = false;
};

void run_train(const TrainArgs& a) {
  install_stop_handlers();  // first: a signal during the config and data loading is a request too
  require_utf8("config", a.config);
  require_utf8("--out", a.out);
  require_utf8("--resume", a.resume);
  std::string config = a.config;
  if (config.empty()) {
    if (a.resume.empty()) throw ConfigError("train: give a CONFIG file (or --resume DIR)");
    config = (std::filesystem::path(a.resume) / "config.json").string();
    if (!std::filesystem::is_directory(a.resume))
      throw Error("--resume " + a.resume + ": no such directory (give the --out directory of an earlier nnlab train)");
    if (!std::filesystem::exists(config))
      throw Error("--resume " + a.resume + ": no config.json in it, so it is not the directory of an nnlab train run");
  }
  RunSpec spec = load_config(config, a.overrides);
  std::string out = a.out.empty() ? a.resume : a.out;
  if (!a.resume.empty() && !a.out.empty() && std::filesystem::path(a.out) != std::filesystem::path(a.resume))
    throw ConfigError("train: --resume DIR and --out DIR name different directories");
  if (!out.empty()) spec.output.dir = out;
  const std::string& dir = spec.output.dir;
  const TrainSpec& train = spec.train;
  ProgressBar bar;
  RunCallbacks cb;
  cb.on_start = [&](const RunData& data, Model<float>& model) {
    if (a.diagnostics) start_diagnostics(model);
    spdlog::info("data: {} train, {} validation, {} test samples, {} features, {} classes", data.train.rows,
                 data.validation.rows, data.test.rows, data.train.features, data.train.classes);
    spdlog::info("model: {} ({} parameters)", model.summary(), model.parameter_count());
    // The table of layers, with the config key of each (the spec bound to this data, as built).
    const ModelSpec bound = spec.model.bind(data.train.sample_shape(), data.train.classes, spec.data.dataset());
    const std::string table = model_summary(model, bound.layers);
    for (std::size_t begin = 0, end; (end = table.find('\n', begin)) != std::string::npos; begin = end + 1)
      spdlog::info("{}", table.substr(begin, end - begin));
    if (const std::string w = threads_warning(train.threads); !w.empty()) spdlog::warn("train.{}", w);
    spdlog::info("optimizer: {}; {} epochs, batch {}, seed {}, threads {}", spec.optimizer.to_json().dump(), train.epochs,
                 train.batch_size, train.seed, set_threads(train.threads));
    spdlog::info("writing to {}", dir);
  };
  cb.loop.on_batch = [&](const BatchProgress& p) {
    if (job().rank() == 0) bar.update("epoch " + std::to_string(p.epoch) + "/" + std::to_string(train.epochs), p.done, p.total, p.running_loss);
  };
  if (a.diagnostics)
    cb.on_epoch_end = [&](EpochMetrics& m, Model<float>& model, const RunData& data) {
      add_diagnostics(m, model, data, train.loss);
    };
  cb.on_epoch = [&](const EpochMetrics& m) {
    bar.clear();
    if (m.validation.samples)
      spdlog::info("epoch {:>3}  train loss {:.4f} acc {:.4f}  val loss {:.4f} acc {:.4f}  test loss {:.4f} acc {:.4f}  {:.2f}s",
                   m.epoch, m.train.loss, m.train.accuracy, m.validation.loss, m.validation.accuracy, m.test.loss,
                   m.test.accuracy, m.seconds);
    else
      spdlog::info("epoch {:>3}  train loss {:.4f} acc {:.4f}  test loss {:.4f} acc {:.4f}  {:.2f}s", m.epoch, m.train.loss,
                   m.train.accuracy, m.test.loss, m.test.accuracy, m.seconds);
  };
  cb.loop.should_stop = [] { return g_stop_signal.load() != 0; };
  cb.loop.on_skip = [&](const std::string& what) {
    bar.clear();
    spdlog::warn("{}", what);
  };
  cb.on_early_stop = [&](int epoch, int best_epoch, double best) {
    spdlog::info("early stopping at epoch {}: {} has not improved since epoch {} ({:.4f})", epoch, train.monitor,
                 best_epoch, best);
  };
  std::vector<EpochMetrics> history;
  try {
    // A stop signal writes a checkpoint at the batch where training stopped (checkpoint_on_interrupt).
    history = run_training(spec, cb, {.resume = !a.resume.empty(), .comm = &job()});
  } catch (const InterruptedError& e) {
    bar.clear();
    const int sig = g_stop_signal.load();
    std::string msg = std::string(e.what());  // "interrupted during epoch 4, after batch 17 of 469"
    msg.insert(std::string("interrupted").size(), sig ? " by " + signal_name(sig) : std::string(" by another rank's stop request"));
    // "...; the checkpoint at that batch is saved in DIR/checkpoint.safetensors" when one was
    // written there; else what is on disk from before.
    if (msg.find(" is saved in ") == std::string::npos) msg += "; " + kept_checkpoint(dir, e.epoch);
    const std::string launch = job().size() > 1 ? "mpirun -np " + std::to_string(job().size()) + " " : "";
    msg += has_checkpoint(dir, e.epoch) ? "; continue with: " + launch + "nnlab train --resume " + dir : "; start it again to train";
    // In a job, every rank stopped after the same batch (its signal, or another rank's).
    Error stopped(msg, 128 + (sig ? sig : SIGTERM));
    stopped.agreed = true;
    throw stopped;
  } catch (const DivergedError& e) {
    bar.clear();
    DivergedError diverged(std::string(e.what()) + "; " + kept_checkpoint(dir, e.epoch) +
                               " (no model.safetensors is written for a diverged run)",
                           e.epoch);
    diverged.agreed = true;  // a job's ranks see the same loss and weights
    throw diverged;
  }
  if (history.empty()) {
    spdlog::info("nothing to do: the run in {} has completed its {} epochs", dir, train.epochs);
    return;
  }
  double best = 0;
  int best_epoch = 0;
  for (const auto& m : history)
    if (m.test.accuracy > best) best = m.test.accuracy, best_epoch = m.epoch;
  spdlog::info("done: final test acc {:.4f}, best {:.4f} at epoch {}; wrote config.json, metrics.csv, model.safetensors",
               history.back().test.accuracy, best, best_epoch);
}

void setup(CLI::App& sub) {
  auto a = std::make_shared<TrainArgs>();
  sub.add_option("config", a->config, "JSON config file (default with --resume: DIR/config.json)");
  sub.add_option("--resume", a->resume, "continue the run in DIR from its checkpoint (an epoch's end, or the batch where it was stopped)");
  sub.add_option("--set", a->overrides, "override a config value, e.g. --set train.epochs=3 (repeatable)");
  sub.add_option("--out", a->out, "output directory (default: the config's output.dir)");
  sub.add_flag("--diagnostics", a->diagnostics,
               "record per-layer diagnostics (gradient norms, dead/saturated units, activation statistics) in metrics.csv");
  sub.footer(
      "On several processes (data-parallel, docs/distributed.md): mpirun -np K nnlab train CONFIG --set train.threads=T\n"
      "  every rank holds the model and trains 1/K of each batch; the gradients are summed over the ranks each step.\n"
      "  Cluster: mpirun --hostfile HOSTS --map-by ppr:1:node (or ppr:1:socket) --bind-to none -np K ...,\n"
      "  T threads per rank (the cores of a node or socket), output directory on a filesystem every node sees\n"
      "  (only rank 0 writes; every rank reads the checkpoint on --resume, which needs the same K).\n"
      "  Under Slurm: srun -n K --mpi=pmix nnlab train CONFIG.");
  sub.callback([a] { run_train(*a); });
}

}  // namespace

NNLAB_COMMAND("train", "train a model from a JSON config", setup);

}  // namespace nnlab::app
