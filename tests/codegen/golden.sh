#!/bin/sh
# Golden copies of generated code, so codegen changes show in review: tiny.net whole, and
# the seed net with its weight literals elided. `golden.sh NETC ROOT --update` rewrites them.
set -u
netc=$(realpath "$1") root=$2 update=${3:-}
here=$root/tests/codegen
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
cd "$root" || exit 2
for case in tiny:tests/codegen/tiny.net mnist:nets/mnist.net; do
  name=${case%%:*} net=${case#*:}
  "$netc" "$net" -o "$tmp/$name.c" 2>/dev/null || { echo "FAIL $name: netc failed"; fail=$((fail + 1)); continue; }
  if [ "$name" = mnist ]; then   # weights elided: they depend on the seed, not on codegen
    awk '/^static const float .*= \{$/ { print; skip = 1; next } skip && /^\};$/ { print "    /* weights elided */"; skip = 0 } !skip' \
      "$tmp/$name.c" > "$tmp/$name.x" && mv "$tmp/$name.x" "$tmp/$name.c"
  fi
  if [ "$update" = --update ]; then cp "$tmp/$name.c" "$here/$name.c.golden"; fi
  if cmp -s "$tmp/$name.c" "$here/$name.c.golden"; then
    pass=$((pass + 1))
  else
    echo "FAIL $name: generated code differs from tests/codegen/$name.c.golden"
    diff -u "$here/$name.c.golden" "$tmp/$name.c" | head -40
    fail=$((fail + 1))
  fi
done
echo "codegen golden: $pass passed, $fail failed"
[ "$fail" = 0 ]
