#!/bin/bash
# record.sh NETRUN SRCROOT: the record of a training run (src/runtime/record.h), the
# validation split, early stopping and the best weights, end to end.
#
#  - a run folder holds net.net, run.json, metrics.jsonl, weights, best weights and the
#    training checkpoint; metrics.jsonl has one "epoch" line per epoch (train, val and test
#    loss and accuracy, lr, images/s, time) and a "step" line every --log-every steps;
#  - runs/NAME-N takes the next N; --record DIR names the folder; --no-record writes none;
#  - two runs with the same seed record the same numbers (timings aside) and the same bytes;
#  - an interrupted run resumed in its folder ends with the files and the lines of one run,
#    and a torn or later line left by a killed run is cut;
#  - val: a seeded share held out, the same images on --eval --eval-on val, the best weights
#    those of the best val_acc; early_stop stops after N epochs without a better one, and
#    stops at the same epoch when resumed in between;
#  - --profile: a row a node and a row for each other part of a step, adding up to within 5%
#    of the step measured around it, on 1 thread and on 2;
#  - bad input: a folder that cannot be made or is not empty, --eval-on val with no val, a
#    val share that leaves a part empty, a checkpoint's best accuracy or epoch out of range:
#    exit 1 (2 for usage), one error line naming the problem, no sanitizer report.
# Ends with "record: N passed, N failed"; exit 1 if any failed.
set -u
abs() { (cd "$(dirname "$1")" && echo "$(pwd)/$(basename "$1")"); }
NETRUN=$(abs "$1") ROOT=$(abs "$2")
DATA=$ROOT/data/mnist-mini
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
. "$ROOT/tests/runtime/lib.sh"

make_data data 600 200
cat >mlp.net <<'EOF'
network mlp (input 1x28x28) {
  Flatten
  Linear 32
  ReLU
  Dropout 0.2
  fc: Linear 10
}
train {
  data idx "data"
  optimizer SGD lr=0.05 momentum=0.9
  batch 20
  epochs 4
  seed 5
  val 0.1
}
EOF
# the lines of metrics.jsonl without what differs from run to run (time, speed)
numbers() { sed -E 's/"time":"[^"]*",//; s/,"img_per_s":[^,}]*//; s/,"seconds":[^,}]*//; s/,"wall":[^,}]*//' "$1"; }
# field FILE TYPE NAME: NAME's values in the TYPE lines, one a line
field() { grep "\"type\":\"$2\"" "$1" | sed -E "s/.*\"$3\":([^,}]*).*/\\1/"; }
same_files() { # DIR1 DIR2: weights, best and checkpoint byte-identical
    local f
    for f in weights best checkpoint; do cmp -s "$1/$f.safetensors" "$2/$f.safetensors" || return 1; done
}

echo "== a run folder"
run_ok r1 mlp.net --train --threads 2 --record r1 --log-every 5
files=$(cd r1 && ls | tr '\n' ' ')
[ "$files" = "best.safetensors checkpoint.safetensors metrics.jsonl net.net run.json weights.safetensors " ] &&
    ok "--record r1 holds: $files" || bad "--record r1 holds '$files'"
grep -q "^run recorded in r1/$" r1.out && ok "it says where: $(grep 'run recorded' r1.out)" ||
    bad "no 'run recorded in r1/' line" "$(cat r1.out)"
# 540 training images (60 held out) in batches of 20: 27 steps an epoch, 108 in all
[ "$(grep -c '"type":"epoch"' r1/metrics.jsonl)" = 4 ] && [ "$(field r1/metrics.jsonl epoch step | tr '\n' ' ')" = "27 54 81 108 " ] &&
    ok "4 epoch lines, at steps 27 54 81 108" || bad "epoch lines" "$(cat r1/metrics.jsonl)"
[ "$(field r1/metrics.jsonl step step | tr '\n' ' ')" = "$(seq 5 5 105 | tr '\n' ' ')" ] &&
    ok "a step line every 5 steps: 5 ... 105" || bad "step lines" "$(field r1/metrics.jsonl step step | tr '\n' ' ')"
for k in loss acc val_loss val_acc test_loss test_acc lr img_per_s seconds wall; do
    [ "$(grep '"type":"epoch"' r1/metrics.jsonl | grep -c "\"$k\":[0-9]")" = 4 ] || { bad "an epoch line lacks $k" "$(head -3 r1/metrics.jsonl)"; break; }
done && ok "every epoch line has loss acc val_loss val_acc test_loss test_acc lr img_per_s seconds wall"
# the printed epoch lines and the recorded ones are the same numbers
printed=$(sed -n 's/^epoch 4\/4  done  loss \([0-9.]*\)  acc [0-9.]*  val_loss [0-9.]*  val_acc \([0-9.]*\)  test_loss [0-9.]*  test_acc \([0-9.]*\).*/\1 \2 \3/p' r1.out)
recorded=$(grep '"epoch":4,"step":108' r1/metrics.jsonl | grep '"type":"epoch"' |
    awk -F'[:,}]' '{ for (i = 1; i < NF; i++) { if ($i == "\"loss\"") l = $(i+1); if ($i == "\"val_acc\"") v = $(i+1); if ($i == "\"test_acc\"") t = $(i+1) } printf "%.4f %.4f %.4f", l, v, t }')
[ -n "$printed" ] && [ "$printed" = "$recorded" ] && ok "epoch 4 as printed and as recorded: loss, val_acc, test_acc $printed" ||
    bad "printed '$printed' != recorded '$recorded'"
grep -q '"val 0.1"' r1/run.json && grep -q '"--record"' r1/run.json && grep -q '"val": 60' r1/run.json &&
    ok "run.json: the command line, the settings resolved, the images of each part" || bad "run.json" "$(cat r1/run.json)"
# the command as typed (net first), not as getopt_long reorders argv (options first)
[ "$(sed -n '/"command": \[/,/\]/p' r1/run.json | sed -n '3,4p' | tr -d ' ,\n')" = '"mlp.net""--train"' ] &&
    ok "run.json: the command's words in the order typed" || bad "run.json command order" "$(head -12 r1/run.json)"
run_ok netfile r1/net.net --train --steps 1 --no-record --threads 2 --save nf.st &&
    grep -q "  val 0.1" r1/net.net && ok "net.net is a net file with the run's train section" || bad "net.net" "$(cat r1/net.net)"

echo "== folder names"
mkdir -p runs/mlp-7 runs/mlp-x runs/mlpx-9 runs/other-12
run_ok n1 mlp.net --train --threads 2 --steps 3 --quiet
run_ok n2 mlp.net --train --threads 2 --steps 3 --quiet
[ -e runs/mlp-8/run.json ] && [ -e runs/mlp-9/run.json ] && [ ! -e runs/mlp-10 ] &&
    ok "runs/mlp-N takes the next N after the largest (7): mlp-8, then mlp-9" || bad "run numbers" "$(ls runs)"
rm -rf runs
run_ok nr mlp.net --train --threads 2 --steps 3 --no-record --save nr.st --quiet
[ ! -e runs ] && [ -e nr.st ] && [ -e nr.ckpt.st ] && ok "--no-record makes no folder" || bad "--no-record" "$(ls)"
run_ok nrr mlp.net --train --threads 2 --steps 6 --resume nr.ckpt.st --quiet
[ ! -e runs ] && ok "a run without a record, resumed, goes on without one (no folder of its last epochs)" ||
    bad "--no-record resumed" "$(ls runs)"
run_ok ns mlp.net --train --threads 2 --epochs 1 --save ns.st --quiet
[ -e ns.st ] && [ -e ns.ckpt.st ] && [ -e runs/mlp-1/best.safetensors ] && [ ! -e runs/mlp-1/weights.safetensors ] &&
    ok "--save puts the weights and checkpoint there; the folder keeps the record and the best" || bad "--save with a record" "$(ls . runs/mlp-1)"

echo "== determinism and resume"
run_ok r2 mlp.net --train --threads 2 --record r2 --log-every 5
same_files r1 r2 && [ "$(numbers r1/metrics.jsonl)" = "$(numbers r2/metrics.jsonl)" ] &&
    ok "two runs: the same files, the same recorded numbers" || bad "two runs differ" "$(diff <(numbers r1/metrics.jsonl) <(numbers r2/metrics.jsonl) | head -5)"
run_ok r3t mlp.net --train --threads 1 --record r3t --log-every 5
same_files r1 r3t && ok "1 thread: the same files as 2" || bad "1 thread differs"
# interrupted at step 37 (inside epoch 2), then a torn line and a later one, as a kill leaves
NETRUN_TEST_SIGNAL=37 "$NETRUN" mlp.net --train --threads 2 --record ri --log-every 5 >ri.out 2>ri.err
rc=$?
printf 'not a line of ours\n{"type":"step","epoch":2,"step":40,"loss":1}\n{"type":"ep' >>ri/metrics.jsonl
cmd=$(sed -n '/^to continue, run:$/{n;s/^  //p;}' ri.err)
case $cmd in *"--resume ri/checkpoint.safetensors") ;; *) cmd="" ;; esac
if [ $rc = 130 ] && [ -n "$cmd" ] && eval "$cmd" >ri2.out 2>ri2.err && no_sanitizer ri2.err; then
    grep -q "^run recorded in ri/$" ri2.out && same_files r1 ri &&
        [ "$(numbers r1/metrics.jsonl)" = "$(numbers ri/metrics.jsonl | grep -v '"type":"resume"')" ] &&
        [ "$(numbers ri/metrics.jsonl | grep -c '"type":"resume","step":37')" = 1 ] &&
        grep -q "warning: ri/metrics.jsonl: 1 line without a step left out" ri2.err &&
        ok "interrupted at 37, resumed with '${cmd#"$NETRUN" }': the files and lines of one run, a resume line, the torn ones cut (an unreadable one said)" ||
        bad "the resumed record differs" "$(diff <(numbers r1/metrics.jsonl) <(numbers ri/metrics.jsonl))"
    # the resumed lines' wall seconds go on from the kept ones' (they started again at 0)
    grep -o '"wall":[0-9.e+-]*' ri/metrics.jsonl | cut -d: -f2 |
        awk 'NR > 1 && $1 < last { bad = 1 } { last = $1 } END { exit bad || NR < 3 }' &&
        ok "wall seconds never go back across the resume: $(grep -o '"wall":[0-9.e+-]*' ri/metrics.jsonl | cut -d: -f2 | tr '\n' ' ')" ||
        bad "wall went back at the resume" "$(grep -o '"wall":[0-9.e+-]*' ri/metrics.jsonl)"
else
    bad "interrupt (exit $rc) and resume '$cmd'" "$(cat ri.err ri2.err 2>/dev/null)"
fi

# interrupted during an epoch's last step (27): the epoch is evaluated all the same (its
# checkpoint is at the next epoch's start, so a skipped evaluation was lost for good: no val
# in its line, other best weights), then the run stops; resumed, it is the one run
NETRUN_TEST_SIGNAL=27 "$NETRUN" mlp.net --train --threads 2 --record re --log-every 5 >re.out 2>re.err
rc=$?
if [ $rc = 130 ] && run_ok re2 mlp.net --train --threads 2 --log-every 5 --resume re/checkpoint.safetensors; then
    same_files r1 re && [ "$(numbers r1/metrics.jsonl)" = "$(numbers re/metrics.jsonl | grep -v '"type":"resume"')" ] &&
        ok "interrupted in an epoch's last step, resumed: the files and lines of one run" ||
        bad "the epoch-end resume differs" "$(diff <(numbers r1/metrics.jsonl) <(numbers re/metrics.jsonl))"
else
    bad "interrupt at an epoch's end (exit $rc)" "$(cat re.err)"
fi

# resumed into a new folder (--record): that folder is the run's from there on, its
# checkpoint included (it went on in the old folder, which was left half updated)
if run_ok rp mlp.net --train --threads 2 --record rp --log-every 5 --steps 30 --quiet &&
    cp rp/checkpoint.safetensors rp30.st &&
    run_ok rn mlp.net --train --threads 2 --log-every 5 --resume rp/checkpoint.safetensors --record rn --quiet; then
    same_files r1 rn && cmp -s rp/checkpoint.safetensors rp30.st &&
        ok "--resume RUN/checkpoint --record NEW: NEW has the weights, best and checkpoint of one run; RUN's checkpoint stays" ||
        bad "resume into a new folder" "$(ls rn rp)"
fi

# a run stopped by --steps inside an epoch records an end line there; resumed in its folder
# for the rest, it goes on: that end line goes, and the record is one run's
if run_ok rs mlp.net --train --threads 2 --record rs --log-every 5 --steps 30 --quiet &&
    [ "$(numbers rs/metrics.jsonl | grep -c '"type":"end","epoch":2,"step":30')" = 1 ] &&
    run_ok rs2 mlp.net --train --threads 2 --log-every 5 --resume rs/checkpoint.safetensors --quiet; then
    [ "$(numbers r1/metrics.jsonl)" = "$(numbers rs/metrics.jsonl | grep -v '"type":"resume"')" ] &&
        ok "--steps 30, then resumed to the end: no end line at 30, the lines of one run" ||
        bad "a --steps run resumed" "$(diff <(numbers r1/metrics.jsonl) <(numbers rs/metrics.jsonl))"
else
    bad "a --steps run resumed" "$(tail -3 rs.err rs2.err 2>/dev/null; cat rs/metrics.jsonl 2>/dev/null | head -3)"
fi

echo "== numbers JSON has no word for"
# a loss past float's range is null (bare inf was no JSON: --plot refused the run, a sweep
# skipped the line, a resume dropped it); a negative loss (nll of raw scores) is recorded
# as printed (a negative one stood for "no such set" and was left out)
printf 'network lin (input 1x28x28) {\n  Flatten\n  Linear 10\n}\ntrain {\n  data idx "data"\n  loss mse\n  optimizer SGD\n  batch 540\n  epochs 6\n  val 0.1\n}\n' >lin.net
run_ok infrun lin.net --train --lr 1e3 --record infrun --threads 2 &&
    grep -q '"test_loss":null' infrun/metrics.jsonl && ! grep -qi '[^a-z_]\(inf\|nan\)' infrun/metrics.jsonl &&
    run_ok infplot --plot infrun -o infplot.svg &&
    ok "a loss past float's range: null in metrics.jsonl, and --plot reads the run" ||
    bad "a loss past float's range" "$(grep -o '"test_loss":[^,]*' infrun/metrics.jsonl | tail -2)"
# a run folder named in another encoding than UTF-8: its plot stays well-formed XML (the
# byte is U+FFFD there; rsvg-convert refused the file)
bad=$(printf 'lat\351')
run_ok latin lin.net --train --epochs 1 --record "$bad" && run_ok latinplot --plot "$bad" -o latin.svg &&
    ! LC_ALL=C grep -q "$(printf '\351')" latin.svg && grep -q "lat$(printf '\357\277\275')" latin.svg &&
    ok "a folder name not in UTF-8: U+FFFD in the plot" || bad "a folder name not in UTF-8" "$(head -c 300 latin.svg)"
sed 's/loss mse/loss nll/; s/epochs 6/epochs 1/' lin.net >nll.net
run_ok nllrun nll.net --train --lr 0.1 --record nllrun --threads 2 &&
    printed=$(sed -n 's/.*val_loss \(-[0-9.]*\).*/\1/p' nllrun.out) &&
    [ -n "$printed" ] && grep -q "\"val_loss\":-" nllrun/metrics.jsonl && grep -q "\"test_loss\":-" nllrun/metrics.jsonl &&
    ok "negative losses are recorded (val_loss $printed printed)" ||
    bad "negative losses" "$(cat nllrun.out | tail -3)" "$(tail -1 nllrun/metrics.jsonl)"

echo "== val, best weights, early stop"
best_val=$(field r1/metrics.jsonl epoch val_acc | sort -g | tail -1)
run_ok evalval mlp.net --load r1/best.safetensors --eval --eval-on val --threads 2
got=$(sed -n 's/^val: loss [0-9.]*  accuracy \([0-9.]*\) .*/\1/p' evalval.out)
awk -v a="$got" -v b="$best_val" 'BEGIN { exit !(a != "" && (a - b < 1e-4 && b - a < 1e-4)) }' &&
    ok "best.safetensors on --eval-on val: accuracy $got, the best val_acc recorded ($best_val)" ||
    bad "--eval-on val of the best weights: '$got', best recorded $best_val" "$(cat evalval.out evalval.err)"
grep -q "^val: .*(60 images" evalval.out && ok "--eval-on val: the 60 images held out" || bad "--eval-on val count" "$(cat evalval.out)"
# the weights say which split they validated on: another seed or share would count trained images
expect evalval-other-seed 1 'r1/best.safetensors;trained with seed 5 holding out 0.1;--seed 5 --val 0.1' mlp.net --load r1/best.safetensors --eval --eval-on val --seed 6
expect evalval-other-val 1 'r1/weights.safetensors;this split .seed 5, val 0.2. holds images it trained on' mlp.net --load r1/weights.safetensors --eval --eval-on val --val 0.2
run_ok noval mlp.net --train --threads 2 --no-record --val 0 --steps 1 --save noval.st
expect evalval-no-share 1 'noval.st: trained on every training image' mlp.net --load noval.st --eval --eval-on val
# a damaged record of the split is an error, not weights from elsewhere (same length: the
# header's size stays right)
sed 's/"netc.seed":"5"/"netc.seed":"x"/' r1/weights.safetensors >badseed.st
expect evalval-damaged-seed 1 'badseed.st: its metadata netc.seed = x and netc.val = 0.1.* are not a seed' mlp.net --load badseed.st --eval --eval-on val
# the run folder's record is the run's: --save or --checkpoint may not name it
cp r1/metrics.jsonl r1m.jsonl
expect save-is-metrics 1 "r1/metrics.jsonl is the run folder's metrics.jsonl" mlp.net --train --resume r1/checkpoint.safetensors --epochs 9 --save r1/metrics.jsonl
expect checkpoint-is-run-json 1 "r1/run.json is the run folder's run.json" mlp.net --train --resume r1/checkpoint.safetensors --epochs 9 --checkpoint ./r1/run.json
cmp -s r1/metrics.jsonl r1m.jsonl && ok "... and the record is intact" || bad "the record changed"
# a run folder someone else made: its record files are the run's own, a symbolic link among
# them replaced, never written through (a link would point the resumed run's writes at
# another file); metrics.jsonl is read only as a regular file, with a bounded line
# (linked to /dev/zero it grew memory without bound)
for f in metrics.jsonl weights.safetensors checkpoint.safetensors best.safetensors; do
    rm -rf evil victim && cp -r r1 evil && mkdir victim && cp "r1/$f" victim/v
    rm "evil/$f" && ln -s ../victim/v "evil/$f"
    if run_ok "resume-link-$f" mlp.net --train --resume evil/checkpoint.safetensors --epochs 5 --quiet; then
        cmp -s "r1/$f" victim/v && [ -f "evil/$f" ] && [ ! -L "evil/$f" ] &&
            ok "a link as the run folder's $f: replaced by the run's file; the file it named untouched" ||
            bad "a resume wrote through evil/$f"
    fi
done
rm -rf evil && cp -r r1 evil && rm evil/metrics.jsonl && ln -s /dev/zero evil/metrics.jsonl
expect plot-metrics-device 1 "evil/metrics.jsonl: not a regular file" --plot evil -o evil.svg
# a read may follow a link to a regular file (folders kept as links: git-annex, cp -rs)
rm -rf annexed store && cp -r r1 annexed && mkdir store && mv annexed/metrics.jsonl store/ && ln -s ../store/metrics.jsonl annexed/metrics.jsonl
run_ok plot-metrics-linked --plot annexed -o annexed.svg && ok "--plot of a run whose metrics.jsonl is a link to a regular file"
rm evil/metrics.jsonl && { head -c 3000000 /dev/zero | tr '\0' ' '; cat r1/metrics.jsonl; } >evil/metrics.jsonl
expect plot-metrics-long-line 1 "evil/metrics.jsonl:1: not a metrics line" --plot evil -o evil.svg
run_ok seed6 mlp.net --train --threads 2 --record seed6 --seed 6 --steps 1 --quiet
run_ok val2 mlp.net --train --threads 2 --record val2 --val 0.2 --steps 1 --quiet
grep -q '"val": 120' val2/run.json && ok "--val 0.2 holds out 120 of 600" || bad "--val 0.2" "$(grep -A3 images val2/run.json)"
# early stop: lr 0.5 and no momentum wanders; stop after 1 epoch without a better val_acc
ES=(mlp.net --train --threads 2 --epochs 40 --early-stop 1 --lr 0.5 --log-every 0)
run_ok es "${ES[@]}" --record es
n=$(grep -c '"type":"epoch"' es/metrics.jsonl)
if grep -q "^early stop: 1 epoch without a better validation accuracy than" es.out && [ "$n" -lt 40 ]; then
    ok "early stop after epoch $n: $(grep '^early stop' es.out)"
else
    bad "early stop (epochs: $n)" "$(cat es.out)"
fi
[ "$(grep -c '"type":"step"' es/metrics.jsonl)" = 0 ] && ok "--log-every 0: no step lines" || bad "--log-every 0 wrote step lines"
# stopping in between and resuming stops at the same epoch, with the same files
run_ok es2a "${ES[@]}" --record es2 --epochs 2
run_ok es2b "${ES[@]}" --resume es2/checkpoint.safetensors
same_files es es2 && [ "$(grep -c '"type":"epoch"' es2/metrics.jsonl)" = "$n" ] &&
    ok "2 epochs, then resumed with --epochs 40: stops early at the same epoch, same files" || bad "early stop across a resume" "$(cat es2b.out)"
cp -r es es3
"$NETRUN" "${ES[@]}" --resume es3/checkpoint.safetensors >es3.out 2>es3.err
[ $? = 0 ] && grep -q "warning: nothing to train: it stopped early after epoch $n" es3.err && same_files es es3 &&
    ok "resuming a run that stopped early: $(grep warning: es3.err | cut -c1-90)..." || bad "resume after an early stop" "$(cat es3.out es3.err)"
cmp -s es/metrics.jsonl es3/metrics.jsonl && ok "... and its record is left as it is (no resume line)" ||
    bad "a resume with nothing to train wrote to the record" "$(diff es/metrics.jsonl es3/metrics.jsonl)"

echo "== --profile"
# a row a node (5), one for each other part of a step (4); the rows add up to the step as
# measured around it (a part left untimed would leave a gap), on 1 thread and on 2
for th in 1 2; do
    if run_ok prof$th mlp.net --profile --steps 5 --threads $th; then
        rows=$(sed -n '/^node /,/^rows:/p' prof$th.out | grep -c -v -E '^(node|rows:)')
        share=$(sed -n 's/^rows: [0-9.]* ms, \([0-9.]*\)% of the .*/\1/p' prof$th.out)
        if [ "$rows" = 9 ] && awk -v s="$share" 'BEGIN { exit !(s != "" && s >= 95 && s <= 105) }' &&
            grep -q -E '^fc +Linear +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+%' prof$th.out; then
            ok "--profile on $th thread(s): 9 rows, summing to $share% of the measured step; fc's GFLOPS shown"
        else
            bad "--profile on $th thread(s): $rows rows, sum $share%" "$(cat prof$th.out)"
        fi
    fi
done
expect usage-profile-and-train 2 'profile is an action of its own' mlp.net --profile --train

echo "== bad input"
printf x >afile
expect folder-under-file 1 'afile/run;cannot create the run folder' mlp.net --train --record afile/run
expect folder-not-empty 1 'r1;not empty' mlp.net --train --record r1
expect folder-is-file 1 'afile;cannot create the run folder;not a folder' mlp.net --train --record afile
expect folder-no-parent 1 'nothere/run;cannot create the run folder;the folder it goes in does not exist' mlp.net --train --record nothere/run
# the run folder's best weights are its own, and a --plot may not overwrite the record it reads
cp r1/best.safetensors r1best.st
expect save-is-best 1 'r1/best.safetensors is the run folder.s best weights' mlp.net --train --resume r1/checkpoint.safetensors --epochs 9 --save ./r1/../r1/best.safetensors
cmp -s r1/best.safetensors r1best.st && ok "... and the best weights are intact" || bad "the best weights changed"
cp r1/metrics.jsonl r1metrics.jsonl
expect plot-over-metrics 1 'r1/metrics.jsonl;reads;destroy' --plot r1 -o r1/metrics.jsonl
cmp -s r1/metrics.jsonl r1metrics.jsonl && ok "... and metrics.jsonl is intact" || bad "metrics.jsonl changed"
# nor over another file of a run's record (a plot of other runs, a confusion matrix, logits)
cp r1/best.safetensors r1best2.st && cp r1/run.json r1run.json && cp r1/checkpoint.safetensors r1ckpt.st
expect plot-over-best 1 'r1/best.safetensors: is the best.safetensors of the run folder r1;lose' --plot r2 -o r1/best.safetensors
expect confusion-over-run-json 1 'r1/run.json: is the run.json of the run folder r1' mlp.net --load r1/weights.safetensors --eval --confusion r1/run.json
expect logits-over-checkpoint 1 'r1/checkpoint.safetensors: is the checkpoint.safetensors' mlp.net --load r1/weights.safetensors --predict data/t10k-images-idx3-ubyte --logits r1/checkpoint.safetensors
cmp -s r1/best.safetensors r1best2.st && cmp -s r1/run.json r1run.json && cmp -s r1/checkpoint.safetensors r1ckpt.st &&
    ok "... and the record's files are intact" || bad "a record file changed"
expect eval-on-val-without-val 1 'eval-on val;no validation set' mlp.net --eval --eval-on val --val 0
expect val-leaves-none 1 'val 0.001 of 600;holds out 0' mlp.net --train --val 0.001
expect usage-eval-on 2 'eval-on;test or val' mlp.net --eval --eval-on train
expect usage-record-and-no 2 'record;no-record' mlp.net --train --record x --no-record
expect usage-record-without-train 2 'record goes with --train' mlp.net --eval --record x
expect usage-log-every 2 'log-every' mlp.net --train --log-every -1
expect usage-val 2 "'--val' must be between 0 and 0.9" mlp.net --train --val 0.95
# the best accuracy and epoch in a checkpoint are checked like the rest of the position
for kv in netc.best_accuracy=1.5 netc.best_accuracy=-0.1 netc.best_accuracy=nan netc.best_accuracy=0.5x \
    netc.best_epoch=0 netc.best_epoch=5 netc.best_epoch=-1; do
    k=${kv%%=*} v=${kv#*=}
    set_meta r1/checkpoint.safetensors pos.st "$k" "$v"
    expect "best-$k=$v" 1 "pos.st;bad training position;'$k'" mlp.net --train --no-record --resume pos.st --epochs 9
done
# one of the pair gone (its key renamed out of netc.'s): the message names the missing one
for k in netc.best_accuracy netc.best_epoch; do
    n=$(od -An -t u8 -N8 r1/checkpoint.safetensors | tr -d ' ')
    { head -c $((8 + n)) r1/checkpoint.safetensors | sed "s/\"$k\"/\"xxxx${k#netc}\"/"; tail -c +$((9 + n)) r1/checkpoint.safetensors; } >pos.st
    expect "best-missing-$k" 1 "pos.st;bad training position;'$k' is missing" mlp.net --train --no-record --resume pos.st --epochs 9
done

# ReduceLROnPlateau: its state rides in the checkpoint (2 epochs, then resumed to 6, is 6
# uninterrupted, the lr reduced twice on the way, the bad epochs counted across it), and its
# four keys are checked like the rest of the position: all or none, in range
sed 's/^train {/train {\n  schedule ReduceLROnPlateau patience=1 factor=0.5 threshold=0.9/' mlp.net >mlppl.net
run_ok pl6 mlppl.net --train --threads 2 --epochs 6 --record pl6 --quiet &&
    run_ok pl2 mlppl.net --train --threads 2 --epochs 2 --record pl2 --quiet &&
    run_ok pl2r mlppl.net --train --threads 2 --epochs 6 --resume pl2/checkpoint.safetensors --quiet &&
    same_files pl6 pl2 && [ "$(field pl6/metrics.jsonl epoch lr | sort -u | wc -l)" -ge 3 ] &&
    [ "$(field pl6/metrics.jsonl epoch lr | head -1)" = 0.05 ] &&
    ok "ReduceLROnPlateau: 2 epochs + --resume to 6 == 6 in one run, lr $(field pl6/metrics.jsonl epoch lr | tr '\n' ' ')" ||
    bad "ReduceLROnPlateau across a resume" "$(field pl6/metrics.jsonl epoch lr; field pl2/metrics.jsonl epoch lr)"
for kv in netc.plateau_lr=-1 netc.plateau_lr=nan netc.plateau_lr=1e400 netc.plateau_best=inf \
    netc.plateau_best=x netc.plateau_bad=-1 netc.plateau_bad=2e3 netc.plateau_cooldown=1073741825; do
    k=${kv%%=*} v=${kv#*=}
    set_meta pl2/checkpoint.safetensors pos.st "$k" "$v"
    expect "plateau-$k=$v" 1 "pos.st;bad training position;'$k'" mlppl.net --train --no-record --resume pos.st --epochs 9
done
del_meta pl2/checkpoint.safetensors pos.st netc.plateau_bad
expect "plateau-missing-bad" 1 "pos.st;bad training position;'netc.plateau_bad' is missing" mlppl.net --train --no-record --resume pos.st --epochs 9

# the epoch's sums and the record's loss since its last line: counts that fit the position,
# sums finite and not negative
run_ok midrun mlp.net --train --threads 2 --steps 37 --record midrun --quiet
for kv in netc.epoch_seen=199 netc.epoch_seen=-20 netc.epoch_correct=201 netc.epoch_loss_sum=-1 \
    netc.epoch_loss_sum=inf netc.log_loss=nan netc.log_steps=38 netc.epoch_correct=1e2; do
    k=${kv%%=*} v=${kv#*=}
    set_meta midrun/checkpoint.safetensors pos.st "$k" "$v"
    expect "sums-$k=$v" 1 "pos.st;bad training position;'$k'" mlp.net --train --no-record --resume pos.st
done
# a sum of no losses is 0 (else the next line would print a loss made of nothing)
set_meta midrun/checkpoint.safetensors pos0.st netc.log_steps 0
set_meta pos0.st pos.st netc.log_loss 1e9
expect "sums-log-of-none" 1 "pos.st;bad training position;'netc.log_loss' is 1e.09, but 'netc.log_steps' is 0" mlp.net --train --no-record --resume pos.st

echo "record: $passed passed, $failed failed"
[ $failed = 0 ]
