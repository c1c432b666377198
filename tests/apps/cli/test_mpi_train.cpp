// Data-parallel training over MPI (core/run/loop.hpp, core/mpi), as PyTorch tests DDP: the same
// global batches trained by `mpirun -np K nnlab train` and by one process give the same parameters
// (the summation order of the gradients is the only difference), K ranks twice give identical
// files, and faults (a killed rank, Ctrl-C to mpirun) stop every rank and leave a checkpoint from
// which --resume continues the same run bit-identically. Needs nnlab built with MPI and mpirun
// (resource "mpi"); the tests run mpirun as root through OpenMPI's variables, not the product.
#include <doctest/doctest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "core/io/safetensors.hpp"
#include "support/resources.hpp"
#include "support/run_binary.hpp"
#include "support/sweep.hpp"
#include "support/text.hpp"

using namespace nnlab;
using namespace nnlab::test;
using json = nlohmann::json;

namespace {

const std::vector<std::string> kMpiEnv = {"OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1",
                                          "OMPI_MCA_rmaps_base_oversubscribe=1"};

std::vector<std::string> mpirun_argv(int ranks, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {resource_location("mpi").string(), "--oversubscribe", "-np", std::to_string(ranks),
                                   NNLAB_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

ProcessResult mpirun(int ranks, const std::vector<std::string>& args, const fs::path& scratch) {
  return run_program(mpirun_argv(ranks, args), scratch, kMpiEnv);
}

// The default MLP (configs/fashion_mlp.json), one thread per process.
std::vector<std::string> train_args(const fs::path& out, const std::vector<std::string>& sets) {
  std::vector<std::string> args = {"train", std::string(NNLAB_SOURCE_DIR) + "/configs/fashion_mlp.json", "--out", out.string(),
                                   "--set", "train.threads=1", "--set",
                                   "data.path=" + resource_location("fashion-mnist").string()};
  for (const auto& s : sets) args.insert(args.end(), {"--set", s});
  return args;
}

// The largest of max|a − b| / max|a| over the tensors of two weight files.
double relative_difference(const fs::path& a, const fs::path& b) {
  const TensorFile fa = load_safetensors(a), fb = load_safetensors(b);
  REQUIRE(fa.tensors.size() == fb.tensors.size());
  double worst = 0;
  for (const auto& [name, ta] : fa.tensors) {
    REQUIRE(fb.tensors.count(name));
    const auto& tb = fb.tensors.at(name);
    REQUIRE(ta.data.size() == tb.data.size());
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < ta.data.size(); ++i) {
      diff = std::max(diff, std::abs(static_cast<double>(ta.data[i]) - tb.data[i]));
      scale = std::max(scale, std::abs(static_cast<double>(ta.data[i])));
    }
    worst = std::max(worst, scale > 0 ? diff / scale : diff);
  }
  return worst;
}

// The newest nnlab process (not mpirun) whose command line holds `needle`, from /proc (like
// pgrep -n -f, which a minimal machine may lack); 0 if none.
int newest_rank_process(const std::string& needle) {
  int newest = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = slurp(entry.path() / "cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(needle) == std::string::npos || cmdline.find("mpirun") != std::string::npos) continue;
    if (cmdline.rfind(NNLAB_BINARY, 0) != 0) continue;
    newest = std::max(newest, std::stoi(name));
  }
  return newest;
}

// The nnlab process (not mpirun) of rank `rank` whose command line holds `needle` (its environment
// says OMPI_COMM_WORLD_RANK); 0 if none.
int rank_process(const std::string& needle, int rank) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = slurp(entry.path() / "cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.rfind(NNLAB_BINARY, 0) != 0 || cmdline.find(needle) == std::string::npos) continue;
    std::string env = slurp(entry.path() / "environ");
    std::replace(env.begin(), env.end(), '\0', '\n');
    if (("\n" + env).find("\nOMPI_COMM_WORLD_RANK=" + std::to_string(rank) + "\n") != std::string::npos) return std::stoi(name);
  }
  return 0;
}

// `mpirun -np 2 nnlab train` into dir/name, in the background, returned once its first epoch's
// metrics are written (the job is then inside epoch 2).
Process start_after_first_epoch(const fs::path& dir, const std::string& name, const std::vector<std::string>& sets) {
  Process job(mpirun_argv(2, train_args(dir / name, sets)), dir, kMpiEnv);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(dir / name / "metrics.csv") && std::chrono::steady_clock::now() < deadline && !job.exited())
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(fs::exists(dir / name / "metrics.csv"));
  return job;
}

}  // namespace

TEST_CASE("mpi: each of the first 5 steps on 2, 3 and 4 ranks equals the step of one process") {
  TempDir dir("mpi-steps");
  // One step per epoch (the first 128 images, batch 128): after `steps` epochs, `steps` steps.
  for (int steps = 1; steps <= 5; ++steps) {
    CAPTURE(steps);
    const std::vector<std::string> sets = {"data.limit_train=128", "data.limit_test=100", "train.epochs=" + std::to_string(steps)};
    const fs::path one = dir / ("one-" + std::to_string(steps));
    const ProcessResult r1 = run_nnlab(train_args(one, sets), dir.path);
    REQUIRE_MESSAGE(r1.status == 0, r1.err);
    for (int ranks : steps == 5 ? std::vector<int>{2, 3, 4} : std::vector<int>{2}) {
      CAPTURE(ranks);
      const fs::path many = dir / ("np" + std::to_string(ranks) + "-" + std::to_string(steps));
      const ProcessResult rk = mpirun(ranks, train_args(many, sets), dir.path);
      REQUIRE_MESSAGE(rk.status == 0, rk.output());
      const double d = relative_difference(one / "model.safetensors", many / "model.safetensors");
      MESSAGE(steps << " steps, " << ranks << " ranks: max relative difference " << d);
      CHECK(d <= 1e-6);
    }
  }
}

TEST_CASE("mpi: one epoch on 2 ranks trains like one process; 2 ranks twice are bit-identical") {
  TempDir dir("mpi-epoch");
  const std::vector<std::string> sets = {"train.epochs=1"};
  REQUIRE(run_nnlab(train_args(dir / "one", sets), dir.path).status == 0);
  for (const char* name : {"a", "b"}) {
    const ProcessResult r = mpirun(2, train_args(dir / name, sets), dir.path);
    REQUIRE_MESSAGE(r.status == 0, r.output());
  }
  CHECK(slurp(dir / "a/model.safetensors") == slurp(dir / "b/model.safetensors"));
  // Only rank 0 wrote: one row per epoch in the metrics (after the header).
  const auto rows_a = lines_of(slurp(dir / "a/metrics.csv")), rows_one = lines_of(slurp(dir / "one/metrics.csv"));
  REQUIRE(rows_a.size() == 2);
  REQUIRE(rows_one.size() == 2);
  // The weights after 469 steps are not comparable element by element: the 1e-7 differences of the
  // first steps (above) grow through SGD's dynamics, as they would between any two summation orders.
  // What must agree is how well it trained: the epoch's loss and accuracies.
  auto field = [](const std::string& row, int i) {
    std::size_t at = 0;
    for (int k = 0; k < i; ++k) at = row.find(',', at) + 1;
    return std::stod(row.substr(at, row.find(',', at) - at));
  };
  const double d = relative_difference(dir / "one/model.safetensors", dir / "a/model.safetensors");
  MESSAGE("one epoch (469 steps), 2 ranks against one process: train loss " << field(rows_a[1], 1) << " / "
          << field(rows_one[1], 1) << ", test acc " << field(rows_a[1], 4) << " / " << field(rows_one[1], 4)
          << ", weights' max relative difference " << d);
  CHECK(std::abs(field(rows_a[1], 1) - field(rows_one[1], 1)) < 0.01);  // train loss
  CHECK(std::abs(field(rows_a[1], 2) - field(rows_one[1], 2)) < 0.01);  // train accuracy
  CHECK(std::abs(field(rows_a[1], 4) - field(rows_one[1], 4)) < 0.015); // test accuracy
}

TEST_CASE("mpi: Dropout and BatchNorm on 2 ranks: twice bit-identical, per-rank statistics saved from rank 0") {
  TempDir dir("mpi-dropout");
  const std::string cfg = (dir / "c.json").string();
  std::ofstream(cfg) << R"({"model": {"layers": [{"type": "dense", "out_features": 64}, "batchnorm", "relu",
      {"type": "dropout", "p": 0.3}, {"type": "dense", "out_features": 10}]},
      "data": {"dataset": "fashion-mnist", "path": ")" << resource_location("fashion-mnist").string() << R"(",
               "limit_train": 2048, "limit_test": 500},
      "optimizer": {"type": "adam", "lr": 0.001}, "train": {"epochs": 2, "batch_size": 128, "seed": 3, "threads": 1}})";
  for (const char* name : {"a", "b"}) {
    const ProcessResult r = mpirun(2, {"train", cfg, "--out", (dir / name).string()}, dir.path);
    REQUIRE_MESSAGE(r.status == 0, r.output());
  }
  CHECK(slurp(dir / "a/model.safetensors") == slurp(dir / "b/model.safetensors"));
  REQUIRE(run_nnlab({"train", cfg, "--out", (dir / "one").string()}, dir.path).status == 0);
  // Per-rank Dropout masks and BatchNorm statistics: a different (valid) run than one process's.
  CHECK(slurp(dir / "a/model.safetensors") != slurp(dir / "one/model.safetensors"));
}

TEST_CASE("mpi: a rank killed mid-epoch stops the job within 10 s; --resume ends with the uninterrupted weights") {
  TempDir dir("mpi-kill");
  const std::vector<std::string> sets = {"train.epochs=4", "data.limit_test=1000"};
  REQUIRE(mpirun(2, train_args(dir / "whole", sets), dir.path).status == 0);

  // After the first epoch's checkpoint, kill one rank (not rank 0: mpirun must notice).
  Process job = start_after_first_epoch(dir.path, "killed", sets);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const int victim = newest_rank_process("--out " + (dir / "killed").string());
  REQUIRE_MESSAGE(victim > 0, "no rank process found");
  ::kill(victim, SIGKILL);
  const auto killed_at = std::chrono::steady_clock::now();
  while (!job.exited() && std::chrono::steady_clock::now() - killed_at < std::chrono::seconds(30))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  const ProcessResult r = job.wait();
  MESSAGE("the job ended " << seconds << " s after a rank was killed: " << r.output());
  CHECK(seconds < 10);
  CHECK(r.status != 0);
  CHECK(r.output().find("rank") != std::string::npos);
  CHECK(r.output().find("signal 9") != std::string::npos);

  const ProcessResult resumed = mpirun(2, {"train", "--resume", (dir / "killed").string()}, dir.path);
  REQUIRE_MESSAGE(resumed.status == 0, resumed.output());
  CHECK(slurp(dir / "killed/model.safetensors") == slurp(dir / "whole/model.safetensors"));
}

TEST_CASE("mpi: Ctrl-C to mpirun stops every rank after the same batch, and --resume continues bit-identically") {
  TempDir dir("mpi-interrupt");
  const std::vector<std::string> sets = {"train.epochs=6", "data.limit_test=1000"};
  REQUIRE(mpirun(2, train_args(dir / "whole", sets), dir.path).status == 0);
  Process job = start_after_first_epoch(dir.path, "stopped", sets);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  job.kill(SIGINT);
  const ProcessResult r = job.wait();
  MESSAGE("mpirun after SIGINT: status " << r.status << ", " << r.output());
  CHECK(r.status != 0);
  CHECK_MESSAGE(r.err.find("after batch") != std::string::npos, r.output());
  CHECK_MESSAGE(r.err.find("mpirun -np 2 nnlab train --resume") != std::string::npos, r.output());
  // Only rank 0 reports (the other rank stopped after the same batch, in silence).
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') >= 1);
  const ProcessResult resumed = mpirun(2, {"train", "--resume", (dir / "stopped").string()}, dir.path);
  REQUIRE_MESSAGE(resumed.status == 0, resumed.output());
  CHECK(slurp(dir / "stopped/model.safetensors") == slurp(dir / "whole/model.safetensors"));

  // A different number of processes cannot continue it, and says with how many it can.
  const ProcessResult wrong = run_nnlab({"train", "--resume", (dir / "stopped").string(), "--set", "train.epochs=4"}, dir.path);
  CHECK(wrong.status == 1);
  CHECK_MESSAGE(wrong.err.find("written by a run of 2 processes (mpirun -np 2), but this one has one process") !=
                    std::string::npos,
                wrong.err);
  const ProcessResult three = mpirun(3, {"train", "--resume", (dir / "stopped").string(), "--set", "train.epochs=7"}, dir.path);
  CHECK(three.status == 1);
  CHECK_MESSAGE(three.err.find("but this one has 3 processes (mpirun -np 3); resume it with 2 processes") != std::string::npos,
                three.err);
  CHECK(three.err.find("rank 1 of 3") == std::string::npos);  // agreed: said once
}

TEST_CASE("mpi: nnlab compare over 2 ranks gives the single-process runs.csv, each run once, on both ranks") {
  TempDir dir("mpi-compare");
  const report::Experiment e = make_experiment(dir.path, kTwoByTwo);
  const report::Plan plan = report::expand(e);
  const std::string exp = (dir.path / "exp.json").string();
  const ProcessResult one = run_nnlab({"compare", exp, "--out", (dir / "one").string(), "--jobs", "1", "--threads", "1"}, dir.path);
  REQUIRE_MESSAGE(one.status == 0, one.output());
  const ProcessResult two = mpirun(2, {"compare", exp, "--out", (dir / "two").string(), "--threads", "1"}, dir.path);
  REQUIRE_MESSAGE(two.status == 0, two.output());
  CHECK(without_timing(slurp(dir / "two/runs.csv")) == without_timing(slurp(dir / "one/runs.csv")));
  // The hand-out is said by rank 0, every run once, and both ranks had runs.
  for (const auto& r : plan.runs) CHECK(count_of(two.output(), r.id + ": started on rank ") == 1);
  CHECK(two.output().find("started on rank 0") != std::string::npos);
  CHECK(two.output().find("started on rank 1") != std::string::npos);
  const json last = json::parse(slurp(dir / "two/last_sweep.json"));
  CHECK(last["started"] == 4);
  CHECK(last["ok"] == 4);
  CHECK(fs::exists(dir / "two/report.html"));
  // A run is not a rank: nothing in its log says it joined the job.
  for (const auto& r : plan.runs) CHECK(slurp(report::run_directory(dir / "two", r) / "log.txt").find("rank") == std::string::npos);
  // Run again: nothing left to do, on either rank.
  const ProcessResult again = mpirun(2, {"compare", exp, "--out", (dir / "two").string(), "--threads", "1"}, dir.path);
  REQUIRE_MESSAGE(again.status == 0, again.output());
  CHECK(again.output().find("4 of 4 runs already finished (skipped)") != std::string::npos);
  CHECK(again.output().find("started on rank") == std::string::npos);
}

TEST_CASE("mpi: a bad experiment under mpirun is refused once, by rank 0, nothing written") {
  TempDir dir("mpi-compare-bad");
  write_text(dir.path / "base.json", kBase);
  write_text(dir.path / "exp.json", R"({"base": "base.json", "activations": ["relu", "relux"], "seeds": [1]})");
  const ProcessResult r = mpirun(2, {"compare", (dir.path / "exp.json").string(), "--out", (dir / "out").string()}, dir.path);
  CHECK(r.status == 1);
  CHECK_MESSAGE(count_of(r.err, "nnlab: error: ") == 1, r.err);
  CHECK(r.err.find("relux") != std::string::npos);
  CHECK(r.err.find("rank 1 of 2") == std::string::npos);
  CHECK_FALSE(fs::exists(dir / "out"));
}

TEST_CASE("mpi: a rank killed during nnlab compare stops the job; the rerun redoes only the lost runs") {
  TempDir dir("mpi-compare-kill");
  const report::Experiment e = make_experiment(dir.path, R"({
    "base": "base.json",
    "set": {"train.epochs": 40, "data.samples": 300},
    "activations": ["relu", "tanh", "elu"],
    "seeds": [1, 2]
  })");
  const report::Plan plan = report::expand(e);
  const std::string exp = (dir.path / "exp.json").string();
  const fs::path out = dir / "out";
  const ProcessResult ref = run_nnlab({"compare", exp, "--out", (dir / "ref").string(), "--jobs", "2", "--threads", "1"}, dir.path);
  REQUIRE_MESSAGE(ref.status == 0, ref.output());
  Process job(mpirun_argv(2, {"compare", exp, "--out", out.string(), "--threads", "1"}), dir.path, kMpiEnv);
  auto count_done = [&] {
    int n = 0;
    for (const auto& r : plan.runs) n += fs::exists(report::run_directory(out, r) / "done.json");
    return n;
  };
  // Once a run has finished and others are under way, SIGKILL the rank-1 process.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  int victim = 0;
  while (std::chrono::steady_clock::now() < deadline && !victim) {
    if (count_done() >= 1 && count_done() < static_cast<int>(plan.runs.size()) - 2) victim = rank_process("compare", 1);
    if (!victim) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(victim > 0);
  ::kill(victim, SIGKILL);
  const auto killed_at = std::chrono::steady_clock::now();
  const ProcessResult r = job.wait();
  CHECK(r.status != 0);
  CHECK(std::chrono::steady_clock::now() - killed_at < std::chrono::seconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // orphaned runs get SIGKILL (PDEATHSIG)
  const int finished = count_done();
  MESSAGE("rank 1 killed with " << finished << " of " << plan.runs.size() << " runs finished; mpirun: status "
                                << r.status << ", " << r.err.substr(0, 400));
  CHECK(finished < static_cast<int>(plan.runs.size()));
  const ProcessResult rerun = mpirun(2, {"compare", exp, "--out", out.string(), "--threads", "1"}, dir.path);
  REQUIRE_MESSAGE(rerun.status == 0, rerun.output());
  const json last = json::parse(slurp(out / "last_sweep.json"));
  CHECK(last["skipped"] == finished);
  CHECK(last["started"] == static_cast<int>(plan.runs.size()) - finished);
  CHECK(without_timing(slurp(out / "runs.csv")) == without_timing(slurp(dir / "ref/runs.csv")));
}

TEST_CASE("mpi: bad launches are refused by every rank alike: different configs per rank, a batch smaller than the job") {
  TempDir dir("mpi-bad-launch");
  // MPMD: rank 0 and rank 1 given different seeds.
  std::vector<std::string> argv = {resource_location("mpi").string(), "--oversubscribe", "-np", "1", NNLAB_BINARY};
  const auto rank0 = train_args(dir / "run", {"data.limit_train=256", "train.seed=1"});
  const auto rank1 = train_args(dir / "run", {"data.limit_train=256", "train.seed=2"});
  argv.insert(argv.end(), rank0.begin(), rank0.end());
  argv.insert(argv.end(), {":", "-np", "1", NNLAB_BINARY});
  argv.insert(argv.end(), rank1.begin(), rank1.end());
  const ProcessResult differ = run_program(argv, dir.path, kMpiEnv);
  CHECK(differ.status == 1);
  CHECK_MESSAGE(differ.err.find("the 2 processes of this job were not given the same run") != std::string::npos, differ.err);
  CHECK_FALSE(fs::exists(dir / "run/model.safetensors"));

  const ProcessResult small = mpirun(3, train_args(dir / "small", {"data.limit_train=256", "train.batch_size=2"}), dir.path);
  CHECK(small.status == 1);
  CHECK_MESSAGE(small.err.find("train.batch_size is 2 but the job has 3 processes") != std::string::npos, small.err);
  CHECK(small.err.find("rank 1 of 3") == std::string::npos);  // agreed: said once
}
