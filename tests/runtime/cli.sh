#!/bin/bash
# cli.sh NETRUN SRCROOT: netrun's command line, end to end.
#
#  - determinism: two runs with the same seed and --threads 2 print the same lines (timings
#    aside) and write byte-identical checkpoints (the seed net, and an MLP with Dropout), and
#    so do runs on 1, 2 and 3 threads;
#  - resume: N steps in one run == K steps, then --resume to N, byte for byte, for K inside an
#    epoch, at an epoch's end, and through two resumes; and a resumed run to the last epoch;
#  - every bad input of issue 3 (data, safetensors, checkpoint paths, a loss that becomes NaN),
#    plus usage errors: exit 1 (2 for usage), exactly one "error:" line, naming the file and
#    the problem (key words grepped), no sanitizer report, and an existing checkpoint given as
#    --save (or --resume) byte-identical afterwards.
#  - hostile files (a training position out of range or not a number, images whose pixel
#    count fits but not their shape, no images, names with a nul or a megabyte long, a save
#    onto a device node or FIFO, stale temporary files) and runs already at their end;
#  - interruption: SIGINT or SIGTERM after a given step (NETRUN_TEST_SIGNAL, at random steps
#    too, printed), a second signal, and real asynchronous kills: exit 128 + signal, and the
#    command netrun prints resumes to the same bytes as one uninterrupted run.
# Bad files are made here from good ones (head, dd, gzip, printf), in a temporary directory.
# Ends with "cli: N passed, N failed"; exit 1 if any failed.
set -u
abs() { (cd "$(dirname "$1")" && echo "$(pwd)/$(basename "$1")"); }
NETRUN=$(abs "$1") ROOT=$(abs "$2")
DATA=$ROOT/data/mnist-mini
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
. "$ROOT/tests/runtime/lib.sh"

# ---- helpers to make files ----

copy_data() { mkdir -p "$2" && cp "$1"/* "$2"/; }
# st_file OUT JSON DATABYTES: a safetensors file with this header and DATABYTES bytes of data
st_file() {
    local json=$2
    while [ $((${#json} % 8)) != 0 ]; do json="$json "; done
    { le64 ${#json}; printf '%s' "$json"; head -c "$3" /dev/zero; } >"$1" # finite weights
}

make_data small 210 105 # 9 steps per epoch at batch 25, 11 at batch 20: the last ones short
NET=$ROOT/nets/mnist.net
cat >mlp.net <<'EOF'
network mlp (input 1x28x28) {
  Flatten
  Linear 32
  ReLU
  Dropout 0.2
  fc: Linear 10
}
train {
  optimizer SGD lr=0.05 momentum=0.9
  batch 20
  epochs 3
  seed 5
}
EOF

# Timings aside, the lines a run prints.
strip_times() { sed -E 's/  [0-9,]+ img\/s.*//; s/  train [0-9.]+ s, .*//; /^saved /d; /^run recorded in /d' "$1"; }
# same A.st B.st: byte-identical weights, and byte-identical training checkpoints beside them
# (A.ckpt.st, B.ckpt.st: the optimizer state and position too)
same() { cmp -s "$1" "$2" && cmp -s "${1%.st}.ckpt.st" "${2%.st}.ckpt.st"; }


# ---- determinism ----

echo "== determinism"
for i in 1 2; do
    run_ok det$i "$NET" --train --data small --batch 25 --epochs 3 --steps 20 --threads 2 \
        --save det$i.st
done
if same det1.st det2.st && [ "$(strip_times det1.out)" = "$(strip_times det2.out)" ]; then
    ok "seed net, 20 steps, 2 threads: same lines, byte-identical checkpoints"
else
    bad "seed net, two runs with the same seed differ" "$(diff <(strip_times det1.out) <(strip_times det2.out))" "$(cmp det1.st det2.st)"
fi
# The same bits on any number of threads: chunks, not threads, group the sums.
run_ok det1t "$NET" --train --data small --batch 25 --epochs 3 --steps 20 --threads 1 --save det1t.st
run_ok det3t "$NET" --train --data small --batch 25 --epochs 3 --steps 20 --threads 3 --save det3t.st
if same det1.st det1t.st && same det1.st det3t.st &&
   [ "$(strip_times det1.out | grep -v "^training ")" = "$(strip_times det1t.out | grep -v "^training ")" ]; then
    ok "seed net, 20 steps on 1, 2 and 3 threads: same lines, byte-identical checkpoints"
else
    bad "seed net: the thread count changes the result" "$(cmp det1.st det1t.st; cmp det1.st det3t.st)" "$(diff <(strip_times det1.out) <(strip_times det1t.out))"
fi
grep -q "epoch 3/3  stopped" det1.out && ok "--steps 20 stops inside epoch 3 (9 steps per epoch)" ||
    bad "--steps 20 did not stop inside epoch 3" "$(cat det1.out)"
for i in 1 2; do run_ok mdet$i mlp.net --train --data small --threads 2 --save mdet$i.st; done
if same mdet1.st mdet2.st && [ "$(strip_times mdet1.out)" = "$(strip_times mdet2.out)" ]; then
    ok "MLP with Dropout, 3 epochs: same lines, byte-identical checkpoints"
else
    bad "MLP with Dropout, two runs differ" "$(cmp mdet1.st mdet2.st)"
fi
# Dropout's masks come from per-chunk streams, so they too ignore the thread count
run_ok mdet1t mlp.net --train --data small --threads 1 --save mdet1t.st
same mdet1.st mdet1t.st && ok "MLP with Dropout on 1 and 2 threads: byte-identical checkpoints" ||
    bad "MLP with Dropout: 1 and 2 threads differ" "$(cmp mdet1.st mdet1t.st)"
run_ok mseed mlp.net --train --data small --threads 2 --seed 6 --save mseed.st
cmp -s mdet1.st mseed.st && bad "--seed 6 gave the same checkpoint as seed 5" ||
    ok "another --seed gives other weights"

# --shuffle and --no-shuffle set the file's 'shuffle'; --epochs 0 trains nothing
run_ok noshuf mlp.net --train --data small --threads 2 --steps 5 --no-shuffle --save noshuf.st
run_ok shuf mlp.net --train --data small --threads 2 --steps 5 --save shuf.st
sed 's/  seed 5/  seed 5\n  shuffle false/' mlp.net >mlpns.net
run_ok shufon mlpns.net --train --data small --threads 2 --steps 5 --shuffle --save shufon.st
run_ok shufoff mlpns.net --train --data small --threads 2 --steps 5 --save shufoff.st
if cmp -s shuf.st shufon.st && cmp -s noshuf.st shufoff.st && ! cmp -s shuf.st noshuf.st; then
    ok "--no-shuffle == 'shuffle false', --shuffle == 'shuffle true', and they differ"
else
    bad "--shuffle/--no-shuffle do not act as the file's 'shuffle'" "$(cmp shuf.st shufon.st; cmp noshuf.st shufoff.st)"
fi
# --label-smoothing sets cross_entropy's label_smoothing as the file does, and it changes
# the training (shuf.st: the same 5 steps without it)
sed 's/  seed 5/  seed 5\n  loss cross_entropy label_smoothing=0.1/' mlp.net >mlpls.net
run_ok lsfile mlpls.net --train --data small --threads 2 --steps 5 --save lsfile.st
run_ok lsflag mlp.net --train --data small --threads 2 --steps 5 --label-smoothing 0.1 --save lsflag.st
if cmp -s lsfile.st lsflag.st && ! cmp -s lsflag.st shuf.st; then
    ok "--label-smoothing 0.1 == 'loss cross_entropy label_smoothing=0.1', and differs from none"
else
    bad "--label-smoothing does not act as the file's label_smoothing" "$(cmp lsfile.st lsflag.st; cmp lsflag.st shuf.st)"
fi
run_ok epochs0 mlp.net --train --data small --threads 2 --epochs 0 --save epochs0.st &&
    grep -q "0 epochs" epochs0.out && ok "--epochs 0 trains no epoch" ||
    bad "--epochs 0" "$(cat epochs0.out)"

# ---- resume ----

echo "== resume"
# resume_case NAME STEPS_TOTAL K1 [K2...]: stop at K1, resume to K2, ..., resume to the total
resume_case() {
    local name=$1 total=$2 full=$3
    shift 3
    local first=1 k
    for k in "$@" "$total"; do
        if [ $first = 1 ]; then
            run_ok "$name-$k" "${RESUME_ARGS[@]}" --steps "$k" --save "$name.st" || return
            first=0
        else
            run_ok "$name-$k" "${RESUME_ARGS[@]}" --steps "$k" --resume "$name.ckpt.st" || return
        fi
    done
    if same "$full" "$name.st"; then
        ok "$name: $* then resumed to $total == $total in one run, byte for byte"
    else
        bad "$name: resumed checkpoint differs from the one-run checkpoint" "$(cmp "$full" "$name.st")"
    fi
}
RESUME_ARGS=(mlp.net --train --data small --threads 2)
run_ok mfull25 "${RESUME_ARGS[@]}" --steps 25 --save mfull25.st
resume_case mres7 25 mfull25.st 7          # inside epoch 1
resume_case mres11 25 mfull25.st 11        # at the end of epoch 1
resume_case mres13 25 mfull25.st 13 18     # inside epoch 2, twice
resume_case mres33 33 mdet1.st 13          # to the end of the last epoch (3 x 11 steps)
RESUME_ARGS=("$NET" --train --data small --batch 25 --epochs 3 --threads 2)
resume_case sres10 20 det1.st 10           # the seed net, across an epoch boundary (9 per epoch)
# AMSGrad keeps one more state (the largest second moment): it goes into the checkpoint, and
# a checkpoint saved without it does not resume an AMSGrad run
sed 's/optimizer SGD lr=0.05 momentum=0.9/optimizer Adam lr=0.01 amsgrad=true/' mlp.net >mlpams.net
RESUME_ARGS=(mlpams.net --train --data small --threads 2)
run_ok amsfull25 "${RESUME_ARGS[@]}" --steps 25 --save amsfull25.st
resume_case amsres13 25 amsfull25.st 13 18
sed 's/ amsgrad=true//' mlpams.net >mlpadam.net
run_ok adam25 mlpadam.net --train --data small --threads 2 --steps 25 --save adam25.st &&
    ! cmp -s adam25.st amsfull25.st && ok "amsgrad=true trains otherwise than Adam without it" ||
    bad "amsgrad=true made no difference"
run_ok adam7 mlpadam.net --train --data small --threads 2 --steps 7 --save adam7.st
"$NETRUN" mlpams.net --train --data small --threads 2 --steps 25 --resume adam7.ckpt.st >amsnot.out 2>amsnot.err
[ $? = 1 ] && grep -q "optim.vmax" amsnot.err && ok "an Adam checkpoint does not resume an AMSGrad run: $(grep error: amsnot.err | head -1)" ||
    bad "resuming AMSGrad from a checkpoint without its state" "$(head -3 amsnot.err)"
# RMSprop (centered: a third state, with momentum), Adagrad (one state, from
# initial_accumulator_value; lr_decay counts the steps) and Adadelta (two states) resume to
# the bytes of one run, and their checkpoints hold exactly the states torch.optim keeps
for opt in "RMSprop lr=0.01 centered=true momentum=0.5" "Adagrad lr=0.05 lr_decay=0.1 initial_accumulator_value=0.1" \
           "Adadelta rho=0.8"; do
    k=$(echo "$opt" | cut -d' ' -f1 | tr 'A-Z' 'a-z')
    sed "s/optimizer SGD lr=0.05 momentum=0.9/optimizer $opt/" mlp.net >mlp$k.net
    RESUME_ARGS=(mlp$k.net --train --data small --threads 2)
    run_ok ${k}full25 "${RESUME_ARGS[@]}" --steps 25 --save ${k}full25.st || continue
    resume_case ${k}res13 25 ${k}full25.st 13 18
    keys=$(tr -c '[:print:]' '\n' <${k}full25.ckpt.st | grep -o '"optim\.[a-z_]*\.' | sort -u | tr -d '"' | tr '\n' ' ')
    case $k in
        rmsprop) want="optim.grad_avg. optim.m. optim.v. " ;;
        adagrad) want="optim.v. " ;;
        adadelta) want="optim.m. optim.v. " ;;
    esac
    [ "$keys" = "$want" ] && ok "$opt: the checkpoint keeps $keys" ||
        bad "$opt: the checkpoint's optimizer state" "got '$keys', want '$want'"
done
# SGD's momentum buffer is made at the first step with a momentum: OneCycleLR from
# max_momentum=0 makes it at step 2, and a run resumed after step 1 must know it was not made
sed 's/optimizer SGD lr=0.05 momentum=0.9/optimizer SGD lr=0.05 momentum=0.9 dampening=0.5\n  schedule OneCycleLR 0.1 base_momentum=0.9 max_momentum=0/' mlp.net >mlpm0.net
RESUME_ARGS=(mlpm0.net --train --data small --threads 2)
run_ok m0full25 "${RESUME_ARGS[@]}" --steps 25 --save m0full25.st && resume_case m0res1 25 m0full25.st 1 2 13
sed 's/ centered=true//' mlprmsprop.net >mlprmsplain.net
"$NETRUN" mlprmsplain.net --train --data small --threads 2 --steps 25 --resume rmspropres13.ckpt.st >rmsnot.out 2>rmsnot.err
[ $? = 1 ] && grep -q "optim.grad_avg" rmsnot.err && grep -q "centered=true" rmsnot.err &&
    ok "a centered RMSprop checkpoint does not resume a plain one: $(grep error: rmsnot.err | head -1)" ||
    bad "resuming plain RMSprop from a centered checkpoint" "$(head -3 rmsnot.err)"
# --checkpoint names the checkpoint; --resume from a file not named NAME.ckpt.EXT needs --save
# for the weights, or writes them to NETWORK.safetensors
run_ok cc7 mlp.net --train --data small --threads 2 --steps 7 --save cw.st --checkpoint cc.st
[ -e cw.st ] && [ -e cc.st ] && [ ! -e cw.ckpt.st ] && ok "--checkpoint cc.st: the checkpoint goes there" ||
    bad "--checkpoint cc.st" "$(ls c*.st)"
run_ok cc25 mlp.net --train --data small --threads 2 --steps 25 --resume cc.st --save cw.st
cmp -s cw.st mfull25.st && cmp -s cc.st mfull25.ckpt.st &&
    ok "--resume cc.st --save cw.st: both files continue, and equal one run's" ||
    bad "--checkpoint and --resume of it differ from one run" "$(cmp cw.st mfull25.st; cmp cc.st mfull25.ckpt.st)"
run_ok o7 mlp.net --train --data small --threads 2 --steps 7 --save o7.st && cp o7.ckpt.st other.st
run_ok other mlp.net --train --data small --threads 2 --steps 25 --resume other.st --no-record
cmp -s mlp.safetensors mfull25.st && ok "--resume other.st --no-record: the weights go to mlp.safetensors" ||
    bad "--resume other.st --no-record: no mlp.safetensors equal to one run's" "$(cat other.out)"
# a training checkpoint holds the weights too: --load takes it as the weights file
run_ok ckload mlp.net --load mfull25.ckpt.st --eval --data small --threads 2
run_ok wload mlp.net --load mfull25.st --eval --data small --threads 2
ev() { grep -o 'loss [0-9.]*  accuracy [0-9.]*' "$1"; }
[ "$(ev ckload.out)" = "$(ev wload.out)" ] && [ -n "$(ev ckload.out)" ] &&
    ok "--load of the checkpoint evaluates as the weights: $(grep -o 'accuracy [0-9.]*' ckload.out)" ||
    bad "--load of a checkpoint" "$(cat ckload.out wload.out)"
# by epochs: 2 epochs == 1 epoch, then --resume with --epochs 2 (the issue's own example)
run_ok e2 mlp.net --train --data small --threads 2 --epochs 2 --save e2.st
run_ok e1of2 mlp.net --train --data small --threads 2 --epochs 1 --save e1of2.st
run_ok e1of2r mlp.net --train --data small --threads 2 --epochs 2 --resume e1of2.ckpt.st
same e2.st e1of2.st && ok "2 epochs == 1 epoch + --resume for the 2nd, byte for byte" ||
    bad "2 epochs != 1 epoch + resume" "$(cmp e2.st e1of2.st)"
! grep -q 'warning' e1of2r.err && ok "a resume that trains longer (--epochs) is told nothing" ||
    bad "--epochs on a resume warned" "$(cat e1of2r.err)"
# a resume with other settings than the checkpoint's goes on with them, saying which (lr and
# label smoothing were taken silently, where PyTorch's load_state_dict restores the lr)
run_ok e1other mlp.net --train --data small --threads 2 --epochs 1 --save e1other.st
run_ok e1otherr mlp.net --train --data small --threads 2 --epochs 2 --resume e1other.ckpt.st --lr 0.5 --label-smoothing 0.1
grep -q "warning: e1other.ckpt.st: this run's train settings are not those the checkpoint was trained with" e1otherr.err &&
    grep -q "note: now 'optimizer SGD lr=0.5 .*', trained with 'optimizer SGD lr=0.05 " e1otherr.err &&
    grep -q "note: now 'loss cross_entropy label_smoothing=0.1', trained with 'loss cross_entropy label_smoothing=0'" e1otherr.err &&
    [ "$(grep -c '^note:' e1otherr.err)" = 2 ] &&
    ok "a resume with --lr and --label-smoothing of its own: a warning naming both settings" ||
    bad "resume with other settings" "$(cat e1otherr.err)"
# gradient clipping is a train setting like the others: a resume that adds it says so; and a
# checkpoint of a build before clipping (no clip lines in netc.train: blanked here, the
# header's length kept) resumes without a word about them
run_ok e1clip mlp.net --train --data small --threads 2 --epochs 2 --resume e1of2.ckpt.st --clip-grad-norm 0.5
grep -q "note: now 'clip_grad_norm max_norm=0.5 norm_type=2', trained with 'clip_grad_norm none'" e1clip.err &&
    [ "$(grep -c '^note:' e1clip.err)" = 1 ] &&
    ok "a resume with --clip-grad-norm: a warning naming clip_grad_norm" ||
    bad "resume with --clip-grad-norm" "$(cat e1clip.err)"
# a clipping flag over the file's other clipping replaces it (as --optimizer replaces the
# optimizer): the same bytes as a file that says the flag's
sed 's/^train {/train {\n  clip_grad_norm 0.5/' mlp.net >mlpcn.net
sed 's/^train {/train {\n  clip_grad_value 0.01/' mlp.net >mlpcv.net
run_ok cflag mlpcn.net --train --data small --threads 2 --steps 5 --clip-grad-value 0.01 --save cflag.st --no-record &&
    run_ok cfile mlpcv.net --train --data small --threads 2 --steps 5 --save cfile.st --no-record &&
    run_ok cnone mlp.net --train --data small --threads 2 --steps 5 --save cnone.st --no-record &&
    grep -q 'clip_grad_value 0.01' mlpcv.net && cmp -s cflag.st cfile.st && ! cmp -s cfile.st cnone.st &&
    ok "--clip-grad-value over the file's clip_grad_norm: the file's clipping replaced" ||
    bad "--clip-grad-value over clip_grad_norm" "$(cat cflag.err cfile.err)"
run_ok e1c mlp.net --train --data small --threads 2 --epochs 1 --save e1c.st
sed 's/  clip_grad_norm none\\n  clip_grad_value none\\n/                     \\n                      \\n/' e1c.ckpt.st >e1old.ckpt.st
! grep -q 'clip_grad' e1old.ckpt.st && [ "$(wc -c <e1old.ckpt.st)" = "$(wc -c <e1c.ckpt.st)" ] &&
    run_ok e1old mlp.net --train --data small --threads 2 --epochs 2 --resume e1old.ckpt.st &&
    ! grep -q 'warning' e1old.err && same e1old.st e2.st &&
    ok "a checkpoint without the clip settings' lines (an older build's) resumes silently, to the same bytes" ||
    bad "an older checkpoint's missing clip lines" "$(cat e1old.err; grep -c clip_grad e1old.ckpt.st)"
# the saved weights evaluate to the accuracy the training run printed last
run_ok eval mlp.net --load mdet1.st --eval --data small --threads 2
test_result() { sed -n 's/^test: \(loss [0-9.]*  accuracy [0-9.]*\) .*/\1/p' "$1"; }
if [ -n "$(test_result eval.out)" ] && [ "$(test_result eval.out)" = "$(test_result mdet1.out)" ]; then
    ok "--load + --eval reproduces the training run's final test result: $(test_result eval.out)"
else
    bad "--eval of the saved weights differs from the training run's final test line" \
        "$(grep '^test:' eval.out mdet1.out)"
fi
grep -q "epoch 2/3" sres10-20.out && ! grep -q "epoch 1/3" sres10-20.out &&
    ok "a resumed run starts in the epoch it stopped in" ||
    bad "the resumed run did not start in epoch 2" "$(cat sres10-20.out)"

# ---- bad input ----

echo "== bad input"
# expect NAME CODE 'PATTERN;...' ARGS...: netrun ARGS must exit CODE with exactly one "error:"
# line matching every PATTERN (extended regex, case-insensitive; ';' separates patterns), and
# no sanitizer report. If keep.st (weights) and keep.ckpt.st (its training checkpoint) exist,
# they must be byte-identical afterwards.
cp mdet1.st good.st && cp mdet1.ckpt.st good.ckpt.st
expect() {
    local name=$1 code=$2 pats=$3 rc
    shift 3
    cp good.st keep.st && cp good.ckpt.st keep.ckpt.st
    "$NETRUN" "$@" >"$name.out" 2>"$name.err"
    rc=$?
    local errs line
    errs=$(grep -c 'error:' "$name.err")
    line=$(grep 'error:' "$name.err" | head -1)
    local why=""
    [ "$rc" = "$code" ] || why="exit $rc, want $code"
    [ -z "$why" ] && [ "$errs" != 1 ] && why="$errs error lines, want 1"
    [ -z "$why" ] && ! no_sanitizer "$name.err" && why="sanitizer report"
    if [ -z "$why" ]; then
        local p
        while IFS= read -r p; do
            echo "$line" | grep -q -i -E -- "$p" || { why="the error does not match '$p'"; break; }
        done < <(tr ';' '\n' <<<"$pats")
    fi
    [ -z "$why" ] && ! same good.st keep.st && why="the existing keep.st or keep.ckpt.st changed"
    if [ -z "$why" ]; then
        ok "$name: $line"
    else
        bad "$name: $why" "netrun $*" "$(head -c 2000 "$name.err")"
    fi
}
TRAIN=(mlp.net --train --threads 2 --save keep.st)

# data files
mkdir empty
expect missing-dir 1 'nodata;cannot open;directory' "${TRAIN[@]}" --data nodata
mkdir -p adir.net
expect net-is-directory 1 'adir.net;is a directory' adir.net --train --threads 2 --save keep.st
# a net without parameters: torch.optim refuses an empty parameter list, and so does --train
printf 'network np (input 1x28x28) {\n  Flatten\n}\n' >np.net
expect train-no-params 1 "np.net:1:9: error;network 'np' has no parameters to train" np.net --train --data small
# a net file is text a person writes: an endless or huge one is refused at 64 MiB, not read
# until memory runs out
expect net-endless 1 '/dev/zero;larger than 64 MiB' /dev/zero --train --threads 2 --save keep.st
expect missing-files 1 'empty/train-images-idx3-ubyte;no such file' "${TRAIN[@]}" --data empty
copy_data small nolabels && rm nolabels/train-labels-idx1-ubyte
expect missing-labels 1 'nolabels/train-labels-idx1-ubyte;no such file' "${TRAIN[@]}" --data nolabels
copy_data small notest && rm notest/t10k-images-idx3-ubyte
expect missing-test 1 'notest/t10k-images-idx3-ubyte;no such file' "${TRAIN[@]}" --data notest
copy_data small gztrunc && gzip -c small/train-images-idx3-ubyte | head -c 20000 >gztrunc/train-images-idx3-ubyte.gz &&
    rm gztrunc/train-images-idx3-ubyte
expect gzip-truncated 1 'gztrunc/train-images-idx3-ubyte.gz;truncated' "${TRAIN[@]}" --data gztrunc
copy_data small gzbad && gzip -c small/train-labels-idx1-ubyte >gzbad/train-labels-idx1-ubyte.gz &&
    rm gzbad/train-labels-idx1-ubyte && printf 'garbage!' | dd of=gzbad/train-labels-idx1-ubyte.gz bs=1 seek=40 conv=notrunc 2>/dev/null
expect gzip-corrupt 1 'gzbad/train-labels-idx1-ubyte.gz;corrupt;gzip' "${TRAIN[@]}" --data gzbad
copy_data small notgz && printf 'not gzip at all' >notgz/t10k-labels-idx1-ubyte.gz && rm notgz/t10k-labels-idx1-ubyte
expect gzip-not-gzip 1 'notgz/t10k-labels-idx1-ubyte.gz' "${TRAIN[@]}" --data notgz
copy_data small rawtrunc && head -c 100000 small/train-images-idx3-ubyte >rawtrunc/train-images-idx3-ubyte
expect raw-truncated 1 'rawtrunc/train-images-idx3-ubyte;truncated;bytes' "${TRAIN[@]}" --data rawtrunc
copy_data small magic && printf 'GIF8' | dd of=magic/train-images-idx3-ubyte conv=notrunc 2>/dev/null
expect bad-magic 1 'magic/train-images-idx3-ubyte;magic' "${TRAIN[@]}" --data magic
# an image given where IDX is read says what it looks like (a .png is decoded as a PNG)
printf 'P6\n2 2\n255\n012345678901' >colour.ppm && printf 'P5\n28 28\n255\n' >gray.img && printf '\211PNG\r\n\032\n' >pic.png
expect predict-ppm 1 'colour.ppm;bad magic;a netpbm P6 image, not IDX' mlp.net --load good.st --predict colour.ppm
expect predict-pgm-named-otherwise 1 'gray.img;a netpbm P5 image, not IDX \(name it .pgm\)' mlp.net --load good.st --predict gray.img
# a CIFAR-10 batch (a label byte under 10, then 3072 pixels, a record) and a text file: what
# they look like, and which formats --predict reads by which names
{ for i in 0 1 2; do printf "\\00$i"; head -c 3072 /dev/zero | tr '\0' '\200'; done; } >batch.bin
expect predict-cifar 1 'batch.bin;bad magic;a CIFAR-10 binary batch' mlp.net --load good.st --predict batch.bin
grep -q '^hint: --predict reads a file named .pgm, .png, .jpg, .jpeg, .csv, .csv.gz or .f32' predict-cifar.err &&
    ok "--predict of a CIFAR batch: the formats it reads" || bad "--predict CIFAR hint" "$(cat predict-cifar.err)"
echo 'not an image' >notes.txt
expect predict-text 1 'notes.txt;bad magic' mlp.net --load good.st --predict notes.txt
grep -q '^hint: --predict reads' predict-text.err && ! grep -q 'CIFAR-10 binary' <(grep error: predict-text.err) &&
    ok "--predict of a text file: the formats it reads" || bad "--predict text hint" "$(cat predict-text.err)"
expect predict-png 1 'pic.png;not a PNG libpng can read' mlp.net --load good.st --predict pic.png
copy_data small dtype && printf '\0\0\15\3' | dd of=dtype/train-images-idx3-ubyte conv=notrunc 2>/dev/null
expect bad-element-type 1 'dtype/train-images-idx3-ubyte;0x0d;type' "${TRAIN[@]}" --data dtype
copy_data small rank && printf '\0\0\10\1' | dd of=rank/train-images-idx3-ubyte conv=notrunc 2>/dev/null
expect wrong-rank-images 1 'rank/train-images-idx3-ubyte;rank' "${TRAIN[@]}" --data rank
copy_data small lrank && printf '\0\0\10\3' | dd of=lrank/t10k-labels-idx1-ubyte conv=notrunc 2>/dev/null
expect wrong-rank-labels 1 'lrank/t10k-labels-idx1-ubyte;rank' "${TRAIN[@]}" --data lrank
copy_data small count && cp small/t10k-labels-idx1-ubyte count/train-labels-idx1-ubyte
expect count-mismatch 1 'count/train-labels-idx1-ubyte;105 labels;210 images' "${TRAIN[@]}" --data count
copy_data small count2 && cp small/train-labels-idx1-ubyte count2/t10k-labels-idx1-ubyte
expect count-mismatch-test 1 'count2/t10k-labels-idx1-ubyte;210 labels;105 images' "${TRAIN[@]}" --data count2
make_data zero 0 100
expect no-images 1 'zero/train-images-idx3-ubyte;no images' "${TRAIN[@]}" --data zero

# data that does not fit the net
cat >c3.net <<'EOF'
network c3 (input 3x32x32) {
  Conv2d 4 k3
  Flatten
  fc: Linear 10
}
EOF
cat >l5.net <<'EOF'
network l5 (input 1x28x28) {
  Flatten
  fc: Linear 5
}
EOF
cat >nodata.net <<'EOF'
network nodata (input 1x28x28) {
  Flatten
  fc: Linear 10
}
EOF
expect image-size 1 'small/train-images-idx3-ubyte;28x28;3x32x32' c3.net --train --data small --save keep.st
expect image-size-eval 1 'small/t10k-images-idx3-ubyte;28x28;3x32x32' c3.net --eval --data small
expect image-size-predict 1 'small/t10k-images-idx3-ubyte;28x28;3x32x32' c3.net --predict small/t10k-images-idx3-ubyte
expect label-beyond 1 'small/train-labels-idx1-ubyte: 10 classes;label [5-9];5 outputs' l5.net --train --data small --save keep.st
expect label-beyond-eval 1 'small/t10k-labels-idx1-ubyte;label [5-9];5 outputs' l5.net --eval --data small
expect no-data 1 'nodata.net;no data' nodata.net --train --save keep.st
printf 'network nt (input 1x28x28) {\n  Flatten\n  Linear 10\n}\n' >notrain.net
expect no-train-section 1 'notrain.net: no data: the file has no train section' notrain.net --train
expect predict-missing 1 'nothere-idx3-ubyte' "$NET" --predict nothere-idx3-ubyte
# with --train, before the training: nothing trained, nothing saved
expect predict-missing-train 1 'nothere.f32: cannot open' mlp.net --train --data small --save pm.st --predict nothere.f32
! grep -q '^epoch' predict-missing-train.out && [ ! -e pm.st ] &&
    ok "... refused before training: no epoch, nothing saved" || bad "trained before finding --predict missing" "$(cat predict-missing-train.out)"
expect predict-corrupt 1 'gzbad/train-labels-idx1-ubyte.gz' "$NET" --predict gzbad/train-labels-idx1-ubyte.gz

# safetensors: a net with two tensors, fc.weight [10, 784] and fc.bias [10]
W='"fc.weight":{"dtype":"F32","shape":[10,784],"data_offsets":[40,31400]}'
B='"fc.bias":{"dtype":"F32","shape":[10],"data_offsets":[0,40]}'
st_file st-good.st "{$B,$W}" 31400
PRED=(nodata.net --predict small/t10k-images-idx3-ubyte --quiet)
run_ok st-good "${PRED[@]}" --load st-good.st && ok "a hand-made safetensors file loads"
# finite weights that overflow float arithmetic (3e38 everywhere): --predict and --eval
# refuse to print classes and an accuracy read from NaNs
hdr=$(( $(od -An -t u8 -N8 st-good.st | tr -d ' ') + 8 ))
{ head -c $hdr st-good.st; head -c 40 /dev/zero; for _ in $(seq 7840); do printf '\346\261\141\177'; done; } >st-huge.st
expect st-finite-overflow-predict 1 'small/t10k-images-idx3-ubyte: image 0: output 0 of the net is (nan|infinite);overflowed' "${PRED[@]}" --load st-huge.st
expect st-finite-overflow-eval 1 'the test loss is (nan|infinite);overflowed' nodata.net --eval --data small --load st-huge.st
head -c 30000 st-good.st >st-trunc.st
expect st-truncated 1 'st-trunc.st;truncated' "${PRED[@]}" --load st-trunc.st
head -c 5 st-good.st >st-tiny.st
expect st-shorter-than-header 1 'st-tiny.st' "${PRED[@]}" --load st-tiny.st
{ le64 $((1 << 62)); tail -c +9 st-good.st; } >st-hlen.st
expect st-header-length-huge 1 'st-hlen.st;header length' "${PRED[@]}" --load st-hlen.st
{ le64 1000000; tail -c +9 st-good.st; } >st-hlen2.st
expect st-header-length-past-end 1 'st-hlen2.st;header' "${PRED[@]}" --load st-hlen2.st
st_file st-json.st "{$B,$W" 31400
expect st-bad-json 1 'st-json.st;json' "${PRED[@]}" --load st-json.st
st_file st-json2.st '{"fc.bias": nope}' 0
expect st-bad-json2 1 'st-json2.st;json' "${PRED[@]}" --load st-json2.st
st_file st-missing.st '{"fc.weight":{"dtype":"F32","shape":[10,784],"data_offsets":[0,31360]}}' 31360
expect st-missing-tensor 1 "st-missing.st;fc.bias;missing" "${PRED[@]}" --load st-missing.st
st_file st-extra.st "{$B,$W,\"extra.weight\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[31400,31404]}}" 31404
expect st-extra-tensor 1 "st-extra.st;extra.weight;not a parameter" "${PRED[@]}" --load st-extra.st
st_file st-shape.st "{$B,\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[784,10],\"data_offsets\":[40,31400]}}" 31400
expect st-wrong-shape 1 "st-shape.st;fc.weight;784x10;10x784" "${PRED[@]}" --load st-shape.st
# F64 (and F16, BF16) weights convert as PyTorch's load_state_dict converts them
# (test_load_dtypes); integers do not
st_file st-f64.st "{\"fc.bias\":{\"dtype\":\"F64\",\"shape\":[10],\"data_offsets\":[0,80]},\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[10,784],\"data_offsets\":[80,31440]}}" 31440
"$NETRUN" "${PRED[@]}" --load st-f64.st >st-f64.out 2>&1 && ok "st-f64: F64 weights load" || bad "st-f64" "$(cat st-f64.out)"
st_file st-i64.st "{\"fc.bias\":{\"dtype\":\"I64\",\"shape\":[10],\"data_offsets\":[0,80]},\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[10,784],\"data_offsets\":[80,31440]}}" 31440
# an integer bias converts, as Tensor.copy_ converts it (and predicts as zeros would)
run_ok st-i64-converts "${PRED[@]}" --load st-i64.st && ok "I64 weights load, converted to float"
st_file st-offsets.st "{$B,\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[10,784],\"data_offsets\":[36,31396]}}" 31400
expect st-overlapping-offsets 1 "st-offsets.st" "${PRED[@]}" --load st-offsets.st
expect st-no-file 1 "nothere.st" "${PRED[@]}" --load nothere.st
expect st-for-another-net 1 "mdet1.st;layer1.0.weight;missing" "$NET" --load mdet1.st --predict small/t10k-images-idx3-ubyte
# --resume: the file must be a training checkpoint, and is left alone when it is not
cp st-good.st keep-weights.st
expect resume-weights-only 1 'keep-weights.st;not a training checkpoint' nodata.net --train --data small --resume keep-weights.st
cmp -s st-good.st keep-weights.st && ok "a failed --resume leaves its file byte-identical" ||
    bad "a failed --resume changed its file"
expect resume-trained-weights 1 'keep.st;weights only;optimizer state' mlp.net --train --data small --resume keep.st
expect resume-truncated 1 'st-trunc.st;truncated' mlp.net --train --data small --resume st-trunc.st
# resuming inside an epoch needs the batch size and data the position counts batches of
run_ok mid mlp.net --train --data small --threads 2 --steps 7 --save mid.st
cp good.ckpt.st good.bak && cp mid.ckpt.st good.ckpt.st
expect resume-other-batch 1 'keep.ckpt.st;batch size;20;30' mlp.net --train --data small --resume keep.ckpt.st --batch 30
# the optimizer state is the optimizer's own: SGD's momentum is not Adam's first moment
expect resume-other-optimizer 1 "keep.ckpt.st;optimizer state is SGD's;--optimizer SGD" mlp.net --train --data small --resume keep.ckpt.st --optimizer Adam
make_data fewer 60 105
expect resume-other-data 1 'cannot resume after batch 7;3 batches' mlp.net --train --data fewer --resume keep.ckpt.st
# as many images, not the same ones (one pixel changed); another network, the same state_dict
copy_data small alike && printf '\377' | dd of=alike/train-images-idx3-ubyte bs=1 seek=5000 conv=notrunc 2>/dev/null
expect resume-other-images 1 'keep.ckpt.st;inside an epoch of other training images' mlp.net --train --data alike --resume keep.ckpt.st
sed 's/ReLU/Tanh/' mlp.net >mlptanh.net && sed 's/Dropout 0.2/Dropout 0.5/' mlp.net >mlpdrop.net
sed 's/network mlp /network other /' mlp.net >mlpname.net
expect resume-other-layer 1 "keep.ckpt.st;another network;mlp's;net.net;--load" mlptanh.net --train --data small --resume keep.ckpt.st
expect resume-other-setting 1 "keep.ckpt.st;another network" mlpdrop.net --train --data small --resume keep.ckpt.st
cp mid.ckpt.st named.ckpt.st && run_ok resume-renamed mlpname.net --train --data small --resume named.ckpt.st --save named.st &&
    ok "a renamed network resumes: its name is not what it trains"
# the same network spelled otherwise (defaults written out, 'Linear 784->32'): its IR is
# one, and so is what it trains
sed 's/  Linear 32/  Linear 784->32 bias=true/; s/Dropout 0.2/Dropout p=0.2 # spelled out/' mlp.net >mlpspelled.net
cp mid.ckpt.st spelled.ckpt.st && run_ok resume-spelled mlpspelled.net --train --data small --resume spelled.ckpt.st --save spelled.st &&
    ok "the same network spelled otherwise resumes"
cp good.bak good.ckpt.st
run_ok batch-at-epoch-end mlp.net --train --data small --threads 2 --steps 11 --save end1.st &&
    run_ok resume-other-batch-at-epoch-end mlp.net --train --data small --threads 2 --resume end1.ckpt.st --batch 30 &&
    ok "at an epoch's end, --resume may change the batch size"
cp end1.st end2.st && cp end1.ckpt.st end2.ckpt.st
run_ok resume-other-images-at-epoch-end mlp.net --train --data alike --threads 2 --resume end2.ckpt.st &&
    grep -q 'warning: end2.ckpt.st: the training images are not those the run trained on' resume-other-images-at-epoch-end.err &&
    ok "at an epoch's end, --resume may take other images, with a warning"
cp end1.st end3.st && cp end1.ckpt.st end3.ckpt.st
run_ok resume-fewer-images-at-epoch-end mlp.net --train --data fewer --threads 2 --resume end3.ckpt.st &&
    grep -q 'warning: end3.ckpt.st: the run trained on 210 training images, and these are 60' resume-fewer-images-at-epoch-end.err &&
    ok "at an epoch's end, --resume may take fewer images, with a warning that counts them" ||
    bad "fewer images at an epoch's end" "$(cat resume-fewer-images-at-epoch-end.err)"

# checkpoint paths that cannot be written
mkdir adir
expect save-is-directory 1 'adir;directory' mlp.net --train --data small --save adir
expect save-missing-directory 1 'nodir/x.st;cannot' mlp.net --train --data small --save nodir/x.st
expect checkpoint-missing-directory 1 'nodir/c.st;cannot' mlp.net --train --data small --save cm.st --checkpoint nodir/c.st
[ -e cm.st ] && bad "checkpoint-missing-directory: wrote the weights" || ok "an unwritable --checkpoint writes nothing"
grep -q "epoch" save-missing-directory.out && bad "save-missing-directory: trained before failing" ||
    ok "an unwritable --save fails before any training"
expect logits-missing-directory 1 'nodir/out.csv;cannot' "$NET" --predict small/t10k-images-idx3-ubyte --logits nodir/out.csv
# a failed run leaves an existing checkpoint byte-identical: see keep.st in every case above

# a loss that becomes NaN or infinite: momentum 1e6 (the most a file allows) diverges in a few
# steps; --optimizer SGD, the file's kind, keeps it, and --lr 1e6 is the flag's upper bound
sed 's/momentum=0.9/momentum=1000000/' mlp.net >mlpnan.net
expect nan-step 1 'loss became (nan|infinite);step [0-9]+' mlpnan.net --train --data small --optimizer SGD --lr 1e6 --save keep.st
cp mdet1.st resumed.st && cp mdet1.ckpt.st resumed.ckpt.st
expect nan-on-resume 1 'loss became (nan|infinite);step 3[4-9]' mlpnan.net --train --data small --epochs 5 --resume resumed.ckpt.st
same mdet1.st resumed.st && ok "a NaN after --resume keeps the checkpoint it resumed from" ||
    bad "a NaN after --resume changed the checkpoint"
# OneCycleLR as PyTorch's: a run may take total_steps steps (3 epochs of 11 here) but no more,
# and a rise of pct_start x steps = 1 step (PyTorch divides by zero) is refused, where
# total_steps is written (the front end) and where it is the run's own count (the runtime)
sed 's/  epochs 3/  epochs 3\n  schedule OneCycleLR max_lr=0.1 total_steps=33/' mlp.net >mlp1c.net
run_ok onecycle-total mlp1c.net --train --data small --threads 2
expect onecycle-past-total 1 'mlp1c.net:[0-9]+:3: error;total_steps=33;takes 44 steps' \
    mlp1c.net --train --data small --epochs 4
# a cycle of total_steps: resumed with another, the message names total_steps, not epochs
run_ok onecycle-total-2 mlp1c.net --train --data small --threads 2 --epochs 2 --save oct.st
sed 's/total_steps=33/total_steps=44/' mlp1c.net >mlp1t.net
expect onecycle-resume-other-total 1 "oct.ckpt.st;OneCycleLR's cycle is 33 steps;total_steps makes it 44" \
    mlp1t.net --train --data small --threads 2 --resume oct.ckpt.st
sed 's/  epochs 3/  epochs 3\n  schedule OneCycleLR max_lr=0.1 pct_start=0.05/' mlp.net >mlp1d.net
expect onecycle-rise-one-step 1 'mlp1d.net:[0-9]+:3: error;0.05 x 20 = 1 step' \
    mlp1d.net --train --data small --epochs 2 --batch 21
# and so is a last phase of no step that the run reaches (PyTorch divides by zero at the
# scheduler's step after the last batch): pct_start=1, or three_phase with 2 p T = T + 1
# (0.5625 x 8 steps); with total_steps past the run, pct_start=1 runs
sed 's/  epochs 3/  epochs 3\n  schedule OneCycleLR max_lr=0.1 pct_start=1/' mlp.net >mlp1e.net
expect onecycle-last-phase-empty 1 'mlp1e.net:[0-9]+:3: error;last phase would last no step;pct_start x total steps = total' \
    mlp1e.net --train --data small --epochs 2 --batch 21
sed 's/  epochs 3/  epochs 3\n  schedule OneCycleLR max_lr=0.1 pct_start=1 total_steps=21/' mlp.net >mlp1f.net
run_ok onecycle-pct1-longer mlp1f.net --train --data small --epochs 2 --batch 21 --threads 2 --no-record --save oc1f.st
sed 's/  epochs 3/  epochs 3\n  schedule OneCycleLR max_lr=0.1 pct_start=0.5625 three_phase=true/' mlp.net >mlp1g.net
expect onecycle-third-phase-empty 1 'mlp1g.net:[0-9]+:3: error;last phase would last no step;three_phase' \
    mlp1g.net --train --data small --epochs 4 --batch 105
# a run's cycle is fixed when it starts: resuming a finished 3-epoch cycle with --epochs 5
# would start a second, stretched one (PyTorch's scheduler refuses to step past its total)
run_ok onecycle-3 mlp1d.net --train --data small --threads 2 --save oc3.st
expect onecycle-resume-longer 1 "oc3.ckpt.st;OneCycleLR's cycle is 33 steps;makes it 55 .5 epochs of 11 batches of 20 from 210" \
    mlp1d.net --train --data small --threads 2 --epochs 5 --resume oc3.ckpt.st
# ... and so would another batch size: the message says what makes the cycle
expect onecycle-resume-other-batch 1 "oc3.ckpt.st;OneCycleLR's cycle is 33 steps;makes it 27 .3 epochs of 9 batches of 25" \
    mlp1d.net --train --data small --threads 2 --batch 25 --resume oc3.ckpt.st
# a flag that changes one setting under another's check: SGD may cycle its momentum to 1.5,
# Adam's beta1 may not (bias_correction1 would be 0); --optimizer Adam is refused there
sed 's/  epochs 3/  epochs 3\n  schedule OneCycleLR max_lr=0.1 max_momentum=1.5/' mlp.net >mlp1m.net
run_ok onecycle-sgd-momentum mlp1m.net --train --data small --steps 2 --no-record --save m15.st
expect onecycle-flag-adam-momentum 2 "mlp1m.net:[0-9]+:3: error;'max_momentum' = 1.5 would cycle Adam's beta1" \
    mlp1m.net --train --data small --steps 2 --optimizer Adam
# a checkpoint whose step count is past what its epochs leave of the cycle (edited: step 30
# after epoch 1 of 3) would step OneCycleLR past its end
run_ok onecycle-1 mlp1d.net --train --data small --threads 2 --steps 11 --save oc1.st
set_meta oc1.ckpt.st oc1a.st netc.step 30 && set_meta oc1a.st oc1b.st netc.optim_step 30
expect onecycle-step-past-cycle 1 "oc1b.st;resumes at step 30 with 22 steps to go, past the end of OneCycleLR's 33-step cycle" \
    mlp1d.net --train --data small --threads 2 --resume oc1b.st
grep -q '^training' onecycle-step-past-cycle.out && bad "a refused resume printed the training banner" "$(cat onecycle-step-past-cycle.out)" ||
    ok "a refused resume prints its error alone, no 'training ...' line"
# BatchNorm over one value per channel, which PyTorch refuses in training: a batch of 1, or
# a last batch of 1 sample (210 = 11 x 19 + 1) when the run gets to it
sed 's/  Linear 32/  Linear 32\n  BatchNorm1d/' mlp.net >mlpbn.net
expect bn-batch-of-one 1 'mlpbn.net:4:3: error;BatchNorm1d .2.;a batch of 1' mlpbn.net --train --data small --batch 1
expect bn-profile-batch-of-one 1 'mlpbn.net:4:3: error;BatchNorm1d .2.;a batch of 1' mlpbn.net --profile --data small --batch 1 --steps 1
expect bn-last-batch-of-one 1 "mlpbn.net:4:3: error;last batch .210 samples in batches of 19. holds 1 sample" \
    mlpbn.net --train --data small --batch 19
grep -q "hint: .*e.g. 'batch 20'" bn-last-batch-of-one.err && ok "a last batch of 1: the hint names batch 20" ||
    bad "last batch of 1: hint" "$(cat bn-last-batch-of-one.err)"
run_ok bn-stops-before-last mlpbn.net --train --data small --batch 19 --steps 11 --threads 2 &&
    ok "a run that stops before the last batch of 1 trains"
make_data one 1 105 # a training set of 1 image: no batch size helps
expect bn-one-sample 1 "mlpbn.net:4:3: error;last batch .1 sample in batches of 20. holds 1 sample" \
    mlpbn.net --train --data one
grep -q "hint: no batch size near 20 leaves more than 1 of 1 samples" bn-one-sample.err &&
    ok "a training set of 1 sample: the hint says no batch size helps" ||
    bad "1 sample: hint" "$(cat bn-one-sample.err)"
make_data odd 163 105 # batch 2 and 3 leave 1 of 163; 4 leaves 3
expect bn-small-batch 1 "mlpbn.net:4:3: error;last batch .163 samples in batches of 2. holds 1 sample" \
    mlpbn.net --train --data odd --batch 2 --record failrun
grep -q "hint: .*e.g. 'batch 4'" bn-small-batch.err && ok "... the hint looks past batch 3: batch 4" ||
    bad "last batch of 1 at batch 2: hint" "$(cat bn-small-batch.err)"
[ ! -e failrun ] && ok "... and a run refused before its first step leaves no run folder" ||
    bad "a refused run left its folder" "$(ls -la failrun)"
# without running statistics a BatchNorm normalises over the batch in evaluation too, and
# PyTorch refuses one value per channel there as well: a last test batch of 1 (105 = 2 x 52
# + 1) is refused before training, in --eval and in --predict, whose outputs would be the
# bias alone whatever the input
sed 's/  Linear 32/  Linear 32\n  BatchNorm1d track_running_stats=false/' mlp.net >mlpbnf.net
expect bnf-test-last-one 1 "mlpbnf.net:4:3: error;last batch .105 samples in batches of 52. holds 1 sample;in evaluation without running statistics" \
    mlpbnf.net --train --data small --batch 52
grep -q "^epoch" bnf-test-last-one.out && bad "bnf-test-last-one: trained before failing" ||
    ok "a test set whose last batch is 1: refused before any training"
expect bnf-eval-last-one 1 "mlpbnf.net:4:3: error;last batch .105 samples in batches of 52. holds 1 sample" \
    mlpbnf.net --eval --data small --batch 52
run_ok bnf-eval mlpbnf.net --eval --data small --batch 50 && ok "--eval with no last batch of 1 runs"
expect bnf-predict-one 1 "mlpbnf.net:4:3: error;1 sample in batches of 20;in evaluation without running statistics" \
    mlpbnf.net --predict one/train-images-idx3-ubyte
grep -q "hint: .*give it running statistics (track_running_stats=true)" bnf-predict-one.err &&
    ok "one sample to predict: the hint says running statistics" || bad "bnf-predict-one hint" "$(cat bnf-predict-one.err)"

# NaN in epoch 2 of a run that saved epoch 1: the epoch-1 checkpoint stays, as a 1-epoch run
# writes it
# (MultiStepLR with a milestone given 6 times multiplies the lr by gamma^6 = 1e36 from epoch 2)
sed 's/  epochs 3/  epochs 3\n  schedule MultiStepLR milestones=[1, 1, 1, 1, 1, 1] gamma=1000000/' mlp.net >mlpx.net
run_ok e1 mlpx.net --train --data small --epochs 1 --threads 2 --save e1.st
rm -f keep.st
"$NETRUN" mlpx.net --train --data small --threads 2 --save ex.st >ex.out 2>ex.err
rc=$?
if [ $rc = 1 ] && grep -q 'loss became .* at step 1[2-9] (epoch 2' ex.err && [ "$(grep -c 'error:' ex.err)" = 1 ] &&
    same e1.st ex.st && no_sanitizer ex.err; then
    ok "NaN in epoch 2: $(grep error: ex.err); the epoch-1 checkpoint is kept byte for byte"
else
    bad "NaN in epoch 2 (exit $rc)" "$(cat ex.err)" "$(cmp e1.st ex.st 2>&1)"
fi

# ---- hostile files: every field a loader reads is checked before use ----

echo "== hostile files"
# the training position: a value out of range, or not a number, is an error naming the file,
# the key and the value, and the checkpoint stays as it was
for kv in netc.batch=-1 netc.batch=4294967295 netc.epoch=-3 netc.epoch=4294967296 \
    netc.step=9223372036854775808 netc.optim_step=-1 netc.batch_size=0 netc.batch= \
    netc.epoch=1e3 netc.dropout_rng=00000000000000000000000000000000000000000000000000000000000000000 \
    netc.epoch_rng=-00000000000000100000000000000010000000000000001000000000000001; do
    k=${kv%%=*} v=${kv#*=}
    set_meta mid.ckpt.st pos.st "$k" "$v" && cp pos.st pos.bak
    expect "position-$k=$v" 1 "pos.st;bad training position;'$k'" mlp.net --train --data small --resume pos.st
    cmp -s pos.st pos.bak || bad "position-$k=$v: the checkpoint changed"
done
# the keys that say which optimizer wrote the state and which net was trained: without them
# (a checkpoint edited, or older than they), resuming is said to take them as this run's
for k in netc.optimizer netc.layers; do
    del_meta mid.ckpt.st nokey.st "$k"
    if grep -q "$k" nokey.st; then
        bad "del_meta $k: still there"
    else
        run_ok "no-$k" mlp.net --train --data small --resume nokey.st --save nokey_out.st &&
            grep -q "warning: nokey.st: the checkpoint does not say which .*($k)" "no-$k.err" &&
            ok "a checkpoint without $k resumes with a warning" ||
            bad "a checkpoint without $k" "$(cat "no-$k.err")"
    fi
done
# in range, and a step a batch, but the data has 11 batches of 20
set_meta mid.ckpt.st pos0.st netc.epoch_seen 240 && set_meta pos0.st pos1.st netc.batch 12 &&
    set_meta pos1.st pos2.st netc.step 12 && set_meta pos2.st pos.st netc.optim_step 12
expect position-batch-beyond-data 1 "pos.st;cannot resume after batch 12;11 batches" mlp.net --train --data small --resume pos.st
# a run of 0 epochs saves nothing, and says so (not that files it never wrote are kept)
rm -f e0.st e0.ckpt.st
"$NETRUN" mlp.net --train --data small --epochs 0 --no-record --save e0.st >e0.out 2>e0.err &&
    grep -q "warning: nothing to train: 0 epochs done, and the run has 0; nothing is saved" e0.err && [ ! -e e0.st ] &&
    ok "--epochs 0: $(grep warning: e0.err)" || bad "--epochs 0" "$(cat e0.err)"
# a run already at its end: a warning, no "saved", the file untouched, exit 0
cp mdet1.st ended.st && cp mdet1.ckpt.st ended.ckpt.st
if "$NETRUN" mlp.net --train --data small --resume ended.ckpt.st >ended.out 2>ended.err &&
    grep -q "warning: nothing to train: 3 epochs done, and the run has 3; ended.st and ended.ckpt.st are left as they are" ended.err &&
    ! grep -q "saved" ended.out && same mdet1.st ended.st && no_sanitizer ended.err; then
    ok "resuming a finished run: $(grep warning: ended.err)"
else
    bad "resuming a finished run" "$(cat ended.out ended.err)"
fi
"$NETRUN" mlp.net --train --data small --resume ended.ckpt.st --epochs 2 >ended2.out 2>ended2.err
[ $? = 0 ] && grep -q "nothing to train: 3 epochs done, and the run has 2" ended2.err && ! grep -q saved ended2.out &&
    same mdet1.st ended.st && ok "resuming past --epochs: nothing trained or saved" ||
    bad "resuming past --epochs" "$(cat ended2.out ended2.err)"
cp mid.st mid2.st && cp mid.ckpt.st mid2.ckpt.st
"$NETRUN" mlp.net --train --data small --resume mid2.ckpt.st --steps 7 >ended3.out 2>ended3.err
[ $? = 0 ] && grep -q "nothing to train: 7 steps done, and the run stops after step 7" ended3.err &&
    ! grep -q saved ended3.out && same mid.st mid2.st && ok "resuming at --steps: nothing trained or saved" ||
    bad "resuming at --steps" "$(cat ended3.out ended3.err)"

# image shapes, dimension by dimension: 784 pixels are not 1x28x28 unless they are 28x28
reshape() { { be32 2051; be32 $2; be32 $3; be32 $4; tail -c +17 "$1"; } >"$5"; }
copy_data small wide && reshape small/train-images-idx3-ubyte 210 14 56 wide/train-images-idx3-ubyte
copy_data small tall && reshape small/t10k-images-idx3-ubyte 105 56 14 tall/t10k-images-idx3-ubyte
expect idx-14x56-train 1 'wide/train-images-idx3-ubyte;1x14x56;1x28x28' mlp.net --train --data wide --save keep.st
expect idx-56x14-eval 1 'tall/t10k-images-idx3-ubyte;1x56x14;1x28x28' mlp.net --eval --data tall
expect idx-14x56-predict 1 'wide/train-images-idx3-ubyte;1x14x56;1x28x28' "$NET" --predict wide/train-images-idx3-ubyte
pgm() { printf 'P5 %d %d 255\n' $1 $2; head -c $(($1 * $2)) /dev/zero; }
pgm 14 56 >p14x56.pgm && pgm 64 48 >p64x48.pgm && pgm 28 28 >p28.pgm
expect pgm-14x56 1 'p14x56.pgm;1x56x14;1x28x28' "$NET" --predict p14x56.pgm
expect pgm-64x48-into-3x32x32 1 'p64x48.pgm;1x48x64;3x32x32' c3.net --predict p64x48.pgm
expect pgm-1-channel-into-3 1 'p28.pgm;1x28x28;3x32x32' c3.net --predict p28.pgm
# ... with a normalize for each of the 3 channels: the channels are the error, not normalize
sed 's/input 3x32x32/input 3x28x28/; s/^}$/}\ntrain {\n  normalize [0.4, 0.5, 0.6] [0.2, 0.3, 0.25]\n}/' c3.net >c3n.net
expect pgm-1-channel-into-3-normalized 1 'p28.pgm;1x28x28;takes input 3x28x28' c3n.net --predict p28.pgm
make_data none 0 0
expect predict-no-images 1 'none/t10k-images-idx3-ubyte;no images' "$NET" --predict none/t10k-images-idx3-ubyte
{ head -c 3132 /dev/zero; printf '\0\0\300\177'; } >nan.f32
expect f32-nan 1 'nan.f32;value 783 of input 0;nan;finite' "$NET" --predict nan.f32
head -c 3137 /dev/zero >odd.f32
expect f32-size 1 'odd.f32;3137 bytes;784 floats' "$NET" --predict odd.f32
# --logits -: the CSV on standard output (it wrote a file named '-')
"$NETRUN" mlp.net --load good.st --predict p28.pgm --logits - >ldash.out 2>ldash.err &&
    [ "$(tr -cd ',' <ldash.out | wc -c)" = 9 ] && [ ! -e ./- ] && grep -q "to standard output" ldash.err &&
    ok "--logits -: one row of 10 values on standard output" || bad "--logits -" "$(cat ldash.out ldash.err)"
# a Softmax's probabilities, then Flatten: printed as they are, not softmaxed again (the top
# p is the largest output); a Sigmoid's are printed as they are (tests/codegen/driver.sh)
printf 'network sf (input 1x28x28) {\n  Conv2d 4 k5 s3\n  AdaptiveAvgPool2d 1\n  Softmax\n  Flatten\n}\ntrain { seed 3 }\n' >sf.net
"$NETRUN" sf.net --predict p28.pgm --logits - 2>/dev/null | tr ',' '\n' | sort -g | tail -1 >sf.max &&
    "$NETRUN" sf.net --predict p28.pgm >sf.out 2>/dev/null &&
    grep -q "(p=$(awk '{ printf "%.3f", $1 }' sf.max))" <(head -c 20 sf.out) &&
    ok "--predict after Softmax then Flatten: the net's own probabilities ($(head -c 16 sf.out))" ||
    bad "--predict after Softmax, Flatten" "$(cat sf.out sf.max)"
# an empty data path says so (it named the files alone: train-images-idx3-ubyte: no such file)
expect data-empty 1 "the data set's path is empty" mlp.net --train --data ''
# so does an empty path for a file netrun writes or reads, before any training
for f in --save --checkpoint --resume --record --load; do
    expect "empty${f}" 2 "^netrun: error: ${f} '': an empty path" mlp.net --train $f ''
done
# a result that cannot be written (a full disk) is not a success
if [ -w /dev/full ]; then
    "$NETRUN" mlp.net --load good.st --predict p28.pgm >/dev/full 2>full.err
    rc=$?
    [ $rc = 1 ] && grep -q "netrun: error: standard output: cannot write" full.err &&
        ok "--predict to a full disk: exit 1, 'standard output: cannot write'" || bad "--predict >/dev/full exited $rc" "$(cat full.err)"
fi
# names: a nul inside is refused; a megabyte of name is shown cut to 60 bytes
st_file st-nul.st '{"fc.bias\u0000x":{"dtype":"F32","shape":[10],"data_offsets":[0,40]},'"$W"'}' 31400
expect st-nul-in-name 1 'st-nul.st;nul character' "${PRED[@]}" --load st-nul.st
long=$(head -c 1000000 /dev/zero | tr '\0' n)
st_file st-long.st "{$B,$W,\"$long\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[31400,31404]}}" 31404
expect st-1mb-name 1 "st-long.st;tensor name 'nnn" "${PRED[@]}" --load st-long.st
[ "$(wc -c <st-1mb-name.err)" -lt 400 ] && ok "a 1 MB name is cut in the message ($(wc -c <st-1mb-name.err) bytes)" ||
    bad "a 1 MB name was echoed: $(wc -c <st-1mb-name.err) bytes of message"

# saving: only a regular file is replaced; stale temporary files of dead processes go
expect save-to-device 1 '/dev/null;character device;only a regular file' mlp.net --train --data small --steps 2 --save /dev/null
[ -c /dev/null ] && ok "/dev/null is still a character device" || bad "/dev/null was replaced"
mkfifo fifo.st
expect save-to-fifo 1 'fifo.st;FIFO' mlp.net --train --data small --steps 2 --save fifo.st
(exit 0) & deadpid=$! && wait $deadpid
printf partial >stale.st.tmp.$deadpid && printf partial >stale.st.tmp.1
run_ok stale mlp.net --train --data small --steps 2 --save stale.st &&
    [ ! -e stale.st.tmp.$deadpid ] && [ -e stale.st.tmp.1 ] &&
    ok "a save removes a dead process's temporary file and keeps a live one's" ||
    bad "stale temporary files" "$(ls stale.st*)"
"$NETRUN" "$NET" --load det1.st --predict small/t10k-images-idx3-ubyte --logits /dev/stdout >lg.out 2>lg.err
[ $? = 0 ] && [ "$(wc -l <lg.out)" = 105 ] && ok "--logits /dev/stdout writes the CSV to standard output" ||
    bad "--logits /dev/stdout" "$(head -3 lg.err)"
# /dev/stdout (or /dev/fd/1) redirected into a file is written through the descriptor: what
# the shell wrote before stays (a save replaced the file and lost it), and a second run
# after it writes on; a save of weights there is refused
{ echo before; "$NETRUN" "$NET" --load det1.st --predict small/t10k-images-idx3-ubyte --logits /dev/stdout;
  echo between; "$NETRUN" "$NET" --load det1.st --predict small/t10k-images-idx3-ubyte --logits /dev/fd/1; } >lg2.out 2>lg2.err
printf 'kept\n' >lg3.out
"$NETRUN" "$NET" --load det1.st --predict small/t10k-images-idx3-ubyte --logits /dev/stdout >>lg3.out 2>>lg2.err
[ "$(head -1 lg2.out)" = before ] && [ "$(sed -n 107p lg2.out)" = between ] && [ "$(wc -l <lg2.out)" = 212 ] &&
    [ "$(head -1 lg3.out)" = kept ] && [ "$(wc -l <lg3.out)" = 106 ] &&
    ok "--logits /dev/stdout into a redirected file writes on after what is there (> and >>)" ||
    bad "--logits /dev/stdout into a file" "$(head -3 lg2.out lg3.out lg2.err)"
expect stdoutsave 1 "is this process.s descriptor 1" mlp.net --train --data small --steps 1 --save /dev/stdout
# a PGM with --logits writes its one row (it used to print the classes and ignore --logits):
# the logits the IDX file gives its first image
{ printf 'P5 28 28 255\n'; tail -c +17 small/t10k-images-idx3-ubyte | head -c 784; } >first.pgm
"$NETRUN" "$NET" --load det1.st --predict first.pgm --logits pgm.csv 2>pgm.err &&
    [ "$(wc -l <pgm.csv)" = 1 ] && [ "$(cat pgm.csv)" = "$(head -1 lg.out)" ] &&
    ok "--predict IMAGE.pgm --logits: one row, the IDX file's logits of the same image" ||
    bad "--predict IMAGE.pgm --logits" "$(head -3 pgm.err)" "$(head -c 300 pgm.csv)"
# a PGM of maxval below 255 reads as PIL reads it, then ToTensor: round(v / maxval * 255)
# (half to even) / 255 (it was v / maxval, up to 5e-3 off); normalize in float, as the IDX
# path and Normalize compute it; a normalize of several values is refused, as for IDX
printf 'network id (input 1x1x4) {\n  Flatten\n}\n' >pid.net
printf 'P2 4 1 6\n0 1 3 6\n' >m6.pgm
"$NETRUN" pid.net --predict m6.pgm --logits m6.csv 2>/dev/null &&
    [ "$(cat m6.csv)" = "0,0.164705887,0.501960814,1" ] &&
    ok "PGM of maxval 6: PIL's 8-bit values (1 -> 42, half to even; 3 -> 128) over 255" ||
    bad "PGM of maxval 6" "$(cat m6.csv 2>&1)"
printf 'network idn (input 1x1x4) {\n  Flatten\n}\ntrain {\n  normalize 0.1307 0.3081\n}\n' >pidn.net
{ printf 'P5 4 1 255\n'; printf '\000\026\054\362'; } >n4.pgm
{ printf '\000\000\010\003\000\000\000\001\000\000\000\001\000\000\000\004'; printf '\000\026\054\362'; } >n4.idx
"$NETRUN" pidn.net --predict n4.pgm --logits n4p.csv 2>/dev/null &&
    "$NETRUN" pidn.net --predict n4.idx --logits n4i.csv 2>/dev/null &&
    [ -s n4p.csv ] && cmp -s n4p.csv n4i.csv &&
    ok "normalize: a PGM's values are the same bits as the IDX file's of the same bytes" ||
    bad "PGM and IDX normalize differ" "$(cat n4p.csv n4i.csv)"
sed 's/normalize 0.1307 0.3081/normalize [0.5, 0.4, 0.3] [0.25, 0.5, 1]/' pidn.net >pid3.net
expect pgm-normalize-per-channel 1 'pid3.net:5:3: error;normalize gives 3 values;takes 1 channel' pid3.net --predict n4.pgm
# a flat input does not say its channels: the PGM tells
sed 's/input 1x1x4/input 4/' pid3.net >pid3f.net
expect pgm-normalize-per-channel-flat 1 'n4.pgm: an image of 1 channel, but normalize gives 3 values' pid3f.net --predict n4.pgm
# a net that ends in Softmax gives probabilities: printed as they are (they were put through
# a softmax again: p=0.232 for an output of 0.9996), the three largest of the --logits row
printf 'network sm (input 1x28x28) {\n  Flatten\n  Linear 10\n  Softmax\n}\n' >sm.net
"$NETRUN" sm.net --predict first.pgm --logits sm.csv 2>/dev/null &&
    "$NETRUN" sm.net --predict first.pgm >sm.out 2>/dev/null
want=$(tr , '\n' <sm.csv | awk '{ printf "%d %.3f\n", NR - 1, $1 }' | sort -k2,2nr | head -3 |
    awk '{ printf NR == 1 ? "%s  (p=%s)" : "   %s (p=%s)", $1, $2 }')
[ -n "$want" ] && [ "$(cat sm.out)" = "$want" ] && ok "--predict on a net ending in Softmax prints its outputs: $want" ||
    bad "--predict after Softmax" "got:  $(cat sm.out)" "want: $want"

# ---- interruption: Ctrl-C saves a position that resumes bit for bit ----

echo "== interruption"
# resume_cmd ERRFILE: the command netrun printed to continue
resume_cmd() { sed -n '/^to continue, run:$/{n;s/^  //p;}' "$1"; }
# interrupted NAME EXIT FULL: netrun (already run, NAME.out/.err) exited EXIT after an
# interruption; the command it printed must finish the run with FULL's bytes
interrupted() {
    local name=$1 want=$2 full=$3 cmd
    cmd=$(resume_cmd "$name.err")
    if [ "$rc" != "$want" ] || [ -z "$cmd" ] || ! no_sanitizer "$name.err"; then
        bad "$name: exit $rc (want $want), resume command '$cmd'" "$(cat "$name.err")"
        return
    fi
    eval "$cmd" >"$name-r.out" 2>"$name-r.err"
    local rrc=$?
    if [ $rrc = 0 ] && same "$full" "$name.st" && no_sanitizer "$name-r.err"; then
        ok "$name: $(grep -o 'after step [0-9]*' "$name.err"), exit $rc; then '${cmd#"$NETRUN" }' == one run, byte for byte"
    else
        bad "$name: the resumed run (exit $rrc) differs from one uninterrupted run" "$cmd" "$(cmp "$full" "$name.st")" "$(cat "$name-r.err")"
    fi
}
# at a random step (printed, to replay a failure), at an epoch's end, at the first and last step
INT_ARGS=(mlp.net --train --data small --threads 2)
for n in $((RANDOM % 32 + 1)) $((RANDOM % 32 + 1)) 1 11 32; do
    NETRUN_TEST_SIGNAL=$n "$NETRUN" "${INT_ARGS[@]}" --save int$n.st >int$n.out 2>int$n.err
    rc=$?
    interrupted int$n 130 mdet1.st
done
# SIGTERM too (128 + 15), with other words on the line: --load's weights and --save= go
NETRUN_TEST_SIGNAL=17,1,15 "$NETRUN" mlp.net --train --data small --load good.st --threads=2 --save=term.st >term.out 2>term.err
rc=$?
run_ok termfull mlp.net --train --data small --load good.st --threads 2 --save termfull.st
interrupted term 143 termfull.st
# a second signal exits at once: the last checkpoint (epoch 1's) stays, no temporary file
run_ok end11 "${INT_ARGS[@]}" --steps 11 --save end11.st
NETRUN_TEST_SIGNAL=15,2 "$NETRUN" "${INT_ARGS[@]}" --save twice.st >twice.out 2>twice.err
rc=$?
if [ $rc = 130 ] && same end11.st twice.st && [ -z "$(ls twice.*st.tmp.* 2>/dev/null)" ] &&
    grep -q "interrupted again" twice.err && [ -z "$(resume_cmd twice.err)" ]; then
    ok "a second signal exits at once (130), the last checkpoint intact, nothing left behind"
else
    bad "a second signal (exit $rc)" "$(cat twice.err)" "$(cmp end11.st twice.st 2>&1; ls twice.st*)"
fi
# a real asynchronous kill, once the first checkpoint exists (somewhere in 300 epochs of
# 11 steps, a save included), by SIGINT (job control on, so the background job takes it) and
# by SIGTERM
ASYNC_ARGS=(mlp.net --train --data small --threads 2 --epochs 300)
run_ok asyncfull "${ASYNC_ARGS[@]}" --save asyncfull.st
for sig in INT TERM; do
    rm -f async$sig.st async$sig.ckpt.st
    set -m
    "$NETRUN" "${ASYNC_ARGS[@]}" --save async$sig.st >async$sig.out 2>async$sig.err &
    pid=$!
    set +m
    for _ in $(seq 1000); do [ -e async$sig.st ] && [ -e async$sig.ckpt.st ] && break; sleep 0.01; done
    sleep 0.0$((RANDOM % 5))
    kill -$sig $pid
    wait $pid
    rc=$?
    interrupted async$sig $([ $sig = INT ] && echo 130 || echo 143) asyncfull.st
done

# an empty residual body adds the input to itself, as PyTorch's empty nn.Sequential: it trains
# to the bytes of a body holding an Identity (whose gradient the graph references check)
for body in '' Identity; do
    printf 'network er (input 1x28x28) {\n  Conv2d 2 k3 s2\n  r: residual { %s }\n  Flatten\n  Linear 10\n}\n' "$body" >er$body.net
    "$NETRUN" er$body.net --train --data small --no-record --steps 6 --save er$body.st >er$body.out 2>&1
done
grep -q "warning: residual 'r' has an empty body" er.out && cmp -s er.st erIdentity.st &&
    ok "an empty residual body: a warning, and x + x trains as x + Identity(x)" ||
    bad "an empty residual body" "$(cat er.out)" "$(cmp er.st erIdentity.st 2>&1)"

# an output that names an input, or another output, by another spelling or a link, is refused
# before anything is written (expect checks that keep.st and keep.ckpt.st stay as they were)
ln -sf keep.ckpt.st link.ckpt.st
expect save-is-checkpoint-spelled 1 'keep.st;keep.st;one file' mlp.net --train --data small --save ./keep.st --checkpoint "$PWD/keep.st"
expect save-is-checkpoint-link 1 'link.ckpt.st;keep.ckpt.st;one file' mlp.net --train --data small --save link.ckpt.st --checkpoint keep.ckpt.st
expect save-is-checkpoint 1 'keep.st .the weights.;--checkpoint;one file' mlp.net --train --data small --save keep.st --checkpoint keep.st
expect save-is-resume 1 'keep.ckpt.st .the weights.;--resume;one file' mlp.net --train --data small --save keep.ckpt.st --resume keep.ckpt.st
cp mlp.net mlpkeep.net
expect save-is-net 1 'mlpkeep.net;reads;destroy' mlpkeep.net --train --data small --steps 1 --save ./mlpkeep.net
cmp -s mlp.net mlpkeep.net && ok "save-is-net: the net file is intact" || bad "save-is-net: the net file changed"
cp -r small smallkeep
expect save-is-data 1 'smallkeep/../smallkeep/train-labels-idx1-ubyte;reads;destroy' mlp.net --train --data smallkeep --steps 1 --save smallkeep/../smallkeep/train-labels-idx1-ubyte
expect logits-is-predict 1 'smallkeep/t10k-images-idx3-ubyte;reads;destroy' mlp.net --load keep.st --predict smallkeep/t10k-images-idx3-ubyte --logits "$PWD/smallkeep/t10k-images-idx3-ubyte"
cmp -s small/train-labels-idx1-ubyte smallkeep/train-labels-idx1-ubyte && cmp -s small/t10k-images-idx3-ubyte smallkeep/t10k-images-idx3-ubyte &&
    ok "save-is-data, logits-is-predict: the data files are intact" || bad "a data file changed"
expect confusion-is-load 1 'keep.st;reads;destroy' mlp.net --load keep.st --eval --data small --confusion ./keep.st
# a matrix of outputs x outputs, printed and drawn: a net of 20,000 outputs asked 3.2 GB
sed 's/fc: Linear 10/fc: Linear 20000/' mlp.net >wide.net
expect confusion-too-wide 1 '--confusion: mlp has 20000 outputs;at most 256 classes' wide.net --eval --data small --confusion wide.svg
# weights trained from --load may go back to the file they came from, as asked
cp good.st inplace.st
run_ok load-is-save mlp.net --train --data small --steps 1 --load inplace.st --save ./inplace.st &&
    ! cmp -s good.st inplace.st && ok "--load W --save W: trained weights replace W" || bad "--load W --save W did not write W"

# usage errors
expect usage-steps 2 'steps' "$NET" --train --steps 0
expect usage-batch 2 'batch;x' "$NET" --train --batch x
expect usage-optimizer 2 'optimizer;Foo' "$NET" --train --optimizer Foo
# a flag's value is checked as the file's is, with the file's message naming the flag
expect usage-lr 2 "'--lr' must be between 0 and 1e\\+06, got -1" "$NET" --train --lr -1
expect usage-lr-too-big 2 "'--lr' must be between 0 and 1e\\+06, got 1e30" "$NET" --train --lr 1e30
expect usage-lr-hex 2 "'--lr' must be a number, got the sizes '0x10' .numbers are decimal." "$NET" --train --lr 0x10
expect usage-seed 2 "'--seed' must be between 0 and" "$NET" --train --seed -1
expect usage-epochs 2 "'--epochs' must be an integer, got '1.5'" "$NET" --train --epochs 1.5
sed 's/  seed 5/  seed 5\n  loss mse/' mlp.net >mlpmse.net
expect usage-label-smoothing-mse 2 "--label-smoothing sets 'label_smoothing' of loss 'cross_entropy', but the loss is 'mse'" mlpmse.net --train --label-smoothing 0.1
expect usage-label-smoothing 2 "'--label-smoothing' must be between 0 and 1, got 2" "$NET" --train --label-smoothing 2
expect usage-data 2 "'--data' contains the control character 0x01" "$NET" --train --data "$(printf 'a\001b')"
expect usage-resume-without-train 2 'resume' "$NET" --resume keep.st
expect usage-resume-and-load 2 'resume;load' "$NET" --train --resume keep.st --load keep.st
expect usage-checkpoint-without-train 2 'checkpoint goes with --train' "$NET" --checkpoint c.st
expect usage-logits-without-predict 2 'logits;predict' "$NET" --logits x.csv
expect usage-eval-on-without-eval 2 'eval-on goes with --eval' "$NET" --train --eval-on val
# a batch whose model does not fit in memory (the ResNet at batch 2^20: 819 GB): how much it
# asked for, and what to change (ASan, asked, returns NULL as calloc does)
# (not where the kernel grants any allocation, vm.overcommit_memory 1: there it would be
# granted, touched and the process killed)
if [ "$(cat /proc/sys/vm/overcommit_memory 2>/dev/null)" != 1 ]; then
    ASAN_OPTIONS=${ASAN_OPTIONS:-}:allocator_may_return_null=1 expect oom-batch 1 'out of memory for the model at batch 1048576: .* take [0-9.]+ GB; a smaller --batch' "$ROOT/nets/resnet.net" --train --batch 1048576 --no-record --data small --steps 1
fi
# data that does not fit the net: the error names the file, a note points into the net
printf 'network five (input 1x28x28) {\n  Flatten\n  Linear 5\n  LogSoftmax\n}\ntrain {\n  data idx "small"\n  loss nll\n}\n' >five.net
expect classes-beyond-outputs 1 'train-labels-idx1-ubyte: 10 classes .labels 0 to 9., but the network has 5 outputs' five.net --train --steps 1 --no-record
grep -q "^five.net:3:3: note: the network's 5 outputs come from 'Linear' here" classes-beyond-outputs.err &&
    grep -q '^five.net:3:3: hint: one output a class: Linear 10' classes-beyond-outputs.err &&
    ok "labels beyond the outputs: a note at the Linear, the Linear that fits" || bad "labels beyond the outputs: no note" "$(cat classes-beyond-outputs.err)"
printf 'network rgb (input 3x28x28) {\n  Flatten\n  Linear 10\n}\ntrain {\n  data idx "nothere"\n}\n' >rgb.net
expect images-vs-input 1 'images are 1x28x28 .channels x rows x columns.; network .rgb. takes input 3x28x28' rgb.net --train --steps 1 --no-record --data small
grep -q "^rgb.net:1:14: note: the network's input is declared here" images-vs-input.err &&
    ok "images that do not fit the input: a note at the input" || bad "images vs input: no note" "$(cat images-vs-input.err)"
expect data-missing 1 'nothere: cannot open data directory' rgb.net --train --steps 1 --no-record
grep -q "^rgb.net:6:3: note: the train section's data set is named here" data-missing.err &&
    ok "a missing data set: a note at the train section's data" || bad "missing data: no note" "$(cat data-missing.err)"
# weights of another net: the first problem, then the whole difference counted apart, as
# PyTorch's missing and unexpected keys (the seed net's 6 tensors into the mlp's 4)
expect weights-other-net 1 "det1.st: tensor '1.weight' .32x784. is missing" mlp.net --load det1.st --eval --data small
grep -q "^note: det1.st and network 'mlp' differ in 7 tensors: 2 the network needs are missing, 4 in the file are not the network's and 1 has another shape or value" weights-other-net.err &&
    ok "weights of another net: missing, unexpected and other counted apart" || bad "weights of another net: counts" "$(cat weights-other-net.err)"
# a flag only training reads, on --eval or --predict, is refused, not dropped
expect usage-eval-steps 2 '--steps sets how --train trains; --eval does not train' "$NET" --eval --steps 3
expect usage-eval-lr 2 '--lr sets how --train trains' "$NET" --eval --lr 0.5
expect usage-eval-optimizer 2 '--optimizer sets how --train trains' "$NET" --eval --optimizer SGD
expect usage-eval-no-shuffle 2 '--no-shuffle sets how --train trains' "$NET" --eval --no-shuffle
expect usage-eval-early-stop 2 '--early-stop sets how --train trains' "$NET" --eval --early-stop 2
expect usage-predict-epochs 2 '--epochs sets how --train trains; --predict does not train' "$NET" --predict x.pgm --epochs 2
expect usage-predict-log-every 2 '--log-every sets how --train trains' "$NET" --predict x.pgm --log-every 5
expect usage-no-action-lr 2 '--lr sets how --train trains; nothing trains without it' "$NET" --lr 0.5
# an action without its dashes, or with one: the option meant
expect usage-train-no-dashes 2 "'train' is not a file: did you mean --train" "$NET" train
expect usage-train-one-dash 2 "'-train' is not an option: did you mean --train" "$NET" -train
# an option that takes a value, last on the line: getopt's message, not a crash of the
# scan before it (which once read past argv's end)
for last in --lr -D -o --data; do
    "$NETRUN" "$NET" $last >last.out 2>last.err
    rc=$?
    [ $rc = 2 ] && grep -q 'requires an argument' last.err && no_sanitizer last.err &&
        ok "'$last' last on the line: exit 2, 'requires an argument'" || bad "'$last' last on the line: exit $rc" "$(head -3 last.err)"
done
expect usage-eval-save 2 '--save goes with --train' "$NET" --eval --save ev.st
# standard output to a pipe or a file gets each line as it is written: the header reaches
# the reader while the run goes on, in its first epoch (fully buffered, it came 4 KB later)
( timeout 60 "$NETRUN" "$NET" --train --data "$DATA" --epochs 1000 --threads 1 --no-record --save lb.st >lb.pipe.out 2>lb.err &
  echo $! >lb.pid; wait ) &
sleep 0.2
: >lb.alive
for i in $(seq 1 100); do
    if [ -s lb.pipe.out ]; then kill -0 "$(cat lb.pid)" 2>/dev/null && echo alive >lb.alive; break; fi
    sleep 0.2
done
kill -TERM "$(cat lb.pid)" 2>/dev/null
wait
grep -q '^training ' lb.pipe.out && [ -s lb.alive ] &&
    ok "stdout to a file: the header line is there while the run goes on" || bad "stdout to a file is held back" "$(cat lb.pipe.out lb.err | head -3)"
# --quiet prints the final result alone: training's test line
run_ok quiet mlp.net --train --data small --steps 3 --no-record --save quiet.st --quiet &&
    [ "$(wc -l <quiet.out)" = 1 ] && grep -q -E '^test: loss [0-9.]+  accuracy [0-9.]+  \(105 images\)' quiet.out &&
    ok "--train --quiet: one line, the test result" || bad "--train --quiet" "$(cat quiet.out)"
expect usage-no-net 2 'no network' --train
expect usage-two-nets 2 'one network' "$NET" "$NET"
"$NETRUN" --bogus >bogus.out 2>bogus.err
[ $? = 2 ] && no_sanitizer bogus.err && ok "an unknown option exits 2" || bad "an unknown option did not exit 2"
expect net-missing 1 'nothere.net' nothere.net --train

# no action: says what it can do
if "$NETRUN" "$NET" >noaction.out 2>noaction.err && grep -q -- "--train" noaction.out; then
    ok "no action: exit 0 and the actions listed"
else
    bad "no action" "$(cat noaction.out noaction.err)"
fi

echo "cli: $passed passed, $failed failed"
[ $failed = 0 ]
