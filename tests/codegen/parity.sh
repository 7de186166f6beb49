#!/bin/sh
# Codegen parity: for every net in nets/, generate C with netc, compile it with the system
# compiler (warnings are errors; each vector family; clang too when present), run it on random inputs and on real
# mnist-mini images where the input fits, and compare with netrun --logits on the same
# weights (the seeded initial weights, and for the seed net also weights trained by PyTorch).
# Outputs must agree within 1e-5 relative to the largest output of the row
# (|a - b| <= 1e-5 * max(1, max_k |b_k|)), and the predicted class must be the same.
#   parity.sh NETC NETRUN SOURCE_ROOT
set -u
netc=$1 netrun=$2 root=$3
here=$root/tests/codegen
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
gunzip -c "$root/data/mnist-mini/t10k-images-idx3-ubyte.gz" > "$tmp/t10k-images"

compare() { # ref.csv got.csv label
  awk -F, -v label="$3" '
    NR == FNR { for (k = 1; k <= NF; k++) ref[FNR, k] = $k; nref = FNR; next }
    {
      m = 1; for (k = 1; k <= NF; k++) { a = ref[FNR, k] < 0 ? -ref[FNR, k] : ref[FNR, k]; if (a > m) m = a }
      rb = 1; gb = 1
      for (k = 1; k <= NF; k++) {
        d = $k - ref[FNR, k]; if (d < 0) d = -d
        if (d / m > worst) { worst = d / m; wr = FNR; wk = k; wa = $k; wb = ref[FNR, k] }
        if (ref[FNR, k] > ref[FNR, rb]) rb = k
        if ($k > $gb) gb = k
      }
      if (rb != gb) { classes++; if (!cr) cr = FNR }
      n++
    }
    END {
      bad = worst > 1e-5 || classes > 0 || n != nref || n == 0
      printf "%s %s: %d rows, worst relative difference %.3g (row %d, output %d: %s vs netrun %s), %d class mismatches%s\n",
        bad ? "FAIL" : "ok  ", label, n, worst, wr, wk, wa, wb, classes, n != nref ? " (row count differs)" : ""
      exit bad
    }' "$1" "$2"
}

check() { # net weights-or-empty label
  net=$1 w=$2 label=$3
  wflag=""; [ -n "$w" ] && wflag="--weights $w"
  lflag=""; [ -n "$w" ] && lflag="--load $w"
  for fam in native avx2 portable clang; do
    cc=${CC:-cc}
    case $fam in
      native) flags="-march=native";; avx2) flags="-mavx2 -mfma";; portable) flags="-DNETC_NO_SIMD";;
      clang) command -v clang >/dev/null || continue; cc=clang; flags="-march=native";;
    esac
    d=$tmp/$label.$fam; mkdir -p "$d"
    if ! "$netc" "$net" $wflag -o "$d/net.c" --header "$d/net.h" --prefix net 2>"$d/netc.err"; then
      echo "FAIL $label: netc failed"; cat "$d/netc.err"; fail=$((fail + 1)); continue
    fi
    if ! $cc -std=c99 -O2 $flags -Wall -Wextra -pedantic -Werror -I"$d" "$here/harness.c" "$d/net.c" -o "$d/harness" -lm 2>"$d/cc.err"; then
      echo "FAIL $label ($fam): the generated code does not compile cleanly"; head -20 "$d/cc.err"; fail=$((fail + 1)); continue
    fi
    "$d/harness" --random 64 7 "$d/random.f32"
    inputs="random"
    if grep -q "NET_IN_SIZE 784$" "$d/net.h"; then   # 28x28 nets also see real digits
      "$d/harness" --idx "$tmp/t10k-images" 200 "$d/real.f32" && inputs="random real"
    fi
    for kind in $inputs; do
      "$netrun" "$net" $lflag --predict "$d/$kind.f32" --logits "$d/ref.csv" --quiet 2>"$d/netrun.err" || {
        echo "FAIL $label: netrun failed"; cat "$d/netrun.err"; fail=$((fail + 1)); continue; }
      if ! "$d/harness" "$d/$kind.f32" "$d/got.csv"; then fail=$((fail + 1)); continue; fi
      if compare "$d/ref.csv" "$d/got.csv" "$label $fam $kind"; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
    done
  done
}

for net in "$root"/nets/*.net "$root"/nets/*.yaml; do
  check "$net" "" "$(basename "$net")"
done
w=$root/tests/runtime/fixtures/torch_mnist.safetensors
[ -f "$w" ] && check "$root/nets/mnist.net" "$w" "mnist.net+torch-weights"
echo "parity: $pass passed, $fail failed"
[ "$fail" = 0 ]
