#!/bin/bash
# data.sh NETRUN SRCROOT IMGMAKE NETC: data sets beyond MNIST through netrun (the loaders' own cases are in
# tests/runtime_io/test_data.c).
#
#  - CIFAR-10 and CIFAR-100 binary files, made here: 3-channel records whose class sets each
#    channel's value; an MLP with per-channel normalize learns them (test accuracy 1.0), on
#    both formats and on CIFAR-100's coarse labels; the same bits on 1 and 2 threads;
#    --eval and --eval-on val work on them;
#  - augment (RandomCrop with padding, RandomHorizontalFlip): still learnt, the same bits on
#    1 and 2 threads and after a resume inside an epoch, other bits than without it;
#  - image folders (PNG and JPEG, made here by imgmake): the classes named in byte order, a
#    colour and a gray set learnt, the same bits on 1 and 2 threads; images of three sizes
#    resized to the net's (resize=[H, W]) and learnt, the same bits on 1 and 2 threads, and
#    an error that names resize without it; a corrupt PNG or JPEG,
#    an image of another size, one with alpha, an empty class folder, a test class the
#    training split lacks, labels beyond the outputs, no class folders, another shape;
#    images in sub-folders (as ImageFolder walks them), a format only torchvision reads;
#  - CSV tables (made here): names as classes, learnt; 1 and 2 threads, gzip and YAML give the
#    same bits; --eval alone, --val, --predict with and without the label column, class
#    numbers; a label beyond the outputs, another input size, augment, a test table that
#    cannot be named or is missing, an unknown label column, a missing value, a non-number,
#    an unknown test class: one error naming file, line and column;
#  - bad input: a crop beyond the padded image or not the net's input, a file that is not
#    whole records, a label beyond the net's outputs, coarse
#    labels of CIFAR-10, a net whose input is not 3x32x32, normalize values that are neither
#    one nor one per channel, a directory without CIFAR files: exit 1, one error line naming
#    the file (and record), no sanitizer report.
# Ends with "data: N passed, N failed"; exit 1 if any failed.
set -u
abs() { (cd "$(dirname "$1")" && echo "$(pwd)/$(basename "$1")"); }
NETRUN=$(abs "$1") ROOT=$(abs "$2") IMGMAKE=$(abs "$3") NETC=$(abs "$4")
DATA=$ROOT/data/mnist-mini
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
. "$ROOT/tests/runtime/lib.sh"

# cifar_file FILE N LABEL_BYTES [M]: N records; record i of class k = i % 10 has channel values
# k*25, 255 - k*25 and (k*50) % 256 (CIFAR-100's labels: coarse k*2, fine k*10; CIFAR-10's
# k % M)
oct() { printf '\\%03o' $(($1 & 255)); }
cifar_file() {
    local i k
    for ((i = 0; i < $2; i++)); do
        k=$((i % 10))
        if [ "$3" = 1 ]; then printf "$(oct $((k % ${4:-10})))"; else printf "$(oct $((k * 2)))$(oct $((k * 10)))"; fi
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
# (weights trained with that share: others would have seen the held-out images)
run_ok c10v c10.net --train --val 0.2 --steps 2 --threads 2 --no-record --save c10v.st &&
    run_ok c10val c10.net --load c10v.st --eval --eval-on val --val 0.2 --threads 2 &&
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
# nets/resnet_cifar.net, the README's CIFAR example, as it is: every setting it has (augment,
# normalize, SGD with Nesterov, cosine, val, early_stop) on the CIFAR files made here
run_ok rcifar "$ROOT/nets/resnet_cifar.net" --train --data c10 --steps 3 --batch 16 --threads 2 --no-record --save rc.st &&
    grep -q "of 270 images" rcifar.out && grep -q "stopping after step 3" rcifar.out &&
    ok "nets/resnet_cifar.net trains on CIFAR-10 files (3 steps; 30 of 300 held out)" || bad "resnet_cifar" "$(cat rcifar.out)"
# CIFAR-100's label not taken is checked too: a coarse byte of 20 under fine labels (and a
# fine byte of 100 under coarse ones) means the file is not CIFAR-100
mkdir c100bad && cp c100/test.bin c100bad/test.bin
{ head -c 3074 c100/train.bin; printf '\024\003'; tail -c +3077 c100/train.bin; } >c100bad/train.bin
expect cifar100-other-label 1 'c100bad/train.bin;record 1 has label 20;coarse labels go from 0 to 19' \
    c100.net --train --data c100bad
sed 's/input 3x32x32/input 3x28x28/; s/  seed 1/  seed 1\n  augment 28 flip=true/' c10.net >crop28.net
expect crop28-test-not-cropped 1 'c10/test_batch.bin;3x32x32;3x28x28' crop28.net --train
# and the validation images, held out of the training images, are evaluated whole too: refused
# before the test images are looked at (they were written whole into the crop's buffer: a
# heap overflow when the test set fitted)
expect crop28-val-not-cropped 1 'data_batch_1..5.bin;3x32x32;3x28x28' crop28.net --train --val 0.2 &&
    grep -q 'note: the validation set (val 0.2) is held out of those images and evaluated whole' crop28-val-not-cropped.err &&
    ok "... saying the validation set is evaluated whole" || bad "no note on the validation set" "$(cat crop28-val-not-cropped.err)"

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
# the confusion matrix of a folder's classes names them beside their rows' numbers
run_ok foldercm f.net --load f.st --eval --confusion fcm.svg &&
    [ "$(grep -c '>cls[0-2] [0-2]</text>' fcm.svg)" = 3 ] &&
    ok "--confusion of a folder's classes: each row named (cls0 0, cls1 1, cls2 2)" ||
    bad "--confusion names" "$(grep -o "text-anchor='end'[^<]*<" fcm.svg)"
run_ok folder1 f.net --train --threads 1 --no-record --save f1.st && cmp -s f.st f1.st &&
    ok "image folders: 1 and 2 threads decode and train to the same bits" || bad "image folders: threads differ"
mkdir -p gray/train/a gray/train/b gray/test/a
for i in 1 2; do "$IMGMAKE" gray/train/a/$i.png 8 8 1 20; "$IMGMAKE" gray/train/b/$i.jpg 8 8 1 220; done
"$IMGMAKE" gray/test/a/1.png 8 8 1 20
sed 's/input 3x12x16/input 1x8x8/; s/imgs/gray/; s/Linear 3/Linear 2/' f.net >g.net
run_ok gray g.net --train --threads 2 --no-record --save g.st && grep -q "of 4 images" gray.out &&
    ok "gray images are 1 channel; a test split without every class" || bad "gray folder" "$(cat gray.out)"
# torchvision's loader makes every image RGB: a gray image among colour ones, or a gray
# folder for a colour net, is R = G = B; each trains to the bits of the same set written as
# colour PNGs of (v, v, v). A PNG named .jpg is read as the PNG it is.
mkdir -p mixg/train/a mixg/train/b mixg/test/a mixc/train/a mixc/train/b mixc/test/a
"$IMGMAKE" mixg/train/a/1.png 8 8 1 20 && "$IMGMAKE" mixc/train/a/1.png 8 8 3 20,20,20
for d in mixg mixc; do
    "$IMGMAKE" $d/train/a/2.png 8 8 3 30,60,90 && "$IMGMAKE" $d/train/b/1.png 8 8 3 200,10,50
    "$IMGMAKE" $d/train/b/2.png 8 8 3 220,30,40 && "$IMGMAKE" $d/test/a/1.png 8 8 3 25,50,80
done
sed 's/input 3x12x16/input 3x8x8/; s/imgs/mixg/; s/Linear 3/Linear 2/' f.net >mixg.net
sed 's/mixg/mixc/' mixg.net >mixc.net
run_ok mixg mixg.net --train --threads 2 --no-record --save mixg.st && run_ok mixc mixc.net --train --threads 2 --no-record --save mixc.st &&
    cmp -s mixg.st mixc.st && ok "a gray image among colour ones: R = G = B, as ImageFolder" || bad "mixed gray and colour" "$(cat mixg.err)"
# a tRNS chunk (a colour key, or palette entries marked transparent) changes no sample, as
# PIL's convert('RGB') drops it: the same bits as the set without one
cp -r mixc trns && "$IMGMAKE" trns/train/a/2.png 8 8 3 30,60,90 trns &&
    "$IMGMAKE" trns/train/b/1.png 8 8 3 200,10,50 palette && "$IMGMAKE" trns/train/a/1.png 8 8 3 20,20,20 trns
sed 's/mixc/trns/' mixc.net >trns.net
run_ok trns trns.net --train --threads 2 --no-record --save trns.st && cmp -s trns.st mixc.st &&
    ok "PNGs with a tRNS chunk (colour key, palette) read as their samples" || bad "tRNS PNGs" "$(cat trns.err)"
cp -r gray grayt && "$IMGMAKE" grayt/train/a/1.png 8 8 1 20 trns
sed 's/"gray"/"grayt"/' g.net >grayt.net
run_ok grayt grayt.net --train --threads 2 --no-record --save grayt.st && cmp -s grayt.st g.st &&
    ok "a gray PNG with a tRNS chunk reads as its samples" || bad "gray tRNS PNG" "$(cat grayt.err)"
# a colour image in a gray net's folder: named (ImageFolder would make every image RGB)
cp -r gray graym && "$IMGMAKE" graym/train/b/3.png 8 8 3 200,10,50
sed 's/"gray"/"graym"/' g.net >graym.net
expect folder-colour-in-gray 1 'graym/train/b/3.png: a colour image;network takes 1 channel' graym.net --train
mkdir -p grayc/train/a grayc/train/b grayc/test/a
for i in 1 2; do "$IMGMAKE" grayc/train/a/$i.png 8 8 3 20,20,20; "$IMGMAKE" grayc/train/b/$i.png 8 8 3 220,220,220; done
"$IMGMAKE" grayc/test/a/1.png 8 8 3 20,20,20
mkdir -p grayp/train/a grayp/train/b grayp/test/a
for i in 1 2; do "$IMGMAKE" grayp/train/a/$i.png 8 8 1 20; "$IMGMAKE" grayp/train/b/$i.png 8 8 1 220; done
"$IMGMAKE" grayp/test/a/1.png 8 8 1 20 && mv grayp/train/b/2.png grayp/train/b/2.jpg
sed 's/input 3x12x16/input 3x8x8/; s/imgs/grayp/; s/Linear 3/Linear 2/' f.net >gray3.net
sed 's/grayp/grayc/' gray3.net >grayc.net
run_ok gray3 gray3.net --train --threads 2 --no-record --save gray3.st && run_ok grayc grayc.net --train --threads 2 --no-record --save grayc.st &&
    cmp -s gray3.st grayc.st && ok "a gray folder for a colour net: R = G = B; a PNG named .jpg read as PNG" || bad "gray folder into 3 channels" "$(cat gray3.err)"
# a broken link where an image should be, and an empty test class folder: errors, as in ImageFolder
cp -r grayp brk && ln -s nowhere.png brk/train/a/3.png
expect folder-broken-link 1 'brk/train/a/3.png: cannot read: no such file' gray3.net --train --data brk
# a FIFO named as an image (ImageFolder would fail on it) is an error, not a silent gap;
# folders linking twice to the next, 2^20 of them to walk, stop at the folder limit at once
cp -r grayp fifo && mkfifo fifo/train/a/3.png
expect folder-fifo 1 'fifo/train/a/3.png: not a regular file' gray3.net --train --data fifo
cp -r grayp farm && mkdir -p farm/dirs/d20 && for ((i = 19; i >= 0; i--)); do
    mkdir -p farm/dirs/d$i && ln -s ../d$((i + 1)) farm/dirs/d$i/l0 && ln -s ../d$((i + 1)) farm/dirs/d$i/l1
done && ln -s ../../dirs/d0 farm/train/a/sub
expect folder-link-farm 1 'farm/train/a: more than 100000 folders below it' gray3.net --train --data farm
cp -r grayp emptest && mkdir emptest/test/b
expect folder-empty-test-class 1 'emptest/test/b: an empty class folder' gray3.net --train --data emptest
# resize: images of three sizes (PNG and JPEG) made 12x16 (Resize((12, 16))), learnt
for split in train test; do
    for k in 0 1 2; do
        mkdir -p sizes/$split/cls$k
        for i in 1 2 3; do
            ext=png && [ $i = 2 ] && ext=jpg
            "$IMGMAKE" sizes/$split/cls$k/$i.$ext $((8 + 8 * i)) $((6 + 5 * i)) 3 "$((k * 80)),$((200 - k * 60)),$((k * 30 + i))+"
        done
    done
done
sed 's/"imgs"/"sizes" resize=[12, 16]/; s/epochs 8/epochs 12/' f.net >rs.net
if run_ok resize rs.net --train --threads 2 --no-record --save rs.st; then
    [ "$(acc resize.out)" = 1.0000 ] && grep -q "of 9 images" resize.out &&
        ok "resize=[12, 16]: 16x11, 24x16 and 32x21 images made the net's 12x16, learnt, test accuracy $(acc resize.out)" ||
        bad "resize" "$(cat resize.out)"
fi
run_ok resize1 rs.net --train --threads 1 --no-record --save rs1.st && cmp -s rs.st rs1.st &&
    ok "resize: 1 and 2 threads, the same bits" || bad "resize: threads differ"
# --predict takes a PNG or a JPEG as the folder reads it (decoded, resized, normalised)
predok=0 npred=0
for f in sizes/test/cls*/*; do
    k=${f#sizes/test/cls} && k=${k%%/*} && npred=$((npred + 1))
    "$NETRUN" rs.net --load rs.st --predict "$f" >pred.out 2>pred.err && no_sanitizer pred.err &&
        [ "$(cut -d' ' -f1 pred.out)" = "$k" ] && [ "$(cut -d' ' -f3 pred.out)" = "cls$k" ] &&
        predok=$((predok + 1))
done
[ $predok = $npred ] && [ $npred -ge 6 ] &&
    ok "--predict a PNG or a JPEG, resized as the folder's images: $predok test images' classes, named" ||
    bad "--predict pictures: $predok of $npred" "$(cat pred.out pred.err)"
expect predict-colour-into-gray 1 'imgs/train/cls0/1.png;a colour image;takes 1 channel' g.net --load g.st --predict imgs/train/cls0/1.png
cp imgs/train/cls0/1.png misnamed.pgm
expect predict-png-named-pgm 1 'misnamed.pgm;bad magic;looks like a PNG image .name it .png.' g.net --load g.st --predict misnamed.pgm
# a flat net trained on colour images takes a gray picture as R = G = B, as its folder did
sed 's/input 3x8x8/input 192/' mixg.net >mixflat.net
run_ok mixflat mixflat.net --train --threads 2 --no-record --save mixflat.st &&
    run_ok predflatg mixflat.net --load mixflat.st --predict mixg/train/a/1.png --logits flatg.csv &&
    run_ok predflatc mixflat.net --load mixflat.st --predict mixc/train/a/1.png --logits flatc.csv &&
    cmp -s flatg.csv flatc.csv && ok "--predict: a gray picture into a flat colour net, R = G = B" ||
    bad "--predict gray into a flat colour net" "$(cat predflatg.err flatg.csv flatc.csv)"
sed 's/"imgs"/"sizes"/' f.net >nors.net
# the first image sets the set's memory: one that is not the net's size is refused before it
# (a 4096x4096 first image and 5,000 small ones asked for 80 GB)
expect folder-sizes-without-resize 1 'sizes/train/cls0/1.png;11x16 pixels;takes 12x16' nors.net --train
# a resize the net cannot take is refused before any image is decoded (the file names none)
sed 's/"imgs"/"sizes" resize=[4096, 4096]/' f.net >rsbig.net
expect folder-resize-not-input 1 'rsbig.net:[0-9]+:[0-9]+: error;resize=.4096, 4096. makes the images 4096x4096;takes input 3x12x16' rsbig.net --train
grep -q 'hint: resize=\[12, 16\]' folder-resize-not-input.err && ok "a resize the net cannot take: the hint gives the net's" ||
    bad "resize hint" "$(cat folder-resize-not-input.err)"

# class names as Python sorts them (torchvision's order): an undecodable byte is a surrogate,
# U+DC80 + byte, after every code point below U+D800 (a byte order would put 0x80 first)
for split in train test; do
    for name in "$(printf '\200')" "$(printf '\344\270\255')" a; do
        mkdir -p "u8/$split/$name" && "$IMGMAKE" "u8/$split/$name/1.png" 16 12 3 10,20,30
    done
done
sed 's/"imgs"/"u8"/' f.net >u8.net
run_ok folder-python-order u8.net --train --steps 1 --no-record --save u8.st &&
    grep -aq "^classes of u8: 0 a, 1 $(printf '\344\270\255'), 2 $(printf '\200')\$" folder-python-order.out &&
    ok "class folders in Python's order: a, then U+4E2D, then the byte 0x80" ||
    bad "class folder order" "$(grep -a classes folder-python-order.out | od -c)"
# a class name's control characters are shown escaped (an escape sequence coloured the
# terminal, a line feed split the line), and a long one whole (cut at 60 bytes, two
# names that differ at their end read alike)
long=Laysan_albatross_Phoebastria_immutabilis_photographed_at_Midway_Atoll_adult
for split in train test; do
    for name in "$(printf 'e\033[31m')" "$(printf 'f\ng')" "$long"; do
        mkdir -p "ctl/$split/$name" && "$IMGMAKE" "ctl/$split/$name/1.png" 16 12 3 10,20,30
    done
done
sed 's/"imgs"/"ctl"/' f.net >ctl.net
run_ok folder-control-names ctl.net --train --steps 1 --no-record &&
    grep -aq "^classes of ctl: 0 $long, 1 e\\\\x1b\\[31m, 2 f\\\\x0ag\$" folder-control-names.out &&
    ok "class names: control characters shown escaped, a long one whole" ||
    bad "class names escaped" "$(grep -a -A1 classes folder-control-names.out | od -c | head)"

echo "== bad input (image folders)"
cp -r imgs bad1 && head -c 60 imgs/train/cls1/3.png >bad1/train/cls1/3.png
sed 's/"imgs"/"bad1"/' f.net >b1.net
expect folder-corrupt-png 1 'bad1/train/cls1/3.png;not a PNG' b1.net --train
# a tEXt chunk with a wrong CRC after IHDR (byte 33): damage, as PIL reads it
cp -r imgs bad1t && { head -c 33 imgs/train/cls1/3.png; printf '\000\000\000\003tEXta\000b\336\255\276\357'; tail -c +34 imgs/train/cls1/3.png; } >bad1t/train/cls1/3.png
sed 's/"imgs"/"bad1t"/' f.net >b1t.net
expect folder-png-chunk-crc 1 'bad1t/train/cls1/3.png;not a PNG;CRC' b1t.net --train
cp -r imgs badcmyk && "$IMGMAKE" badcmyk/train/cls2/2.jpg 16 12 4 10,20,30,40
sed 's/"imgs"/"badcmyk"/' f.net >bcmyk.net
expect folder-cmyk-jpeg 1 'badcmyk/train/cls2/2.jpg;a CMYK JPEG;convert it to RGB' bcmyk.net --train
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
# a palette index past the palette: an invalid file (libpng's expansion made it black)
cp -r imgs bad7 && "$IMGMAKE" bad7/train/cls0/6.png 16 12 3 10,20,30+ badindex
sed 's/"imgs"/"bad7"/' f.net >b7.net
expect folder-palette-index 1 'bad7/train/cls0/6.png;invalid PNG;palette index' b7.net --train
# a progressive JPEG of 704 scans (a small file of thousands took minutes)
cp -r imgs bad8 && "$IMGMAKE" bad8/train/cls0/6.jpg 16 12 1 10+ scans
sed 's/"imgs"/"bad8"/' f.net >b8.net
expect folder-jpeg-scans 1 'bad8/train/cls0/6.jpg;more than 500 scans' b8.net --train
cp -r imgs bad5 && rm bad5/train/cls1/*
sed 's/"imgs"/"bad5"/' f.net >b5.net
expect folder-empty-class 1 'bad5/train/cls1;empty class folder' b5.net --train
cp -r imgs bad6 && mkdir bad6/test/cls9 && "$IMGMAKE" bad6/test/cls9/1.png 16 12 3 1
sed 's/"imgs"/"bad6"/' f.net >b6.net
expect folder-unknown-test-class 1 'bad6/test/cls9;training split does not have' b6.net --train
sed 's/Linear 3/Linear 2/' f.net >two.net
expect folder-labels-beyond-outputs 1 'imgs/train: 3 classes \(labels 0 to 2\), but the network has 2 outputs;label 2' two.net --train
mkdir -p noclass/train
sed 's/"imgs"/"noclass"/' f.net >nc.net
expect folder-no-classes 1 'noclass/train;no class folders' nc.net --train
sed 's/input 3x12x16/input 3x16x12/' f.net >rot.net
expect folder-into-other-shape 1 'imgs/train/cls0/1.png;12x16 pixels;takes 16x12' rot.net --train
# more than 256 classes is refused by --eval too (their labels were cut to a byte: class 261
# was scored as class 5)
mkdir -p many/test/c000 && "$IMGMAKE" many/test/c000/1.png 16 12 3 1 &&
    for k in $(seq -f 'c%03g' 0 256); do mkdir -p many/train/$k; done
sed 's/"imgs"/"many"/; s/Linear 3/Linear 257/' f.net >many.net
expect folder-eval-257-classes 1 'many/train: 257 class folders;at most 256' many.net --eval
# images in folders below a class folder count, as ImageFolder's os.walk finds them; hidden
# folders, other files and a link back up (a loop) do not
cp -r imgs nest && mkdir -p nest/train/cls0/sub/deeper nest/train/cls2/.ipynb_checkpoints &&
    mv nest/train/cls0/1.png nest/train/cls0/sub/ && mv nest/train/cls0/2.jpg nest/train/cls0/sub/deeper/ &&
    cp nest/train/cls2/1.png nest/train/cls2/.ipynb_checkpoints/ && echo notes >nest/train/cls1/notes.txt &&
    ln -s . nest/train/cls1/self && ln -s ../.. nest/train/cls0/sub/deeper/up
sed 's/"imgs"/"nest"/' f.net >nest.net
run_ok folder-nested nest.net --train --threads 2 --no-record --save nest.st &&
    grep -q "of 24 images" folder-nested.out &&
    ok "images in sub-folders count; hidden folders, other files and link loops do not" ||
    bad "nested image folders" "$(cat folder-nested.out folder-nested.err)"
cp -r imgs bad7 && cp bad7/train/cls2/1.png bad7/train/cls2/x.BMP
sed 's/"imgs"/"bad7"/' f.net >b7.net
expect folder-foreign-format 1 "bad7/train/cls2/x.BMP;ImageFolder would read;only .png, .jpg and .jpeg" b7.net --train
cp -r imgs bad8 && mkdir -p "bad8/train/cls1/$(printf 'd/%.0s' $(seq 33))"
sed 's/"imgs"/"bad8"/' f.net >b8.net
expect folder-too-deep 1 "bad8/train/cls1/d/d;deeper than 32" b8.net --train

echo "== bad input (CIFAR)"
# a crop of the net's input size, larger than the padded images: told by the data
sed 's/input 3x32x32/input 3x48x48/; s/  seed 1/  seed 1\n  augment 48 4/' c10.net >crop48.net
expect crop-beyond-padded 1 'c10/data_batch_1..5.bin;32x32 padded by 4;crop of 48' crop48.net --train
# a crop that is not the net's input: told by the file, at the setting
sed 's/  seed 1/  seed 1\n  augment 28/' c10.net >crop28b.net
expect crop-not-the-input 1 'crop28b.net:14:3: error;augment crops 28x28 squares;takes input 3x32x32' crop28b.net --train
grep -q 'hint: the crop is the input.s size: augment 32$' crop-not-the-input.err &&
    ok "crop-not-the-input: the hint gives the input's size" || bad "crop hint" "$(cat crop-not-the-input.err)"
mkdir cut && cp c10/* cut/ && head -c 100000 c10/data_batch_3.bin >cut/data_batch_3.bin
net cut 'cifar "cut"' 10
expect cifar-not-records 1 'cut/data_batch_3.bin;100000 bytes;3073-byte records' cut.net --train
net few 'cifar "c10"' 5
expect cifar-label-beyond-outputs 1 'c10/data_batch_1..5.bin;label [5-9];5 outputs' few.net --train
# ... named in its own file: labels 0 to 4 but in data_batch_3, whose record 5 is class 5
mkdir c10b && for b in 1 2 4 5; do cifar_file c10b/data_batch_$b.bin 60 1 5; done &&
    cp c10/data_batch_3.bin c10/test_batch.bin c10b/
net fewb 'cifar "c10b"' 5
expect cifar-label-beyond-outputs-file 1 'c10b/data_batch_1..5.bin;label 5 of record 5 of c10b/data_batch_3.bin' fewb.net --train
net coarse10 'cifar "c10" labels=coarse' 20
expect cifar10-coarse 1 'c10;CIFAR-10 has no coarse labels' coarse10.net --train
sed 's/input 3x32x32/input 1x28x28/; /normalize/d' c10.net >gray.net
expect cifar-into-1x28x28 1 'c10/data_batch_1..5.bin;3x32x32;1x28x28' gray.net --train
net n2 'cifar "c10"' 10 '[0.5, 0.5] [0.25, 0.25]'
expect normalize-two-of-three 1 'n2.net:9:3: error;normalize gives 2 values;takes 3 channels' n2.net --train
mkdir nocifar
net none 'cifar "nocifar"' 10
expect cifar-no-files 1 'nocifar;no CIFAR files' none.net --train
# --data changes the directory, not the kind of data set
expect data-flag-keeps-cifar 1 'mnist-mini;no CIFAR files' c10.net --train --data "$DATA"

echo "== CSV tables"
# table FILE N SEED: a header, then N records of 4 features around a mean set by the class
# (gamma, alpha, beta in turn), noise from an LCG; the label column third
table() {
    awk -v n="$2" -v s="$3" 'BEGIN {
        split("gamma alpha beta", name, " ")
        print "f1,f2,species,f3,f4"
        for (i = 0; i < n; i++) {
            k = i % 3
            for (j = 0; j < 4; j++) { s = (s * 1103515245 + 12345) % 2147483648; e[j] = s / 2147483648 - 0.5 }
            printf "%.4f,%.4f,%s,%.4f,%.4f\n", k * 2 + e[0], -k + e[1], name[k + 1], (k % 2) * 3 + e[2], 1 + e[3]
        }
    }' >"$1"
}
table iris_train.csv 90 1
table iris_test.csv 30 2
cat >t.net <<'EOF'
network t (input 4) {
  Linear 16
  ReLU
  fc: Linear 3
}
train {
  data csv "iris_train.csv" label="species"
  optimizer Adam lr=0.02
  batch 10
  epochs 12
  seed 5
}
EOF
if run_ok csv t.net --train --threads 2 --no-record --save t.st; then
    grep -q "^classes of iris_train.csv: 0 alpha, 1 beta, 2 gamma$" csv.out && [ "$(acc csv.out)" = 1.0000 ] &&
        grep -q "of 90 " csv.out && grep -q "(30 " csv.out &&
        ok "a table: names as classes in byte order, 90 records learnt, iris_test.csv found, test accuracy $(acc csv.out)" ||
        bad "CSV table" "$(cat csv.out)"
fi
# a table has no channels: one normalize value for all its features (the message said
# "images of 1 channel" for a 3-channel net)
sed 's/  seed 5/  seed 5\n  normalize [0.1, 0.2, 0.3] [1, 2, 4]/' t.net >tnorm.net
expect csvnorm 1 "a table's features take one normalize mean and std for all;gives 3 values" \
    tnorm.net --train --steps 1 --no-record
run_ok csv1 t.net --train --threads 1 --no-record --save t1.st && cmp -s t.st t1.st &&
    ok "a table: 1 and 2 threads, the same bits" || bad "a table: threads differ"
gzip -c iris_train.csv >gz_train.csv.gz && gzip -c iris_test.csv >gz_test.csv.gz
sed 's/"iris_train.csv"/"gz_train.csv.gz"/' t.net >tgz.net
run_ok csvgz tgz.net --train --threads 2 --no-record --save tgz.st && cmp -s t.st tgz.st &&
    ok "a gzip table (gz_test.csv.gz found) trains to the same bits" || bad "gzip table differs" "$(cat csvgz.out)"
# bytes after a gzip stream (zlib's gzread passes over them) are refused, table and IDX
{ cat gz_train.csv.gz; printf JUNK; } >junk_train.csv.gz && cp gz_test.csv.gz junk_test.csv.gz
sed 's/"iris_train.csv"/"junk_train.csv.gz"/' t.net >tjunk.net
expect csv-gzip-junk 1 'junk_train.csv.gz: data after the gzip stream' tjunk.net --train --no-record
mkdir -p idxjunk && cp "$ROOT"/data/mnist-mini/*-ubyte.gz idxjunk/ &&
    printf '\037junk' >>idxjunk/train-labels-idx1-ubyte.gz
expect idx-gzip-junk 1 'train-labels-idx1-ubyte.gz: data after the gzip stream at byte' \
    "$ROOT/nets/mnist.net" --train --no-record --data idxjunk --steps 1
# but several members (cat a.gz b.gz, bgzip) and zero padding are a whole gzip file, as for
# gzip and Python: the same bits as one member
{ gzip -dc gz_train.csv.gz | head -c 700 | gzip; gzip -dc gz_train.csv.gz | tail -c +701 | gzip
  head -c 100 /dev/zero; } >multi_train.csv.gz && cp gz_test.csv.gz multi_test.csv.gz
sed 's/"iris_train.csv"/"multi_train.csv.gz"/' t.net >tmulti.net
run_ok csvmulti tmulti.net --train --threads 2 --no-record --save tmulti.st && cmp -s t.st tmulti.st &&
    ok "a gzip table of two members and zero padding trains to the same bits" ||
    bad "a gzip table of two members" "$(cat csvmulti.err)"
# a member after zero padding is past where gzread stops (zcat too): refused, not half read;
# and so is a lone 0x1f after the last member (Python: not a gzipped file)
{ gzip -dc gz_train.csv.gz | head -c 700 | gzip; head -c 4 /dev/zero
  gzip -dc gz_train.csv.gz | tail -c +701 | gzip; } >padm_train.csv.gz && cp gz_test.csv.gz padm_test.csv.gz
sed 's/"iris_train.csv"/"padm_train.csv.gz"/' t.net >tpadm.net
expect csv-gzip-member-after-padding 1 'padm_train.csv.gz: data after the gzip stream at byte' tpadm.net --train --no-record
{ cat gz_train.csv.gz; printf '\037'; } >lone_train.csv.gz && cp gz_test.csv.gz lone_test.csv.gz
sed 's/"iris_train.csv"/"lone_train.csv.gz"/' t.net >tlone.net
expect csv-gzip-lone-1f 1 'lone_train.csv.gz: data after the gzip stream at byte' tlone.net --train --no-record
mkdir -p idxmulti && cp "$ROOT"/data/mnist-mini/*-ubyte.gz idxmulti/ &&
    { gzip -dc "$ROOT"/data/mnist-mini/train-labels-idx1-ubyte.gz | head -c 3000 | gzip
      gzip -dc "$ROOT"/data/mnist-mini/train-labels-idx1-ubyte.gz | tail -c +3001 | gzip; } \
        >idxmulti/train-labels-idx1-ubyte.gz
run_ok idxmulti1 "$ROOT/nets/mnist.net" --train --no-record --data idxmulti --steps 2 --save m1.st &&
    run_ok idxmulti0 "$ROOT/nets/mnist.net" --train --no-record --data "$ROOT/data/mnist-mini" \
        --steps 2 --save m0.st &&
    cmp -s m0.st m1.st && ok "IDX labels in two gzip members: the same bits" ||
    bad "IDX labels in two gzip members" "$(cat idxmulti1.err)"
"$NETC" --to yaml t.net >t.yaml 2>/dev/null &&
    run_ok csvyaml t.yaml --train --threads 2 --no-record --save tyaml.st && cmp -s t.st tyaml.st &&
    ok "the same net in YAML ($(grep -o 'data: .*' t.yaml)): the same bits" || bad "YAML table differs"
run_ok csvev t.net --load t.st --eval && grep -q "^test: .*accuracy 1.0000  (30 " csvev.out &&
    grep -q "^classes of iris_train.csv: 0 alpha" csvev.out &&
    ok "--eval alone: the classes come from the training table" || bad "--eval on a table" "$(cat csvev.out csvev.err)"
run_ok csvval t.net --train --val 0.2 --steps 3 --no-record --save tv.st &&
    run_ok csvvalev t.net --load tv.st --eval --eval-on val --val 0.2 && grep -q "^val: .*(18 " csvvalev.out &&
    ok "--val 0.2 of a table: 18 records held out" || bad "--val on a table" "$(cat csvvalev.out csvvalev.err)"
cut -d, -f1,2,4,5 iris_test.csv >unlabelled.csv
run_ok csvpred t.net --load t.st --predict unlabelled.csv &&
    [ "$(awk '{ printf "%s", $2 }' csvpred.out)" = "$(printf '201%.0s' $(seq 10))" ] &&
    [ "$(awk '{ printf "%s ", $3 }' csvpred.out)" = "$(printf 'gamma alpha beta %.0s' $(seq 10))" ] &&
    ok "--predict a table without labels: gamma alpha beta in turn, by number and name" || bad "--predict a table" "$(head -5 csvpred.out)"
run_ok csvpred2 t.net --load t.st --predict iris_test.csv && cmp -s csvpred.out csvpred2.out &&
    ok "--predict skips the label column" || bad "--predict with the label column"
# ... unread: empty, unknown names, numbers out of range (they were refused)
awk -F, 'BEGIN { OFS = "," } NR > 1 { $3 = NR % 3 == 0 ? "" : NR % 3 == 1 ? "omega" : "300" } { print }' iris_test.csv >oddlabels.csv
run_ok csvpred3 t.net --load t.st --predict oddlabels.csv && cmp -s csvpred.out csvpred3.out &&
    ok "--predict reads over the label column's cells: empty, unknown or out of range" ||
    bad "--predict with odd labels" "$(head -3 csvpred3.err)"
# class numbers instead of names
numbers() { awk -F, 'NR == 1 { print "label,a,b,c,d"; next } { print ($3 == "alpha" ? 0 : $3 == "beta" ? 1 : 2) "," $1 "," $2 "," $4 "," $5 }' "$1" >"$2"; }
numbers iris_train.csv num_train.csv
numbers iris_test.csv num_test.csv
sed 's/data csv .*/data csv "num_train.csv"/' t.net >num.net
run_ok csvnum num.net --train --no-record --save num.st && ! grep -q "^classes" csvnum.out && [ "$(acc csvnum.out)" = 1.0000 ] &&
    ok "class numbers as labels: learnt, no names printed" || bad "numeric labels" "$(cat csvnum.out)"
# MNIST's pixels as a table (label column first, as Kaggle's mnist_train.csv) with normalize
# 0 255 are the IDX files' x/255: the same net trains to the same bits from either
make_data mn 300 100
idx_csv() { # IMAGES LABELS OUT
    { printf 'label'; for ((p = 0; p < 784; p++)); do printf ',p%d' $p; done; echo
      paste -d, <(tail -c +9 "$2" | od -An -v -tu1 -w1 | tr -d ' ') \
          <(tail -c +17 "$1" | od -An -v -tu1 -w784 | sed -E 's/^ +//; s/ +/,/g'); } >"$3"
}
idx_csv mn/train-images-idx3-ubyte mn/train-labels-idx1-ubyte mn_train.csv
idx_csv mn/t10k-images-idx3-ubyte mn/t10k-labels-idx1-ubyte mn_test.csv
printf 'network m (input 784) {\n  Linear 32\n  ReLU\n  fc: Linear 10\n}\ntrain {\n  data idx "mn"\n  batch 20\n  epochs 2\n  seed 4\n}\n' >mi.net
sed 's/data idx "mn"/data csv "mn_train.csv"\n  normalize 0 255/' mi.net >mc.net
run_ok mnidx mi.net --train --no-record --save mi.st && run_ok mncsv mc.net --train --no-record --save mc.st &&
    cmp -s mi.st mc.st && [ "$(acc mnidx.out)" = "$(acc mncsv.out)" ] &&
    ok "MNIST as a 785-column table trains to the IDX files' bits (test accuracy $(acc mncsv.out) both)" ||
    bad "MNIST table and IDX differ" "$(tail -2 mnidx.out mncsv.out)"
# a flat net takes any image of its size, but a data set's two splits must be of one shape:
# the test images as 784x1 rows are an error naming both files
mkdir -p mnrow && cp mn/train-* mnrow/ && cp mn/t10k-labels-idx1-ubyte mnrow/ &&
    { be32 2051; be32 100; be32 784; be32 1; tail -c +17 mn/t10k-images-idx3-ubyte; } >mnrow/t10k-images-idx3-ubyte
sed 's/data idx "mn"/data idx "mnrow"/' mi.net >mirow.net
expect splits-differ 1 'mnrow/t10k-images-idx3-ubyte;1x784x1;training images 1x28x28;mnrow/train-images' mirow.net --train --no-record
# bad tables and nets, each through netrun
sed 's/fc: Linear 3/fc: Linear 2/' t.net >two2.net
expect csv-label-beyond-outputs 1 "iris_train.csv:2: column 3 .'species'.: class 2 is beyond the network's 2 outputs" two2.net --train
sed 's/input 4/input 5/' t.net >in5.net
expect csv-into-other-input 1 "iris_train.csv: records of 4 features;takes input 5;write 'input 4'" in5.net --train
# the test table's features are the training table's, by name and in order (a model takes
# them by position); where the label column is does not matter
awk -F, -v OFS=, '{ print $2, $1, $3, $4, $5 }' iris_test.csv >swapped_test.csv
sed 's/label="species"/label="species" test="swapped_test.csv"/' t.net >swapped.net
expect csv-test-columns-swapped 1 "swapped_test.csv:1: column 1 is 'f2' where the training table's feature 1 is 'f1'" swapped.net --train
expect csv-test-columns-swapped-eval 1 "swapped_test.csv:1: column 1 is 'f2'" swapped.net --load t.st --eval
# so are a --predict table's, when the train section names a training table that reads
expect csv-predict-columns-swapped 1 "swapped_test.csv:1: column 1 is 'f2' where the training table's feature 1 is 'f1'" t.net --load t.st --predict swapped_test.csv
mkdir -p elsewhere && cp t.net elsewhere/ && (cd elsewhere && "$NETRUN" t.net --load ../t.st --predict ../swapped_test.csv >../noref.out 2>&1) &&
    ok "--predict without the training table at hand: the columns go unchecked" || bad "--predict without the training table" "$(cat noref.out)"
sed '1s/f4/f5/' iris_test.csv >renamed_test.csv
sed 's/label="species"/label="species" test="renamed_test.csv"/' t.net >renamed.net
expect csv-test-column-renamed 1 "renamed_test.csv:1: column 5 is 'f5' where the training table's feature 4 is 'f4'" renamed.net --load t.st --eval
cut -d, -f1-4 iris_test.csv >fewer_test.csv
sed 's/label="species"/label="species" test="fewer_test.csv"/' t.net >fewer.net
expect csv-test-fewer-columns 1 "fewer_test.csv:1: 3 feature columns; the training table has 4" fewer.net --load t.st --eval
awk -F, -v OFS=, '{ print $3, $1, $2, $4, $5 }' iris_test.csv >labelfirst_test.csv
sed 's/label="species"/label="species" test="labelfirst_test.csv"/' t.net >labelfirst.net
run_ok csv-test-label-first labelfirst.net --load t.st --eval && grep -q "^test: .*accuracy 1.0000  (30 " csv-test-label-first.out &&
    ok "a test table with the label column elsewhere: the features match by name and order" ||
    bad "label column moved in the test table" "$(cat csv-test-label-first.out csv-test-label-first.err)"
sed 's/  seed 5/  seed 5\n  augment 4/' t.net >augt.net
expect csv-augment 1 'iris_train.csv: a table has no images to crop' augt.net --train
# a loss on an image output: PyTorch's cross_entropy would score each pixel, so netrun says
# where the output comes from rather than flatten it quietly (training and evaluation)
printf 'network img (input 1x2x2) {\n  Conv2d 3 k1\n}\ntrain {\n  data csv "iris_train.csv" label="species"\n}\n' >imgout.net
expect loss-on-image-output 1 "imgout.net:2:3: error;output .Conv2d '0'. is 3x2x2, not a vector" imgout.net --train
expect eval-on-image-output 1 "imgout.net:2:3: error;output .Conv2d '0'. is 3x2x2, not a vector" imgout.net --eval
grep -q "hint: end the network with Flatten and a Linear" eval-on-image-output.err &&
    ok "image output: the hint says Flatten and a Linear" || bad "image output hint" "$(cat eval-on-image-output.err)"
# a Linear on an image maps its last dimension, as PyTorch's: with Flatten forgotten the
# output is an image, and the hint points at the Linear
printf 'network img (input 1x2x2) {\n  Conv2d 3 k1\n  fc: Linear 3\n  ReLU\n}\ntrain {\n  data csv "iris_train.csv" label="species"\n}\n' >linimg.net
expect linear-on-image-output 1 "linimg.net:4:3: error;output .ReLU '2'. is 3x2x3, not a vector" linimg.net --train
grep -q "linimg.net:3:7: hint: 'Linear' on 3x2x2 maps only its last dimension, as torch.nn.Linear does; add 'Flatten' before it" linear-on-image-output.err &&
    ok "Linear on an image output: the hint points at the Linear" || bad "Linear on an image hint" "$(cat linear-on-image-output.err)"
printf 'network pooled (input 1x2x2) {\n  Conv2d 3 k1\n  AdaptiveAvgPool2d 1\n}\ntrain {\n  data csv "iris_train.csv" label="species"\n}\n' >pooled.net
expect loss-on-pooled-output 1 "pooled.net:3:3: error;output .AdaptiveAvgPool2d '1'. is 3x1x1" pooled.net --train
grep -q "hint: end the network with Flatten: its 3 channels become the scores" loss-on-pooled-output.err &&
    ok "3x1x1 output: the hint says Flatten alone" || bad "pooled output hint" "$(cat loss-on-pooled-output.err)"
# --predict of an image output: no class to print, so an error naming --logits; with
# --logits, every output of every record, in C, H, W order: as the same net flattened writes
expect predict-image-output 1 "imgout.net:2:3: error;--predict prints each image's class;3x2x2" \
    imgout.net --predict iris_test.csv
grep -q "hint: add --logits FILE" predict-image-output.err &&
    ok "image output: --predict's hint names --logits" || bad "predict image output hint" "$(cat predict-image-output.err)"
printf 'network img (input 1x2x2) {\n  Conv2d 3 k1\n  Flatten\n}\ntrain {\n  data csv "iris_train.csv" label="species"\n}\n' >imgflat.net
if "$NETRUN" imgout.net --predict iris_test.csv --logits img.csv 2>img.err &&
    "$NETRUN" imgflat.net --predict iris_test.csv --logits flat.csv 2>>img.err &&
    [ "$(wc -l <img.csv)" = "$(($(wc -l <iris_test.csv) - 1))" ] &&
    [ "$(head -1 img.csv | tr ',' '\n' | wc -l)" = 12 ] && cmp -s img.csv flat.csv; then
    ok "--predict --logits of a 3x2x2 output: 12 values a record, as Flatten orders them"
else
    bad "--predict --logits of an image output" "$(head -3 img.err)" "$(head -2 img.csv flat.csv)"
fi
cp iris_train.csv mine.csv && sed 's/"iris_train.csv"/"mine.csv"/' t.net >mine.net
expect csv-no-test-name 1 "mine.csv: which table is the test split;test=" mine.net --train
sed 's/"mine.csv"/"mine.csv" test="iris_test.csv"/' mine.net >mine2.net
run_ok csvtest mine2.net --train --steps 2 --no-record --save m2.st && ok "test=\"FILE\" names the test table" || true
sed 's/label="species"/label="specie"/' t.net >lab.net
expect csv-unknown-column 1 "iris_train.csv:1: no column named 'specie';did you mean 'species'" lab.net --train
sed '5s/^[^,]*,/,/' iris_train.csv >hole_train.csv && cp iris_test.csv hole_test.csv
sed 's/"iris_train.csv"/"hole_train.csv"/' t.net >hole.net
expect csv-missing-value 1 "hole_train.csv:5: column 1 .'f1'.: a missing value" hole.net --train
sed '7s/,[^,]*$/,x1/' iris_train.csv >nan_train.csv && cp iris_test.csv nan_test.csv
sed 's/"iris_train.csv"/"nan_train.csv"/' t.net >nan.net
expect csv-not-a-number 1 "nan_train.csv:7: column 5 .'f4'.: 'x1' is not a number" nan.net --train
cp iris_train.csv cls_train.csv && sed '3s/alpha/alpah/' iris_test.csv >cls_test.csv
sed 's/"iris_train.csv"/"cls_train.csv"/' t.net >cls.net
expect csv-unknown-test-class 1 "cls_test.csv:3: column 3 .'species'.: 'alpah' is not one of the training table's 3 classes;did you mean 'alpha'" cls.net --train
cp iris_train.csv lone_train.csv
sed 's/"iris_train.csv"/"lone_train.csv"/' t.net >lone.net
expect csv-test-missing 1 "lone_test.csv: no such file: the test table, named after the training table" lone.net --train
grep -q 'hint: give it: data csv "lone_train.csv" test="FILE"' csv-test-missing.err && ok "... with a hint to name it" || bad "no hint" "$(cat csv-test-missing.err)"

echo "data: $passed passed, $failed failed"
[ $failed = 0 ]
