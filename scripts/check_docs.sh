#!/usr/bin/env bash
# The docs check: what README.md and docs/*.md tell a reader to do works, and what they quote is
# what nnlab says.
#
#   scripts/check_docs.sh [path/to/nnlab]        (default: build/nnlab; CTest runs it as docs_check)
#
# 1. Links. Every relative link and image in README.md and docs/*.md ([text](path), src="...",
#    href="...", outside code) names a file or folder that exists, and every #anchor names a heading
#    of the target page (GitHub's anchors: lower case, punctuation dropped, spaces to hyphens).
#    PENDING below lists files that are linked before they are committed (written on another
#    branch); a link to one of them is reported, not failed, and the check fails once the file
#    exists and is still listed, so the list cannot go stale.
# 2. Marked code blocks (cut out by scripts/doc_blocks.sh). A block is checked when the line before
#    its opening ``` fence (blank lines aside) is one of these HTML comments, which GitHub does not show:
#
#      <!-- check: run -->       the block is a shell script: it must exit 0
#      <!-- check: run; first: CMD -->
#                                the same, after running CMD (e.g. the run an eval example needs)
#      <!-- check: error -->     the block holds "$ command" lines, each followed by lines it
#      <!-- check: error 3 -->   prints: the command must exit 1 (or the status given) and print
#                                every one of those lines, word for word, on stdout or stderr (a
#                                line "..." stands for lines left out)
#      <!-- check: output -->    "$ command" lines, each followed by its whole stdout, word for word
#      <!-- check: none: WHY --> not checked, and why (e.g. "the batch depends on when Ctrl-C comes")
#      <!-- tutorial: ... -->    not checked here: docs/tutorial.md's steps change the source tree,
#                                and scripts/test_tutorial.sh replays them in a copy of it
#
#    A marker that is not followed by a fence is an error, and so is any unmarked block that quotes
#    an "nnlab: error:" line, so a quoted message cannot escape the check by accident. In expected
#    lines a log line's leading timestamp, [2026-11-27 04:01:11.411], matches any timestamp.
#
# Commands run from a scratch copy of the checkout (its folders are symbolic links to the real
# ones, except that docs/fixtures is copied and runs/ is empty), so runs write nothing into the
# checkout, and `build/nnlab` there is the nnlab under test. All blocks of all pages run in that one
# folder, in order (README.md first), so a page can use the run an earlier block made. In `run`
# blocks (only there) every `nnlab train` that is not --resume gets
#   --set train.epochs=1 --set data.limit_train=2000 --set data.limit_test=1000
# appended, so the examples train on 2000 images for one epoch; error and output blocks run the
# command exactly as written. The check needs Fashion-MNIST (the default data set of the examples):
# without /usr/share/datasets/fashion-mnist (or with NNLAB_TEST_FASHION_MNIST pointing at a missing
# folder) it checks the links only and exits with 77, which CTest reports as skipped.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/doc_blocks.sh"
NNLAB=${1:-$ROOT/build/nnlab}
[ -x "$NNLAB" ] || { echo "check_docs: no nnlab executable at '$NNLAB' (build first, or pass its path)" >&2; exit 1; }
NNLAB=$(cd "$(dirname "$NNLAB")" && pwd)/$(basename "$NNLAB")
FASHION=/usr/share/datasets/fashion-mnist
[ -n "${NNLAB_TEST_FASHION_MNIST:-}" ] && FASHION=$NNLAB_TEST_FASHION_MNIST

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nnlab-docs-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$ROOT"
PAGES=(README.md docs/*.md)
PENDING=()   # e.g. (docs/new_page.md): linked files another branch adds
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# ---- 1. links -----------------------------------------------------------------------------------

# Every link target of a page, as "line<TAB>target", outside fenced blocks and inline code.
links() {
  awk '
    /^[ \t]*```/ { fenced = !fenced; next }
    fenced { next }
    {
      line = $0
      gsub(/`[^`]*`/, "", line)
      while (match(line, /\]\([^) ]+( "[^"]*")?\)/)) {
        t = substr(line, RSTART + 2, RLENGTH - 3); sub(/ ".*/, "", t)
        print NR "\t" t; line = substr(line, RSTART + RLENGTH)
      }
      while (match(line, /(src|href)="[^"]+"/)) {
        t = substr(line, RSTART, RLENGTH); sub(/^[a-z]+="/, "", t); sub(/"$/, "", t)
        print NR "\t" t; line = substr(line, RSTART + RLENGTH)
      }
    }' "$1"
}

# The anchors of a page's headings, one per line, as GitHub makes them.
anchors() {
  awk '
    /^[ \t]*```/ { fenced = !fenced; next }
    fenced || !/^#+ / { next }
    {
      h = $0; sub(/^#+ +/, "", h); sub(/ +#+ *$/, "", h)
      while (match(h, /\[[^]]*\]\([^)]*\)/)) {            # [text](url) -> text
        t = substr(h, RSTART + 1, RLENGTH); sub(/\]\(.*/, "", t)
        h = substr(h, 1, RSTART - 1) t substr(h, RSTART + RLENGTH)
      }
      h = tolower(h)
      gsub(/—|–|×|→|←|’|‘|“|”|…|·|≤|≥|±|√/, "", h)      # punctuation and symbols outside ASCII
      gsub(/[!-,.\/:-@[-^`{-~]/, "", h)                  # ASCII punctuation except - and _
      gsub(/ /, "-", h)
      n = seen[h]++
      print (n ? h "-" n : h)
    }' "$1"
}

nlinks=0 nexternal=0 nanchors=0 npending=0
for p in "${PENDING[@]}"; do
  [ -e "$p" ] && fail "scripts/check_docs.sh: $p exists now: remove it from PENDING"
done
is_pending() { local p; for p in "${PENDING[@]}"; do [ "$1" = "$p" ] && return 0; done; return 1; }
for page in "${PAGES[@]}"; do
  dir=$(dirname "$page")
  while IFS=$'\t' read -r line target; do
    case "$target" in
      http://* | https://* | mailto:*) nexternal=$((nexternal + 1)); continue ;;
    esac
    path=${target%%#*}
    anchor=""
    [ "$path" != "$target" ] && anchor=${target#*#}
    file=$page
    if [ -n "$path" ]; then
      file=$dir/$path
      if [ ! -e "$file" ] && is_pending "$(realpath -m --relative-to=. "$file")"; then
        echo "pending: $page:$line: link to '$target' (a file another branch adds)"; npending=$((npending + 1)); continue
      fi
      if [ ! -e "$file" ]; then fail "$page:$line: link to '$target': no such file ($file)"; continue; fi
    fi
    nlinks=$((nlinks + 1))
    if [ -n "$anchor" ]; then
      case "$file" in
        *.md)
          if anchors "$file" | grep -Fxq -- "$anchor"; then nanchors=$((nanchors + 1))
          else fail "$page:$line: link to '$target': $file has no heading with the anchor #$anchor"; fi ;;
      esac
    fi
  done < <(links "$page")
done
echo "links: $nlinks relative links resolve ($nanchors with a checked #anchor); $npending to pending files; $nexternal external links not followed"

if [ ! -e "$FASHION/train-images-idx3-ubyte.gz" ] && [ ! -e "$FASHION/train-images-idx3-ubyte" ]; then
  [ "$failures" -gt 0 ] && { echo "docs check: $failures failures"; exit 1; }
  echo "skipped: Fashion-MNIST not found at $FASHION (install dataset-fashion-mnist); only the links were checked"
  exit 77
fi

# ---- 2. marked code blocks ----------------------------------------------------------------------

# Cut every page into its marked blocks: $WORK/blocks/NNN holds the block, NNN.meta
# "kind<TAB>page:line<TAB>options". Unmarked blocks that quote an nnlab error, and markers with no
# block after them, are reported on stdout as "problem<TAB>page:line<TAB>what".
doc_blocks check "$WORK/blocks" "${PAGES[@]}" > "$WORK/problems"
while IFS=$'\t' read -r _ where what; do fail "$where: $what"; done < "$WORK/problems"

# The scratch checkout.
RUN=$WORK/checkout
mkdir -p "$RUN/build" "$RUN/docs" "$RUN/runs"
for entry in "$ROOT"/*; do
  name=$(basename "$entry")
  case "$name" in build* | runs | docs) ;; *) ln -s "$entry" "$RUN/$name" ;; esac
done
for entry in "$ROOT"/docs/*; do
  [ "$(basename "$entry")" = fixtures ] || ln -s "$entry" "$RUN/docs/"
done
cp -R "$ROOT/docs/fixtures" "$RUN/docs/fixtures"
cat > "$RUN/build/nnlab" <<EOF
#!/bin/sh
# scripts/check_docs.sh: the nnlab under test; in run blocks, nnlab train trains briefly
if [ -n "\${NNLAB_DOCS_SHORT:-}" ] && [ "\$1" = train ]; then
  case " \$* " in
    *" --resume "*) ;;
    *) exec "$NNLAB" "\$@" --set train.epochs=1 --set data.limit_train=2000 --set data.limit_test=1000 ;;
  esac
fi
exec "$NNLAB" "\$@"
EOF
chmod +x "$RUN/build/nnlab"

nrun=0 nerror=0 noutput=0 nmessages=0
for meta in "$WORK"/blocks/*.meta; do
  [ -e "$meta" ] || break
  block=${meta%.meta}
  IFS=$'\t' read -r kind where opts < "$meta"
  case "$kind" in
    run)
      nrun=$((nrun + 1))
      script=$block
      if [[ "$opts" == first:* ]]; then
        { echo "${opts#first: }"; cat "$block"; } > "$block.sh"; script=$block.sh
      fi
      if ! (cd "$RUN" && NNLAB_DOCS_SHORT=1 timeout 600 bash -e -o pipefail -x "$script") > "$block.log" 2>&1; then
        fail "$where: the runnable block failed; its last output lines:"
        tail -n 15 "$block.log" | sed 's/^/    /'
      fi ;;
    error | output)
      [ "$kind" = error ] && nerror=$((nerror + 1)) || noutput=$((noutput + 1))
      want_status=1
      [[ "$opts" =~ ^[0-9]+$ ]] && want_status=$opts
      split_commands "$block" "$WORK/cmd" "$([ "$kind" = output ] && echo 1)"
      for cmd in "$WORK"/cmd/[0-9][0-9][0-9]; do
        [ -e "$cmd" ] || { fail "$where: a check: $kind block without a \"\$ command\" line"; break; }
        command=$(cat "$cmd")
        (cd "$RUN" && timeout 300 bash -c "$command") > "$cmd.stdout" 2> "$cmd.stderr"
        status=$?
        if [ "$kind" = error ]; then
          nmessages=$((nmessages + $(grep -cvx '\.\.\.' "$cmd.expect")))
          [ "$status" -eq "$want_status" ] || fail "$where: \$ $command: exit status $status, expected $want_status"
          cat "$cmd.stdout" "$cmd.stderr" > "$cmd.actual"
          while IFS= read -r line; do
            fail "$where: \$ $command"
            echo "    expected: $line"
            grep -v '\[info\]' "$cmd.stderr" | tail -n 5 | sed 's/^/    stderr:   /'
          done < <(missing_lines "$cmd.expect" "$cmd.actual")
        else
          # Trailing blank lines (the block's and nnlab's) are not compared.
          sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$cmd.expect" > "$cmd.want"
          sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$cmd.stdout" > "$cmd.got"
          if [ "$status" -ne 0 ] || ! diff -u "$cmd.want" "$cmd.got" > "$cmd.diff"; then
            fail "$where: \$ $command: exit status $status, output differs from the block (- block, + nnlab):"
            head -n 20 "$cmd.diff" | sed 's/^/    /'
          fi
        fi
      done ;;
    *) fail "$where: unknown marker \"check: $kind\"" ;;
  esac
done

echo "blocks: $nrun runnable blocks run; $nerror error blocks ($nmessages quoted lines) and $noutput output blocks compared word for word"
if [ "$failures" -gt 0 ]; then
  echo "docs check: $failures failures"
  exit 1
fi
echo "docs check: ok"
