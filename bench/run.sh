#!/bin/bash
# bench/run.sh: the seed net (nets/mnist.net) trained and run by netrun, by the C that netc
# generates, by PyTorch and by onnxruntime, in one run, on one table with the targets of
# the speed issue (issue 5). Usage below. Helpers: torch_mnist.py (PyTorch), ort_bench.js
# (onnxruntime-node, installed into bench/node_modules from package.json), gen_bench.c (the
# generated batch entry point). Every step's output is kept in a work directory (--keep).
set -u

usage() {
  cat <<'EOF'
usage: bench/run.sh [--quick] [--data DIR] [--out FILE] [--build DIR] [--no-build]
                    [--no-torch] [--no-ort] [--keep] [-h]

Trains one epoch of the seed net (nets/mnist.net) with netrun on 2 threads, and on 1 and 2
threads for the scaling figure; times netrun --eval (batch 100, 1 and 2 threads), the
generated C (batch 1 on one thread; its batch entry point at batch 100 on 1 and 2 threads),
and, when present, PyTorch (python3-torch: training, batch 100, batch 1) and onnxruntime
(npm onnxruntime-node on PyTorch's ONNX export: batch 1, batch 100 on 1 and 2 threads).
Prints a table and the targets of the speed issue, and writes them to --out.

  --quick      data/mnist-mini and shorter timings: a smoke run of about 2 minutes
  --data DIR   IDX data directory (default: /usr/share/datasets/fashion-mnist, installed
               with apt-get when root and missing; data/mnist-mini when absent)
  --out FILE   where the table goes as Markdown (default: bench/results.md)
  --build DIR  the meson build directory with tools/netrun and tools/netc (default: build)
  --no-build   do not run ninja first
  --no-torch   skip PyTorch (and so onnxruntime, which runs PyTorch's ONNX export)
  --no-ort     skip onnxruntime
  --keep       keep the work directory (logs of every step, weights, generated C)

Environment: CC (default cc), PYTHON (default /usr/bin/python3: Debian's python3-torch).
Run it on an otherwise idle machine: the compared items run back to back, but the machine
has 2 cores and anything else running changes every figure.
EOF
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
QUICK=0 DATA="" OUT="$ROOT/bench/results.md" BUILD="$ROOT/build" DO_BUILD=1
DO_TORCH=1 DO_ORT=1 KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --data) [ $# -ge 2 ] || { usage >&2; exit 2; }; DATA=$2; shift ;;
    --out) [ $# -ge 2 ] || { usage >&2; exit 2; }; OUT=$2; shift ;;
    --build) [ $# -ge 2 ] || { usage >&2; exit 2; }; BUILD=$2; shift ;;
    --no-build) DO_BUILD=0 ;;
    --no-torch) DO_TORCH=0 ;;
    --no-ort) DO_ORT=0 ;;
    --keep) KEEP=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench/run.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac
case "$BUILD" in /*) ;; *) BUILD="$PWD/$BUILD" ;; esac
if [ -n "$DATA" ]; then
  case "$DATA" in /*) ;; *) DATA="$PWD/$DATA" ;; esac
fi
cd "$ROOT" || exit 1

CC=${CC:-cc}
PYTHON=${PYTHON:-/usr/bin/python3}
NET=nets/mnist.net
NETRUN="$BUILD/tools/netrun"
NETC="$BUILD/tools/netc"
T0=$(date +%s)

log() { printf '[bench %3ds] %s\n' $(( $(date +%s) - T0 )) "$*" >&2; }
die() { echo "bench/run.sh: $*" >&2; exit 1; }

# ---- settings: full run vs --quick --------------------------------------------------------
if [ "$QUICK" = 1 ]; then
  SCALE_STEPS=""     # the 1-thread run is a whole mnist-mini epoch, like the 2-thread one
  MIN_TIME=1         # seconds of batched passes per figure (median pass)
  EVAL_RUNS=1        # netrun --eval processes per thread count (median)
  TORCH_B1=200 ORT_B1=1000
else
  SCALE_STEPS=150    # 15,000 images on 1 and on 2 threads, back to back
  MIN_TIME=3
  EVAL_RUNS=3
  TORCH_B1=500 ORT_B1=3000
fi

# ---- tools ---------------------------------------------------------------------------------
if [ "$DO_BUILD" = 1 ]; then
  if [ ! -f "$BUILD/build.ninja" ]; then
    log "meson setup $BUILD"
    meson setup "$BUILD" >/dev/null || die "meson setup failed"
  fi
  log "ninja -C $BUILD"
  ninja -C "$BUILD" >/dev/null || die "the build failed (ninja -C $BUILD); --no-build to bench the binaries as they are"
fi
[ -x "$NETRUN" ] && [ -x "$NETC" ] || die "$NETRUN or $NETC missing: build first (meson setup build && ninja -C build)"
command -v "$CC" >/dev/null || die "no C compiler '$CC'"

SUDO_OK=0
[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && SUDO_OK=1
apt_install() {  # apt_install PKG: as root only; quietly; update the lists once if needed
  [ "$SUDO_OK" = 1 ] || return 1
  log "apt-get install -y $1"
  apt-get install -y -qq "$1" >/dev/null 2>&1 && return 0
  apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "$1" >/dev/null 2>&1
}

TIMEV=/usr/bin/time
if ! "$TIMEV" -v true >/dev/null 2>&1; then
  apt_install time
  "$TIMEV" -v true >/dev/null 2>&1 || { TIMEV=""; log "no GNU time (/usr/bin/time): peak RSS will be n/a (apt-get install time)"; }
fi

# ---- data ----------------------------------------------------------------------------------
FASHION=/usr/share/datasets/fashion-mnist
if [ -z "$DATA" ]; then
  if [ "$QUICK" = 1 ]; then
    DATA="$ROOT/data/mnist-mini"
  else
    [ -d "$FASHION" ] || apt_install dataset-fashion-mnist
    if [ -d "$FASHION" ]; then DATA=$FASHION; else
      log "Fashion-MNIST absent ($FASHION; apt-get install dataset-fashion-mnist): using data/mnist-mini"
      DATA="$ROOT/data/mnist-mini"
    fi
  fi
fi
[ -d "$DATA" ] || die "$DATA: no such data directory"
DATA_NAME=$(basename "$DATA")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/netc-bench.XXXXXX") || die "mktemp failed"
"$CC" -O2 -march=native "$ROOT/bench/fma_peak.c" -o "$WORK/fma_peak" 2>/dev/null &&
  PEAK=$("$WORK/fma_peak" | sed -n 's/^GFLOPS //p')
PEAK=${PEAK:-190}
if [ "$KEEP" = 1 ]; then
  log "work directory (kept): $WORK"
else
  trap 'rm -rf "$WORK"' EXIT
fi
trap 'echo "bench/run.sh: interrupted" >&2; exit 130' INT TERM

# raw IDX copies of the test split (the generated main and gen_bench read raw IDX)
for f in t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  if [ -f "$DATA/$f" ]; then cp "$DATA/$f" "$WORK/$f"
  elif [ -f "$DATA/$f.gz" ]; then gunzip -c "$DATA/$f.gz" > "$WORK/$f"
  else die "$DATA: no $f[.gz]"; fi
done
TEST_IMAGES=$(od -An -tu1 -j4 -N4 "$WORK/t10k-images-idx3-ubyte" | awk '{print $1*16777216+$2*65536+$3*256+$4}')

# ---- helpers -------------------------------------------------------------------------------
# run NAME CMD...: runs CMD with stdout+stderr to $WORK/NAME.log (under GNU time -v when we
# have it: peak RSS in $WORK/NAME.time); returns CMD's exit status.
run() {
  local name=$1; shift
  if [ -n "$TIMEV" ]; then
    "$TIMEV" -v -o "$WORK/$name.time" "$@" > "$WORK/$name.log" 2>&1
  else
    "$@" > "$WORK/$name.log" 2>&1
  fi
  local rc=$?
  if [ $rc -ne 0 ]; then
    echo "bench/run.sh: step '$name' failed (exit $rc): $*" >&2
    tail -n 5 "$WORK/$name.log" | sed 's/^/    /' >&2
  fi
  return $rc
}
rss_mib() {  # rss_mib NAME -> peak RSS in MiB from GNU time, or empty
  [ -f "$WORK/$1.time" ] || return 0
  awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$WORK/$1.time"
}
res() {  # res NAME KEY -> value of "RESULT KEY value" in NAME.log
  [ -f "$WORK/$1.log" ] || return 0
  awk -v k="$2" '$1 == "RESULT" && $2 == k {v = $3} END {if (v != "") print v}' "$WORK/$1.log"
}
nocomma() { tr -d ','; }
isnum() { [[ "${1:-}" =~ ^-?[0-9]+([.][0-9]+)?$ ]]; }
# netrun's training line: "epoch 1/1  done  loss ...  1,293 img/s  0.8 s"
netrun_train_img_s() { grep '^epoch ' "$WORK/$1.log" | tail -n 1 | sed -n 's/.*[[:space:]]\([0-9][0-9,.]*\) img\/s.*/\1/p' | nocomma; }
# "test: loss 0.3373  accuracy 0.9017  (2,004 images ...)"
netrun_acc() { grep '^test:' "$WORK/$1.log" | tail -n 1 | sed -n 's/.*accuracy \([0-9.]*\).*/\1/p'; }
# "test: loss 0.3373  accuracy 0.9017  (2,004 images, 584 img/s, batch 100)"
netrun_eval_img_s() { grep '^test:' "$WORK/$1.log" | tail -n 1 | sed -n 's/.*, \([0-9][0-9,.]*\) img\/s.*/\1/p' | nocomma; }
# generated main: "accuracy 0.9017 (2004 images), 124.1 us/image"
gen_main_us() { sed -n 's/.*, \([0-9.]*\) us\/image.*/\1/p' "$WORK/$1.log" | tail -n 1; }
gen_main_acc() { sed -n 's/^accuracy \([0-9.]*\) .*/\1/p' "$WORK/$1.log" | tail -n 1; }
need() {  # need VALUE WHAT STEP: warn when a figure could not be read from a step's output
  [ -n "$1" ] || log "warning: could not read $2 from the output of step '$3' ($WORK/$3.log): format changed?"
  return 0
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR] = $1} END {if (NR) print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }

# table rows: ROWS holds ids in order; LABEL THR IMG US RSS ACC keyed by id
declare -A LABEL THR IMG US RSS ACC
row() {  # row ID "label" THREADS IMG_S US RSS_MIB ACC  (empty = not measured, "n/a" = missing)
  LABEL[$1]=$2; THR[$1]=$3; IMG[$1]=$4; US[$1]=$5; RSS[$1]=$6; ACC[$1]=$7
}

# ---- optional components -------------------------------------------------------------------
TORCH_WHY="" ORT_WHY="" TORCH_VER="" ORT_VER=""
if [ "$DO_TORCH" = 0 ]; then TORCH_WHY="skipped (--no-torch)"
elif ! TORCH_VER=$("$PYTHON" -c 'import torch; print(torch.__version__)' 2>/dev/null); then
  TORCH_WHY="$PYTHON cannot import torch (apt-get install python3-torch)"; TORCH_VER=""
fi
if [ "$DO_ORT" = 0 ]; then ORT_WHY="skipped (--no-ort)"
elif [ -n "$TORCH_WHY" ]; then ORT_WHY="needs PyTorch's ONNX export"
elif ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  ORT_WHY="node and npm not found (apt-get install nodejs npm)"
else
  if [ ! -f bench/node_modules/onnxruntime-node/package.json ]; then
    log "npm: installing onnxruntime-node into bench/node_modules (no binary download)"
    if [ -f bench/package-lock.json ]; then
      (cd bench && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error) > "$WORK/npm.log" 2>&1
    else
      (cd bench && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --loglevel=error) > "$WORK/npm.log" 2>&1
    fi
  fi
  if ! ORT_VER=$(cd bench && node -e 'require("onnxruntime-node"); console.log(require("onnxruntime-node/package.json").version)' 2>/dev/null); then
    ORT_WHY="onnxruntime-node does not load (cd bench && ONNXRUNTIME_NODE_INSTALL=skip npm ci)"; ORT_VER=""
  fi
fi

# How busy the rest of the machine is: all CPU time in /proc/stat less our own children's
# (bash's `times`, which must run in this shell, not in a $(...) subshell), in cores.
snap() {  # snap PREFIX: sets PREFIX_B (busy CPU s), PREFIX_O (our children's CPU s), PREFIX_W
  times > "$WORK/times.txt"
  printf -v "${1}_O" %s "$(tail -n 1 "$WORK/times.txt" | awk '{ s = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); s += a[1] * 60 + a[2] } printf "%.2f", s }')"
  printf -v "${1}_B" %s "$(awk '/^cpu / {printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / 100; exit}' /proc/stat 2>/dev/null)"
  printf -v "${1}_W" %s "$(date +%s.%N)"
}
others_cores() {  # others_cores A B: cores used by other processes between snapshots A and B
  local b0=${1}_B o0=${1}_O w0=${1}_W b1=${2}_B o1=${2}_O w1=${2}_W
  awk -v b0="${!b0}" -v o0="${!o0}" -v w0="${!w0}" -v b1="${!b1}" -v o1="${!o1}" -v w1="${!w1}" \
    'BEGIN { w = w1 - w0; x = w > 0 ? ((b1 - b0) - (o1 - o0)) / w : 0; printf "%.2f", x < 0 ? 0 : x }'
}
snap S0; sleep 1; snap S1
OTHERS0=$(others_cores S0 S1)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
log "data: $DATA ($TEST_IMAGES test images); PyTorch: ${TORCH_VER:-$TORCH_WHY}; onnxruntime: ${ORT_VER:-$ORT_WHY}"
log "other processes are using $OTHERS0 cores now (load average $LOAD0)"
awk -v x="$OTHERS0" 'BEGIN {exit !(x > 0.2)}' && log "warning: the machine is busy: the figures will be noisy, the 2-thread ones most"
snap R0

# ==== 2. scaling: the same training work on 2 and on 1 thread, back to back ===================
# (--quick: the 1-thread epoch right after the 2-thread one, before PyTorch; otherwise
# SCALE_STEPS steps on each, after PyTorch, so that netrun's and PyTorch's epochs are adjacent)
scaling() {
  if [ -n "$SCALE_STEPS" ]; then
    # "training mnist: 50,186 params, 1 epochs of 7,996 images, batch 100, 2 threads"
    local n steps=$SCALE_STEPS
    n=$(sed -n 's/^training .* of \([0-9,]*\) images.*/\1/p' "$WORK/nr_train2.log" | nocomma)
    isnum "$n" && [ $(( (n + 99) / 100 )) -lt "$steps" ] && steps=$(( (n + 99) / 100 ))
    log "netrun: train $steps steps on 2 threads, then on 1 (scaling)"
    run nr_scale2 "$NETRUN" "$NET" --train --data "$DATA" --epochs 1 --batch 100 --threads 2 \
      --steps "$SCALE_STEPS" --save "$WORK/scale2.safetensors" || die "netrun training failed"
    NR_S2=$(netrun_train_img_s nr_scale2); need "$NR_S2" "img/s (epoch line)" nr_scale2
    row nr_scale2 "netrun train ($steps steps)" 2 "$NR_S2" "" "$(rss_mib nr_scale2)" ""
    run nr_scale1 "$NETRUN" "$NET" --train --data "$DATA" --epochs 1 --batch 100 --threads 1 \
      --steps "$SCALE_STEPS" --save "$WORK/scale1.safetensors" || die "netrun training failed"
    NR_S1=$(netrun_train_img_s nr_scale1); need "$NR_S1" "img/s (epoch line)" nr_scale1
    row nr_scale1 "netrun train ($steps steps)" 1 "$NR_S1" "" "$(rss_mib nr_scale1)" ""
    SCALE_WHAT="$steps steps"
  else
    log "netrun: train 1 epoch of $DATA_NAME, 1 thread (scaling)"
    run nr_train1 "$NETRUN" "$NET" --train --data "$DATA" --epochs 1 --batch 100 --threads 1 \
      --save "$WORK/train1.safetensors" || die "netrun training failed"
    NR_S2=$NR_TRAIN2
    NR_S1=$(netrun_train_img_s nr_train1); need "$NR_S1" "img/s (epoch line)" nr_train1
    row nr_train1 "netrun train (1 epoch)" 1 "$NR_S1" "" "$(rss_mib nr_train1)" "$(netrun_acc nr_train1)"
    SCALE_WHAT="1 epoch"
  fi
}

# ==== 1. training: netrun, then PyTorch, back to back =========================================
W="$WORK/netrun.safetensors"
log "netrun: train 1 epoch of $DATA_NAME, 2 threads"
run nr_train2 "$NETRUN" "$NET" --train --data "$DATA" --epochs 1 --batch 100 --threads 2 --save "$W" \
  || die "netrun training failed (log above)"
NR_TRAIN2=$(netrun_train_img_s nr_train2)
NR_ACC=$(netrun_acc nr_train2)
NR_RSS=$(rss_mib nr_train2)
need "$NR_TRAIN2" "img/s (epoch line)" nr_train2; need "$NR_ACC" "the test accuracy" nr_train2
row nr_train2 "netrun train (1 epoch)" 2 "$NR_TRAIN2" "" "$NR_RSS" "$NR_ACC"
if [ -z "$SCALE_STEPS" ]; then scaling; fi

PT_TRAIN="" PT_ACC="" PT_RSS=""
if [ -z "$TORCH_WHY" ]; then
  log "PyTorch: train 1 epoch of $DATA_NAME, 2 threads"
  if OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 run pt_train "$PYTHON" bench/torch_mnist.py train \
       --data "$DATA" --threads 2; then
    PT_TRAIN=$(res pt_train train_img_s); PT_ACC=$(res pt_train test_acc)
    PT_RSS=$(rss_mib pt_train); [ -n "$PT_RSS" ] || PT_RSS=$(awk '{printf "%.0f", $1 / 1024}' <<<"$(res pt_train maxrss_kb)")
  fi
  row pt_train "PyTorch train (1 epoch)" 2 "${PT_TRAIN:-failed}" "" "$PT_RSS" "$PT_ACC"
else
  row pt_train "PyTorch train (1 epoch)" 2 n/a "" "" ""
fi

if [ -n "$SCALE_STEPS" ]; then scaling; fi

# ==== 3. batched inference: netrun --eval, then PyTorch (netrun's weights) ====================
for t in 1 2; do
  log "netrun: --eval, batch 100, $t thread(s), $EVAL_RUNS run(s)"
  rates=""
  for r in $(seq 1 "$EVAL_RUNS"); do
    run "nr_eval${t}_$r" "$NETRUN" "$NET" --load "$W" --eval --data "$DATA" --batch 100 --threads "$t" \
      || die "netrun --eval failed"
    v=$(netrun_eval_img_s "nr_eval${t}_$r"); need "$v" "img/s (test: line)" "nr_eval${t}_$r"
    rates="$rates $v"
  done
  v=$(echo "$rates" | median)
  row "nr_eval$t" "netrun --eval (batch 100)" "$t" "$v" "" "$(rss_mib "nr_eval${t}_1")" "$(netrun_acc "nr_eval${t}_1")"
  eval "NR_EVAL$t=\$v"
done

ONNX="$WORK/mnist.onnx"
for t in 1 2; do
  if [ -z "$TORCH_WHY" ]; then
    extra=()
    # the 1-thread process also times batch 1 and writes the ONNX export
    [ "$t" = 1 ] && extra=(--latency "$TORCH_B1" --onnx "$ONNX")
    log "PyTorch: inference, batch 100, $t thread(s)${extra:+; batch 1; ONNX export}"
    if OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t run "pt_eval$t" "$PYTHON" bench/torch_mnist.py infer \
         --data "$DATA" --threads "$t" --weights "$W" --min-time "$MIN_TIME" "${extra[@]}"; then
      row "pt_eval$t" "PyTorch eval (batch 100)" "$t" "$(res "pt_eval$t" eval_img_s)" "" "$(rss_mib "pt_eval$t")" "$(res "pt_eval$t" test_acc)"
    else
      row "pt_eval$t" "PyTorch eval (batch 100)" "$t" failed "" "" ""
    fi
  else
    row "pt_eval$t" "PyTorch eval (batch 100)" "$t" n/a "" "" ""
  fi
done
PT_EVAL2=$(res pt_eval2 eval_img_s)
PT_B1=$(res pt_eval1 b1_us)
[ -f "$ONNX" ] || { [ -z "$ORT_WHY" ] && ORT_WHY="no ONNX export (PyTorch step failed)"; }

# ==== 4. generated C ===========================================================================
log "netc: generating and compiling C (main; batch entry point with OpenMP)"
"$NETC" "$NET" --weights "$W" -o "$WORK/mnist_main.c" --main > "$WORK/netc_main.log" 2>&1 \
  || { cat "$WORK/netc_main.log" >&2; die "netc failed"; }
"$NETC" "$NET" --weights "$W" -o "$WORK/netbench.c" --header "$WORK/netbench.h" --prefix netbench \
  > "$WORK/netc_bench.log" 2>&1 || { cat "$WORK/netc_bench.log" >&2; die "netc failed"; }
"$CC" -O2 -march=native "$WORK/mnist_main.c" -o "$WORK/mnist_main" -lm > "$WORK/cc_main.log" 2>&1 \
  || { cat "$WORK/cc_main.log" >&2; die "compiling the generated C failed"; }
"$CC" -O2 -march=native -fopenmp -I"$WORK" bench/gen_bench.c "$WORK/netbench.c" -o "$WORK/gen_bench" -lm \
  > "$WORK/cc_bench.log" 2>&1 || { cat "$WORK/cc_bench.log" >&2; die "compiling bench/gen_bench.c failed"; }

IMGS="$WORK/t10k-images-idx3-ubyte" LABS="$WORK/t10k-labels-idx1-ubyte"
log "generated C: batch 1 (its main), 1 thread"
run gen_b1 "$WORK/mnist_main" "$IMGS" "$LABS" || die "the generated program failed"
GEN_B1=$(gen_main_us gen_b1); need "$GEN_B1" "us/image" gen_b1
row gen_b1 "generated C (batch 1)" 1 "" "$GEN_B1" "$(rss_mib gen_b1)" "$(gen_main_acc gen_b1)"
if [ -n "$TORCH_WHY" ]; then row pt_b1 "PyTorch (batch 1)" 1 n/a "" "" ""
else row pt_b1 "PyTorch (batch 1)" 1 "" "${PT_B1:-failed}" "" ""; fi

ORT_B1_US="" ORT_BATCH1="" ORT_BATCH2=""
if [ -z "$ORT_WHY" ]; then
  log "onnxruntime: batch 1 and batch 100, 1 thread"
  run ort_1 node bench/ort_bench.js "$ONNX" "$WORK" --threads 1 --batch 100 --latency "$ORT_B1" --min-time "$MIN_TIME" \
    && { ORT_B1_US=$(res ort_1 b1_us); ORT_BATCH1=$(res ort_1 batch_img_s); }
  row ort_b1 "onnxruntime (batch 1)" 1 "" "${ORT_B1_US:-failed}" "$(rss_mib ort_1)" ""
else
  row ort_b1 "onnxruntime (batch 1)" 1 "" n/a "" ""
fi

for t in 1 2; do
  log "generated C: batch entry point, batch 100, $t thread(s)"
  OMP_NUM_THREADS=$t run "gen_batch$t" "$WORK/gen_bench" "$IMGS" "$LABS" 100 "$MIN_TIME" \
    || die "bench/gen_bench.c failed"
  v=$(res "gen_batch$t" batch_img_s)
  eval "GEN_BATCH$t=\$v"
  row "gen_batch$t" "generated C (batch 100)" "$t" "$v" "" "$(rss_mib "gen_batch$t")" "$(res "gen_batch$t" test_acc)"
  if [ -n "$ORT_WHY" ]; then
    row "ort_batch$t" "onnxruntime (batch 100)" "$t" n/a "" "" ""
  elif [ "$t" = 1 ]; then
    row ort_batch1 "onnxruntime (batch 100)" 1 "${ORT_BATCH1:-failed}" "" "$(rss_mib ort_1)" "$(res ort_1 test_acc)"
  else
    log "onnxruntime: batch 100, 2 threads"
    run ort_2 node bench/ort_bench.js "$ONNX" "$WORK" --threads 2 --batch 100 --min-time "$MIN_TIME" \
      && ORT_BATCH2=$(res ort_2 batch_img_s)
    row ort_batch2 "onnxruntime (batch 100)" 2 "${ORT_BATCH2:-failed}" "" "$(rss_mib ort_2)" "$(res ort_2 test_acc)"
  fi
done
snap R1
OTHERS=$(others_cores R0 R1)

# ==== 5. the table =============================================================================
fmt() {  # fmt X DECIMALS: thousands separators; non-numbers as they are; empty as "-"
  if isnum "${1:-}"; then
    awk -v x="$1" -v d="$2" 'BEGIN {
      s = sprintf("%." d "f", x); sign = ""; f = ""
      if (substr(s, 1, 1) == "-") { sign = "-"; s = substr(s, 2) }
      p = index(s, "."); i = s
      if (p) { i = substr(s, 1, p - 1); f = substr(s, p) }
      out = ""
      for (k = length(i); k > 0; k -= 3) {
        b = k - 2 < 1 ? 1 : k - 2
        seg = substr(i, b, k - b + 1); out = out == "" ? seg : seg "," out
      }
      print sign out f }'
  elif [ -n "${1:-}" ]; then echo "$1"; else echo "-"; fi
}
calc() { awk "BEGIN {printf \"%.${2:-2}f\", $1}"; }

{
  echo "## netc benchmark: the seed net (nets/mnist.net), batch 100"
  echo
  echo "\`bench/run.sh$([ "$QUICK" = 1 ] && echo " --quick")\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git describe --always --dirty 2>/dev/null || echo '?');"
  echo "$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1), $(nproc) cores;"
  echo "data: $DATA ($TEST_IMAGES test images); other processes used $OTHERS cores on average during"
  echo "the run (CPU time in /proc/stat less the benchmark's own)."
  echo "PyTorch: ${TORCH_VER:-n/a ($TORCH_WHY)}; onnxruntime-node: ${ORT_VER:-n/a ($ORT_WHY)}; cc: $("$CC" --version | head -n 1)."
  if awk -v x="$OTHERS" 'BEGIN {exit !(x > 0.2)}'; then
    echo
    echo "**Warning: the machine was busy (other processes used $OTHERS of $(nproc) cores): every"
    echo "figure, and the 2-thread ones most, is unreliable. Rerun on an idle machine.**"
  fi
  echo
  echo "| what | threads | images/s | us/image | peak RSS (MiB) | test accuracy |"
  echo "|---|---:|---:|---:|---:|---:|"
  for id in nr_train2 nr_scale2 nr_scale1 nr_train1 nr_eval1 nr_eval2 gen_b1 gen_batch1 gen_batch2 \
            pt_train pt_eval1 pt_eval2 pt_b1 ort_b1 ort_batch1 ort_batch2; do
    [ -n "${LABEL[$id]:-}" ] || continue
    img=${IMG[$id]} us=${US[$id]}
    # images/s and us/image are two views of one figure (wall time per image)
    if isnum "$img" && [ -z "$us" ]; then us=$(calc "1e6 / $img" 1); fi
    if isnum "$us" && [ -z "$img" ]; then img=$(calc "1e6 / $us" 0); fi
    [ "$img" = n/a ] || [ "$us" = n/a ] && { img=n/a; us=n/a; }
    echo "| ${LABEL[$id]} | ${THR[$id]} | $(fmt "$img" 0) | $(fmt "$us" 1) | $(fmt "${RSS[$id]}" 0) | $(fmt "${ACC[$id]}" 4) |"
  done
  echo
  echo "Images/s of training are netrun's own \"img/s\" on its epoch line and PyTorch's training"
  echo "loop (both without the test pass); batch-100 figures are the median of passes over the test"
  echo "set (netrun: median of $EVAL_RUNS process(es), one pass each); batch 1 is the mean over the"
  echo "test set (generated main), $TORCH_B1 images (PyTorch) or $ORT_B1 (onnxruntime) after warm-up."
  echo "Inference rows use netrun's trained weights (PyTorch loads them; onnxruntime runs PyTorch's"
  echo "ONNX export of them), so their accuracies should agree. us/image = 1e6 / images/s."
  echo
  echo "| target (issue 5) | measured | goal | |"
  echo "|---|---:|---:|---|"
  target() {  # target "what" VALUE "goal text" OP LIMIT DECIMALS SUFFIX
    local what=$1 v=$2 goal=$3 op=$4 lim=$5 dec=$6 suf=${7:-} mark
    if isnum "$v"; then
      if awk -v v="$v" -v l="$lim" "BEGIN {exit !(v $op l)}"; then mark=met; else mark="**not met**"; fi
      echo "| $what | $(fmt "$v" "$dec")$suf | $goal | $mark |"
    else
      echo "| $what | n/a | $goal | n/a |"
    fi
  }
  ratio() { isnum "${1:-}" && isnum "${2:-}" && awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b}'; }
  target "netrun train vs PyTorch train (2 threads)" "$(ratio "$NR_TRAIN2" "$PT_TRAIN")" ">= 3x" ">=" 3 2 x
  target "netrun --eval vs PyTorch eval (batch 100, 2 threads)" "$(ratio "$NR_EVAL2" "$PT_EVAL2")" ">= 4x" ">=" 4 2 x
  target "generated C batch 1, one thread (us/image)" "$GEN_B1" "<= 80 us" "<=" 80 1 " us"
  target "generated C batch 1 vs onnxruntime batch 1 (time ratio)" "$(ratio "$GEN_B1" "$ORT_B1_US")" "< 1x (ahead)" "<" 1 2 x
  target "generated C batch 100 vs onnxruntime, 2 threads" "$(ratio "$GEN_BATCH2" "$ORT_BATCH2")" ">= 0.8x" ">=" 0.8 2 x
  target "netrun train scaling, 2 vs 1 thread ($SCALE_WHAT)" "$(ratio "$NR_S2" "$NR_S1")" ">= 1.7x" ">=" 1.7 2 x
  target "netrun train peak RSS ($DATA_NAME)" "$NR_RSS" "<= 150 MiB" "<=" 150 0 " MiB"
  if isnum "$NR_ACC" && isnum "$PT_ACC"; then
    target "netrun test accuracy minus PyTorch's after 1 epoch" "$(calc "$NR_ACC - $PT_ACC" 4)" ">= -0.01" ">=" -0.01 4
  else
    echo "| netrun test accuracy minus PyTorch's after 1 epoch | n/a | >= -0.01 | n/a |"
  fi
  echo
  echo "| against the machine's limits (AVX-512 FMA peak, issue 5) | measured | limit | share |"
  echo "|---|---:|---:|---:|"
  limit() {  # limit "what" VALUE LIMIT SUFFIX INVERSE(1 if lower is better) DECIMALS
    local v=$2 s
    if isnum "$v"; then
      if [ "$5" = 1 ]; then s=$(calc "100 * $3 / $v" 0); else s=$(calc "100 * $v / $3" 0); fi
      echo "| $1 | $(fmt "$v" "$6")$4 | $(fmt "$3" 0)$4 | $s% |"
    else
      echo "| $1 | n/a | $(fmt "$3" 0)$4 | n/a |"
    fi
  }
  # issue 5's limits assume 190 GFLOPS a core; scaled to the peak fma_peak.c measures here
  k=$(calc "$PEAK / 190" 4)
  limit "generated C batch 1, one core" "$GEN_B1" "$(calc "40 / $k" 1)" " us" 1 1
  limit "netrun --eval, two cores" "$NR_EVAL2" "$(calc "49000 * $k" 0)" " img/s" 0 0
  limit "generated C batch 100, two cores" "$GEN_BATCH2" "$(calc "49000 * $k" 0)" " img/s" 0 0
  limit "netrun train, two cores" "$NR_TRAIN2" "$(calc "16500 * $k" 0)" " img/s" 0 0
  echo
  echo "The limits: issue 5's figures at 190 GFLOPS a core, scaled to this machine's single-core"
  echo "FMA peak as bench/fma_peak.c measured it in this run: $PEAK GFLOPS."
  echo
  echo "Reference points from issue 5 (same machine class): PyTorch trains ~1,800 images/s,"
  echo "infers ~3,000-3,800 at batch 100 and ~350-600 us at batch 1; onnxruntime ~100-150 us at"
  echo "batch 1, ~12,000-15,000 images/s at batch 100 on one thread, ~22,000-30,000 on two."
} > "$WORK/results.md"

mkdir -p "$(dirname "$OUT")" && cp "$WORK/results.md" "$OUT"
cat "$WORK/results.md"
echo
log "done; table written to $OUT"
