#!/usr/bin/env bash
# Replay docs/tutorial.md on a fresh copy of the tree: scaffold ISRU with `nnlab new`, build it,
# write its derivative wrong, read the checker's diagnosis, fix it, test it, train with it and
# compare it with ReLU, exactly as the page says, and check that what the page shows is what the
# program prints. The checkout is not touched. CI runs it (.ci/run); it is a second build of nnlab.
#
#   scripts/test_tutorial.sh [--keep DIR]     (--keep: work in DIR and leave it there)
#
# The page's steps are its code blocks marked (scripts/doc_blocks.sh) with
#
#   <!-- tutorial: write PATH -->   the block is the new content of PATH (relative to the tree)
#   <!-- tutorial: patch -->        the block is a unified diff, applied with patch -p1
#   <!-- tutorial: run -->          "$ command" lines, each run from the tree's root with bash and
#                                   followed by lines it must print, word for word, on stdout or
#                                   stderr ("..." stands for lines left out; log timestamps match
#                                   any timestamp); it must exit 0
#   options, after a ";":  exit N (the status expected instead of 0); needs torch (skipped, and said,
#   without /usr/bin/python3 and PyTorch); not compared: WHY (only the exit status is checked:
#   the lines hold numbers that depend on the CPU, the page says which)
#
# Exits 0 when every step ran as shown, 1 naming the first step that did not, 77 (skipped) without
# Fashion-MNIST, which the training steps need.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/doc_blocks.sh"
PAGE=docs/tutorial.md
keep=""
[ "${1:-}" = --keep ] && keep=${2:?--keep DIR}

FASHION=${NNLAB_TEST_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
if [ ! -e "$FASHION/train-images-idx3-ubyte.gz" ] && [ ! -e "$FASHION/train-images-idx3-ubyte" ]; then
  echo "skipped: Fashion-MNIST not found at $FASHION (install dataset-fashion-mnist); the tutorial trains on it"
  exit 77
fi
have_torch=0
/usr/bin/python3 -c 'import torch' 2> /dev/null && have_torch=1

if [ -n "$keep" ]; then
  WORK=$keep
  rm -rf "$WORK" && mkdir -p "$WORK"
else
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
fi
tree=$WORK/tree
mkdir -p "$tree"
# The checkout as it is, uncommitted edits and new files included (not what .gitignore ignores).
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done | xargs -0 cp --parents -t "$tree")
doc_blocks tutorial "$WORK/blocks" "$tree/$PAGE" > "$WORK/problems"
if [ -s "$WORK/problems" ]; then
  cut -f2- "$WORK/problems" | sed 's/^/test_tutorial: /' >&2
  exit 1
fi

# The reader's starting point: the README's quick start has built nnlab (Release, as setup.sh).
echo "test_tutorial: building nnlab in a copy of the tree ($tree)"
launcher=()
command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$tree" -B "$tree/build" -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" > "$WORK/configure.log"
cmake --build "$tree/build" -j"$(nproc)" --target nnlab > "$WORK/build.log"

steps=0 skipped=0
for meta in "$WORK"/blocks/*.meta; do
  [ -e "$meta" ] || { echo "test_tutorial: $PAGE has no <!-- tutorial: ... --> steps" >&2; exit 1; }
  block=${meta%.meta}
  IFS=$'\t' read -r kind where opts < "$meta"
  where=${where#"$tree/"}
  steps=$((steps + 1))
  case "$kind" in
    write)
      path=${opts%% *}
      [ -n "$path" ] || { echo "test_tutorial: $where: 'write' names no file" >&2; exit 1; }
      mkdir -p "$(dirname "$tree/$path")"
      cp "$block" "$tree/$path"
      echo "test_tutorial: $where: wrote $path" ;;
    patch)
      (cd "$tree" && patch -p1 --forward --quiet < "$block") || { echo "test_tutorial: $where: the patch does not apply" >&2; exit 1; }
      echo "test_tutorial: $where: applied the patch" ;;
    run)
      want=0
      [[ "$opts" =~ exit\ ([0-9]+) ]] && want=${BASH_REMATCH[1]}
      if [[ "$opts" == *"needs torch"* ]] && ((!have_torch)); then
        echo "test_tutorial: $where: SKIPPED (needs /usr/bin/python3 with PyTorch: scripts/setup.sh --tools)"
        skipped=$((skipped + 1))
        continue
      fi
      compare=1
      [[ "$opts" == *"not compared"* ]] && compare=0
      split_commands "$block" "$WORK/cmd"
      for cmd in "$WORK"/cmd/[0-9][0-9][0-9]; do
        [ -e "$cmd" ] || { echo "test_tutorial: $where: a run block without a \"\$ command\" line" >&2; exit 1; }
        command=$(cat "$cmd")
        echo "test_tutorial: $where: \$ $command"
        status=0
        (cd "$tree" && timeout 1800 bash -c "$command") > "$cmd.stdout" 2> "$cmd.stderr" || status=$?
        cat "$cmd.stdout" "$cmd.stderr" > "$cmd.actual"
        if [ "$status" -ne "$want" ]; then
          echo "test_tutorial: $where: \$ $command: exit status $status, expected $want; its last lines:" >&2
          tail -n 15 "$cmd.actual" | sed 's/^/    /' >&2
          exit 1
        fi
        if ((compare)); then
          missing_lines "$cmd.expect" "$cmd.actual" > "$cmd.missing"
          if [ -s "$cmd.missing" ]; then
            echo "test_tutorial: $where: \$ $command: printed differently from the page; not printed:" >&2
            sed 's/^/    /' "$cmd.missing" >&2
            echo "  it printed (last lines):" >&2
            tail -n 15 "$cmd.actual" | sed 's/^/    /' >&2
            exit 1
          fi
        fi
      done ;;
    *) echo "test_tutorial: $where: unknown step \"tutorial: $kind\"" >&2; exit 1 ;;
  esac
done
echo "test_tutorial: $PAGE replayed: $steps steps, $skipped skipped (see above)"
