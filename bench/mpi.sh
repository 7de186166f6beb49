#!/bin/bash
# bench/mpi.sh: data-parallel netrun measured, and the scaling model built from the
# measurements (docs/scaling.md explains the model). Usage below.
set -u

usage() {
  cat <<'EOF'
usage: bench/mpi.sh [--nets "mnist resnet"] [--data DIR] [--rounds N] [--out FILE] [--build DIR]

1. Side by side, --rounds times (default 3) alternating: one epoch of the data on
   1 process of 2 threads, and on 2 processes of 1 thread (mpirun); the training rate of
   each (the epoch line: evaluation excluded) and process 0's communication per step.
2. Compute per step on one machine (1 process, 2 threads) for batches of 25 to 400, fitted
   to t(b) = t0 + b * t_img.
3. This machine's link between two processes (bench/mpi_pingpong: latency, bandwidth),
   and the model's communication per step for 2 and 3 processes against the measured.
4. The model's table: images/s on 1 to 64 machines over 10 GbE and 100 GbE, 100 images a
   machine per step, and the batch per machine below which communication dominates.

  --data DIR   IDX data (default: /usr/share/datasets/fashion-mnist, else data/mnist-mini)
  --out FILE   the tables as Markdown (default: bench/mpi_results.md)
Run it on an otherwise idle machine.
EOF
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
NETS="mnist resnet" DATA="" ROUNDS=3 OUT="$ROOT/bench/mpi_results.md" BUILD="$ROOT/build"
while [ $# -gt 0 ]; do
  case "$1" in
    --nets) NETS=$2; shift ;;
    --data) DATA=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --out) OUT=$2; shift ;;
    --build) BUILD=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench/mpi.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac
case "$BUILD" in /*) ;; *) BUILD="$PWD/$BUILD" ;; esac
[ -z "$DATA" ] && { [ -d /usr/share/datasets/fashion-mnist ] && DATA=/usr/share/datasets/fashion-mnist || DATA=$ROOT/data/mnist-mini; }
NETRUN=$BUILD/tools/netrun PINGPONG=$BUILD/bench/mpi_pingpong
[ -x "$PINGPONG" ] || { echo "bench/mpi.sh: $PINGPONG missing: build with MPI (meson -Dmpi=enabled)" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
T0=$(date +%s)
log() { printf '[mpi %4ds] %s\n' $(( $(date +%s) - T0 )) "$*" >&2; }
# the training rate of an epoch line ("... 12,345 img/s  4.9 s")
rate() { sed -n 's/^epoch .*  \([0-9,]*\) img\/s .*/\1/p' "$1" | tail -1 | tr -d ,; }
comm() { sed -n 's/^communication (process 0 of [0-9]*): \([0-9.]*\) KB and \([0-9.]*\) ms per step, \([0-9.]*\)%.*/\1 \2 \3/p' "$1"; }
params() { "$BUILD/tools/netc" --summary "$ROOT/nets/$1.net" | sed -n 's/^Total params: \([0-9,]*\).*/\1/p' | tr -d ,; }

{
echo "# Data-parallel netrun: measured, and the scaling model"
echo
echo "bench/mpi.sh on $(date -u +%Y-%m-%d), $(nproc) cores ($(sed -n 's/^model name\t: //p' /proc/cpuinfo | head -1)),"
echo "data $DATA, Open MPI $(mpirun --version 2>/dev/null | sed -n 's/.*) //p' | head -1)."
echo
echo "## 1. Two processes of one thread against one process of two threads"
echo
echo "One epoch each, alternating; training images/s from the epoch line (evaluation excluded);"
echo "communication per step as process 0 measures it (time inside MPI calls, waiting included)."
echo
echo "| net | round | 1 process x 2 threads | 2 processes x 1 thread | ratio | checkpoints | KB per step | comm ms per step | comm share |"
echo "|---|---|---|---|---|---|---|---|---|"
} >"$OUT"

declare -A T0F TIMG GB NBN
for net in $NETS; do
  for r in $(seq "$ROUNDS"); do
    log "$net round $r: 1 process x 2 threads"
    "$NETRUN" "$ROOT/nets/$net.net" --train --epochs 1 --data "$DATA" --threads 2 \
      --save "$WORK/a.st" >"$WORK/p.log" 2>&1
    log "$net round $r: 2 processes x 1 thread"
    mpirun -np 2 "$NETRUN" "$ROOT/nets/$net.net" --train --epochs 1 --data "$DATA" \
      --threads 1 --save "$WORK/b.st" >"$WORK/m.log" 2>&1
    same=$(cmp -s "$WORK/a.st" "$WORK/b.st" && echo "same bytes" || echo "DIFFERENT BYTES")
    a=$(rate "$WORK/p.log") b=$(rate "$WORK/m.log")
    read -r kb ms share <<<"$(comm "$WORK/m.log")"
    echo "| $net | $r | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }') | $same | $kb | $ms | $share% |" >>"$OUT"
    log "$net: $a vs $b img/s ($same), comm $ms ms per step ($share%)"
  done
done

{
echo
echo "## 2. Compute per step on one machine (1 process, 2 threads)"
echo
echo "| net | batch | images/s | ms per step |"
echo "|---|---|---|---|"
} >>"$OUT"
fits=""
for net in $NETS; do
  pts=""
  for b in 25 50 100 200 400; do
    steps=$(( 12000 / b )) # about 12,000 images
    "$NETRUN" "$ROOT/nets/$net.net" --train --epochs 1 --steps "$steps" --batch "$b" --data "$DATA" \
      --threads 2 --save "$WORK/c.st" >"$WORK/c.log" 2>&1
    ips=$(rate "$WORK/c.log")
    ms=$(awk -v b="$b" -v r="$ips" 'BEGIN { printf "%.3f", 1000 * b / r }')
    echo "| $net | $b | $ips | $ms |" >>"$OUT"
    pts="$pts $b $ms"
  done
  # least squares t(b) = t0 + b * t_img, in ms
  read -r t0 ti <<<"$(echo "$pts" | awk '{ n = NF / 2; for (i = 1; i <= NF; i += 2) { x = $i; y = $(i + 1); sx += x; sy += y; sxx += x * x; sxy += x * y }
    k = (n * sxy - sx * sy) / (n * sxx - sx * sx); printf "%.4f %.6f", (sy - k * sx) / n, k }')"
  T0F[$net]=$t0 TIMG[$net]=$ti
  GB[$net]=$(( 4 * $(params "$net") ))
  NBN[$net]=$(grep -o "BatchNorm[12]d" "$ROOT/nets/$net.net" | wc -l)
  log "$net: t(b) = $t0 ms + b x $ti ms; gradient ${GB[$net]} bytes; ${NBN[$net]} BatchNorm"
  fits="$fits
- $net: t(b) = $t0 ms + b x $ti ms (least squares); gradient ${GB[$net]} bytes; ${NBN[$net]} BatchNorm layers."
done
echo "$fits" >>"$OUT"

log "the link between two processes here (bench/mpi_pingpong)"
mpirun -np 2 "$PINGPONG" >"$WORK/pp.log"
pp() { sed -n "s/^$1 //p" "$WORK/pp.log"; }
ALPHA=$(pp latency_us) BETA=$(pp bandwidth_256k_GBps) CALL=$(pp allgatherv_us) ADD=$(pp add_GBps)

# The model's communication per step, in ms: model NET P ALPHA_US BETA_GBPS BATCH
#  - the chain: the gradient (G bytes) in k segments of s = G/P (16 to 256 KB) down P - 1
#    hops, pipelined: (k + P - 2) hops, each a message (latency + s / bandwidth) and the
#    receiver's additions of its chunks into the segment (c = chunks / P of them, chunks =
#    max(8, P): more than 8 machines need `chunks` raised);
#  - the total broadcast from the last process: a pipelined tree, (k + log2 P - 1) hops;
#  - small collectives, each CALL us of software (measured here) + log2 P latencies + its
#    bytes: the stop flag and the correct count (allreduce), every row's loss (8 B a row),
#    and per BatchNorm layer, forward and backward, every chunk's sums (2C doubles, C <= 64).
model() {
  awk -v G="${GB[$1]}" -v P="$2" -v a="$3" -v beta="$4" -v B="$5" -v nbn="${NBN[$1]}" \
      -v call="$CALL" -v add="$ADD" 'BEGIN {
    if (P < 2) { print 0; exit }
    a /= 1e6; call /= 1e6; beta *= 1e9; add *= 1e9; lg = 0; for (q = 1; q < P; q *= 2) lg++
    chunks = P > 8 ? P : 8; c = chunks / P
    s = G / P; if (s < 16384) s = 16384; if (s > 262144) s = 262144; if (s > G) s = G
    k = int((G + s - 1) / s); hop = a + s / beta
    chain = (k + P - 2) * (hop + c * 2 * s / add)
    bcast = (k + lg - 1) * hop
    coll = call + lg * a
    small = 2 * coll + coll + 8 * B / beta + nbn * 2 * (coll + 2 * 64 * 8 * chunks / beta)
    printf "%.4f", 1000 * (chain + bcast + small) }'
}
{
echo
echo "## 3. The model against the measurement on this machine"
echo
echo "Between two processes here (bench/mpi_pingpong): latency $ALPHA us, bandwidth $BETA GB/s (256 KB"
echo "messages), $CALL us per small collective call, one core adds vectors at $ADD GB/s. The model's"
echo "communication per step on that link, against process 0's time inside MPI calls over 200 steps"
echo "with NETRUN_MPI_WAIT=1 (a barrier before each exchange, its time counted apart: the wait for"
echo "the slower process, which the model leaves out)."
echo
echo "| net | processes | model ms per step | measured transfers ms per step | measured wait ms per step |"
echo "|---|---|---|---|---|"
} >>"$OUT"
for net in $NETS; do
  NETRUN_MPI_WAIT=1 mpirun -x NETRUN_MPI_WAIT -np 2 "$NETRUN" "$ROOT/nets/$net.net" --train --steps 200 \
    --data "$DATA" --threads 1 --save "$WORK/d.st" >"$WORK/d.log" 2>&1
  read -r kb ms share <<<"$(comm "$WORK/d.log")"
  wait=$(sed -n 's/.*; \([0-9.]*\) ms waiting.*/\1/p' "$WORK/d.log")
  echo "| $net | 2 | $(model "$net" 2 "$ALPHA" "$BETA" 100) | $ms | $wait |" >>"$OUT"
done

{
echo
echo "## 4. The model: images/s on P machines, 100 images a machine per step"
echo
echo "Compute per step t(100) from section 2 (a machine is this one: 2 cores); 10 GbE: latency 30 us,"
echo "1.1 GB/s; 100 GbE: latency 10 us, 11 GB/s (MPI over TCP; RDMA would lower the latency); the"
echo "software cost per call and the additions as measured here. Beyond 8 machines \`chunks\` is"
echo "raised to P (one chunk a machine). Waiting for the slowest machine is left out."
echo "The last column of each: the batch per machine below which communication takes longer than"
echo "compute (t(b) = comm)."
echo
echo "| net | P | 10 GbE images/s | comm ms | efficiency | batch where comm dominates | 100 GbE images/s | comm ms | efficiency | batch where comm dominates |"
echo "|---|---|---|---|---|---|---|---|---|---|"
} >>"$OUT"
for net in $NETS; do
  for P in 1 2 4 8 16 32 64; do
    row="| $net | $P"
    for link in "30 1.1" "10 11"; do
      read -r a b <<<"$link"
      c=$(model "$net" "$P" "$a" "$b" $((100 * P)))
      row="$row | $(awk -v t0="${T0F[$net]}" -v ti="${TIMG[$net]}" -v c="$c" -v P="$P" 'BEGIN {
        tc = t0 + 100 * ti; ips = 100 * P / ((tc + c) / 1000); one = 100 / (tc / 1000)
        bstar = (c - t0) / ti; if (bstar < 1) bstar = 1
        printf "%d | %.2f | %.0f%% | %s", ips, c, 100 * ips / (P * one), P < 2 ? "-" : sprintf("%d", bstar) }')"
    done
    echo "$row |" >>"$OUT"
  done
done
log "written $OUT"
cat "$OUT"
