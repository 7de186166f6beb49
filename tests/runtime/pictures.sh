#!/bin/bash
# pictures.sh NETRUN PNGCOUNT SRCROOT: netrun's SVG pictures, rendered by a real renderer
# (rsvg-convert, librsvg) and checked by the pixels of the PNG (pngcount counts a colour's).
#
#  - --plot of two runs: the SVG renders; each run's colour is drawn (hundreds of pixels) and
#    a third run's colour is not; --plot of one run: only its colour; a run named with & < >
#    renders (the names are escaped);
#  - --confusion: the text table has a row a class, its cells sum to the images evaluated and
#    its diagonal over that is the accuracy printed; the rendered matrix shows the blue of a
#    full cell; on --eval-on val the title says so;
#  - bad input: a folder that is not a run, a metrics line that does not parse or has a value
#    that is not a number, a run with no finished epoch, an output that cannot be written, and
#    the usage errors: exit 1 (2 for usage), one error line naming the file (and line).
# Skips (exit 77) without rsvg-convert (Debian's librsvg2-bin, which .ci/run installs).
# Ends with "pictures: N passed, N failed"; exit 1 if any failed.
set -u
abs() { (cd "$(dirname "$1")" && echo "$(pwd)/$(basename "$1")"); }
NETRUN=$(abs "$1") PNGCOUNT=$(abs "$2") ROOT=$(abs "$3")
DATA=$ROOT/data/mnist-mini
command -v rsvg-convert >/dev/null || { echo "pictures: no rsvg-convert: skipped"; exit 77; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
. "$ROOT/tests/runtime/lib.sh"

# render SVG: the PNG beside it; false (after a failure line) when rsvg-convert refuses it
render() {
    rsvg-convert "$1" -o "${1%.svg}.png" 2>"$1.rsvg" && return 0
    bad "rsvg-convert $1 failed" "$(head -3 "$1.rsvg")"
    return 1
}

make_data data 400 200
cat >mlp.net <<'EOF'
network mlp (input 1x28x28) {
  Flatten
  Linear 32
  ReLU
  fc: Linear 10
}
train {
  data idx "data"
  optimizer SGD lr=0.05 momentum=0.9
  batch 20
  epochs 3
  seed 5
  val 0.1
}
EOF
BLUE=1f77b4 RED=d62728 GREEN=2ca02c

echo "== --plot"
run_ok a mlp.net --train --threads 2 --record runA --log-every 3
run_ok b mlp.net --train --threads 2 --record 'run&<b>' --lr 0.01 --epochs 5
if run_ok plot2 --plot runA 'run&<b>' -o two.svg && render two.svg; then
    read -r size blue red green <<<"$("$PNGCOUNT" two.png $BLUE $RED $GREEN)"
    if [ "$size" = 1000x474 ] && [ "$blue" -gt 400 ] && [ "$red" -gt 400 ] && [ "$green" = 0 ]; then
        ok "two runs rendered ($size): $blue pixels of the first run's blue, $red of the second's red, none of a third's green"
    else
        bad "two runs: size $size, blue $blue, red $red, green $green"
    fi
    grep -q 'run&amp;&lt;b&gt;' two.svg && ok "a run named run&<b> is escaped in the SVG" || bad "the name is not escaped"
    n=$(grep -c '<polyline\|<circle' two.svg) unclipped=$(grep '<polyline\|<circle' two.svg | grep -vc "clip-path='url(#panel[01])'")
    [ "$n" -gt 0 ] && [ "$unclipped" = 0 ] && ok "every curve and dot of the plot is cut at its panel's frame ($n)" ||
        bad "the curves are not clipped: $unclipped of $n"
fi
if run_ok plot1 --plot runA/ -o one.svg && render one.svg; then
    read -r size blue red <<<"$("$PNGCOUNT" one.png $BLUE $RED)"
    [ "$blue" -gt 400 ] && [ "$red" = 0 ] && grep -q '>runA<' one.svg &&
        ok "one run (given as runA/): $blue pixels of blue, none of red, labelled runA" ||
        bad "one run: blue $blue, red $red" "$(grep -o '>run[^<]*<' one.svg)"
fi
run_ok plotdefault --plot runA && [ -s curves.svg ] && ok "-o defaults to curves.svg" || bad "no curves.svg"
# every accuracy 1.0 (easy data): the accuracy axis still has a height, and its dots sit on
# the panel's top edge (the axis was 1..1, the dots at a division by zero, cut away)
awk 'BEGIN { srand(1); print "x,y"; for (i = 0; i < 200; i++) printf "%.3f,%d\n", (i % 2) * 100 - 50 + rand(), i % 2 }' >sep_train.csv
cp sep_train.csv sep_test.csv
printf 'network sep (input 1) {\n  out: Linear 2\n}\ntrain { data csv "sep_train.csv" label="y"; optimizer Adam lr=0.1; batch 10; epochs 3 }\n' >sep.net
if run_ok sepfit sep.net --train --record sep --quiet && grep -q 'accuracy 1.0000' sepfit.out &&
    run_ok plotflat --plot sep -o flat.svg && render flat.svg; then
    out=$(grep -o "<circle[^>]*panel1[^>]*>" flat.svg | grep -o "cy='[^']*'" | grep -vc "cy='50.0'")
    dots=$(grep -o "<circle[^>]*panel1[^>]*>" flat.svg | grep -c "cy='50.0'")
    [ "$dots" -ge 3 ] && [ "$out" = 0 ] && ok "every accuracy 1.0: the $dots dots of the accuracy panel on its top edge" ||
        bad "accuracy all 1.0: $dots dots at the top, $out elsewhere" "$(grep -o "<circle[^>]*panel1[^>]*>" flat.svg | head -3)"
fi

echo "== --confusion"
if run_ok cm mlp.net --load runA/best.safetensors --eval --confusion cm.svg --threads 2 && render cm.svg; then
    acc=$(sed -n 's/^test: loss [0-9.]*  accuracy \([0-9.]*\) .*/\1/p' cm.out)
    # rows of the table: "    t  c0 c1 ... c9  acc%"
    check=$(awk -v acc="$acc" '/^ +[0-9]+ +[0-9].*%$/ { t = $1; for (i = 2; i <= 11; i++) all += $i; diag += $(t + 2); rows++ }
        END { printf "%d %d %.4f", rows, all, diag / all; exit !(rows == 10 && all == 200 && sprintf("%.4f", diag / all) == acc) }' cm.out)
    [ $? = 0 ] && ok "the table: 10 rows, 200 images, diagonal / total = accuracy $acc" ||
        bad "the confusion table ($check) does not match accuracy $acc" "$(cat cm.out)"
    read -r size blue <<<"$("$PNGCOUNT" cm.png 3a86bd)"
    [ "$blue" -gt 1000 ] && ok "the matrix rendered ($size): $blue pixels of the diagonal's blue" ||
        bad "the matrix: $blue blue pixels" "$(head -c 600 cm.svg)"
fi
# a long title over a matrix narrower than it: the picture is as wide as the title (bold
# 14 px, about 8.5 px a character), whose ends were cut off
sed 's/^network mlp /network a_network_with_a_name_long_enough_to_be_wider_than_its_matrix_of_ten /' mlp.net >long.net
if run_ok cmlong long.net --load runA/best.safetensors --eval --confusion cmlong.svg --threads 2 && render cmlong.svg; then
    w=$(sed -n "s/.*<svg [^>]*width='\([0-9]*\)'.*/\1/p" cmlong.svg | head -1)
    t=$(sed -n "s/.*font-weight='bold'>\([^<]*\)<.*/\1/p" cmlong.svg | head -1)
    [ -n "$w" ] && [ "$w" -ge $((${#t} * 85 / 10)) ] && ok "a title of ${#t} characters: the picture is $w px wide" ||
        bad "the title (${#t} characters) is wider than the picture ($w px)"
fi
run_ok cmval mlp.net --load runA/best.safetensors --eval --eval-on val --confusion cmval.svg --threads 2 &&
    grep -q "mlp on val (40 images)" cmval.svg && ok "--eval-on val --confusion: the title says val (40 images)" ||
    bad "--confusion on val" "$(grep -o '<text[^>]*font-weight[^<]*<' cmval.svg)"

echo "== bad input"
mkdir notrun
expect plot-not-a-run 1 'notrun;not a run folder' --plot notrun
expect plot-missing 1 'nothere;not a run folder' --plot runA nothere
# flags --plot would ignore are usage errors (--sweep read a net that was not there)
expect plot-with-sweep 2 '--plot draws the run folders. records; --sweep has nothing to do there' --plot runA --sweep lr=1,2
expect plot-with-lr 2 "--plot draws the run folders. records; a train setting's flag" --plot runA --lr 0.1
expect plot-with-define 2 '--plot draws the run folders. records; -D' --plot runA -D w=1
cp -r runA broken && printf '{"type":"epoch","epoch":1,"step":1,"loss":"x"}\n' >>broken/metrics.jsonl
n=$(wc -l <broken/metrics.jsonl)
expect plot-bad-value 1 "broken/metrics.jsonl:$n;not a metrics line" --plot broken
# one object a line: a second object, or anything but blanks after the first, is no metrics line
for tail in '{"x":1}' ' xx'; do
    rm -rf junk && cp -r runA junk && sed -i '1s/$/'"$tail"'/' junk/metrics.jsonl
    expect "plot-after-object-$tail" 1 "junk/metrics.jsonl:1;not a metrics line" --plot junk
done
# a killed run's last line, cut short, is left out, as a resume cuts it; the same bytes with
# a newline after them are a line, and not a metrics one
cp -r runA torn && printf '{"type":"ep' >>torn/metrics.jsonl
run_ok plot-torn-line --plot torn -o torn.svg && render torn.svg &&
    ok "a run whose last line is cut short (killed) plots without it" || bad "--plot of a torn run" "$(cat plot-torn-line.err)"
cp -r runA torn2 && printf '{"type":"ep\n' >>torn2/metrics.jsonl
expect plot-torn-line-ended 1 "torn2/metrics.jsonl:$((n));not a metrics line" --plot torn2
# finite values that no axis holds (1e308) or whose range is a denormal: coordinates stay
# numbers near the panel, never inf or nan
for v in 1e308,-1e308 5e-324,1e-323; do
    d=extreme${v%%,*}; mkdir -p $d && cp runA/net.net runA/run.json $d/
    printf '{"type":"epoch","epoch":1,"step":5,"loss":%s,"acc":0.5}\n{"type":"epoch","epoch":2,"step":10,"loss":%s,"acc":0.6}\n' \
        "${v%%,*}" "${v#*,}" >$d/metrics.jsonl
    run_ok plot-$d --plot $d -o $d.svg && render $d.svg && ! grep -q 'inf\|nan' $d.svg &&
        ok "--plot of losses $v: a picture with finite coordinates" || bad "--plot of losses $v" "$(grep -o '[^ ]*\(inf\|nan\)[^ ]*' $d.svg | head -3)"
done
# a run with no epoch line (stopped by --steps inside its first epoch): its step losses,
# placed in epochs by its run.json (images and batch), and its end line's numbers
if run_ok steps mlp.net --train --threads 2 --record runS --log-every 3 --steps 7 &&
    run_ok plot-steps --plot runS -o steps.svg && render steps.svg; then
    [ "$(grep -c '<circle' steps.svg)" -ge 2 ] && grep -q '<polyline' steps.svg &&
        ok "--plot of a --steps run inside its first epoch: its step losses and its end" ||
        bad "--plot of a --steps run" "$(grep -c '<circle' steps.svg) dots"
fi
# its run.json past the size a run.json has (or not a regular file): not read whole; the
# steps then have no place, and it says why
cp -r runS bigjson && head -c 2000000 /dev/zero | tr '\0' ' ' >bigjson/run.json
expect plot-steps-no-run-json 1 'bigjson/metrics.jsonl;its steps have no place in epochs' --plot bigjson
cp -r runA noepoch && grep '"type":"resume"' runA/metrics.jsonl >noepoch/metrics.jsonl
expect plot-no-epoch 1 'noepoch/metrics.jsonl;no epoch has finished yet and no step was logged' --plot noepoch
expect plot-unwritable 1 'nodir/x.svg' --plot runA -o nodir/x.svg
expect confusion-unwritable 1 'nodir/cm.svg' mlp.net --load runA/best.safetensors --eval --confusion nodir/cm.svg
expect usage-plot-nothing 2 'plot needs one run folder' --plot
expect usage-plot-and-train 2 'plot draws run folders' --plot runA --train
expect usage-o-without-plot 2 '-o goes with --plot' mlp.net --train -o x.svg
expect usage-confusion-without-eval 2 'confusion goes with --eval' mlp.net --train --confusion x.svg

echo "pictures: $passed passed, $failed failed"
[ $failed = 0 ]
