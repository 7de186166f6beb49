#!/bin/sh
# Accuracy after the seed net's 2 epochs (Adam 1e-3, batch 100), netrun beside PyTorch in
# the same run, on data/mnist-mini and on Fashion-MNIST when installed (issue 3's figure:
# within 0.5 points of PyTorch). Prints a Markdown table. Needs /usr/bin/python3 with torch
# for the PyTorch column (n/a otherwise).
set -u
cd "$(dirname "$0")/.."
ninja -C build >/dev/null || exit 1
py=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "| data | netrun test accuracy | PyTorch test accuracy | difference |"
echo "|---|---:|---:|---:|"
for data in data/mnist-mini /usr/share/datasets/fashion-mnist; do
  [ -d "$data" ] || continue
  ours=$(./build/tools/netrun nets/mnist.net --train --epochs 2 --threads 2 --data "$data" \
           --save "$tmp/w.safetensors" | sed -n 's/^test: loss [0-9.]*  accuracy \([0-9.]*\).*/\1/p')
  theirs=n/a
  if "$py" -c "import torch" 2>/dev/null; then
    theirs=$(OPENBLAS_NUM_THREADS=2 "$py" bench/torch_mnist.py train --data "$data" --threads 2 \
               --epochs 2 | sed -n 's/^RESULT test_acc //p')
  fi
  diff=$(awk -v a="$ours" -v b="$theirs" 'BEGIN { if (b == "n/a") print "n/a"; else printf "%+.4f\n", a - b }')
  echo "| $data | $ours | $theirs | $diff |"
done
