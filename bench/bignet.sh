#!/bin/bash
# bench/bignet.sh: a net of 50 million parameters through netc and gcc -O2: how long netc
# and the compiler take and how much memory, with the weights as a blob (.incbin, netc's
# default past 4M weights) and, with --literals, as C float literals too; then the compiled
# program's classes and probabilities of mnist-mini's test images against netrun's.
#   bench/bignet.sh [--build DIR] [--literals SECONDS]
# --literals SECONDS also builds the literal form, stopped after SECONDS (default: not run).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build LIT=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD=$(cd "$2" && pwd); shift ;;
    --literals) LIT=$2; shift ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/bignet.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done
NETC=$BUILD/tools/netc NETRUN=$BUILD/tools/netrun CC=${CC:-gcc}
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1
cat > big.net <<EOF
# 50,363,090 parameters: an MLP wide enough to stand for a big net's weights
network big (input 1x28x28) {
  Flatten
  Linear 8192
  ReLU
  Linear 5360
  ReLU
  Linear 10
}
train {
  data idx "$ROOT/data/mnist-mini"
  batch 32
}
EOF
measure() { # LABEL CMD...: wall seconds and peak RSS (MiB) of CMD
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o time.txt "$@" > cmd.out 2>&1
  local rc=$?
  read -r s kb < <(tail -1 time.txt)
  printf '| %s | %s | %.1f | %d |\n' "$label" "$rc" "$s" $((kb / 1024))
}
sizes() { for f in "$@"; do printf '%s: %s bytes; ' "$f" "$(wc -c < "$f")"; done; echo; }
params=$("$NETC" --summary big.net | sed -n 's/^Total params: \([0-9,]*\).*/\1/p')
echo "## bench/bignet.sh: $params parameters"
echo
echo "| step | exit | seconds | peak RSS (MiB) |"
echo "|---|---:|---:|---:|"
"$NETRUN" big.net --train --steps 2 --threads 2 --save big.safetensors --quiet > train.out 2>&1 ||
  { echo "netrun failed:"; cat train.out; exit 1; }
measure "netc -o big.c --main (blob: big.weights)" "$NETC" big.net --weights big.safetensors -o big.c --main
measure "$CC -O2 -march=native big.c" "$CC" -O2 -march=native big.c -o big -lm
gunzip -c "$ROOT/data/mnist-mini/t10k-images-idx3-ubyte.gz" > t10k
./big t10k > gen.out 2> gen.err
"$NETRUN" big.net --load big.safetensors --predict t10k --quiet > want.out 2>&1
echo; echo "Sizes: $(sizes big.c big.weights)"
if cmp -s gen.out want.out; then
  echo "The compiled program's $(wc -l < gen.out) classes of mnist-mini's test images equal netrun's ($(cat gen.err))."
else
  echo "MISMATCH between the compiled program and netrun:"; diff gen.out want.out | head
  exit 1
fi
if [ "$LIT" != 0 ]; then
  echo
  echo "| literals (--no-blob), stopped after $LIT s | exit | seconds | peak RSS (MiB) |"
  echo "|---|---:|---:|---:|"
  measure "netc -o lit.c --no-blob" "$NETC" big.net --weights big.safetensors -o lit.c --no-blob
  echo; echo "Sizes: $(sizes lit.c)"
  measure "$CC -O2 -march=native lit.c (timeout $LIT s)" timeout "$LIT" "$CC" -O2 -march=native -c lit.c -o lit.o
fi
