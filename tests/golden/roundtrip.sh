#!/bin/sh
# Conversion round trip: for every net in nets/, every IR golden case and the random nets of
# tests/runtime/fixtures/random, `netc --to yaml`, then `netc --to net` on that output, must
# give the same `--dump-ir` as the original, and keep its params, repeats, templates and
# includes (converted, not expanded); and the files meant for include (tests/golden/inc),
# converted there and back, give the cases that include them the same IR.
#   roundtrip.sh NETC [FILE...]
set -u
netc=$(realpath "$1"); shift
here=$(cd "$(dirname "$0")" && pwd)
files=${*:-$(ls "$here"/../../nets/*.net "$here"/../../nets/*.yaml "$here"/ir/* \
  "$here"/../runtime/fixtures/random/*.net)}
pass=0; fail=0
top=$(mktemp -d); trap 'rm -rf "$top"' EXIT
# the cases sit in case/, beside inc/ (what they include as "../inc/...")
cp -r "$here/inc" "$top/inc"; tmp=$top/case; mkdir "$tmp"
for f in $files; do
  name=$(basename "$f")
  ok=1
  # a golden case without its expectation block (which may hold bytes YAML reads as breaks)
  sed '/^#=== expect$/,$d' "$f" > "$tmp/$name"
  "$netc" --dump-ir "$tmp/$name" > "$tmp/want" 2> "$tmp/err" || ok=0
  "$netc" --to yaml "$tmp/$name" > "$tmp/$name.yaml" 2>> "$tmp/err" || ok=0
  "$netc" --to net "$tmp/$name.yaml" > "$tmp/$name.net" 2>> "$tmp/err" || ok=0
  "$netc" --dump-ir "$tmp/$name.net" > "$tmp/got" 2>> "$tmp/err" || ok=0
  # parameters, repeats, templates, ifs and includes are converted, not expanded: each word
  # of the source is in both conversions as often as in the source
  for w in params repeat template include; do
    n=$(grep -v '^ *#' "$tmp/$name" | grep -c "\b$w\b"); [ "$n" = 0 ] && continue
    for out in "$tmp/$name.yaml" "$tmp/$name.net"; do
      m=$(grep -c "\b${w}s\?\b" "$out") # YAML's key is templates
      [ "$m" -ge 1 ] || { ok=0; echo "'$w' is gone from $(basename "$out")" >> "$tmp/err"; }
    done
  done
  if [ $ok = 1 ] && cmp -s "$tmp/want" "$tmp/got"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $f (net -> yaml -> net)"
    cat "$tmp/err"
    diff -u "$tmp/want" "$tmp/got" | head -20
  fi
done
# files meant for include (params and templates, no network), converted to the other format
# and back: each IR case that includes one gives the same IR with the converted file in its
# place
if [ $# = 0 ]; then
  for f in blocks.net blocks.yaml base.net left.net right.net plain.yaml; do
    case $f in *.net) other=yaml ;; *) other=net ;; esac
    ok=1
    rm -rf "$top/inc2" && cp -r "$top/inc" "$top/inc2"
    "$netc" --to $other "$top/inc/$f" > "$top/inc2/part.$other" 2> "$tmp/err" || ok=0
    "$netc" --to "${f##*.}" "$top/inc2/part.$other" > "$top/inc2/$f" 2>> "$tmp/err" || ok=0
    for c in "$here"/ir/*; do
      grep -q "inc/\($f\|left.net\|right.net\)" "$c" || continue
      sed '/^#=== expect$/,$d' "$c" > "$tmp/$(basename "$c")"
      "$netc" --dump-ir "$tmp/$(basename "$c")" > "$tmp/want" 2>> "$tmp/err" || ok=0
      mv "$top/inc" "$top/inc1" && mv "$top/inc2" "$top/inc"
      "$netc" --dump-ir "$tmp/$(basename "$c")" > "$tmp/got" 2>> "$tmp/err" || ok=0
      mv "$top/inc" "$top/inc2" && mv "$top/inc1" "$top/inc"
      cmp -s "$tmp/want" "$tmp/got" || { ok=0; echo "$(basename "$c"): the IR differs" >> "$tmp/err"; }
    done
    if [ $ok = 1 ]; then
      pass=$((pass + 1))
    else
      fail=$((fail + 1))
      echo "FAIL inc/$f (a file for include -> $other -> back)"
      cat "$tmp/err"
    fi
  done
fi
echo "roundtrip: $pass passed, $fail failed"
[ $fail = 0 ]
