#!/bin/sh
# torch_keys.sh NETC: nets/resnet20.net and .yaml (a template, repeats, params, expressions,
# if) give exactly the state_dict of the PyTorch module tree they mirror: every key and shape
# in PyTorch's order, and its parameter count. The reference was written by
# bench/resnet20_torch.py with PyTorch (fixtures/resnet20_torch_keys.txt); this test does
# not need PyTorch. -D width=8 must change the shapes (the check can fail). And its IR must
# be that of the same net written out by hand (unrolled/resnet20.net).
set -u
netc=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$here/../..
want=$here/fixtures/resnet20_torch_keys.txt
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
keys() { # NET [ARGS]: "params N", then "key shape" lines in order, from --dump-ir
  "$netc" --dump-ir "$@" > "$tmp/ir" || return 1
  sed -n 's/^params \([0-9]*\) .*/params \1/p' "$tmp/ir"
  grep -o ' [A-Za-z0-9_.]*\[[0-9x]*\]' "$tmp/ir" | sed 's/^ //; s/\[\(.*\)\]$/ \1/'
}
for net in "$root/nets/resnet20.net" "$root/nets/resnet20.yaml"; do
  if keys "$net" > "$tmp/got" && cmp -s "$tmp/got" "$want"; then
    pass=$((pass + 1)); echo "ok   $(basename "$net"): $(head -1 "$want"), $(($(wc -l < "$want") - 1)) state_dict keys, as PyTorch's"
  else
    fail=$((fail + 1)); echo "FAIL $(basename "$net") differs from PyTorch's state_dict"; diff "$want" "$tmp/got" | head -10
  fi
done
if keys "$root/nets/resnet20.net" -D width=8 > "$tmp/narrow" && ! cmp -s "$tmp/narrow" "$want" &&
   grep -q '^conv1.weight 8x3x3x3$' "$tmp/narrow"; then
  pass=$((pass + 1)); echo "ok   -D width=8: $(head -1 "$tmp/narrow"), conv1.weight 8x3x3x3"
else
  fail=$((fail + 1)); echo "FAIL -D width=8 did not narrow the net"
fi
# the expanded IR (train section included) equals the net written out by hand
if "$netc" --dump-ir "$root/nets/resnet20.net" > "$tmp/a" && "$netc" --dump-ir "$here/unrolled/resnet20.net" > "$tmp/b" &&
   cmp -s "$tmp/a" "$tmp/b"; then
  pass=$((pass + 1)); echo "ok   nets/resnet20.net's IR is unrolled/resnet20.net's, written out by hand"
else
  fail=$((fail + 1)); echo "FAIL nets/resnet20.net's IR differs from unrolled/resnet20.net's"; diff "$tmp/b" "$tmp/a" | head
fi
echo "torch_keys: $pass passed, $fail failed"
[ $fail = 0 ]
