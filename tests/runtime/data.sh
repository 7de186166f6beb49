#!/bin/bash
# data.sh NETRUN SRCROOT: data sets beyond MNIST through netrun (the loaders' own cases are in
# tests/runtime_io/test_data.c).
#
#  - CIFAR-10 and CIFAR-100 binary files, made here: 3-channel records whose class sets each
#    channel's value; an MLP with per-channel normalize learns them (test accuracy 1.0), on
#    both formats and on CIFAR-100's coarse labels; the same bits on 1 and 2 threads;
#    --eval and --eval-on val work on them;
#  - augment (RandomCrop with padding, RandomHorizontalFlip): still learnt, the same bits on
#    1 and 2 threads and after a resume inside an epoch, other bits than without it;
#  - bad input: a crop beyond the padded image or not the net's input, a file that is not
#    whole records, a label beyond the net's outputs, coarse
#    labels of CIFAR-10, a net whose input is not 3x32x32, normalize values that are neither
#    one nor one per channel, a directory without CIFAR files: exit 1, one error line naming
#    the file (and record), no sanitizer report.
# Ends with "data: N passed, N failed"; exit 1 if any failed.
set -u
abs() { (cd "$(dirname "$1")" && echo "$(pwd)/$(basename "$1")"); }
NETRUN=$(abs "$1") ROOT=$(abs "$2")
DATA=$ROOT/data/mnist-mini
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
. "$ROOT/tests/runtime/lib.sh"

# cifar_file FILE N LABEL_BYTES: N records; record i of class k = i % 10 has channel values
# k*25, 255 - k*25 and (k*50) % 256 (CIFAR-100's labels: coarse k*2, fine k*10)
oct() { printf '\\%03o' $(($1 & 255)); }
cifar_file() {
    local i k
    for ((i = 0; i < $2; i++)); do
        k=$((i % 10))
        if [ "$3" = 1 ]; then printf "$(oct $k)"; else printf "$(oct $((k * 2)))$(oct $((k * 10)))"; fi
        head -c 1024 /dev/zero | tr '\0' "$(oct $((k * 25)))"
        head -c 1024 /dev/zero | tr '\0' "$(oct $((255 - k * 25)))"
        head -c 1024 /dev/zero | tr '\0' "$(oct $((k * 50)))"
    done >"$1"
}
mkdir c10 c100
cifar_file c10/data_batch_1.bin 60 1
for b in 2 3 4 5; do cp c10/data_batch_1.bin c10/data_batch_$b.bin; done
cifar_file c10/test_batch.bin 40 1
cifar_file c100/train.bin 300 2
cifar_file c100/test.bin 40 2
# net NAME DATA OUTPUTS [NORMALIZE]: an MLP for 3x32x32
net() {
    cat >"$1.net" <<EOF
network $1 (input 3x32x32) {
  Flatten
  Linear 32
  ReLU
  fc: Linear $3
}
train {
  data $2
  normalize ${4:-[0.4914, 0.4822, 0.4465] [0.247, 0.243, 0.261]}
  optimizer Adam lr=0.01
  batch 20
  epochs 5
  seed 1
}
EOF
}
acc() { sed -n 's/^test: loss [0-9.]*  accuracy \([0-9.]*\) .*/\1/p' "$1"; }

echo "== CIFAR"
net c10 'cifar "c10"' 10
net c100 'cifar "c100"' 100
net c100c 'cifar "c100" labels=coarse' 20
for n in c10 c100 c100c; do
    if run_ok $n $n.net --train --threads 2 --no-record --save $n.st; then
        [ "$(acc $n.out)" = 1.0000 ] && grep -q "of 300 images" $n.out &&
            ok "$n: 300 images of 3x32x32 learnt, test accuracy $(acc $n.out)" ||
            bad "$n: test accuracy '$(acc $n.out)'" "$(cat $n.out)"
    fi
done
run_ok c10t1 c10.net --train --threads 1 --no-record --save c10t1.st &&
    cmp -s c10.st c10t1.st && ok "CIFAR-10 on 1 and 2 threads: the same bits" || bad "1 and 2 threads differ"
run_ok c10ev c10.net --load c10.st --eval --threads 2 && grep -q "^test: .*accuracy 1.0000  (40 images" c10ev.out &&
    ok "--eval: $(grep '^test:' c10ev.out | cut -c1-50)" || bad "--eval on CIFAR" "$(cat c10ev.out c10ev.err)"
run_ok c10val c10.net --load c10.st --eval --eval-on val --val 0.2 --threads 2 &&
    grep -q "^val: .*(60 images" c10val.out && ok "--eval-on val: 60 of the 300 held out" ||
    bad "--eval-on val on CIFAR" "$(cat c10val.out c10val.err)"
net c10one 'cifar "c10"' 10 '0.5 0.25'
run_ok c10one c10one.net --train --threads 2 --no-record --steps 3 --save c10one.st &&
    ok "normalize with one mean and std for the three channels" || true

echo "== augment"
# RandomCrop 32 with padding 4 and flips: learnt still; the same bits on 1 and 2 threads and
# after a resume inside an epoch (each image's crop comes from the seed, epoch and image);
# other bits than without it; a crop smaller than the images needs a net of the crop's size
sed 's/  seed 1/  seed 1\n  augment 32 4 flip=true/' c10.net >aug.net
if run_ok aug2 aug.net --train --threads 2 --no-record --save aug2.st; then
    awk -v a="$(acc aug2.out)" 'BEGIN { exit !(a >= 0.8) }' && ok "augment 32 4 flip=true: test accuracy $(acc aug2.out)" ||
        bad "augment: test accuracy $(acc aug2.out)" "$(cat aug2.out)"
fi
run_ok aug1 aug.net --train --threads 1 --no-record --save aug1.st
cmp -s aug1.st aug2.st && cmp -s aug1.ckpt.st aug2.ckpt.st && ok "augment: 1 and 2 threads, the same bits" ||
    bad "augment: 1 and 2 threads differ"
run_ok augr1 aug.net --train --threads 2 --no-record --save augr.st --steps 23 &&
    run_ok augr2 aug.net --train --threads 2 --no-record --resume augr.ckpt.st &&
    cmp -s augr.st aug2.st && cmp -s augr.ckpt.st aug2.ckpt.st &&
    ok "augment: 23 steps (inside epoch 2), then --resume == one run, byte for byte" ||
    bad "augment: the resumed run differs"
cmp -s aug2.st c10.st && bad "augment changed nothing" || ok "augment gives other weights than none"
sed 's/input 3x32x32/input 3x28x28/; s/  seed 1/  seed 1\n  augment 28 flip=true/' c10.net >crop28.net
expect crop28-test-not-cropped 1 'c10/test_batch.bin;3x32x32;3x28x28' crop28.net --train

echo "== bad input"
sed 's/  seed 1/  seed 1\n  augment 48 4/' c10.net >crop48.net
expect crop-beyond-padded 1 'c10/data_batch_1..5.bin;32x32 padded by 4;crop of 48' crop48.net --train
sed 's/  seed 1/  seed 1\n  augment 28/' c10.net >crop28b.net
expect crop-not-the-input 1 'c10/data_batch_1..5.bin, cropped by augment;3x28x28;3x32x32' crop28b.net --train
mkdir cut && cp c10/* cut/ && head -c 100000 c10/data_batch_3.bin >cut/data_batch_3.bin
net cut 'cifar "cut"' 10
expect cifar-not-records 1 'cut/data_batch_3.bin;100000 bytes;3073-byte records' cut.net --train
net few 'cifar "c10"' 5
expect cifar-label-beyond-outputs 1 'c10/data_batch_1..5.bin;label [5-9];5 outputs' few.net --train
net coarse10 'cifar "c10" labels=coarse' 20
expect cifar10-coarse 1 'c10;CIFAR-10 has no coarse labels' coarse10.net --train
sed 's/input 3x32x32/input 1x28x28/' c10.net >gray.net
expect cifar-into-1x28x28 1 'c10/data_batch_1..5.bin;3x32x32;1x28x28' gray.net --train
net n2 'cifar "c10"' 10 '[0.5, 0.5] [0.25, 0.25]'
expect normalize-two-of-three 1 'data_batch_1..5.bin;3 channels;normalize gives 2 values' n2.net --train
mkdir nocifar
net none 'cifar "nocifar"' 10
expect cifar-no-files 1 'nocifar;no CIFAR files' none.net --train
# --data changes the directory, not the kind of data set
expect data-flag-keeps-cifar 1 'mnist-mini;no CIFAR files' c10.net --train --data "$DATA"

echo "data: $passed passed, $failed failed"
[ $failed = 0 ]
