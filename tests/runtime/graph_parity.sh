#!/bin/sh
# graph_parity.sh NETRUN COMPARE SRCROOT: graph networks against PyTorch.
#
# tests/runtime/graph.net holds every graph form (residual with and without a shortcut,
# named branches joined by concat and by add, an empty branch) and every kind the graph
# issue brought (BatchNorm2d and 1d, AdaptiveAvgPool2d, grouped and depthwise Conv2d, GELU
# in both forms, SiLU). From the initial weights PyTorch wrote (gen_torch_graph.py):
# 1. three SGD steps (lr 0.05, momentum 0.9, batch 8, the first 24 training images in file
#    order, BatchNorm in training mode) give PyTorch's weights and running statistics within
#    1e-5 * max(1, |w|), and num_batches_tracked exactly; on 1, 2 and 3 threads, the same bits;
#    and the weights file holds exactly the keys, dtypes and shapes of PyTorch's state_dict
#    (what strict load_state_dict checks: no optimizer state, BatchNorm's buffers as int64
#    and float);
# 2. the trained net in evaluation mode (running statistics) gives PyTorch's logits for 16
#    test images within 1e-5.
# Regenerate the fixtures with /usr/bin/python3 tests/runtime/gen_torch_graph.py
set -u
abs() { (cd "$(dirname "$1")" && echo "$(pwd)/$(basename "$1")"); }
NETRUN=$(abs "$1") COMPARE=$(abs "$2") ROOT=$(abs "$3")
FIX=$ROOT/tests/runtime/fixtures/graph
DATA=$ROOT/data/mnist-mini
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail=0

. "$ROOT/tests/runtime/idx_head.sh"
idx_head "$DATA" "$TMP/data" 24
{ cat "$ROOT/tests/runtime/graph.net"
  printf 'train {\n  data idx "%s"\n  optimizer SGD lr=0.05 momentum=0.9\n  batch 8\n  epochs 1\n  shuffle false\n}\n' "$TMP/data"
} >"$TMP/graph.net"

echo "== three SGD steps from PyTorch's initial weights"
for t in 1 2 3; do
    if ! "$NETRUN" "$TMP/graph.net" --load "$FIX/init.safetensors" --train --steps 3 \
        --threads $t --save "$TMP/steps$t.safetensors" >"$TMP/steps.out" 2>&1; then
        echo "FAIL: netrun --train on $t threads exited $?"; cat "$TMP/steps.out"; fail=1
    fi
done
"$COMPARE" st "$TMP/steps2.safetensors" "$FIX/steps.safetensors" 1e-5 || fail=1
"$COMPARE" keys "$TMP/steps2.safetensors" "$FIX/steps.safetensors" || fail=1
for t in 1 3; do
    cmp -s "$TMP/steps$t.safetensors" "$TMP/steps2.safetensors" &&
        cmp -s "$TMP/steps$t.ckpt.safetensors" "$TMP/steps2.ckpt.safetensors" ||
        { echo "FAIL: $t threads give other bits than 2"; fail=1; }
done

echo "== the trained net's logits in evaluation mode"
if "$NETRUN" "$ROOT/tests/runtime/graph.net" --load "$FIX/steps.safetensors" \
    --predict "$FIX/images-idx3-ubyte.gz" --logits "$TMP/logits.csv" --quiet 2>"$TMP/err"; then
    "$COMPARE" csv "$TMP/logits.csv" "$FIX/logits.csv" 1e-5 || fail=1
else
    echo "FAIL: netrun --predict exited $?"; cat "$TMP/err"; fail=1
fi

[ $fail = 0 ] && echo "graph parity: ok" || echo "graph parity: FAILED"
exit $fail
