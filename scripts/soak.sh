#!/usr/bin/env bash
# Soak test of nnlab train (not part of the default suite): hundreds of epochs on a tiny synthetic
# set with a checkpoint every epoch (and every 20 steps inside epochs), sampling the process while
# it runs: resident memory (VmRSS), open file descriptors, epochs done. Memory and descriptors must
# stay flat and the wall time per epoch constant (metrics are appended, not rewritten).
#
#   scripts/soak.sh [EPOCHS (400)] [NNLAB (build/nnlab)] [OUT (a fresh temporary directory)]
#
# Prints a table of samples (every ~10% of the epochs) and a summary; exits 1 if RSS grows by more
# than 20%, descriptors by more than 2, or the CPU time per epoch (user + system, which the
# machine's other load and fsync latency do not inflate as they do wall time) of the last third
# of the run is more than 1.5x that of the first third.
set -euo pipefail

epochs=${1:-400}
nnlab=${2:-build/nnlab}
out=${3:-$(mktemp -d /tmp/nnlab-soak.XXXXXX)}
[[ -x $nnlab ]] || { echo "soak: $nnlab is not an executable (build first: cmake --build build -j2)" >&2; exit 2; }
mkdir -p "$out"
config=$out/soak.json
cat >"$config" <<JSON
{
  "model": {"hidden": [32, 32], "activation": "tanh", "dropout": 0.1},
  "data": {"dataset": "spirals", "samples": 600, "validation_split": 0.2},
  "optimizer": {"type": "adam", "lr": 0.003},
  "schedule": {"type": "cosine", "interval": "step"},
  "train": {"epochs": $epochs, "batch_size": 16, "seed": 3, "threads": 1, "checkpoint_every": "20 steps"},
  "output": {"dir": "$out/run"}
}
JSON

"$nnlab" train "$config" >"$out/train.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT

rows() { [[ -f $out/run/metrics.csv ]] && echo $(( $(wc -l <"$out/run/metrics.csv") - 1 )) || echo 0; }
now() { date +%s.%N; }
samples=$out/samples.csv
echo "seconds,epochs,rss_kib,fds,cpu_ticks" >"$samples"
start=$(now)
step=$(( epochs / 10 > 0 ? epochs / 10 : 1 ))
next=0
while kill -0 $pid 2>/dev/null; do
  e=$(rows)
  if (( e >= next )); then
    rss=$(awk '/^VmRSS:/ {print $2}' /proc/$pid/status 2>/dev/null || echo 0)
    fds=$(ls /proc/$pid/fd 2>/dev/null | wc -l)
    cpu=$(awk '{print $14 + $15}' /proc/$pid/stat 2>/dev/null || echo 0)
    [[ -n $rss ]] && echo "$(echo "$(now) - $start" | bc),$e,$rss,$fds,$cpu" >>"$samples"
    next=$(( e + step ))
  fi
  sleep 0.05
done
trap - EXIT
wait $pid || { echo "soak: nnlab train failed:" >&2; tail -3 "$out/train.log" >&2; exit 1; }

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
echo "epochs: $epochs; checkpoint every epoch and every 20 steps; run in $out/run"
column -s, -t "$samples"
python3 - "$samples" "$out/run/metrics.csv" <<'PY'
import csv, sys
s = list(csv.DictReader(open(sys.argv[1])))
m = list(csv.DictReader(open(sys.argv[2])))
n = len(m)
rss = [int(r["rss_kib"]) for r in s if int(r["epochs"]) > 0]
fds = [int(r["fds"]) for r in s if int(r["epochs"]) > 0]
# Wall time per epoch over tenths of the run, from the samples (training, evaluation and all writes).
hz = 100  # USER_HZ: /proc/<pid>/stat counts clock ticks
pts = [(float(r["seconds"]), int(r["epochs"]), int(r["cpu_ticks"])) for r in s]
rates = []  # (to epoch, wall ms per epoch, cpu ms per epoch) over each interval
for (t0, e0, c0), (t1, e1, c1) in zip(pts, pts[1:]):
    if e1 > e0: rates.append((e1, (t1 - t0) / (e1 - e0) * 1000, (c1 - c0) / hz / (e1 - e0) * 1000))
train_ms = [float(r["seconds"]) * 1000 for r in m]
print(f"RSS: first {rss[0]} KiB, last {rss[-1]} KiB, max {max(rss)} KiB")
print(f"open fds: min {min(fds)}, max {max(fds)}")
print("wall ms per epoch by interval: " + ", ".join(f"{w:.1f}" for _, w, _ in rates))
print("cpu ms per epoch by interval:  " + ", ".join(f"{c:.2f}" for _, _, c in rates))
third = max(len(rates) // 3, 1)
cpu_first = sum(c for _, _, c in rates[:third]) / third
cpu_last = sum(c for _, _, c in rates[-third:]) / third
print(f"cpu ms per epoch: first third {cpu_first:.2f}, last third {cpu_last:.2f}; "
      f"training pass (metrics.csv seconds, wall) median {sorted(train_ms)[n // 2]:.2f} ms")
bad = []
if rss[-1] > 1.2 * rss[0]: bad.append("RSS grew by more than 20%")
if max(fds) > min(fds) + 2: bad.append("open descriptors grew")
if cpu_last > 1.5 * cpu_first: bad.append("epochs got slower (CPU time)")
print("soak: " + ("FAILED: " + "; ".join(bad) if bad else "flat memory and descriptors, constant epoch time"))
sys.exit(1 if bad else 0)
PY
