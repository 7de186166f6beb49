#!/bin/bash
# data.sh NETRUN SRCROOT IMGMAKE: data sets beyond MNIST through netrun (the loaders' own cases are in
# tests/runtime_io/test_data.c).
#
#  - CIFAR-10 and CIFAR-100 binary files, made here: 3-channel records whose class sets each
#    channel's value; an MLP with per-channel normalize learns them (test accuracy 1.0), on
#    both formats and on CIFAR-100's coarse labels; the same bits on 1 and 2 threads;
#    --eval and --eval-on val work on them;
#  - augment (RandomCrop with padding, RandomHorizontalFlip): still learnt, the same bits on
#    1 and 2 threads and after a resume inside an epoch, other bits than without it;
#  - image folders (PNG and JPEG, made here by imgmake): the classes named in byte order, a
#    colour and a gray set learnt, the same bits on 1 and 2 threads; a corrupt PNG or JPEG,
#    an image of another size, one with alpha, an empty class folder, a test class the
#    training split lacks, labels beyond the outputs, no class folders, another shape;
#  - bad input: a crop beyond the padded image or not the net's input, a file that is not
#    whole records, a label beyond the net's outputs, coarse
#    labels of CIFAR-10, a net whose input is not 3x32x32, normalize values that are neither
#    one nor one per channel, a directory without CIFAR files: exit 1, one error line naming
#    the file (and record), no sanitizer report.
# Ends with "data: N passed, N failed"; exit 1 if any failed.
set -u
abs() { (cd "$(dirname "$1")" && echo "$(pwd)/$(basename "$1")"); }
NETRUN=$(abs "$1") ROOT=$(abs "$2") IMGMAKE=$(abs "$3")
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

echo "== image folders"
# three classes of 16x12 images (PNG and JPEG mixed), each class its own colour with a ramp
for split in train test; do
    for k in 0 1 2; do
        mkdir -p imgs/$split/cls$k
        n=8 && [ $split = test ] && n=3
        for i in $(seq $n); do
            ext=png && [ $((i % 2)) = 0 ] && ext=jpg
            "$IMGMAKE" imgs/$split/cls$k/$i.$ext 16 12 3 "$((k * 80)),$((200 - k * 60)),$((k * 30 + i))+"
        done
    done
done
cat >f.net <<'EOF'
network f (input 3x12x16) {
  Flatten
  Linear 16
  ReLU
  fc: Linear 3
}
train {
  data folder "imgs"
  optimizer Adam lr=0.01
  batch 4
  epochs 8
  seed 3
}
EOF
if run_ok folder f.net --train --threads 2 --no-record --save f.st; then
    grep -q "^classes of imgs: 0 cls0, 1 cls1, 2 cls2$" folder.out && [ "$(acc folder.out)" = 1.0000 ] &&
        grep -q "of 24 images" folder.out &&
        ok "PNG and JPEG folders: classes named, 24 images learnt, test accuracy $(acc folder.out)" ||
        bad "image folders" "$(cat folder.out)"
fi
run_ok folder1 f.net --train --threads 1 --no-record --save f1.st && cmp -s f.st f1.st &&
    ok "image folders: 1 and 2 threads decode and train to the same bits" || bad "image folders: threads differ"
mkdir -p gray/train/a gray/train/b gray/test/a
for i in 1 2; do "$IMGMAKE" gray/train/a/$i.png 8 8 1 20; "$IMGMAKE" gray/train/b/$i.jpg 8 8 1 220; done
"$IMGMAKE" gray/test/a/1.png 8 8 1 20
sed 's/input 3x12x16/input 1x8x8/; s/imgs/gray/; s/Linear 3/Linear 2/' f.net >g.net
run_ok gray g.net --train --threads 2 --no-record --save g.st && grep -q "of 4 images" gray.out &&
    ok "gray images are 1 channel; a test split without every class" || bad "gray folder" "$(cat gray.out)"

echo "== bad input (image folders)"
cp -r imgs bad1 && head -c 60 imgs/train/cls1/3.png >bad1/train/cls1/3.png
sed 's/"imgs"/"bad1"/' f.net >b1.net
expect folder-corrupt-png 1 'bad1/train/cls1/3.png;not a PNG' b1.net --train
cp -r imgs bad2 && head -c 300 imgs/train/cls2/2.jpg >bad2/train/cls2/2.jpg
sed 's/"imgs"/"bad2"/' f.net >b2.net
expect folder-corrupt-jpeg 1 'bad2/train/cls2/2.jpg;JPEG' b2.net --train
head -c -40 imgs/train/cls2/4.jpg >bad2/train/cls2/2.jpg # its header whole: libjpeg would fill in gray
expect folder-cut-jpeg 1 'bad2/train/cls2/2.jpg;damaged JPEG' b2.net --train
cp -r imgs bad3 && "$IMGMAKE" bad3/train/cls0/5.png 16 13 3 1
sed 's/"imgs"/"bad3"/' f.net >b3.net
expect folder-wrong-size 1 'bad3/train/cls0/5.png;3x13x16;3x12x16' b3.net --train
cp -r imgs bad4 && "$IMGMAKE" bad4/train/cls0/5.png 16 12 4 1,2,3,4
sed 's/"imgs"/"bad4"/' f.net >b4.net
expect folder-alpha 1 'bad4/train/cls0/5.png;alpha channel' b4.net --train
cp -r imgs bad5 && rm bad5/train/cls1/*
sed 's/"imgs"/"bad5"/' f.net >b5.net
expect folder-empty-class 1 'bad5/train/cls1;empty class folder' b5.net --train
cp -r imgs bad6 && mkdir bad6/test/cls9 && "$IMGMAKE" bad6/test/cls9/1.png 16 12 3 1
sed 's/"imgs"/"bad6"/' f.net >b6.net
expect folder-unknown-test-class 1 'bad6/test/cls9;training split does not have' b6.net --train
sed 's/Linear 3/Linear 2/' f.net >two.net
expect folder-labels-beyond-outputs 1 'imgs/train;label 2;2 outputs' two.net --train
mkdir -p noclass/train
sed 's/"imgs"/"noclass"/' f.net >nc.net
expect folder-no-classes 1 'noclass/train;no class folders' nc.net --train
sed 's/input 3x12x16/input 3x16x12/' f.net >rot.net
expect folder-into-other-shape 1 'imgs/train;3x12x16;3x16x12' rot.net --train

echo "== bad input (CIFAR)"
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
