#!/bin/sh
# Golden copies of generated code and of its plan, so codegen changes show in review: for
# each case, NAME.plan.golden (`netc --dump-plan`) and NAME.c.golden (the generated file;
# the seed net's with its weight literals elided). `golden.sh NETC ROOT --update` rewrites
# them.
set -u
netc=$(realpath "$1") root=$2 update=${3:-}
here=$root/tests/codegen
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
cd "$root" || exit 2
for case in tiny:tests/codegen/tiny.net mnist:nets/mnist.net; do
  name=${case%%:*} net=${case#*:}
  "$netc" --dump-plan "$net" > "$tmp/$name.plan" 2>&1 || { echo "FAIL $name: netc --dump-plan failed"; fail=$((fail + 1)); continue; }
  "$netc" "$net" -o "$tmp/$name.c" 2>/dev/null || { echo "FAIL $name: netc failed"; fail=$((fail + 1)); continue; }
  if [ "$name" = mnist ]; then   # weights elided: they depend on the seed, not on codegen
    awk '/^static const float .*= \{$/ { print; skip = 1; next } skip && /^\};$/ { print "    /* weights elided */"; skip = 0 } !skip' \
      "$tmp/$name.c" > "$tmp/$name.x" && mv "$tmp/$name.x" "$tmp/$name.c"
  fi
  for what in plan c; do
    golden=$here/$name.$what.golden
    if [ "$update" = --update ]; then cp "$tmp/$name.$what" "$golden"; fi
    if cmp -s "$tmp/$name.$what" "$golden"; then
      pass=$((pass + 1))
    else
      echo "FAIL $name: $what differs from tests/codegen/$name.$what.golden"
      diff -u "$golden" "$tmp/$name.$what" | head -40
      fail=$((fail + 1))
    fi
  done
done
echo "codegen golden: $pass passed, $fail failed"
[ "$fail" = 0 ]
