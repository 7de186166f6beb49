#!/bin/bash
# mpi.sh NETRUN SRCROOT: data-parallel training under mpirun (Open MPI), end to end.
#
#  - the same bytes: after N steps the checkpoint of 1, 2 and 3 processes (oversubscribed
#    on this machine; 1 or 2 threads each) equals that of a plain netrun run, for nets of
#    every sort the batch is shared by: the seed net (over an epoch's end and its short last
#    batch), Dropout (one RNG stream per chunk), BatchNorm (batch statistics gathered at
#    each barrier), a residual, an Inception-style and a depthwise net, a batch with fewer
#    chunks than processes, augmentation with a validation split over an epoch's end, and
#    random nets with BatchNorm settings off the defaults;
#  - resume: K steps on 2 processes, then --resume to N on 3 (and on a plain run) equals N
#    steps uninterrupted;
#  - --eval on 2 processes prints what a plain --eval prints; --predict, --plot and --profile
#    (process 0's alone) failing on 2 processes end the job with the error;
#  - one process with other data than process 0 (mpirun's MPMD form), or another --steps:
#    exit non-zero, one error naming the difference, and no checkpoint written;
#  - a loss that becomes NaN: every process stops at the same step, process 0 alone says so;
#  - two threads in a process mpirun bound to one core: a warning that names --bind-to none;
#  - a killed process: mpirun exits non-zero (a 60 s guard, not a stopwatch), no netrun is
#    left running, and the checkpoint it leaves loads and resumes;
#  - Ctrl-C to mpirun: every process stops after the same step, the first saves, and the
#    saved position resumes to the bytes of an uninterrupted run.
# With a third argument `quick` (the sanitizer build, where a step is ~20 times slower):
# fewer steps, and no killed process or Ctrl-C (their timing needs a normal speed).
# Skips (exit 77) when mpirun is missing or netrun was built without MPI.
# Ends with "mpi: N passed, N failed"; exit 1 if any failed.
set -u
abs() { (cd "$(dirname "$1")" && echo "$(pwd)/$(basename "$1")"); }
NETRUN=$(abs "$1") ROOT=$(abs "$2") QUICK=0
[ "${3:-}" = quick ] && QUICK=1
DATA=$ROOT/data/mnist-mini
command -v mpirun >/dev/null || { echo "mpi: no mpirun: skipped"; exit 77; }
"$NETRUN" --help | grep -q "this build has MPI" || { echo "mpi: netrun without MPI: skipped"; exit 77; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
. "$ROOT/tests/runtime/lib.sh"
# root may run mpirun here (a container); Open MPI's leaks are not ours (under ASan)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0
# sum W.st: a digest of the weights and the training checkpoint beside them (W.ckpt.st)
sum() { cat "$1" "${1%.st}.ckpt.st" 2>/dev/null | sha256sum | cut -c1-16; }
mpi() { local np=$1; shift; timeout 300 mpirun -np "$np" "$NETRUN" "$@"; }

# ---- the same bytes on any number of processes ----

# same NAME STEPS NET [flags]: plain (2 threads) against 1, 2 and 3 processes of 1 thread
# and 2 processes of 2 threads
same() {
    local name=$1 steps=$2 net=$3
    shift 3
    local common=(--train --steps "$steps" --data "$DATA" --quiet "$@")
    "$NETRUN" "$net" "${common[@]}" --threads 2 --save "$name-plain.st" >"$name-plain.log" 2>&1
    local want
    want=$(sum "$name-plain.st")
    [ -n "$want" ] || { bad "$name: plain run" "$(tail -3 "$name-plain.log")"; return; }
    local np th got fails=()
    for run in 1x1 2x1 3x1 2x2; do
        np=${run%x*} th=${run#*x}
        mpi "$np" "$net" "${common[@]}" --threads "$th" --save "$name-$run.st" >"$name-$run.log" 2>&1
        got=$(sum "$name-$run.st")
        [ "$got" = "$want" ] || fails+=("$np processes x $th threads: ${got:-no checkpoint} != $want: $(tail -2 "$name-$run.log")")
    done
    if [ ${#fails[@]} = 0 ]; then
        ok "$name: $steps steps: 1, 2, 3 processes == plain ($want)"
    else
        bad "$name: $steps steps" "${fails[@]}"
    fi
}
# SGD with momentum, MSE and a per-step schedule (the settings every process must share)
sed 's/loss .*/loss mse/; s/optimizer .*/optimizer SGD lr=0.05 momentum=0.9 nesterov=true weight_decay=0.0001\n  schedule OneCycleLR max_lr=0.1/' \
    "$ROOT/nets/mnist.net" >sgd_mse.net
# augmentation: each image's crop and flip drawn from its own stream, whoever converts it
sed 's/  seed 777/  seed 777\n  augment 28 2 flip=true\n  val 0.1/' "$ROOT/nets/mnist.net" >augment.net
if [ $QUICK = 1 ]; then
    same mnist 10 "$ROOT/nets/mnist.net" --batch 20
    same mlp_dropout 6 "$ROOT/nets/mlp.yaml"
    same resnet_bn 2 "$ROOT/nets/resnet.net" --batch 12
    same few_chunks 4 "$ROOT/nets/mnist.net" --batch 3
else
    same mnist 85 "$ROOT/nets/mnist.net"           # 80 batches an epoch: the short last, and on
    same mlp_dropout 30 "$ROOT/nets/mlp.yaml"
    same resnet_bn 6 "$ROOT/nets/resnet.net" --batch 24
    same inception 4 "$ROOT/nets/inception.net" --batch 24
    same mobilenet_bn 4 "$ROOT/nets/mobilenet.net" --batch 24
    same few_chunks 12 "$ROOT/nets/mnist.net" --batch 3 # 2 chunks for 3 processes
    same sgd_mse 20 sgd_mse.net
    same chunks_20 20 "$ROOT/nets/mnist.net" --chunks 20  # more chunks than the default 8
    same augment_val 75 augment.net                      # an epoch's end: val and best weights
    # ReduceLROnPlateau (its lr from every epoch's validation loss: the same on every process)
    # and gradient clipping (of the gradient the chain adds up), over 4 epochs of 40 steps
    printf 'network pc (input 1x28x28) {\n  Flatten\n  Linear 32\n  ReLU\n  Linear 10\n}\ntrain {\n  optimizer SGD lr=0.5\n  schedule ReduceLROnPlateau patience=0 factor=0.5 threshold=0.05\n  clip_grad_norm 2 norm_type=3\n  batch 200\n  epochs 4\n  val 0.2\n  seed 1\n}\n' >plateau_clip.net
    same plateau_clip 128 plateau_clip.net
    # random nets (tests/runtime/fixtures/random) whose BatchNorms have no running
    # statistics, momentum 1, no affine factors, or are 1-d: the settings the gathered batch
    # statistics must honour on every process
    used=""
    for p in track_running_stats=false momentum=1 affine=false BatchNorm1d; do
        for net in $(grep -l "$p" "$ROOT"/tests/runtime/fixtures/random/[0-9]*.net); do
            case " $used " in *" $net "*) continue ;; esac
            used="$used $net"
            same "random_$(basename "$net" .net)_${p%%=*}" 6 "$net"
            break
        done
    done
fi

# ---- resume on another number of processes ----
common=(--train --data "$DATA" --quiet --threads 1)
[ $QUICK = 1 ] && common+=(--batch 20) N=10 K=4 || N=85 K=10
mpi 2 "$ROOT/nets/mnist.net" "${common[@]}" --steps $K --save r.st >r1.log 2>&1
cp r.st r-plain.st && cp r.ckpt.st r-plain.ckpt.st
mpi 3 "$ROOT/nets/mnist.net" "${common[@]}" --steps $N --resume r.ckpt.st >r2.log 2>&1
"$NETRUN" "$ROOT/nets/mnist.net" "${common[@]}" --steps $N --resume r-plain.ckpt.st >r3.log 2>&1
want=$(sum mnist-plain.st)
if [ "$(sum r.st)" = "$want" ] && [ "$(sum r-plain.st)" = "$want" ]; then
    ok "resume: $K steps on 2 processes, then to $N on 3 (and plain) == $N uninterrupted"
else
    bad "resume" "3 processes: $(sum r.st), plain: $(sum r-plain.st), want $want" \
        "$(tail -2 r1.log r2.log r3.log)"
fi

# every optimizer state a checkpoint holds goes to every process on resume (AMSGrad's vmax
# and a centered RMSprop's grad_avg were once left at zero on all but process 0)
for opt in "Adam lr=0.001 amsgrad=true" "RMSprop lr=0.001 centered=true momentum=0.5"; do
    o=$(echo "$opt" | cut -d' ' -f1)
    sed "s/optimizer .*/optimizer $opt/" "$ROOT/nets/mnist.net" >"o$o.net"
    "$NETRUN" "o$o.net" "${common[@]}" --steps $N --save "o$o-full.st" >"o$o-full.log" 2>&1
    "$NETRUN" "o$o.net" "${common[@]}" --steps $K --save "o$o.st" >"o$o-k.log" 2>&1
    mpi 2 "o$o.net" "${common[@]}" --steps $N --resume "o$o.ckpt.st" >"o$o-r.log" 2>&1
    want=$(sum "o$o-full.st")
    [ -n "$want" ] && [ "$(sum "o$o.st")" = "$want" ] &&
        ok "resume of $opt on 2 processes == $N uninterrupted steps" ||
        bad "resume of $opt on 2 processes" "$(sum "o$o.st") != $want" "$(tail -2 "o$o-r.log")"
done

# ---- evaluation ----
"$NETRUN" "$ROOT/nets/mnist.net" --eval --load mnist-plain.st --data "$DATA" >e1.log 2>&1
mpi 2 "$ROOT/nets/mnist.net" --eval --load mnist-plain.st --data "$DATA" --threads 1 >e2.log 2>&1
strip() { sed 's/[0-9,]* img\/s//' "$1"; }
if [ "$(strip e1.log)" = "$(strip e2.log)" ] && grep -q "^test: loss" e2.log; then
    ok "--eval on 2 processes prints the plain run's loss and accuracy"
else
    bad "--eval on 2 processes" "plain: $(cat e1.log)" "2 processes: $(cat e2.log)"
fi

# ---- what process 0 does alone (--predict, --plot, --profile) failing: the job ends ----
# (the others ended at once; process 0 waited for them to agree on its failure, forever)
for what in "--plot nothere -o x.svg" "$ROOT/nets/mnist.net --predict nothere.f32"; do
    # shellcheck disable=SC2086
    timeout -k 10 60 mpirun -np 2 "$NETRUN" $what >alone.log 2>&1
    rc=$?
    [ $rc != 0 ] && [ $rc != 124 ] && grep -q 'nothere' alone.log &&
        ok "${what##*nets/} on 2 processes, failing on process 0: exit $rc, the message shown" ||
        bad "${what##*nets/} on 2 processes, failing: exit $rc (124: hung)" "$(tail -5 alone.log)"
done

# --profile times one process: refused as a usage error before anything is read (the data
# named here does not exist, and is not what the message is about)
timeout -k 10 60 mpirun -np 2 "$NETRUN" "$ROOT/nets/mnist.net" --profile --steps 1 --data nothere >prof.log 2>&1
rc=$?
[ $rc = 2 ] && grep -q 'error: --profile times one process: run it without mpirun' prof.log &&
    ! grep -q 'nothere\|warning' prof.log &&
    ok "--profile on 2 processes: a usage error (exit 2) before any work" ||
    bad "--profile on 2 processes: exit $rc" "$(grep -v '^-\|^$' prof.log | head -5)"

# ---- a process with other data ----
# other/: the same files, but the first test label changed (the raw file is read before .gz)
mkdir -p other && cp "$DATA"/* other/
gzip -dc "$DATA/t10k-labels-idx1-ubyte.gz" >other/t10k-labels-idx1-ubyte
first=$(od -An -tu1 -j8 -N1 other/t10k-labels-idx1-ubyte | tr -d ' ')
printf "\\x0$(((first + 1) % 10))" | dd of=other/t10k-labels-idx1-ubyte bs=1 seek=8 conv=notrunc 2>/dev/null
# mpmd NAME WHAT MESSAGE STEPS0 DATA0 STEPS1 DATA1: process 0 and process 1 of mpirun's MPMD
# form training nets/mnist.net, each with its own --steps and --data: a non-zero exit (not the
# 120 s guard), process 1's error MESSAGE, and no file saved
mpmd() {
    local name=$1 what=$2 msg=$3 st
    local run=("$NETRUN" "$ROOT/nets/mnist.net" --train --threads 1 --save "$name.st")
    timeout 120 mpirun -np 1 "${run[@]}" --steps "$4" --data "$5" : -np 1 "${run[@]}" \
        --steps "$6" --data "$7" >"$name.log" 2>&1
    st=$?
    if [ $st != 0 ] && [ $st != 124 ] && grep -q "process 1 of 2): error: $msg" "$name.log" &&
        [ ! -e "$name.st" ]; then
        ok "$what: exit $st, the difference named, nothing saved"
    else
        bad "$what" "exit $st, saved: $([ -e "$name.st" ] && echo yes || echo no)" \
            "$(grep -v '^-\|^$' "$name.log" | head -5)"
    fi
}
mpmd mixed "a process with other test data" "its test set differs from process 0's" \
    5 "$DATA" 5 other

# ---- a process with another --steps (MPMD): it would stop alone and leave the other waiting ----
mpmd steps "a process with another --steps" "its --steps, or what it saves" 3 "$DATA" 5 "$DATA"

# ---- bound to one core with two threads (mpirun's default binding): a warning with the fix ----
if [ "$(nproc)" -ge 2 ]; then
    mpi 1 "$ROOT/nets/mnist.net" --train --steps 1 --data "$DATA" --threads 2 --quiet \
        --save bound.st >bound1.log 2>&1
    timeout 300 mpirun -np 1 --bind-to none "$NETRUN" "$ROOT/nets/mnist.net" --train --steps 1 \
        --data "$DATA" --threads 2 --quiet --save bound.st >bound2.log 2>&1
    if grep -q "warning: 2 threads, but this process may run on 1 core only: start mpirun with --bind-to none" bound1.log &&
        ! grep -q "warning" bound2.log; then
        ok "2 threads bound to 1 core: a warning naming --bind-to none; none with it"
    else
        bad "2 threads bound to 1 core" "default binding: $(grep warning bound1.log)" \
            "--bind-to none: $(grep warning bound2.log)"
    fi
fi

# ---- a loss that is not finite: every process stops at the same step, one says so ----
mpi 2 "$ROOT/nets/mnist.net" --train --steps 30 --optimizer SGD --lr 1e6 --data "$DATA" \
    --threads 1 --quiet --save nan.st >nan.log 2>&1
st=$?
errors=$(grep -c "error:" nan.log)
if [ $st != 0 ] && [ "$errors" = 1 ] && grep -q "process 0 of 2): error: the loss became" nan.log; then
    ok "a loss that is not finite: exit $st, one error, from process 0"
else
    bad "a loss that is not finite" "exit $st, $errors error lines" "$(grep -v '^-\|^$' nan.log | head -5)"
fi

if [ $QUICK = 1 ]; then
    echo "mpi: $passed passed, $failed failed"
    [ $failed = 0 ]
    exit
fi

# ---- a killed process ----
rank_pid() { # PATTERN RANK: the pid of that rank's netrun
    local p
    for p in $(pgrep -f "$1"); do
        grep -qa "OMPI_COMM_WORLD_RANK=$2" "/proc/$p/environ" 2>/dev/null && { echo "$p"; return; }
    done
}
timeout 120 mpirun -np 2 "$NETRUN" "$ROOT/nets/mnist.net" --train --epochs 100 --data "$DATA" \
    --threads 1 --quiet --save killed.st >killed.log 2>&1 &
job=$!
for _ in $(seq 600); do [ -e killed.st ] && break; sleep 0.1; done # the first epoch saved
victim=$(rank_pid "save killed.st" 1)
[ -n "$victim" ] && kill -9 "$victim"
t_kill=$(date +%s%N)
wait $job
st=$?
took=$(( ($(date +%s%N) - t_kill) / 1000000 )) # ms from the kill to mpirun's exit
left=$(pgrep -f "save killed.st")
"$NETRUN" "$ROOT/nets/mnist.net" --train --epochs 100 --steps 5 --data "$DATA" --quiet \
    --resume killed.ckpt.st --save killed2.st >killed2.log 2>&1
rs=$?
# (not a stopwatch: 30 s only tells a job that ended from one that hangs until the guard)
if [ -n "$victim" ] && [ $st != 0 ] && [ $st != 124 ] && [ "$took" -lt 30000 ] && [ -z "$left" ] &&
    [ $rs = 0 ] && [ -z "$(ls killed.st.* killed.ckpt.st.* 2>/dev/null)" ]; then
    ok "a killed process: mpirun exits $st after $took ms, nothing left running, the checkpoint resumes"
else
    bad "a killed process" "victim '$victim', mpirun exit $st after $took ms, left running '$left', resume exit $rs" \
        "$(tail -3 killed.log killed2.log)"
fi

# ---- Ctrl-C to mpirun ----
long=(--train --epochs 8 --steps 600 --data "$DATA" --quiet)
"$NETRUN" "$ROOT/nets/mnist.net" "${long[@]}" --threads 2 --save long-plain.st >/dev/null 2>&1
timeout 120 mpirun -np 2 "$NETRUN" "$ROOT/nets/mnist.net" "${long[@]}" --threads 1 \
    --save int.st >int.log 2>&1 &
job=$!
for _ in $(seq 600); do [ -e int.st ] && break; sleep 0.05; done # an epoch done
kill -INT "$(pgrep -P $job -x mpirun)" 2>/dev/null
wait $job
st=$?
after=$(grep -o "interrupted after step [0-9]*" int.log)
"$NETRUN" "$ROOT/nets/mnist.net" "${long[@]}" --threads 2 --resume int.ckpt.st >int2.log 2>&1
if [ -n "$after" ] && [ $st != 0 ] && [ "$(sum int.st)" = "$(sum long-plain.st)" ]; then
    ok "Ctrl-C: $after on 2 processes, saved; resumed to 600 == uninterrupted"
else
    bad "Ctrl-C to mpirun" "exit $st, '$after', $(sum int.st) != $(sum long-plain.st)" \
        "$(tail -4 int.log int2.log)"
fi

echo "mpi: $passed passed, $failed failed"
[ $failed = 0 ]
