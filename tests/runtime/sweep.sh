#!/bin/bash
# sweep.sh NETRUN SRCROOT: netrun --sweep, end to end.
#
#  - a 2 x 2 grid over a parameter of the net (width, as -D) and a train setting (lr, as its
#    flag): a run folder each in runs/NET-sweep-1/, the last name varying fastest, and the
#    table (results.md and results.csv) with the values, params, MACs, accuracies and loss;
#  - a point of the grid trains to the bytes of the same run made by hand (-D, --lr);
#  - a second sweep takes runs/NET-sweep-2;
#  - Ctrl-C: stopping the grid after its first run keeps that run and its table (exit 130),
#    and a run interrupted inside stops the grid with the run marked so;
#  - a point that fails (width 0) is marked failed and the grid goes on (exit 1);
#  - bad usage: an unknown name, no values, no --train, --save with it, a value that does not
#    read as the parameter or the flag, an empty value, a switch: exit 2, before any run;
#  - a flag naming a kind (--optimizer) swept: a run of each.
# Ends with "sweep: N passed, N failed"; exit 1 if any failed.
set -u
abs() { (cd "$(dirname "$1")" && echo "$(pwd)/$(basename "$1")"); }
NETRUN=$(abs "$1") ROOT=$(abs "$2")
DATA=$ROOT/data/mnist-mini
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
. "$ROOT/tests/runtime/lib.sh"

make_data data 400 100
cat >mlp.net <<'EOF'
network mlp (input 1x28x28) {
  params { width 16 }
  Flatten
  Linear width
  ReLU
  fc: Linear 10
}
train {
  data idx "data"
  optimizer SGD lr=0.1
  batch 50
  epochs 2
  seed 3
}
EOF

echo "== a grid"
S=runs/mlp-sweep-1
if run_ok grid mlp.net --train --threads 2 --sweep width=8,32 --sweep lr=0.1,0.02; then
    dirs=$(cd $S && ls -d */ | tr '\n' ' ')
    [ "$dirs" = "width=32,lr=0.02/ width=32,lr=0.1/ width=8,lr=0.02/ width=8,lr=0.1/ " ] &&
        ok "4 run folders in $S: $dirs" || bad "run folders '$dirs'"
    [ "$(sed -n '3,6p' $S/results.md | cut -d'|' -f2,3 | tr -d ' ' | tr '\n' ' ')" = "8|0.1 8|0.02 32|0.1 32|0.02 " ] &&
        ok "results.md: a row a run, the last name varying fastest" || bad "results.md order" "$(cat $S/results.md)"
    # params: 784*w + w + 10*w + 10
    [ "$(sed -n '2,5p' $S/results.csv | cut -d, -f3 | tr '\n' ' ')" = "6370 6370 25450 25450 " ] &&
        ok "params of each point's net: 6370 for width 8, 25450 for width 32" || bad "params" "$(cat $S/results.csv)"
    head -1 $S/results.csv | grep -q '^width,lr,params,MACs,test acc,best acc,train loss,time (s),img/s,run$' &&
        sed -n 2p $S/results.csv | grep -q ',"runs/mlp-sweep-1/width=8,lr=0.1"$' &&
        ok "results.csv: a header, the run's folder quoted (it holds commas)" || bad "results.csv" "$(cat $S/results.csv)"
    acc=$(grep '"type":"epoch"' "$S/width=32,lr=0.1/metrics.jsonl" | grep '"epoch":2,' | sed -E 's/.*"test_acc":([0-9.]*).*/\1/')
    row=$(sed -n 4p $S/results.csv | cut -d, -f5)
    [ -n "$acc" ] && awk -v a="$acc" -v r="$row" 'BEGIN { exit !(a - r < 0.00005 && r - a < 0.00005) }' &&
        ok "the table's test accuracy is the run's last epoch's ($row)" || bad "test acc '$row' vs '$acc'"
    grep -q '"-D",' "$S/width=8,lr=0.1/run.json" && grep -q '"width=8"' "$S/width=8,lr=0.1/run.json" &&
        grep -q '"--lr",' "$S/width=8,lr=0.1/run.json" &&
        ok "each run.json has the command: -D width=8 --lr 0.1" || bad "run.json command" "$(head -5 "$S/width=8,lr=0.1/run.json")"
    grep -q "^sweep: 4 of 4 runs finished" grid.out && ok "$(grep '^sweep:' grid.out | cut -c1-60)" || bad "no summary line"
    # --plot of the sweep's folder: its runs, labelled by their folders; one that finished no
    # epoch (an interrupted run's record) is left out with a warning
    run_ok plotsweep --plot $S -o sweep.svg && grep -q "^wrote sweep.svg: 4 runs" plotsweep.out &&
        [ "$(grep -c '>width=[0-9]*,lr=[0-9.]*<' sweep.svg)" = 4 ] &&
        ok "--plot of a sweep's folder: its 4 runs, labelled" || bad "--plot of a sweep" "$(cat plotsweep.out plotsweep.err)"
    mkdir "$S/width=64,lr=0.1" && cp "$S/width=8,lr=0.1/run.json" "$S/width=64,lr=0.1/" && : >"$S/width=64,lr=0.1/metrics.jsonl"
    run_ok plotsweep2 --plot $S -o sweep2.svg && grep -q "^wrote sweep2.svg: 4 runs" plotsweep2.out &&
        grep -q "warning: $S/width=64,lr=0.1: left out" plotsweep2.err &&
        ok "... a run of it with no finished epoch: left out, with a warning" || bad "--plot of a sweep with an unfinished run" "$(cat plotsweep2.out plotsweep2.err)"
    rm -r "$S/width=64,lr=0.1"
    # the same sweep twice: its runs' labels take the sweep's folder, then a number
    run_ok plottwice --plot $S $S -o twice.svg && grep -q "^wrote twice.svg: 8 runs" plottwice.out &&
        [ "$(grep -c '>mlp-sweep-1/width=[0-9]*,lr=[0-9.]*<' twice.svg)" = 4 ] &&
        [ "$(grep -c '>mlp-sweep-1/width=[0-9]*,lr=[0-9.]* #2<' twice.svg)" = 4 ] &&
        ok "--plot of one sweep twice: 8 labels apart (folder, then #2)" || bad "--plot labels apart" "$(grep -o '>[^<]*width[^<]*<' twice.svg)"
fi
run_ok byhand mlp.net --train --threads 2 -D width=32 --lr 0.02 --record byhand &&
    cmp -s byhand/weights.safetensors "$S/width=32,lr=0.02/weights.safetensors" &&
    ok "width=32,lr=0.02 trains to the bytes of -D width=32 --lr 0.02 by hand" || bad "the sweep's run differs from one by hand"
run_ok grid2 mlp.net --train --threads 2 --sweep lr=0.05 && [ -d "runs/mlp-sweep-2/lr=0.05" ] &&
    ok "a second sweep: runs/mlp-sweep-2" || bad "second sweep"

echo "== Ctrl-C"
NETRUN_TEST_SWEEP_SIGNAL=1 "$NETRUN" mlp.net --train --threads 2 --sweep width=8,16,32 >stop.out 2>stop.err
rc=$?
S=runs/mlp-sweep-3
[ $rc = 130 ] && [ "$(cd $S && ls -d */ | tr '\n' ' ')" = "width=8/ " ] && [ "$(wc -l <$S/results.csv)" = 2 ] &&
    grep -q "1 of 3 runs finished (stopped by a signal" stop.out && no_sanitizer stop.err &&
    ok "a signal after run 1: exit 130, run 1 and its table kept, no run 2" ||
    bad "stopping the grid (exit $rc)" "$(ls $S)" "$(tail -3 stop.out)"
NETRUN_TEST_SIGNAL=3 "$NETRUN" mlp.net --train --threads 2 --sweep width=8,16 >inner.out 2>inner.err
rc=$?
S=runs/mlp-sweep-4
[ $rc = 130 ] && grep -q "width=8 (interrupted)" $S/results.md && [ ! -d "$S/width=16" ] &&
    [ -f "$S/width=8/checkpoint.safetensors" ] &&
    ok "a run interrupted at step 3 saves its checkpoint and stops the grid" ||
    bad "interrupting a run (exit $rc)" "$(cat $S/results.md 2>/dev/null)" "$(tail -3 inner.err)"
NETRUN_TEST_SIGNAL=3,1,15 "$NETRUN" mlp.net --train --threads 2 --sweep width=8,16 >term.out 2>term.err
rc=$?
S=runs/mlp-sweep-5
[ $rc = 143 ] && grep -q "width=8 (interrupted)" $S/results.md && [ ! -d "$S/width=16" ] &&
    ok "a run stopped by SIGTERM: marked interrupted (not failed), and the sweep exits 143 as it did" ||
    bad "SIGTERM in a sweep (exit $rc)" "$(cat $S/results.md 2>/dev/null)" "$(tail -3 term.err)"

echo "== a failed point"
"$NETRUN" mlp.net --train --threads 2 --sweep width=0,8 >fail.out 2>fail.err
rc=$?
S=runs/mlp-sweep-6
[ $rc = 1 ] && grep -q "width=0 (failed)" $S/results.md && [ -f "$S/width=8/weights.safetensors" ] &&
    grep -q "1 of 2 runs finished" fail.out &&
    ok "width 0 fails (its error shown), the grid goes on to width 8, exit 1" || bad "failed point (exit $rc)" "$(cat fail.out)"

# a default the grid replaces, where the net does not build (Linear (w - 4) at w=4): the
# grid runs from the first point that builds; its own failing point fails alone
sed 's/network mlp/network mlp0/; s/params { width 16 }/params { width 4 }/; s/  Linear width/  Linear (width - 4)/' mlp.net >mlp0.net
"$NETRUN" mlp0.net --train --threads 2 --steps 2 --sweep width=4,12 >fail0.out 2>fail0.err
rc=$?
S=runs/mlp0-sweep-1
[ $rc = 1 ] && grep -q "width=4 (failed)" $S/results.md && [ -f "$S/width=12/weights.safetensors" ] &&
    ok "a default that does not build (width 4): the grid runs, its width=4 point fails" ||
    bad "default that does not build (exit $rc)" "$(cat fail0.out fail0.err)"
expect no-point-builds 1 "mlp0.net:4:11: error: 'out' must be between 1" mlp0.net --train --sweep width=4,3

echo "== runs stopped inside their first epoch (--steps)"
# no epoch line: each run's "end" line gives its numbers, not a "-"
run_ok short mlp.net --train --threads 2 --steps 3 --sweep lr=0.1,0.02
S=runs/mlp-sweep-7
if grep -q '"type":"end","time":"[^"]*","epoch":1,"step":3,"loss":' "$S/lr=0.1/metrics.jsonl" &&
    [ "$(grep -c '^| 0\.[01]2* | ' "$S/results.md")" = 2 ] && ! grep '^| 0\.' "$S/results.md" | grep -q ' - '; then
    ok "--steps inside the first epoch: an end line, and numbers in results.md"
else
    bad "--steps inside the first epoch" "$(cat "$S/lr=0.1/metrics.jsonl")" "$(cat "$S/results.md")"
fi

# with a validation share, "best acc" is the best val_acc of the epoch lines, never the end
# line's test accuracy (8 steps an epoch: step 12 stops inside epoch 2)
run_ok shortval mlp.net --train --threads 2 --val 0.2 --steps 12 --sweep lr=0.5
S=runs/mlp-sweep-8
best=$(grep '"type":"epoch"' "$S/lr=0.5/metrics.jsonl" | sed -E 's/.*"val_acc":([0-9.e-]+).*/\1/' | sort -g | tail -1)
got=$(sed -n 2p "$S/results.csv" | cut -d, -f5)
end=$(sed -n 's/.*"type":"end".*"test_acc":\([0-9.e-]*\).*/\1/p' "$S/lr=0.5/metrics.jsonl")
if [ -n "$best" ] && [ -n "$end" ] && awk -v a="$got" -v b="$best" 'BEGIN { exit !(a - b < 1e-4 && b - a < 1e-4) }'; then
    ok "best acc with --val and an end line: the epochs' best val_acc ($got), not the end's test_acc ($end)"
else
    bad "best acc with --val and an end line: got '$got', best val_acc '$best', end test_acc '$end'" "$(cat "$S/results.csv")"
fi

echo "== bad usage"
expect define-unknown 2 "-D widht=8: mlp.net declares no parameter 'widht'" mlp.net -D widht=8 --train
expect define-type 2 "-D width=8.5: 'width' is an int" mlp.net -D width=8.5 --train
expect unknown-name 2 "--sweep widht: mlp.net declares no parameter 'widht', and no train setting has a flag --widht" \
    mlp.net --train --sweep widht=1,2
expect no-values 2 "--sweep lr=: write --sweep NAME=V1,V2" mlp.net --train --sweep lr=
expect no-train 2 "--sweep goes with --train" mlp.net --sweep lr=0.1
expect with-define 2 "--sweep width and -D width=8: give the values once" mlp.net --train -D width=8 --sweep width=16,32
expect value-twice 2 "--sweep width=16,8,16: '16' is given twice" mlp.net --train --sweep width=16,8,16
expect value-twice-as-number 2 "--sweep width=16,8,016: '016' is given twice .as '16'." mlp.net --train --sweep width=16,8,016
expect value-twice-as-float 2 "--sweep lr=0.05,5e-2: '5e-2' is given twice .as '0.05'." mlp.net --train --sweep lr=0.05,5e-2
expect value-twice-as-folder 2 "--sweep data=a/b,a_b: 'a_b' is given twice .as a folder name." mlp.net --train --sweep data=a/b,a_b
expect with-save 2 "--sweep goes with --train.*--save" mlp.net --train --save x.st --sweep lr=0.1
# every value is read before the first run, as -D or the flag would read it (exit 2, no run)
before=$(ls runs | wc -l)
expect value-type-first 2 "-D width=2.5: 'width' is an int" mlp.net --train --sweep width=2.5,3
expect value-type-later 2 "-D width=x: 'width' is an int" mlp.net --train --sweep width=8,x
grep -q "note: in --sweep width: its value 2, 'x'" value-type-later.err &&
    ok "a value that does not read: a note names the sweep and the value" || bad "no note" "$(cat value-type-later.err)"
expect flag-range 2 "'--lr' must be between 0 and" mlp.net --train --sweep lr=0.1,-1
expect kind-unknown 2 "unknown optimizer 'Adamm'" mlp.net --train --sweep optimizer=SGD,Adamm
expect empty-value 2 "--sweep width=8,,16: an empty value" mlp.net --train --sweep width=8,,16
expect switch 2 "--sweep shuffle: --shuffle is a switch" mlp.net --train --sweep shuffle=true,false
# the command line's own -D values and flags are checked once, before the grid (each run
# failed, and the sweep exited 1, with a folder of failed runs)
expect define-bad-with-sweep 2 "-D widht=8: mlp.net declares no parameter 'widht'" mlp.net --train -D widht=8 --sweep lr=0.1,0.2
expect flag-bad-with-sweep 2 "'--lr' must be between 0 and" mlp.net --train --lr -1 --sweep width=4,8
[ "$(ls runs | wc -l)" = "$before" ] && ok "no sweep folder for a refused sweep" || bad "a refused sweep made a folder" "$(ls runs)"
# a flag that names a kind: one run per optimizer
run_ok kinds mlp.net --train --threads 2 --steps 2 --sweep optimizer=SGD,Adam
S=$(ls -d runs/mlp-sweep-* | sort -t- -k3 -n | tail -1)
[ -f "$S/optimizer=SGD/weights.safetensors" ] && [ -f "$S/optimizer=Adam/weights.safetensors" ] &&
    grep -q '"optimizer":"Adam"\|optimizer Adam' "$S/optimizer=Adam/run.json" "$S/optimizer=Adam/net.net" 2>/dev/null &&
    ok "--sweep optimizer=SGD,Adam: a run of each" || bad "sweep over a kind" "$(cat kinds.out)" "$(ls -R "$S" | head)"


# the table's params and MACs are those of the run's net, the command line's -D included
cat >deep.net <<'EOF'
network deep (input 1x28x28) {
  params { depth 1; width 8 }
  Flatten
  body: repeat depth { Linear width; ReLU }
  fc: Linear 10
}
train {
  data idx "data"
  batch 50
}
EOF
if run_ok deepsweep deep.net --train --threads 2 --steps 1 --quiet -D depth=3 --sweep width=8,16; then
    S=$(ls -d runs/deep-sweep-* | tail -1)
    want=$(grep -o '"params": *[0-9]*' "$S/width=8/run.json" | grep -o '[0-9]*$' | head -1)
    grep -q "^| 8 | $want |" "$S/results.md" && [ "$want" = 6514 ] &&
        ok "-D depth=3 with --sweep width: the table's params are the run's ($want)" ||
        bad "the table's params" "$(cat "$S/results.md")" "$want"
fi

# a list value is one value: the commas inside its brackets do not split it
cat >klist.net <<'EOF'
network klist (input 1x28x28) {
  params { k [1, 3] }
  Conv2d 2 kernel=k
  Flatten
  fc: Linear 10
}
train {
  data idx "data"
  batch 50
}
EOF
if run_ok listsweep klist.net --train --threads 2 --steps 1 --quiet --sweep 'k=[1,3],(3, 3)'; then
    S=$(ls -d runs/klist-sweep-* | tail -1)
    [ -d "$S/k=[1,3]" ] && [ -d "$S/k=(3, 3)" ] && [ "$(ls "$S" | grep -c '^k=')" = 2 ] &&
        ok "--sweep 'k=[1,3],(3, 3)': two runs, each a list" || bad "list values" "$(ls "$S")"
fi
# the net that names the sweep is loaded with the command line's -D too (width 0 is no net)
sed 's/params { width 16 }/params { width 0 }/' mlp.net >zero.net
run_ok zero-with-define zero.net --train --threads 2 --steps 1 --quiet -D width=8 --sweep lr=0.1,0.2 &&
    ok "a net valid only with the command line's -D: the sweep runs"

echo "== the words around it"
# a flag given twice by two spellings, or by hand and swept: refused (one of them won, and
# the table named the other's values)
expect flag-two-spellings 2 "--sweep label-smoothing is given twice .as a flag." \
    mlp.net --train --sweep label_smoothing=0,0.5 --sweep label-smoothing=0.1
expect flag-and-sweep 2 "--sweep lr and --lr: give the values once" mlp.net --train --lr 0.5 --sweep lr=0.1,0.2
expect flag-prefix-and-sweep 2 "--sweep batch and --bat=10: give the values once" mlp.net --train --sweep batch=20,40 --bat=10
# `--` before the net (the children's words went after it, as file names), and --swe as
# getopt takes it (the children were given it back, and refused it): every run trains
run_ok dashdash --train --threads 2 --steps 1 --quiet --sweep width=4,8 -- mlp.net &&
    run_ok abbrev mlp.net --train --threads 2 --steps 1 --quiet --swe width=4,8 &&
    ! grep -q failed dashdash.out abbrev.out &&
    ok "--sweep with '--' before the net, and abbreviated as --swe: every run trains" ||
    bad "-- or --swe" "$(cat dashdash.out abbrev.out)"
# values holding a quote, a bar, a '<' and a line break stay one cell: quoted in the CSV,
# escaped in the Markdown
cat >tag.net <<'EOF'
network tag (input 1x28x28) {
  params { width 4; tag "a" }
  Flatten
  Linear width
  fc: Linear 10
}
train {
  data idx "data"
  batch 50
}
EOF
v=$(printf 'x"y|<b>\nz')
run_ok tags tag.net --train --threads 2 --steps 1 --quiet --sweep "tag=$v,plain"
S=$(ls -d runs/tag-sweep-* | sort -t- -k3 -n | tail -1)
[ "$(sed -n 2p "$S/results.csv")" = '"x""y|<b>' ] && [ "$(sed -n 3p "$S/results.csv" | cut -c1-3)" = 'z",' ] &&
    grep -q '^| x"y\\|&lt;b> z | ' "$S/results.md" && [ "$(grep -c '^| ' "$S/results.md")" = 3 ] &&
    ok "a value with a quote, a bar, a '<' and a line break: one CSV field, one Markdown cell" ||
    bad "values in the table" "$(cat "$S/results.csv" "$S/results.md")"

echo "sweep: $passed passed, $failed failed"
[ $failed = 0 ]
