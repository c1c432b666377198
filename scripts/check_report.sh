#!/usr/bin/env bash
# Check an `nnlab compare` report: every table and plot it declares is in the page, the page is
# self-contained (no scripts, links, or URLs other than the SVG namespace), and headless Chromium
# (when installed) loads it and builds a DOM with the same tables and plots.
#
#   scripts/check_report.sh DIR/report.html [SCREENSHOT.png]
#
# report.html declares its content in <meta name="nnlab-tables"> and <meta name="nnlab-plots">.
# With a second argument, also saves a full-page screenshot (1200 px wide) to look at.
# Prints "report ok: ..." and exits 0, or names the problem and exits 1.
set -euo pipefail

html=${1:?usage: check_report.sh DIR/report.html [SCREENSHOT.png]}
shot=${2:-}
fail() { echo "check_report: $html: $*" >&2; exit 1; }
[ -f "$html" ] || fail "no such file"

count() { grep -o -- "$1" "$2" | wc -l | tr -d ' '; }
want_tables=$(grep -o '<meta name="nnlab-tables" content="[0-9]*">' "$html" | grep -o '[0-9][0-9]*' || true)
want_plots=$(grep -o '<meta name="nnlab-plots" content="[0-9]*">' "$html" | grep -o '[0-9][0-9]*' || true)
[ -n "$want_tables" ] && [ -n "$want_plots" ] || fail "missing the nnlab-tables / nnlab-plots meta tags"
tables=$(count '<table' "$html")
svgs=$(count '<svg' "$html")
closed=$(count '</svg>' "$html")
[ "$tables" = "$want_tables" ] || fail "declares $want_tables tables, has $tables"
[ "$svgs" = "$want_plots" ] && [ "$closed" = "$want_plots" ] || fail "declares $want_plots plots, has $svgs <svg> and $closed </svg>"

# Self-contained: nothing to fetch.
if grep -q -e '<script' -e 'src=' -e 'href=' -e '<link' -e '@import' -e 'url(' "$html"; then
  fail "refers to external resources or scripts"
fi
urls=$(count 'http' "$html")
ns=$(count 'xmlns="http://www.w3.org/2000/svg"' "$html")
[ "$urls" = "$ns" ] || fail "contains a URL other than the SVG namespace"

browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
  echo "chromium not found: render check skipped"
else
  profile=$(mktemp -d)
  trap 'rm -rf "$profile"' EXIT
  url="file://$(readlink -f "$html")"
  flags=(--headless --no-sandbox --disable-gpu --disable-background-networking --no-first-run
         --disable-component-update --disable-sync --user-data-dir="$profile")
  if ! timeout 180 "$browser" "${flags[@]}" --dump-dom "$url" > "$profile/dom.html" 2> "$profile/stderr.txt"; then
    cat "$profile/stderr.txt" >&2
    fail "chromium could not load the page"
  fi
  dom_tables=$(count '<table' "$profile/dom.html")
  dom_svgs=$(count '<svg' "$profile/dom.html")
  [ "$dom_tables" = "$want_tables" ] || fail "chromium's DOM has $dom_tables tables, expected $want_tables"
  [ "$dom_svgs" = "$want_plots" ] || fail "chromium's DOM has $dom_svgs plots, expected $want_plots"
  echo "chromium: DOM has $dom_tables tables and $dom_svgs plots"
  if [ -n "$shot" ]; then
    timeout 180 "$browser" "${flags[@]}" --hide-scrollbars --screenshot="$(readlink -f "$(dirname "$shot")")/$(basename "$shot")" \
      --window-size=1200,12000 "$url" > /dev/null 2>&1 || fail "chromium could not take a screenshot"
    [ -s "$shot" ] || fail "no screenshot written"
    echo "screenshot: $shot"
  fi
fi
echo "report ok: $tables tables, $svgs plots, self-contained"
