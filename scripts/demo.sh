#!/bin/sh
# The main job on the bundled data: train the seed net on data/mnist-mini with netrun,
# compile it to standalone C with netc, build that with cc and run it on the test images.
set -e
cd "$(dirname "$0")/.."
sh scripts/deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
mkdir -p out
./build/tools/netrun nets/mnist.yaml --train --save out/mnist.safetensors
./build/tools/netc nets/mnist.net --weights out/mnist.safetensors -o out/mnist.c --header out/mnist.h --main
cc -O2 -march=native out/mnist.c -o out/mnist -lm
for f in t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  gunzip -c data/mnist-mini/$f.gz > out/$f
done
./out/mnist out/t10k-images-idx3-ubyte out/t10k-labels-idx1-ubyte
./out/mnist examples/digit9.pgm
