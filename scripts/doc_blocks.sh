# The marked code blocks of the docs, shared by scripts/check_docs.sh (markers "<!-- check: ... -->")
# and scripts/test_tutorial.sh (markers "<!-- tutorial: ... -->"). Sourced, not run.
#
# A block is marked when the line before its opening ``` fence (blank lines aside) is an HTML
# comment "<!-- PREFIX: KIND[; OPTIONS] -->", which GitHub does not show.

# doc_blocks PREFIX OUT PAGE...: cut the pages into their blocks marked "<!-- PREFIX: ... -->":
# OUT/NNN holds the block, OUT/NNN.meta "kind<TAB>page:line<TAB>options", numbered in page order
# across calls (OUT/count). A block marked with the other prefix ("check" or "tutorial") is skipped.
# Prints problems as "problem<TAB>page:line<TAB>what": a marker not followed by a block, a block
# that quotes an "nnlab: error:" line without any marker, and "check: none" blocks are skipped.
doc_blocks() {
  local prefix=$1 out=$2 page
  shift 2
  mkdir -p "$out"
  for page in "$@"; do
    awk -v page="$page" -v out="$out" -v prefix="$prefix" '
      function flush_marker() { if (marker != "") print "problem\t" page ":" marker_line "\tthe marker \"" marker "\" is not followed by a code block"; marker = "" }
      BEGIN { n = 0; while ((getline f < (out "/count")) > 0) n = f; close(out "/count") }
      !fenced && /^[ \t]*<!-- (check|tutorial): .*-->[ \t]*$/ {
        flush_marker(); marker = $0; sub(/^[ \t]*<!-- /, "", marker); sub(/ *-->[ \t]*$/, "", marker); marker_line = NR; next
      }
      !fenced && /^[ \t]*```/ {
        fenced = 1; start = NR; body = ""; kind = ""; marked = marker != ""
        if (index(marker, prefix ": ") == 1) kind = substr(marker, length(prefix) + 3)
        marker = ""
        next
      }
      fenced && /^[ \t]*```[ \t]*$/ {
        fenced = 0
        if (!marked && body ~ /(^|\n)nnlab: error: /)
          print "problem\t" page ":" start "\tthis block quotes an nnlab error but has no <!-- check: ... --> marker"
        if (kind != "" && kind !~ /^none/) {
          file = sprintf("%s/%03d", out, ++n)
          printf "%s", body > file; close(file)
          k = kind; opts = ""
          if (match(k, /^[a-z]+/)) { opts = substr(k, RLENGTH + 1); k = substr(k, 1, RLENGTH) }
          sub(/^[;,]? */, "", opts)
          print k "\t" page ":" start "\t" opts > (file ".meta"); close(file ".meta")
        }
        next
      }
      fenced { body = body $0 "\n"; next }
      /[^ \t]/ { flush_marker() }
      END { flush_marker(); print n > (out "/count") }
    ' "$page"
  done
}

# Log lines start with a timestamp; expected and actual lines are compared without it.
untime() { sed -E 's/^\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]+\] /[TIME] /'; }

# Numbers printed with 8 or more significant digits (finite differences, sums: their last digits
# depend on the CPU's vector width, which sets the order of a vectorised sum) are compared to 6.
round_long_numbers() {
  perl -pe 's{(?<![\w.])(-?)(\d+\.\d+|\d+)(e[-+]\d+)?(?![\w.])}{my ($s,$m,$e)=($1,$2,$3//""); (my $d=$m)=~s/^0*\.?0*//; $d=~s/\.//; length($d)>=8 ? sprintf("%s%.6g",$s,"$m$e") : "$s$m$e"}ge'
}

# squeeze_spaces: runs of blanks as one space. A table's columns are padded to their widths, so a
# number whose last digit a rounding dropped moves the columns after it (0.0557463161 printed as
# 0.055746316 by %.9g); comparing words, not alignment, keeps that from failing a replay.
squeeze_spaces() { tr -s ' \t' ' '; }

# split_commands BLOCK DIR [KEEP_BLANK]: a block of "$ command" lines into DIR/NNN (the command)
# and DIR/NNN.expect (the lines shown after it; blank ones only with KEEP_BLANK).
split_commands() {
  rm -rf "$2" && mkdir -p "$2"
  awk -v out="$2" '
    /^\$ / { f = sprintf("%s/%03d", out, ++n); print substr($0, 3) > f; close(f); e = f ".expect"; printf "" > e; next }
    n && (keep_blank || /[^ \t]/) { print > e }
  ' keep_blank="${3:-}" "$1"
}

# missing_lines EXPECT ACTUAL: print every line of EXPECT ("..." lines aside) that is not a whole
# line of ACTUAL, timestamps aside; prints nothing when all are there.
missing_lines() {
  local line expected
  untime < "$2" | round_long_numbers | squeeze_spaces > "$2.untimed"
  while IFS= read -r line; do
    [ "$line" = "..." ] && continue
    expected=$(printf '%s\n' "$line" | untime | round_long_numbers | squeeze_spaces)
    grep -Fxq -- "$expected" "$2.untimed" || printf '%s\n' "$line"
  done < "$1"
}
