#!/bin/sh
# Golden tests: each case is a net file under diag/ (checked with `netc --check`: the
# expected diagnostics and exit code) or ir/ (`netc --dump-ir`: the expected IR).
# The expectation sits at the end of the case file, after a line `#=== expect`, each line
# prefixed by `# `; binary or empty cases keep it in a sidecar CASE.expected instead. A line
# `#=== args ARGS` in a case gives netc more arguments (-D NAME=VALUE).
#   run.sh NETC [--update] [CASE...]   --update rewrites the expectations for review in git diff
set -u
netc=$(realpath "$1"); shift
update=0
[ "${1:-}" = "--update" ] && { update=1; shift; }
cd "$(dirname "$0")" || exit 2
cases=${*:-$(ls diag/* ir/* | grep -v '\.expected$')}
pass=0; fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# inc/ holds files the cases include ("../inc/blocks.net"); they are not cases
mkdir -p "$tmp/in" && cp -r inc "$tmp/in/"
for c in $cases; do
  case $c in diag/*) mode=--check ;; *) mode=--dump-ir ;; esac
  # netc reads the case without its expectation block, under the same relative name
  mkdir -p "$tmp/in/$(dirname "$c")"
  if [ -f "$c.expected" ]; then cp "$c" "$tmp/in/$c"; else sed '/^#=== expect$/,$d' "$c" > "$tmp/in/$c"; fi
  # a line `#=== args ...` in the case adds netc arguments (-D NAME=VALUE)
  extra=$(sed -n 's/^#=== args //p' "$c" | head -1)
  (cd "$tmp/in" && "$netc" $mode $extra "$c") > "$tmp/out" 2>&1
  echo "exit $?" >> "$tmp/out"
  if [ -f "$c.expected" ]; then
    if [ $update = 1 ]; then cp "$tmp/out" "$c.expected"; fi
    cp "$c.expected" "$tmp/want"
  else
    if [ $update = 1 ]; then
      { cat "$tmp/in/$c"; echo '#=== expect'; sed 's/^/# /' "$tmp/out"; } > "$c"
    fi
    sed -n '/^#=== expect$/,$p' "$c" | sed '1d; s/^# //; s/^#$//' > "$tmp/want"
  fi
  # a line `#=== same-ir-as FILE`: the case's IR must also be FILE's (a hand-unrolled net)
  same=$(sed -n 's/^#=== same-ir-as //p' "$c" | head -1)
  if [ -n "$same" ]; then
    "$netc" --dump-ir $extra "$same" > "$tmp/same" 2>&1
    (cd "$tmp/in" && "$netc" --dump-ir $extra "$c") > "$tmp/case.ir" 2>&1
    if ! cmp -s "$tmp/same" "$tmp/case.ir"; then
      echo "FAIL $c: its IR is not $same's"; diff -u "$tmp/same" "$tmp/case.ir" | head -20
      fail=$((fail + 1)); continue
    fi
  fi
  sed 's/[[:space:]]*$//' "$tmp/want" > "$tmp/want2"; sed 's/[[:space:]]*$//' "$tmp/out" > "$tmp/out2"
  if cmp -s "$tmp/want2" "$tmp/out2"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $c"; diff -u "$tmp/want2" "$tmp/out2" | head -40
  fi
done
echo "golden: $pass passed, $fail failed"
[ $fail = 0 ]
