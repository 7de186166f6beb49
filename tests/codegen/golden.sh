#!/bin/sh
# Golden copies of generated code and of its plan, so codegen changes show in review:
# tiny.{plan,c}.golden and mnist.{plan,c}.golden (`netc --dump-plan`, and the generated file,
# the seed net's with its weight literals elided), and edge.plan.golden (the plans of
# tests/codegen/edge/*.net, one after another), and reject.txt.golden (what netc says, and its
# exit status, for each net of tests/codegen/reject/, which it must refuse to compile).
# `golden.sh NETC ROOT --update` rewrites them.
set -u
netc=$(realpath "$1") root=$2 update=${3:-}
here=$root/tests/codegen
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
cd "$root" || exit 2
for case in tiny:tests/codegen/tiny.net mnist:nets/mnist.net; do
  name=${case%%:*} net=${case#*:}
  "$netc" --dump-plan "$net" > "$tmp/$name.plan" 2>&1
  "$netc" "$net" -o "$tmp/$name.c" 2>/dev/null || echo "netc failed" > "$tmp/$name.c"
  if [ "$name" = mnist ]; then   # weights elided: they depend on the seed, not on codegen
    awk '/^static const float .*= \{$/ { print; skip = 1; next } skip && /^\};$/ { print "    /* weights elided */"; skip = 0 } !skip' \
      "$tmp/$name.c" > "$tmp/$name.x" && mv "$tmp/$name.x" "$tmp/$name.c"
  fi
done
for net in tests/codegen/edge/*.net; do
  echo "# $net"; "$netc" --dump-plan "$net" 2>&1; echo
done > "$tmp/edge.plan"
# nets netc must refuse to compile: what it says, and its exit status
for net in tests/codegen/reject/*; do
  echo "# $net"; "$netc" "$net" -o "$tmp/reject.c" 2>&1; echo "exit $?"; echo
done > "$tmp/reject.txt"
for out in tiny.plan tiny.c mnist.plan mnist.c edge.plan reject.txt; do
  if [ "$update" = --update ]; then cp "$tmp/$out" "$here/$out.golden"; fi
  if cmp -s "$tmp/$out" "$here/$out.golden"; then
    pass=$((pass + 1))
  else
    echo "FAIL $out differs from tests/codegen/$out.golden"
    diff -u "$here/$out.golden" "$tmp/$out" | head -40
    fail=$((fail + 1))
  fi
done
echo "codegen golden: $pass passed, $fail failed"
[ "$fail" = 0 ]
