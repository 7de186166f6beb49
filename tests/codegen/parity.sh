#!/bin/sh
# Codegen parity: generate C with netc for a net, compile it with the system compiler
# (warnings are errors) for each vector family, run it on random inputs (and on real
# mnist-mini images where the input fits), and compare with netrun --logits on the same
# weights (the seeded initial weights, and for the seed net also weights trained by PyTorch).
# Outputs must agree within 1e-5 relative to the largest output of the row
# (|a - b| <= 1e-5 * max(1, max_k |b_k|)), and the predicted class must be the same.
#
# The nets: every net in nets/ (families native AVX-512, AVX2+FMA, portable C, clang); with
# KIND_NETS_TOOL, also every layer kind at every position of a whole net (the nets
# tests/common/kind_nets.c writes), tests/codegen/edge/*.net, 24 convolutions of random
# geometry of the class the generated code runs by Winograd, and the random nets of
# tests/runtime/fixtures/random with PyTorch's trained weights (native and portable).
# With BN_WEIGHTS (bn_weights.c), a net with BatchNorm is checked a second time with its
# BatchNorm weights and statistics drawn at random (label +bn-weights, the first family
# only), so that a fold that is wrong shows. Nets are checked PARITY_JOBS (default 2) at a
# time; each failure names its net. PARITY_FAMILIES (comma-separated) narrows the families;
# PARITY_FAMILIES=none only generates each net's C (netc and --summary, nothing compiled).
#   parity.sh NETC NETRUN SOURCE_ROOT [KIND_NETS_TOOL [BN_WEIGHTS]]
set -u

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

# check NET WEIGHTS|- LABEL FAMILIES: one net, every family in the comma-separated list;
# prints a line per comparison, each starting "ok  " or "FAIL".
check() {
  net=$1 w=$2 label=$3
  wflag="" lflag=""
  [ "$w" != - ] && wflag="--weights $w" lflag="--load $w"
  d=$tmp/$(echo "$label" | tr -c 'A-Za-z0-9._+\n-' _)
  mkdir -p "$d"
  if ! "$netc" "$net" $wflag -o "$d/net.c" --header "$d/net.h" --prefix net 2>"$d/netc.err"; then
    echo "FAIL $label: netc failed"; cat "$d/netc.err"; return
  fi
  # --summary's peak activation memory is the generated program's arena
  sum=$("$netc" --summary "$net" | sed -n 's/^Generated C: peak activation memory \([0-9,]*\) bytes.*/\1/p' | tr -d ,)
  hdr=$(sed -n 's/^#define NET_ARENA_BYTES //p' "$d/net.h")
  [ -n "$hdr" ] && [ "$sum" = "$hdr" ] || echo "FAIL $label: --summary says ${sum:-nothing} arena bytes, net.h NET_ARENA_BYTES ${hdr:-nothing}"
  if [ "$4" = none ]; then echo "ok   $label: generated"; return; fi
  built=""
  for fam in $(echo "$4" | tr , ' '); do
    cc=${CC:-cc}
    case $fam in
      native) flags="-march=native";; avx2) flags="-mavx2 -mfma";; portable) flags="-DNETC_NO_SIMD";;
      clang) command -v clang >/dev/null || continue; cc=clang; flags="-march=native";;
    esac
    if $cc -std=c99 -O2 $flags -Wall -Wextra -Wshadow -pedantic -Werror -I"$d" "$here/harness.c" "$d/net.c" -o "$d/$fam" -lm 2>"$d/cc.err"; then
      built="$built $fam"
    else
      echo "FAIL $label ($fam): the generated code does not compile cleanly"; head -20 "$d/cc.err"
    fi
  done
  [ -n "$built" ] || return
  h=$d/${built# }; h=${h%% *}   # inputs come from any harness: they do not depend on the family
  "$h" --random 64 7 "$d/random.f32"
  inputs="random"
  if grep -q "NET_IN_SIZE 784$" "$d/net.h"; then   # 28x28 nets also see real digits
    "$h" --idx "$tmp/t10k-images" 200 "$d/real.f32" && inputs="random real"
  fi
  for kind in $inputs; do
    "$netrun" "$net" $lflag --predict "$d/$kind.f32" --logits "$d/$kind.ref" --quiet 2>"$d/netrun.err" || {
      echo "FAIL $label: netrun failed"; cat "$d/netrun.err"; continue; }
    for fam in $built; do
      if ! "$d/$fam" "$d/$kind.f32" "$d/got.csv" 2>"$d/harness.err"; then
        echo "FAIL $label ($fam): the generated code failed"; cat "$d/harness.err"; continue
      fi
      compare "$d/$kind.ref" "$d/got.csv" "$label $fam $kind"
    done
  done
}

if [ "${1:-}" = --one ]; then   # one line of the list, run by xargs below
  shift
  check "$2" "$3" "$4" "$5" > "$tmp/$1.log" 2>&1
  exit 0
fi

netc=$1 netrun=$2 root=$3 kinds=${4:-} bnw=${5:-}
here=$root/tests/codegen
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export netc netrun here tmp
gunzip -c "$root/data/mnist-mini/t10k-images-idx3-ubyte.gz" > "$tmp/t10k-images"
# PARITY_FAMILIES=native,... narrows every net to those families; none: CI's sanitizer run,
# which checks netc (the compilers and the generated code are the release run's)
# Without AVX-512, -march=native builds the generated C's AVX2 family, so "avx2" would repeat
# "native" and is left out.
fams=native,avx2,portable,clang
${CC:-cc} -march=native -dM -E - </dev/null 2>/dev/null | grep -q __AVX512F__ ||
  { fams=native,portable,clang; echo "(no AVX-512 here: the avx2 family is the native one)"; }
all=${PARITY_FAMILIES:-$fams} two=${PARITY_FAMILIES:-native,portable}
nbn=0
line() { # NET LABEL FAMILIES: the net, and again with random BatchNorm weights if it has any
  echo "$1 - $2 $3"
  if [ -n "$bnw" ] && grep -qi batchnorm "$1"; then
    nbn=$((nbn + 1))
    # the fold is netc's work, not the compiler's: one family checks it (the first line
    # covers the families)
    "$bnw" "$1" "$tmp/bn$nbn.safetensors" && echo "$1 $tmp/bn$nbn.safetensors $2+bn-weights ${3%%,*}"
  fi
}
{
  for net in "$root"/nets/*.net "$root"/nets/*.yaml; do
    line "$net" "$(basename "$net")" $all
  done
  w=$root/tests/runtime/fixtures/torch_mnist.safetensors
  [ -f "$w" ] && echo "$root/nets/mnist.net $w mnist.net+torch-weights $all"
  if [ -n "$kinds" ]; then
    mkdir -p "$tmp/kind_nets"
    "$kinds" "$tmp/kind_nets" > "$tmp/kind_nets.list" || echo "FAIL kind_nets_tool" > "$tmp/kinds.fail"
    while read -r net; do
      line "$net" "kind_nets/$(basename "$net")" $two
    done < "$tmp/kind_nets.list"
    for net in "$here"/edge/*.net; do
      line "$net" "edge/$(basename "$net")" $two
    done
    # 24 convolutions of random geometry (a fixed sequence) of the class Winograd takes:
    # 3x3 stride 1, 16-64 channels, any size from 1x1, padding 0-3, dilation 1-2, bias or
    # not, nothing fused, an activation, or a 2x2 max pool; each net's output is the image
    mkdir -p "$tmp/wino"
    awk -v dir="$tmp/wino" 'function rnd(n) { x = (x * 69069 + 1) % 4294967296; return int(x / 65536) % n }
      BEGIN {
        x = 20261205; split("16 24 32 64", cs, " "); split("16 24 48 64", ocs, " ")
        for (i = 0; i < 24; i++) {
          c = cs[rnd(4) + 1]; oc = ocs[rnd(4) + 1]; h = rnd(17) + 1; w = rnd(17) + 1
          ph = rnd(4); pw = rnd(4); dh = rnd(2) + 1; dw = rnd(2) + 1; t = rnd(4)
          bias = rnd(2) ? "" : " bias=false"
          oh = h + 2 * ph - 2 * dh; ow = w + 2 * pw - 2 * dw
          if (oh < 1 || ow < 1) { i--; continue }
          tail = t == 1 ? "  ReLU\n" : t == 2 ? "  SiLU\n" : ""
          if (t == 3 && oh >= 2 && ow >= 2) tail = "  ReLU\n  MaxPool2d 2\n"
          f = sprintf("%s/w%02d.net", dir, i)
          printf "network w%02d (input %dx%dx%d) {\n  Conv2d %d k3 padding=[%d, %d] dilation=[%d, %d]%s\n%s}\n",
            i, c, h, w, oc, ph, pw, dh, dw, bias, tail > f
          close(f); print f
        }
      }' > "$tmp/wino.list"
    while read -r net; do
      line "$net" "winograd-class/$(basename "$net")" $two
    done < "$tmp/wino.list"
    # the random nets of tests/runtime/random_parity.sh, with the weights and BatchNorm
    # statistics PyTorch trained (netc refuses those without running statistics)
    for net in "$root"/tests/runtime/fixtures/random/[0-9]*.net; do
      grep -q track_running_stats=false "$net" && continue
      echo "$net ${net%.net}.steps.safetensors random/$(basename "$net")+steps $two"
    done
    for net in "$root"/tests/runtime/fixtures/random/s*.net; do   # random input shapes
      grep -q track_running_stats=false "$net" && continue
      echo "$net ${net%.net}.safetensors random/$(basename "$net") $two"
    done
  fi
} | awk '{ print NR, $0 }' > "$tmp/list"
xargs -P "${PARITY_JOBS:-2}" -L 1 sh "$0" --one < "$tmp/list"
for i in $(cut -d' ' -f1 "$tmp/list"); do cat "$tmp/$i.log"; done > "$tmp/all.log"
# Weights whose Winograd transform overflows a float (3e38 each): those steps must be
# direct convolutions, and the code (whose steps still take working memory) compile cleanly.
if [ -n "$bnw" ] && [ "${PARITY_FAMILIES:-}" != none ]; then
  hw=$here/edge/winograd_edges.net hd=$tmp/huge
  mkdir -p "$hd"
  if "$bnw" "$hw" "$hd/w.safetensors" --huge && "$netc" "$hw" --weights "$hd/w.safetensors" \
      -o "$hd/net.c" --header "$hd/net.h" --prefix net 2>"$hd/err" &&
      ${CC:-cc} -std=c99 -O2 -Wall -Wextra -pedantic -Werror -I"$hd" "$here/harness.c" "$hd/net.c" \
        -o "$hd/net" -lm 2>>"$hd/err"; then
    n=$(grep -c 'Winograd' "$hd/net.c")
    if [ "$n" = 0 ] && grep -q 'Conv2d' "$hd/net.c"; then
      echo "ok   winograd_edges.net with weights of 3e38: direct convolutions, compiled" >> "$tmp/all.log"
    else
      echo "FAIL winograd_edges.net with weights of 3e38: $n Winograd steps" >> "$tmp/all.log"
    fi
  else
    { echo "FAIL winograd_edges.net with weights of 3e38: not generated or compiled"; head -20 "$hd/err"; } >> "$tmp/all.log"
  fi
fi
# Weights that a folded BatchNorm (x 4) takes past the largest float: netc refuses the file
# (its generated code would otherwise hold 0 where the interpreter computes 1.2e39 x input).
if [ -n "$bnw" ] && [ "${PARITY_FAMILIES:-}" != none ]; then
  fw=$here/edge/bn_grouped.net fd=$tmp/fold
  mkdir -p "$fd"
  if "$bnw" "$fw" "$fd/w.safetensors" --huge-fold &&
      ! "$netc" "$fw" --weights "$fd/w.safetensors" -o "$fd/net.c" 2>"$fd/err" &&
      grep -q "error: folding BatchNorm .* not a finite float" "$fd/err" && [ ! -e "$fd/net.c" ]; then
    echo "ok   bn_grouped.net with a fold past the largest float: refused, nothing written" >> "$tmp/all.log"
  else
    { echo "FAIL bn_grouped.net with a fold past the largest float: not refused"; head -5 "$fd/err"; } >> "$tmp/all.log"
  fi
fi
cat "$tmp/kinds.fail" "$tmp/all.log" 2>/dev/null
pass=$(grep -c '^ok  ' "$tmp/all.log") fail=$(cat "$tmp/kinds.fail" "$tmp/all.log" 2>/dev/null | grep -c '^FAIL')
echo "parity: $pass passed, $fail failed ($(wc -l < "$tmp/list") nets)"
[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
