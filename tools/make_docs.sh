#!/usr/bin/env bash
# Regenerate everything under docs/img/ that nnlab measures or draws, and record the machine.
#
#   tools/make_docs.sh [path/to/nnlab] [--only plots|train|compare|explain] [--jobs N] [--experiments a,b]
#
#   1. plots    tools/make_docs_plots.sh: docs/img/activations/*.svg (docs/activations.md)
#   2. train    the README's default job and the "Does it train?" table of docs/activations.md:
#               configs/fashion_mlp.json with each tutorial activation, 10 epochs on all cores,
#               then each again for one epoch on one thread, twice (the table's timing), then
#               `nnlab bench configs/fashion_mlp.json` (bench.txt). Writes docs/img/train/summary.md
#               (the table), docs/img/train/<run>.csv (each run's metrics.csv) and notes.txt
#               (the learned parameters, and whether swish with beta 1 is SiLU bit for bit).
#   3. compare  the four shipped experiments, configs/compare_{quick,fashion,depth,softmax}.json,
#               with --jobs N (default 2; --experiments quick,depth runs only those). Copies each one's plots, summary.csv and summary.md into
#               docs/img/comparison/<name>/, with comparisons.csv and report.html (docs/comparison.md links
#               it; not for quick, whose report is one short `nnlab compare` away).
#   4. explain  `nnlab explain --html` of configs/explain_tiny.json (docs/backprop.md): the page
#               docs/img/explain/tiny.html, its two drawings as network.svg and units.svg, and
#               what the command printed, tiny.txt.
#
# Every step rewrites docs/img/MACHINE.md's section about it: the CPU (lscpu's model name), cores,
# memory, the date, the nnlab commit the binary was built from, the load average before and after,
# and the wall time of each experiment. The docs cite that file next to the timings they quote.
# The runs go to a scratch folder (removed at the end) and nothing else in the checkout is touched.
# Timings are only as good as the machine was idle: the load averages in MACHINE.md tell.
# All three steps: about 10 minutes on 2 cores (MACHINE.md has the last run's times).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
NNLAB=$ROOT/build/nnlab
only=""
jobs=2
experiments=quick,softmax,depth,fashion
while (($#)); do
  case "$1" in
    --only) only=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --experiments) experiments=$2; shift 2 ;;
    -*) echo "make_docs.sh: unknown option $1" >&2; exit 2 ;;
    *) NNLAB=$1; shift ;;
  esac
done
[ -x "$NNLAB" ] || { echo "make_docs.sh: no nnlab executable at '$NNLAB' (build first, or pass its path)" >&2; exit 1; }
NNLAB=$(cd "$(dirname "$NNLAB")" && pwd)/$(basename "$NNLAB")
case "$only" in "" | plots | train | compare | explain) ;; *) echo "make_docs.sh: --only plots, train, compare or explain" >&2; exit 2 ;; esac
want() { [ -z "$only" ] || [ "$only" = "$1" ]; }

IMG=$ROOT/docs/img
MACHINE=$IMG/MACHINE.md
# NNLAB_DOCS_WORK=DIR keeps the runs in DIR instead of a scratch folder: the sweeps are resumable,
# so running the script again after a change to the report code only rebuilds the reports.
if [ -n "${NNLAB_DOCS_WORK:-}" ]; then
  TMP=$NNLAB_DOCS_WORK
  mkdir -p "$TMP"
else
  TMP=$(mktemp -d)
  trap 'rm -rf "$TMP"' EXIT
fi
cd "$ROOT"   # the configs name their data and each other relative to the checkout

load() { cut -d' ' -f1-3 /proc/loadavg; }
seconds_since() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }

# ---- MACHINE.md: one section per step, the others kept -------------------------------------------
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD -- core layers activations optim datasets apps cmake CMakeLists.txt 2>/dev/null ||
  commit="$commit + uncommitted source changes"
machine_line() {
  echo "CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores ($(lscpu | sed -n 's/^Thread(s) per core: *//p') thread(s) per core);" \
       "memory $(free -g | awk '/^Mem:/ {print $2}') GiB; $(date -u '+%Y-%m-%d %H:%M UTC'); nnlab $commit, $($NNLAB --version)"
}
# section NAME FILE: replace the section "## NAME" of MACHINE.md with the text in FILE.
section() {
  [ -f "$MACHINE" ] || printf '# Where the figures and timings of the docs were made\n\nWritten by `tools/make_docs.sh`; each section by the step that made those files.\n' > "$MACHINE"
  awk -v name="## $1" -v file="$2" '
    function emit() { while ((getline l < file) > 0) print l; close(file); done = 1 }
    $0 == name { emit(); skip = 1; next }
    skip && /^## / { skip = 0 }
    !skip { print }
    END { if (!done) { print ""; emit() } }' "$MACHINE" > "$TMP/machine" && mv "$TMP/machine" "$MACHINE"
}

# ---- 1. activation plots -------------------------------------------------------------------------
if want plots; then
  l0=$(load) t0=$(date +%s.%N)
  "$ROOT/tools/make_docs_plots.sh" "$NNLAB"
  { echo "## plots"; echo
    echo "docs/img/activations/: \`tools/make_docs_plots.sh\` (drawing only; no timing is quoted from it)."
    echo "$(machine_line); $(seconds_since "$t0") s; load average $l0 before."; } > "$TMP/s"
  section plots "$TMP/s"
fi

# ---- 2. the default job and the activations table ------------------------------------------------
if want train; then
  OUT=$IMG/train
  rm -rf "$OUT" && mkdir -p "$OUT"
  l0=$(load) t0=$(date +%s.%N)
  # name|--set arguments
  runs=(
    "sigmoid|model.activation=sigmoid" "tanh|model.activation=tanh" "relu|model.activation=relu"
    "leaky_relu|model.activation=leaky_relu" "elu|model.activation=elu" "prelu|model.activation=prelu"
    "swish|model.activation=swish" "silu|model.activation=silu" "squareplus|model.activation=squareplus"
    "smu|model.activation=smu" "smu1|model.activation=smu1" "softmax|model.activation=softmax"
    "swish-learnable|model.activation=swish model.activation.learnable=true"
    "squareplus-b0.2|model.activation=squareplus model.activation.b=0.2"
    "leaky_relu-0.25|model.activation=leaky_relu model.activation.negative_slope=0.25"
  )
  sets() { local a; for a in $1; do printf -- '--set\n%s\n' "$a"; done; }
  for entry in "${runs[@]}"; do
    name=${entry%%|*}
    mapfile -t args < <(sets "${entry#*|}")
    echo "train: $name"
    "$NNLAB" train configs/fashion_mlp.json "${args[@]}" --out "$TMP/train/$name" > "$TMP/$name.log" 2>&1
    cp "$TMP/train/$name/metrics.csv" "$OUT/$name.csv"
  done
  l1=$(load)
  # Timing: the plain activations for 1 epoch on 1 thread, twice each, back to back.
  for entry in "${runs[@]}"; do
    name=${entry%%|*}
    [[ $name == *-* ]] && continue
    mapfile -t args < <(sets "${entry#*|}")
    for k in 1 2; do
      "$NNLAB" train configs/fashion_mlp.json "${args[@]}" --set train.epochs=1 --set train.threads=1 \
        --out "$TMP/one/$name-$k" > /dev/null 2>&1
    done
  done
  l2=$(load)
  # The README's speed: nnlab bench on the default job (both cores).
  "$NNLAB" bench configs/fashion_mlp.json > "$OUT/bench.txt" 2>&1
  l3=$(load)
  # The table: final and best test accuracy, final losses, median s/epoch, best 1-thread epoch.
  {
    echo "| run | final test acc | best test acc (epoch) | final train loss | final test loss | s/epoch, 1 thread (best of 2) |"
    echo "|---|---:|---:|---:|---:|---:|"
    for entry in "${runs[@]}"; do
      name=${entry%%|*}
      one="—"
      if [ -d "$TMP/one/$name-1" ]; then
        one=$(for k in 1 2; do awk -F, 'NR == 2 { print $6 }' "$TMP/one/$name-$k/metrics.csv"; done | sort -g | head -1)
        one=$(printf '%.2f' "$one")
      fi
      awk -F, -v name="$name" -v one="$one" '
        NR == 1 { next }
        { n++; acc[n] = $5; sec[n] = $6; if ($5 > best) { best = $5; at = $1 }; tl = $2; vl = $4 }
        END { printf "| `%s` | %.2f%% | %.2f%% (%d) | %.4f | %.4f | %s |\n", name, 100 * acc[n], 100 * best, at, tl, vl, one }
      ' "$OUT/$name.csv"
    done
  } > "$OUT/summary.md"
  cat "$OUT/summary.md"
  # What docs/activations.md says about the learned parameters and about swish = SiLU.
  {
    echo "Learned parameters after 10 epochs (tools/read_safetensors.py: name dtype shape count sum first-values):"
    for name in prelu swish-learnable smu smu1; do
      if command -v python3 > /dev/null; then
        python3 tools/read_safetensors.py "$TMP/train/$name/model.safetensors" | awk -v r="$name" '$4 <= 4 && !/^meta/ { print r ": " $0 }'
      fi
    done
    same_metrics=no same_weights=no
    cmp -s <(cut -d, -f1-5,7- "$OUT/swish.csv") <(cut -d, -f1-5,7- "$OUT/silu.csv") && same_metrics=yes
    python3 - "$TMP/train/swish/model.safetensors" "$TMP/train/silu/model.safetensors" <<'EOF' 2> /dev/null && same_weights=yes
import sys
sys.path.insert(0, "tools")
from read_safetensors import read
sys.exit(read(sys.argv[1])[0] != read(sys.argv[2])[0])
EOF
    echo "swish (beta 1) and silu: identical metrics apart from seconds: $same_metrics; identical weights (every tensor): $same_weights"
  } > "$OUT/notes.txt"
  cat "$OUT/notes.txt"
  relu_acc=$(awk -F, 'END { printf "%.4f", $5 }' "$OUT/relu.csv")
  { echo "## train"; echo
    echo "docs/img/train/: \`configs/fashion_mlp.json\` with each activation (\`--set model.activation=...\`), 10 epochs, \`threads: 0\` (all cores), then 1 epoch with \`train.threads=1\`, twice."
    echo "$(machine_line); $(seconds_since "$t0") s in all."
    echo "Load average (1, 5, 15 min): $l0 before the 10-epoch runs, $l1 after them and before the 1-thread timing runs, $l2 after those; $l3 after \`nnlab bench configs/fashion_mlp.json\` (bench.txt)."
    echo "The README's default job (relu): final test accuracy $relu_acc after 10 epochs."; } > "$TMP/s"
  section train "$TMP/s"
fi

# ---- 3. the comparison experiments ---------------------------------------------------------------
if want compare; then
  # Rows of experiments not rerun this time are kept (each row says when and where it ran).
  old_rows=$TMP/rows
  awk '/^## compare$/ { p = 1; next } p && /^## / { p = 0 } p && /^\| compare_/' "$MACHINE" 2> /dev/null > "$old_rows" || true
  rows=$TMP/new_rows
  : > "$rows"
  for name in ${experiments//,/ }; do
    OUT=$IMG/comparison/$name
    l0=$(load)
    echo "compare: $name"
    # From a scratch folder with configs/ linked in, so the messages in summary.md name the run
    # folders as a reader who ran the documented command would see them (runs/compare_<name>/...).
    mkdir -p "$TMP/work" && ln -sfn "$ROOT/configs" "$TMP/work/configs"
    # Exit status 3 (every run finished, some diverged) is a result: the report lists them.
    (cd "$TMP/work" && TIMEFORMAT='%R %U %S' && time { "$NNLAB" compare "configs/compare_$name.json" \
      --out "runs/compare_$name" --jobs "$jobs" > "$TMP/compare_$name.log" 2>&1 || [ $? -eq 3 ]; }) 2> "$TMP/time_$name"
    read -r wall user sys < "$TMP/time_$name"
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", u + s }')
    wall=$(printf '%.1f' "$wall") l1=$(load)
    rm -rf "$OUT" && mkdir -p "$OUT"
    res=$TMP/work/runs/compare_$name
    cp "$res"/plots/*.svg "$res/summary.csv" "$res/summary.md" "$res/comparisons.csv" "$OUT/"
    [ "$name" = quick ] || cp "$res/report.html" "$OUT/"  # quick's is one command away
    nruns=$(ls -d "$res"/runs/*/ | wc -l)
    echo "| compare_$name | $nruns | $wall s | $cpu s | $jobs | $l0 | $l1 | $(date -u '+%Y-%m-%d %H:%M') | $commit |" >> "$rows"
    echo "  $wall s wall, $cpu s CPU"
  done
  { echo "## compare"; echo
    echo "docs/img/comparison/: \`build/nnlab compare configs/compare_<name>.json --jobs N\`; wall time of the whole command (process start and data loading included), the CPU time (user + system) of it and its runs, and the load average (1, 5, 15 min) before and after. On a busy machine the wall time grows and the CPU time much less: with the 2 cores to itself, the wall time is a little over CPU time / 2."
    echo "$(machine_line)"; echo
    echo "| experiment | runs | wall time | CPU time | --jobs | load average before | after | date (UTC) | nnlab |"
    echo "|---|---:|---:|---:|---:|---|---|---|---|"
    for name in quick softmax depth fashion; do
      grep "^| compare_$name |" "$rows" || grep "^| compare_$name |" "$old_rows" || true
    done; } > "$TMP/s"
  section compare "$TMP/s"
fi

echo "wrote $MACHINE:"
cat "$MACHINE"

# ---- 4. one training step, drawn -----------------------------------------------------------------
if want explain; then
  OUT=$IMG/explain
  rm -rf "$OUT" && mkdir -p "$OUT"
  t0=$(date +%s.%N)
  "$NNLAB" explain configs/explain_tiny.json --html "$OUT/tiny.html" | sed "s|$OUT/||" > "$OUT/tiny.txt"
  # The page's drawings as files of their own, in the page's order: the layer graph, the unit graph.
  awk -v out="$OUT" '/<svg/ { n++; f = out "/" (n == 1 ? "network" : "units") ".svg" }
                     f { print > f } /<\/svg>/ { f = "" }' "$OUT/tiny.html"
  { echo "## explain"; echo
    echo "docs/img/explain/: \`nnlab explain configs/explain_tiny.json --html\` (drawing only; no timing is quoted from it)."
    echo "$(machine_line); $(seconds_since "$t0") s."; } > "$TMP/s"
  section explain "$TMP/s"
fi
