#!/bin/bash
# bench/graph.sh: the graph networks (nets/resnet.net, nets/mobilenet.net, nets/inception.net)
# trained and run by netrun, by the C netc generates, by PyTorch and by onnxruntime, side by
# side in one run; and the ResNet's accuracy against PyTorch's spread over seeds. Usage below.
# Helpers: torch_mnist.py --net (PyTorch, the module tree of bench/torch_net.py), ort_bench.js
# (onnxruntime-node on PyTorch's ONNX export of netrun's weights).
set -u

usage() {
  cat <<'EOF'
usage: bench/graph.sh [--nets "resnet mobilenet inception"] [--data DIR] [--images N]
                      [--accuracy] [--seeds N] [--epochs N] [--out FILE] [--build DIR] [--keep]

For each net: training images/s of netrun and of PyTorch on 2 threads over the first
--images training images (default 15000, one pass, batch 100, Adam); batch-1 latency of the
generated C (its --main driver) and of onnxruntime on one thread, on netrun's trained
weights (PyTorch's ONNX export of them), with the machine's FMA limit for the net's MACs
(the single-core peak bench/fma_peak.c measures). With --accuracy: the ResNet trained
--epochs (default 2) on the whole training set by netrun and by PyTorch, each with seeds
1..--seeds (default 3), and by netrun with the net file's own seed: the test accuracies, and
whether netrun's mean lies inside PyTorch's spread (one run against the spread of three
lands outside it half the time, by chance alone).

  --data DIR   IDX data (default: /usr/share/datasets/fashion-mnist, else data/mnist-mini)
  --out FILE   the table as Markdown (default: bench/graph_results.md)
Run it on an otherwise idle machine: the items run back to back on 2 cores.
EOF
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
NETS="resnet mobilenet inception" DATA="" IMAGES=15000 ACC=0 SEEDS=3 EPOCHS=2
OUT="$ROOT/bench/graph_results.md" BUILD="$ROOT/build" KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --nets) NETS=$2; shift ;;
    --data) DATA=$2; shift ;;
    --images) IMAGES=$2; shift ;;
    --accuracy) ACC=1 ;;
    --seeds) SEEDS=$2; shift ;;
    --epochs) EPOCHS=$2; shift ;;
    --out) OUT=$2; shift ;;
    --build) BUILD=$2; shift ;;
    --keep) KEEP=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench/graph.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac
case "$BUILD" in /*) ;; *) BUILD="$PWD/$BUILD" ;; esac
[ -z "$DATA" ] && { [ -d /usr/share/datasets/fashion-mnist ] && DATA=/usr/share/datasets/fashion-mnist || DATA=$ROOT/data/mnist-mini; }
case "$DATA" in /*) ;; *) DATA="$PWD/$DATA" ;; esac
cd "$ROOT" || exit 1
PYTHON=${PYTHON:-/usr/bin/python3}
CC=${CC:-cc}
NETRUN=$BUILD/tools/netrun NETC=$BUILD/tools/netc
WORK=$(mktemp -d)
[ "$KEEP" = 1 ] && echo "work directory: $WORK" >&2 || trap 'rm -rf "$WORK"' EXIT
T0=$(date +%s)
log() { printf '[graph %4ds] %s\n' $(( $(date +%s) - T0 )) "$*" >&2; }
result() { sed -n "s/^RESULT $2 //p" "$1" | tail -1; }

[ -d bench/node_modules/onnxruntime-node ] ||
  (cd bench && ONNXRUNTIME_NODE_INSTALL=skip npm install --silent >/dev/null 2>&1) || true

# the training subset and raw test files (the generated driver reads raw IDX)
mkdir -p "$WORK/sub"
for f in t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  if [ -f "$DATA/$f" ]; then cp "$DATA/$f" "$WORK/sub/$f"; else zcat "$DATA/$f.gz" > "$WORK/sub/$f"; fi
done
byte() { printf "\\$(printf %03o $(($1 & 255)))"; }
be32() { byte $(($1 >> 24)); byte $(($1 >> 16)); byte $(($1 >> 8)); byte $1; }
cat_idx() { if [ -f "$DATA/$1" ]; then cat "$DATA/$1"; else zcat "$DATA/$1.gz"; fi; }
{ be32 2051; be32 "$IMAGES"; be32 28; be32 28; cat_idx train-images-idx3-ubyte | tail -c +17 | head -c $((IMAGES * 784)); } > "$WORK/sub/train-images-idx3-ubyte"
{ be32 2049; be32 "$IMAGES"; cat_idx train-labels-idx1-ubyte | tail -c +9 | head -c "$IMAGES"; } > "$WORK/sub/train-labels-idx1-ubyte"

"$CC" -O2 -march=native bench/fma_peak.c -o "$WORK/fma_peak" &&
  PEAK=$("$WORK/fma_peak" | sed -n 's/^GFLOPS //p')
PEAK=${PEAK:-190}
log "single-core FMA peak: $PEAK GFLOPS (bench/fma_peak.c)"
rows=""
for net in $NETS; do
  N=nets/$net.net
  log "$net: netrun train ($IMAGES images, 2 threads)"
  "$NETRUN" "$N" --train --data "$WORK/sub" --epochs 1 --threads 2 --save "$WORK/$net.safetensors" > "$WORK/$net.nr" 2>&1
  nr=$(sed -n 's/^epoch 1\/1  done .*  \([0-9,]*\) img\/s .*/\1/p' "$WORK/$net.nr" | tr -d ,)
  "$NETC" --to yaml "$N" > "$WORK/$net.yaml"
  log "$net: PyTorch train ($IMAGES images, 2 threads)"
  OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 "$PYTHON" bench/torch_mnist.py train --data "$WORK/sub" \
    --threads 2 --net "$WORK/$net.yaml" > "$WORK/$net.pt" 2>/dev/null
  pt=$(result "$WORK/$net.pt" train_img_s)
  log "$net: generated C, batch 1, one thread"
  "$NETC" "$N" --weights "$WORK/$net.safetensors" -o "$WORK/$net.c" --main 2>/dev/null &&
    "$CC" -O2 -march=native "$WORK/$net.c" -o "$WORK/$net.bin" -lm &&
    "$WORK/$net.bin" "$WORK/sub/t10k-images-idx3-ubyte" "$WORK/sub/t10k-labels-idx1-ubyte" > "$WORK/$net.gen" 2>&1
  gen=$(sed -n 's/.*, \([0-9.]*\) us\/image.*/\1/p' "$WORK/$net.gen")
  macs=$("$NETC" --summary "$N" | sed -n 's/^Total MACs per image: //p' | tr -d ,)
  limit=$(awk -v m="$macs" -v p="$PEAK" 'BEGIN { printf "%.1f", 2 * m / (p * 1e9) * 1e6 }')
  log "$net: onnxruntime, batch 1, one thread"
  ort=""
  if OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "$PYTHON" bench/torch_mnist.py infer --data "$WORK/sub" \
      --threads 1 --net "$WORK/$net.yaml" --weights "$WORK/$net.safetensors" --onnx "$WORK/$net.onnx" \
      --min-time 0.5 > "$WORK/$net.pti" 2>/dev/null && [ -d bench/node_modules/onnxruntime-node ]; then
    node bench/ort_bench.js "$WORK/$net.onnx" "$WORK/sub" --threads 1 --latency 3000 > "$WORK/$net.ort" 2>&1
    ort=$(result "$WORK/$net.ort" b1_us)
  fi
  ratio=$(awk -v a="$nr" -v b="$pt" 'BEGIN { if (b > 0) printf "%.2f", a / b }')
  oratio=$(awk -v a="$gen" -v b="$ort" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", b / a }')
  lratio=$(awk -v a="$gen" -v b="$limit" 'BEGIN { if (b > 0) printf "%.2f", a / b }')
  rows="$rows| $net | $macs | $nr | $pt | **${ratio}x** | $gen | $ort | **${oratio}x** | $limit | ${lratio}x |
"
done

acc_rows=""
if [ "$ACC" = 1 ]; then
  nr_acc() { # SEED: netrun's test accuracy after --epochs (empty SEED: the file's seed)
    "$NETRUN" nets/resnet.net --train --data "$DATA" --epochs "$EPOCHS" --threads 2 ${1:+--seed $1} \
      --save "$WORK/acc.safetensors" > "$WORK/acc.nr" 2>&1
    sed -n 's/^test: loss [0-9.]*  accuracy \([0-9.]*\) .*/\1/p' "$WORK/acc.nr"
  }
  log "resnet accuracy: netrun, $EPOCHS epochs of the whole training set, the file's seed"
  nfile=$(nr_acc "")
  naccs=""
  for s in $(seq 1 "$SEEDS"); do
    log "resnet accuracy: netrun seed $s"
    naccs="$naccs $(nr_acc "$s")"
  done
  "$NETC" --to yaml nets/resnet.net > "$WORK/resnet.yaml"
  accs=""
  for s in $(seq 1 "$SEEDS"); do
    log "resnet accuracy: PyTorch seed $s"
    OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 "$PYTHON" bench/torch_mnist.py train --data "$DATA" --threads 2 \
      --net "$WORK/resnet.yaml" --epochs "$EPOCHS" --seed "$s" > "$WORK/acc$s.pt" 2>/dev/null
    accs="$accs $(result "$WORK/acc$s.pt" test_acc)"
  done
  lo=$(echo $accs | tr ' ' '\n' | sort -n | head -1) hi=$(echo $accs | tr ' ' '\n' | sort -n | tail -1)
  mean() { echo "$@" | tr ' ' '\n' | awk 'NF { s += $1; n++ } END { printf "%.4f", s / n }'; }
  nmean=$(mean $naccs) pmean=$(mean $accs)
  inside=$(awk -v a="$nmean" -v l="$lo" -v h="$hi" 'BEGIN { print (a >= l && a <= h) ? "inside" : "outside" }')
  each=$(for a in $naccs; do awk -v a="$a" -v l="$lo" -v h="$hi" 'BEGIN { print (a >= l && a <= h) ? "in" : "out" }'; done | grep -c '^in$')
  acc_rows="ResNet, $EPOCHS epochs on $(basename "$DATA"): netrun seeds 1..$SEEDS:$naccs (mean **$nmean**); PyTorch seeds 1..$SEEDS:$accs (mean $pmean, spread $lo..$hi): netrun's mean is **$inside** PyTorch's spread, and $each of its $SEEDS runs are inside it. netrun with the file's seed: $nfile."
fi

{
  echo "## netc benchmark: graph networks"
  echo
  echo "\`bench/graph.sh\` on $(date -u '+%Y-%m-%d %H:%M') UTC, commit $(git rev-parse --short HEAD 2>/dev/null);"
  echo "$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores; data: $DATA (training: the first $IMAGES images)."
  echo
  echo "| net | MACs | netrun train img/s (2 thr) | PyTorch train img/s (2 thr) | train ratio | generated C batch 1 (us) | onnxruntime batch 1 (us) | generated vs ort | FMA limit (us) | generated / limit |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf "%s" "$rows"
  echo
  [ -n "$acc_rows" ] && { echo "$acc_rows"; echo; }
  echo "Training: one pass over the images at batch 100 with Adam (the nets' train sections), the"
  echo "epoch line's img/s of netrun and PyTorch's training loop. Batch 1: the generated --main"
  echo "driver's mean over the test set, onnxruntime's mean over 3000 images after warm-up, both"
  echo "on netrun's trained weights. FMA limit: 2 x MACs at the single-core FMA peak that"
  echo "bench/fma_peak.c measured in this run ($PEAK GFLOPS)."
} > "$OUT"
cat "$OUT"
