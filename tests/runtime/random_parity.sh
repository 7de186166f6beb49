#!/bin/sh
# random_parity.sh NETRUN COMPARE SRCROOT: netrun against PyTorch on random nets.
#
# tests/runtime/fixtures/random/NN.net are nets drawn by gen_torch_random.py over every layer
# kind, graph form, loss and optimizer, with random geometries and arguments (see there).
# From the initial weights PyTorch wrote, for each net:
# 1. three steps (batch 8, the first 24 training images in file order) on 2 threads give
#    PyTorch's weights and BatchNorm buffers within 1e-5 * max(1, |w|), and
#    num_batches_tracked exactly; 1 thread gives the same bits; the weights file has exactly
#    the keys, dtypes and shapes of PyTorch's state_dict;
# 2. the trained net in evaluation mode gives PyTorch's outputs for 16 test images within
#    1e-5 * max(1, |output|).
# Each net is one check; a failure names the net and its worst value. Regenerate the fixtures
# with /usr/bin/python3 tests/runtime/gen_torch_random.py build/tools/netc
set -u
abs() { (cd "$(dirname "$1")" && echo "$(pwd)/$(basename "$1")"); }
NETRUN=$(abs "$1") COMPARE=$(abs "$2") ROOT=$(abs "$3")
FIX=$ROOT/tests/runtime/fixtures/random
DATA=$ROOT/data/mnist-mini
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 2   # netrun's run records land here

. "$ROOT/tests/runtime/idx_head.sh"
idx_head "$DATA" "$TMP/data" 24
images=$ROOT/tests/runtime/fixtures/graph/images-idx3-ubyte.gz

pass=0 fail=0
for net in "$FIX"/[0-9]*.net; do
    n=$(basename "$net" .net) f=${net%.net} w=$TMP/$n ok=1
    for t in 1 2; do
        "$NETRUN" "$net" --data "$TMP/data" --load "$f.init.safetensors" --train --steps 3 \
            --threads $t --save "$w.$t.safetensors" >"$w.out" 2>&1 ||
            { echo "FAIL $n: netrun --train on $t threads exited $?"; cat "$w.out"; ok=0; }
    done
    [ $ok = 1 ] && { "$COMPARE" st "$w.2.safetensors" "$f.steps.safetensors" 1e-5 >"$w.cmp" 2>&1 &&
        "$COMPARE" keys "$w.2.safetensors" "$f.steps.safetensors" >>"$w.cmp" 2>&1 ||
        { echo "FAIL $n: the weights after 3 steps"; cat "$w.cmp"; ok=0; }; }
    [ $ok = 1 ] && { cmp -s "$w.1.safetensors" "$w.2.safetensors" &&
        cmp -s "$w.1.ckpt.safetensors" "$w.2.ckpt.safetensors" ||
        { echo "FAIL $n: 1 thread gives other bits than 2"; ok=0; }; }
    if "$NETRUN" "$net" --load "$f.steps.safetensors" --predict "$images" --logits "$w.csv" \
        --quiet 2>"$w.err"; then
        "$COMPARE" csv "$w.csv" "$f.logits.csv" 1e-5 >"$w.cmp" 2>&1 ||
            { echo "FAIL $n: the outputs in evaluation mode"; cat "$w.cmp"; ok=0; }
    else
        echo "FAIL $n: netrun --predict exited $?"; cat "$w.err"; ok=0
    fi
    if [ $ok = 1 ]; then pass=$((pass + 1)); echo "ok   $n"; else fail=$((fail + 1)); fi
done
# 3. on inputs of random shapes (images of 1 to 5 channels and 3 to 40 pixels a side, or flat
#    vectors) and outputs that may be images, from sNN.safetensors (BatchNorm statistics and
#    factors drawn away from 0 and 1): 8 inputs drawn by `compare rand` with seed NN give
#    PyTorch's outputs (in PyTorch's C, H, W order) within 1e-5; and where the output is a
#    vector, 3 steps on a table of 24 records (`compare table`, the line `# trained on:` in
#    the net) give PyTorch's weights within 1e-5, the same bits on 1 and 2 threads.
for net in "$FIX"/s*.net; do
    n=$(basename "$net" .net) f=${net%.net} w=$TMP/$(basename "$net" .net)
    seed=$(echo "$n" | sed 's/^s0*//'); seed=${seed:-0}
    size=$(sed -n 's/^network [^ ]* (input \([0-9x]*\)).*/\1/p' "$net" | sed 's/x/*/g')
    "$COMPARE" rand $((8 * $size)) "$seed" "$w.f32" || { echo "FAIL $n: compare rand"; fail=$((fail + 1)); continue; }
    ok=1
    if ! "$NETRUN" "$net" --load "$f.safetensors" --predict "$w.f32" --logits "$w.csv" \
        --quiet 2>"$w.err" || ! "$COMPARE" csv "$w.csv" "$f.out.csv" 1e-5 >"$w.cmp" 2>&1; then
        echo "FAIL $n: the outputs in evaluation mode"; cat "$w.err" "$w.cmp" 2>/dev/null; ok=0
    fi
    # 4. where the output is a vector: three steps on a table of 24 records, 1 and 2 threads
    table=$(sed -n 's/^# trained on: compare table //p' "$net")
    if [ -n "$table" ]; then
        "$COMPARE" table $table "$w.train.csv" && cp "$w.train.csv" "$w.test.csv" || ok=0
        for t in 1 2; do
            "$NETRUN" "$net" --data "$w.train.csv" --load "$f.safetensors" --train --steps 3 \
                --threads $t --save "$w.$t.safetensors" >"$w.out" 2>&1 ||
                { echo "FAIL $n: netrun --train on $t threads exited $?"; cat "$w.out"; ok=0; }
        done
        [ $ok = 1 ] && { "$COMPARE" st "$w.2.safetensors" "$f.steps.safetensors" 1e-5 >"$w.cmp" 2>&1 ||
            { echo "FAIL $n: the weights after 3 steps"; cat "$w.cmp"; ok=0; }; }
        [ $ok = 1 ] && { cmp -s "$w.1.safetensors" "$w.2.safetensors" ||
            { echo "FAIL $n: 1 thread gives other bits than 2"; ok=0; }; }
    fi
    if [ $ok = 1 ]; then pass=$((pass + 1)); echo "ok   $n${table:+ (trained)}"; else fail=$((fail + 1)); fi
done
echo "random parity: $pass passed, $fail failed"
[ $fail = 0 ] && [ $pass -gt 0 ]
