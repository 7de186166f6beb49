#!/bin/sh
# parity.sh NETRUN COMPARE SRCROOT: netrun against PyTorch on weights PyTorch wrote.
#
# 1. nets/mnist.net loads fixtures/torch_mnist.safetensors (a trained state_dict written by
#    gen_torch_mnist.py) and predicts 64 test images with --logits: every logit agrees with
#    PyTorch's within 1e-4 * max(1, |torch|) (relative for |logit| >= 1, absolute below).
# 2. From the same weights, one training step (SGD lr 0.1, the first 8 training images in file
#    order, cross_entropy) gives PyTorch's weights within 1e-5 * max(1, |w|) and its loss to
#    the 4 decimals netrun prints. This checks the whole step: forward, the loss's gradient,
#    every layer's backward and the update, against PyTorch's autograd.
# 3. The weights file that step wrote has exactly the keys, dtypes and shapes of PyTorch's
#    state_dict (fixtures/torch_step.safetensors): what strict load_state_dict checks, so
#    PyTorch loads it as it is. Its training checkpoint is the other file.
# Prints the worst element of each comparison. Regenerate the fixtures with
#   /usr/bin/python3 tests/runtime/gen_torch_mnist.py
set -u
abs() { (cd "$(dirname "$1")" && echo "$(pwd)/$(basename "$1")"); }
NETRUN=$(abs "$1") COMPARE=$(abs "$2") ROOT=$(abs "$3")
FIX=$ROOT/tests/runtime/fixtures
DATA=$ROOT/data/mnist-mini
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail=0

# The step's data: the first 8 training images of mnist-mini (what PyTorch stepped on) and 8
# test images (evaluated after the step), as raw IDX files, so the run stays short.
. "$ROOT/tests/runtime/idx_head.sh"
idx_head "$DATA" "$TMP/data" 8

echo "== predict: logits of 64 images against PyTorch's"
if "$NETRUN" "$ROOT/nets/mnist.net" --load "$FIX/torch_mnist.safetensors" \
    --predict "$FIX/images-idx3-ubyte.gz" --logits "$TMP/logits.csv" --threads 2 \
    >"$TMP/predict.out" 2>&1; then
    "$COMPARE" csv "$TMP/logits.csv" "$FIX/torch_logits.csv" 1e-4 || fail=1
else
    echo "FAIL: netrun --predict exited $?"; cat "$TMP/predict.out"; fail=1
fi

echo "== one SGD step from PyTorch's weights"
if "$NETRUN" "$ROOT/nets/mnist.net" --load "$FIX/torch_mnist.safetensors" --train \
    --data "$TMP/data" --optimizer SGD --lr 0.1 --batch 8 --steps 1 --epochs 1 \
    --no-shuffle --threads 2 --save "$TMP/step.safetensors" >"$TMP/step.out" 2>&1; then
    "$COMPARE" st "$TMP/step.safetensors" "$FIX/torch_step.safetensors" 1e-5 || fail=1
    "$COMPARE" keys "$TMP/step.safetensors" "$FIX/torch_step.safetensors" || fail=1
    [ -s "$TMP/step.ckpt.safetensors" ] ||
        { echo "FAIL: no training checkpoint beside the weights"; fail=1; }
    want=$(cat "$FIX/torch_step.loss")
    got=$(sed -n 's/^epoch 1\/1 .* loss \([0-9.]*\) .*/\1/p' "$TMP/step.out")
    if [ -n "$got" ] && awk -v g="$got" -v w="$want" \
        'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d <= 0.00005 + 1e-9) }'; then
        echo "loss of the step: netrun $got, PyTorch $want"
    else
        echo "FAIL: loss of the step: netrun '$got', PyTorch $want"; cat "$TMP/step.out"; fail=1
    fi
else
    echo "FAIL: netrun --train --steps 1 exited $?"; cat "$TMP/step.out"; fail=1
fi

[ $fail = 0 ] && echo "parity: ok" || echo "parity: FAILED"
exit $fail
