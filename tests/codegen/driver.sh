#!/bin/sh
# The generated program's prelude and --main driver as C on their own. Each compiler (cc,
# and clang when present) builds them with -std=c99 -Wall -Wextra -pedantic -Werror:
# prelude_test.c for each vector family, and the driver against a stub network
# (driver_stub.c: output k is input k, normalisation (x - 0.5) / 0.25) with a 1x4x3 image
# input, a 3x4x3 one and a flat one of 12 values. The driver then runs on small IDX and PGM
# files written here: the right classes, accuracy and probability, and one message and
# exit 1 for each file that does not fit the network. Last, the seed net with the example
# weights, generated with --main: its classes of mnist-mini's test images and of
# examples/*.pgm are netrun's; a net whose output is an image prints netrun's --logits rows.
#   driver.sh NETC NETRUN SOURCE_ROOT
set -u
netc=$1 netrun=$2 root=$3
here=$root/tests/codegen
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

bytes() { for b in "$@"; do printf "\\$(printf %03o "$b")"; done; }
be32() { bytes $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)); }
idx() { # FILE N ROWS COLS BYTE...: an IDX image file
  f=$1 n=$2 r=$3 c=$4; shift 4
  { bytes 0 0 8 3; be32 "$n"; be32 "$r"; be32 "$c"; bytes "$@"; } > "$f"
}
zeros() { i=0; while [ $i -lt "$1" ]; do printf '0 '; i=$((i + 1)); done; }

# expect WHAT STATUS PATTERN PROGRAM ARGS...: PROGRAM exits STATUS and its output (stdout
# then stderr, lines joined by spaces) matches the grep pattern PATTERN
expect() {
  what=$1 want=$2 pat=$3; shift 3
  "$@" > "$tmp/out" 2> "$tmp/err"; got=$?
  cat "$tmp/err" >> "$tmp/out"
  if [ "$got" = "$want" ] && tr '\n' ' ' < "$tmp/out" | grep -q -- "$pat"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $cc: $what: expected exit $want and '$pat', got exit $got:"; sed 's/^/    /' "$tmp/out"
  fi
}

# the files: images of 4 rows x 3 columns whose first three pixels pick the class
idx "$tmp/three.idx" 3 4 3 0 255 0 $(zeros 9) 0 0 255 $(zeros 9) 255 0 0 $(zeros 9)
{ bytes 0 0 8 1; be32 3; bytes 1 2 2; } > "$tmp/three.labels"
idx "$tmp/wide.idx" 1 3 4 $(zeros 12)                  # 3 rows x 4 columns
idx "$tmp/flat.idx" 1 2 6 0 0 255 $(zeros 9)           # 2 x 6: 12 values
idx "$tmp/big.idx" 1 5 3 $(zeros 15)
idx "$tmp/short.idx" 3 4 3 $(zeros 24)                 # 3 images, 2 there
idx "$tmp/long.idx" 2 4 3 $(zeros 36)                  # 2 images, 3 there
idx "$tmp/odd.idx" 2 4 3 $(zeros 25)                   # 2 images and a byte
idx "$tmp/empty.idx" 0 4 3
{ bytes 0 0 8 4; be32 1; be32 4; be32 3; bytes $(zeros 12); } > "$tmp/magic.idx"
{ bytes 0 0 8 2; be32 3; bytes 1 2 2; } > "$tmp/magic.labels"
{ bytes 0 0 8 1; be32 2; bytes 1 2; } > "$tmp/two.labels"
{ bytes 0 0 8 1; be32 3; bytes 1 5 2; } > "$tmp/five.labels"
{ bytes 0 0 8 1; be32 3; bytes 1 2; } > "$tmp/short.labels"
{ bytes 0 0 8 1; be32 3; bytes 1 2 0 1; } > "$tmp/long.labels"
bytes 31 139 8 0 0 0 0 0 > "$tmp/gz.idx"
# PGM 3 wide, 4 high: pixels 0, 1, 0.2 -> normalised -2, 2, -1.2: class 1, p = 0.944
{ printf 'P5\n3 4\n255\n'; bytes 0 255 51 $(zeros 9); } > "$tmp/p5.pgm"
printf 'P2\n# plain, with a comment\n3 4\n255\n0 255 51\n%s\n' "$(zeros 9)" > "$tmp/p2.pgm"
# numbers with leading zeros past 8 digits, as netrun reads them
printf 'P2\n0000000003 4\n000000000255\n0 000000000255 0000000051\n%s\n' "$(zeros 9)" > "$tmp/p2zeros.pgm"
{ printf 'P5 3 4 1000\n'; bytes 0 0 3 232 0 200 $(zeros 18); } > "$tmp/p16.pgm"
{ printf 'P5\n4 3\n255\n'; bytes $(zeros 12); } > "$tmp/wide.pgm"
{ printf 'P5\n3 4\n0\n'; bytes $(zeros 12); } > "$tmp/max0.pgm"
{ printf 'P5\n3 4\n65536\n'; bytes $(zeros 24); } > "$tmp/max65536.pgm"
{ printf 'P5\n3 4\n1000\n'; bytes $(zeros 23); } > "$tmp/short.pgm"
printf 'P2\n3 4\n255\n0 300 %s\n' "$(zeros 10)" > "$tmp/above.pgm"
printf 'P2\n3 4\n255\n0 1 2\n' > "$tmp/few.pgm"
printf 'P5\n3 x\n255\n' > "$tmp/header.pgm"
{ printf 'P5\n3 4\n255#x\n'; bytes 0 255 51 $(zeros 9); } > "$tmp/comment.pgm"

ccs=${CC:-cc}
command -v clang > /dev/null && ccs="$ccs clang"
for cc in $ccs; do
  build() { # OUT FLAGS... FILE: compile strictly, counting a failure
    out=$1; shift
    if $cc -std=c99 -O2 -Wall -Wextra -pedantic -Werror -I"$root/src/codegen" "$@" -o "$tmp/$out" -lm 2> "$tmp/cc.err"; then
      pass=$((pass + 1)); return 0
    fi
    fail=$((fail + 1)); echo "FAIL $cc: $out does not compile cleanly:"; head -20 "$tmp/cc.err"; return 1
  }
  for fam in native:vf avx2:vf8 portable:vf1; do   # native: the machine's widest
    case $fam in
      native*) flags=-march=native;; avx2*) flags="-mavx2 -mfma";; portable*) flags=-DNETC_NO_SIMD;;
    esac
    build "prelude.$cc" $flags "$here/prelude_test.c" &&
      expect "prelude_test $flags" 0 "^${fam#*:}" "$tmp/prelude.$cc"
  done
  # AVX-512 without FMA (gcc's -mavx512f alone): compiles, to the portable family (built,
  # not run: this machine may have no AVX-512)
  build "prelude512.$cc" -mavx512f "$here/prelude_test.c"
  stub() { build "$1.$cc" -DSTUB_C="$2" -DSTUB_H=4 -DSTUB_W=3 -DSTUB_OUT="$3" "$here/driver_stub.c"; }
  stub image 1 3 && stub rgb 3 3 && stub flat 0 3 && stub wide_out 1 300 || continue
  img=$tmp/image.$cc rgb=$tmp/rgb.$cc flat=$tmp/flat.$cc
  expect "usage" 2 "^usage: .* runs the stub network (input 12 values, 3 outputs)" "$img"
  expect "IDX classes" 0 "^0 1 1 2 2 0 3 images, .* us/image $" "$img" "$tmp/three.idx"
  expect "IDX accuracy" 0 "^accuracy 0.6667 (3 images), .* us/image" "$img" "$tmp/three.idx" "$tmp/three.labels"
  expect "PGM P5" 0 "^1  (p=0.944) $" "$img" "$tmp/p5.pgm"
  expect "PGM P2" 0 "^1  (p=0.944) $" "$img" "$tmp/p2.pgm"
  expect "PGM P2, leading zeros" 0 "^1  (p=0.944) $" "$img" "$tmp/p2zeros.pgm"
  expect "PGM 16-bit" 0 "^1  (p=0.944) $" "$img" "$tmp/p16.pgm"
  expect "flat IDX 4x3" 0 "^0 1 1 2 2 0 " "$flat" "$tmp/three.idx"
  expect "flat IDX 2x6" 0 "^0 2 " "$flat" "$tmp/flat.idx"
  expect "flat PGM" 0 "^1  (p=0.944) $" "$flat" "$tmp/p5.pgm"
  expect "no file" 1 "^stub: $tmp/none: cannot open $" "$img" "$tmp/none"
  expect "gzip" 1 "^stub: $tmp/gz.idx: gzip file: decompress it first" "$img" "$tmp/gz.idx"
  expect "IDX magic" 1 "^stub: $tmp/magic.idx: neither an IDX image file (which starts 00 00 08 03) nor a PGM $" "$img" "$tmp/magic.idx"
  expect "IDX truncated" 1 "^stub: $tmp/short.idx: truncated: 3 images of 12 bytes need 52 bytes, the file has 40 $" "$img" "$tmp/short.idx"
  expect "IDX longer" 1 "^stub: $tmp/long.idx: unexpected data after byte 40 (2 images of 12 bytes) $" "$img" "$tmp/long.idx"
  expect "IDX a byte longer" 1 "^stub: $tmp/odd.idx: unexpected data after byte 40 (2 images of 12 bytes) $" "$img" "$tmp/odd.idx"
  expect "IDX empty" 1 "^stub: $tmp/empty.idx: holds no images $" "$img" "$tmp/empty.idx"
  expect "IDX rows and cols" 1 "^stub: $tmp/wide.idx: images are 4x3 (width x height); the network takes 3x4 $" "$img" "$tmp/wide.idx"
  expect "IDX channels" 1 "^stub: $tmp/three.idx: images are one-channel; the network takes 3x4x3 (CxHxW) $" "$rgb" "$tmp/three.idx"
  expect "flat IDX size" 1 "^stub: $tmp/big.idx: images are 3x5 (15 values); the network takes 12 values $" "$flat" "$tmp/big.idx"
  expect "label magic" 1 "^stub: $tmp/magic.labels: not an IDX label file (which starts 00 00 08 01) $" "$img" "$tmp/three.idx" "$tmp/magic.labels"
  expect "label gzip" 1 "^stub: $tmp/gz.idx: gzip file: decompress it first" "$img" "$tmp/three.idx" "$tmp/gz.idx"
  expect "label count" 1 "^stub: $tmp/two.labels: holds 2 labels for 3 images $" "$img" "$tmp/three.idx" "$tmp/two.labels"
  # a header that does not fit is refused before the file is read: 1.5 GB of labels (or of
  # images of another size) in 512 MB of address space
  { bytes 0 0 8 1; be32 1610612736; } > "$tmp/huge.labels" && dd if=/dev/null of="$tmp/huge.labels" bs=1 seek=1610612744 2> /dev/null
  { bytes 0 0 8 3; be32 1; be32 40000; be32 40000; } > "$tmp/huge.idx" && dd if=/dev/null of="$tmp/huge.idx" bs=1 seek=1600000016 2> /dev/null
  expect "label count, before reading 1.5 GB" 1 "^stub: $tmp/huge.labels: holds 1610612736 labels for 3 images $" sh -c 'ulimit -v 524288; exec "$@"' - "$img" "$tmp/three.idx" "$tmp/huge.labels"
  expect "IDX rows and cols, before reading 1.5 GB" 1 "^stub: $tmp/huge.idx: images are 40000x40000 (width x height); the network takes 3x4 $" sh -c 'ulimit -v 524288; exec "$@"' - "$img" "$tmp/huge.idx"
  rm -f "$tmp/huge.labels" "$tmp/huge.idx"
  expect "label range" 1 "^stub: $tmp/five.labels: label 5 of record 1 is beyond the network's 3 outputs $" "$img" "$tmp/three.idx" "$tmp/five.labels"
  expect "labels truncated" 1 "^stub: $tmp/short.labels: truncated: 3 labels need 11 bytes, the file has 10 $" "$img" "$tmp/three.idx" "$tmp/short.labels"
  expect "labels longer" 1 "^stub: $tmp/long.labels: unexpected data after byte 11 (3 labels) $" "$img" "$tmp/three.idx" "$tmp/long.labels"
  expect "labels with PGM" 1 "^stub: $tmp/three.labels: labels go with IDX images, not with a PGM $" "$img" "$tmp/p5.pgm" "$tmp/three.labels"
  expect "PGM width and height" 1 "^stub: $tmp/wide.pgm: image is 4x3 (width x height); the network takes 3x4 $" "$img" "$tmp/wide.pgm"
  expect "PGM channels" 1 "^stub: $tmp/p5.pgm: image is one-channel; the network takes 3x4x3 (CxHxW) $" "$rgb" "$tmp/p5.pgm"
  expect "PGM maxval 0" 1 "^stub: $tmp/max0.pgm: maxval 0 is out of range (expected 1..65535) $" "$img" "$tmp/max0.pgm"
  expect "PGM maxval 65536" 1 "^stub: $tmp/max65536.pgm: maxval 65536 is out of range (expected 1..65535) $" "$img" "$tmp/max65536.pgm"
  expect "PGM truncated" 1 "^stub: $tmp/short.pgm: truncated: 12 pixels need 24 bytes after the header, 23 left $" "$img" "$tmp/short.pgm"
  expect "PGM above maxval" 1 "^stub: $tmp/above.pgm: pixel 1 is 300, above maxval 255 $" "$img" "$tmp/above.pgm"
  expect "PGM few pixels" 1 "^stub: $tmp/few.pgm: expected pixel 3 of 12 (a number) at byte " "$img" "$tmp/few.pgm"
  expect "PGM header" 1 "^stub: $tmp/header.pgm: expected the height (a number) at byte 5 $" "$img" "$tmp/header.pgm"
  # an endless stream after an IDX header (a FIFO) stops one byte past the header's size
  # (written 64 KB at a time: the reader's stdio asks for a buffer's worth, and a byte a
  # fork, as bytes writes, took 100 s to fill it on a VM where a fork costs over a millisecond)
  head -c 65536 /dev/zero > "$tmp/zeros64k"
  rm -f "$tmp/endless" && mkfifo "$tmp/endless" &&
    { { { bytes 0 0 8 3; be32 2; be32 4; be32 3; } && while :; do cat "$tmp/zeros64k" || break; done; } > "$tmp/endless" 2> /dev/null & }
  expect "IDX stream past its size" 1 "^stub: $tmp/endless: unexpected data after byte 40" "$img" "$tmp/endless"
  # a comment right after maxval: netrun refuses it; read, the raster would be a byte off
  expect "PGM comment after maxval" 1 "^stub: $tmp/comment.pgm: byte 10: a comment right after maxval" "$img" "$tmp/comment.pgm"
  # an image output: every output, a CSV row an image (normalised pixels, as output k is
  # input k), and no classes, so labels are refused
  build "imgout.$cc" -DSTUB_C=1 -DSTUB_H=4 -DSTUB_W=3 -DSTUB_OUT=3 -DSTUB_OUT_SHAPE=\"3x1x1\" "$here/driver_stub.c" || continue
  imgout=$tmp/imgout.$cc
  expect "image output: usage" 2 "3 outputs: an image of 3x1x1, printed as a CSV row an image)" "$imgout"
  expect "image output: IDX rows" 0 "^-2,2,-2 -2,-2,2 2,-2,-2 3 images, .* us/image $" "$imgout" "$tmp/three.idx"
  expect "image output: PGM row" 0 "^-2,2,-1.2[0-9]* $" "$imgout" "$tmp/p5.pgm"
  expect "image output: labels" 1 "^stub: $tmp/three.labels: labels need class scores, but the stub network's output is an image (3x1x1) $" "$imgout" "$tmp/three.idx" "$tmp/three.labels"
  # an output larger than the stack (2 MB under a 1 MiB stack) lives in static memory
  build "bigout.$cc" -DSTUB_C=1 -DSTUB_H=4 -DSTUB_W=3 -DSTUB_OUT=500000 -DSTUB_OUT_SHAPE=\"500000x1x1\" "$here/driver_stub.c" || continue
  small_stack() { sh -c 'ulimit -s 1024 && exec "$0" "$@"' "$@"; }
  expect "output larger than the stack: PGM" 0 "^-2,2,-1.2[0-9]*,-2,.*,0,0 $" small_stack "$tmp/bigout.$cc" "$tmp/p5.pgm"
  expect "output larger than the stack: IDX" 0 "^-2,2,-2,.*,0,0 .* 3 images, .* us/image $" small_stack "$tmp/bigout.$cc" "$tmp/three.idx"
done

cc=${CC:-cc}
# --to writes the source with its parameters' defaults: a -D would be lost silently
printf 'network dp (input 4) {\n  params { w 3 }\n  Linear w\n}\n' > "$tmp/dp.net"
expect "--to with -D" 2 "^netc: error: --to converts the file as written.*--expand" "$netc" -D w=5 --to yaml "$tmp/dp.net"
expect "--expand with -D" 0 "Linear out=5" "$netc" -D w=5 --expand "$tmp/dp.net"
if "$netc" "$root/nets/mnist.net" --weights "$root/examples/mnist.safetensors" -o "$tmp/mnist.c" --main 2> "$tmp/netc.err" &&
  $cc -std=c99 -O2 -march=native -Wall -Wextra -Wshadow -pedantic -Werror -D_POSIX_C_SOURCE=200809L "$tmp/mnist.c" -o "$tmp/mnist" -lm 2> "$tmp/cc.err"; then
  gunzip -c "$root/data/mnist-mini/t10k-images-idx3-ubyte.gz" > "$tmp/t10k-images"
  "$netrun" "$root/nets/mnist.net" --load "$root/examples/mnist.safetensors" --predict "$tmp/t10k-images" --quiet > "$tmp/want" 2>&1
  expect "mnist --main: netrun's classes" 0 "^$(tr '\n' ' ' < "$tmp/want")2,004 images, .* us/image $" "$tmp/mnist" "$tmp/t10k-images"
  expect "mnist --main: usage" 2 "(input 784 values, 10 outputs) $" "$tmp/mnist"
  for pgm in "$root"/examples/*.pgm; do
    want=$("$netrun" "$root/nets/mnist.net" --load "$root/examples/mnist.safetensors" --predict "$pgm" | cut -d' ' -f1)
    expect "mnist --main: $(basename "$pgm")" 0 "^$want  (p=" "$tmp/mnist" "$pgm"
  done
else
  fail=$((fail + 1)); echo "FAIL: nets/mnist.net with --main does not generate or compile:"; cat "$tmp/netc.err" "$tmp/cc.err"
fi
# A net that ends in Softmax: --main prints the probability it gives, not a softmax of it,
# as netrun --predict does; so does one whose Softmax over a 1x1 image's channels is
# followed by layers that keep the values (Flatten, Identity, Dropout)
printf 'network sm (input 1x28x28) {\n  Flatten\n  Linear 10\n  Softmax\n}\n' > "$tmp/sm.net"
printf 'network sm2 (input 1x28x28) {\n  Conv2d 4 k5 s3\n  AdaptiveAvgPool2d 1\n  Softmax\n  Flatten\n  Identity\n  Dropout 0.3\n}\n' > "$tmp/sm2.net"
for sm in sm sm2; do
if "$netc" "$tmp/$sm.net" -o "$tmp/sm.c" --main 2> "$tmp/netc.err" &&
  $cc -std=c99 -O2 -march=native -Wall -Wextra -pedantic -Werror "$tmp/sm.c" -o "$tmp/sm" -lm 2> "$tmp/cc.err"; then
  pgm=$root/examples/$(ls "$root/examples" | grep -m1 '\.pgm$')
  # the largest of netrun's --logits row (the outputs, probabilities), as --main prints it
  "$netrun" "$tmp/$sm.net" --predict "$pgm" --logits "$tmp/sm.csv" 2> /dev/null
  top=$(tr , '\n' < "$tmp/sm.csv" | awk '{ if (NR == 1 || $1 > m) { m = $1; k = NR - 1 } } END { if (NR) printf "%d  (p=%.3f)", k, m }')
  # (expect sets want: the largest output is top)
  expect "$sm --main: the largest output, as a probability (${top:-none})" 0 "^${top:-no row} $" "$tmp/sm" "$pgm"
  expect "$sm netrun --predict: the same" 0 "^${top:-no row}" "$netrun" "$tmp/$sm.net" --predict "$pgm"
else
  fail=$((fail + 1)); echo "FAIL: $sm.net does not generate or compile:"; cat "$tmp/netc.err" "$tmp/cc.err"
fi
done
# A net that ends in Sigmoid: its values are no logits, and a softmax of them no probability:
# --main and netrun --predict print the largest as it is (out=); one output is no class
# either: --main prints it as a row, and netrun --predict asks for --logits
printf 'network sg (input 1x28x28) {\n  Flatten\n  Linear 10\n  Sigmoid\n}\n' > "$tmp/sg.net"
printf 'network one (input 1x28x28) {\n  Flatten\n  Linear 1\n}\n' > "$tmp/one.net"
pgm=$root/examples/$(ls "$root/examples" | grep -m1 '\.pgm$')
if "$netc" "$tmp/sg.net" -o "$tmp/sg.c" --main 2> "$tmp/netc.err" &&
  $cc -std=c99 -O2 -march=native -Wall -Wextra -pedantic -Werror "$tmp/sg.c" -o "$tmp/sg" -lm 2> "$tmp/cc.err" &&
  "$netc" "$tmp/one.net" -o "$tmp/one.c" --main 2>> "$tmp/netc.err" &&
  $cc -std=c99 -O2 -march=native -Wall -Wextra -pedantic -Werror "$tmp/one.c" -o "$tmp/one" -lm 2>> "$tmp/cc.err"; then
  "$netrun" "$tmp/sg.net" --predict "$pgm" --logits "$tmp/sg.csv" 2> /dev/null
  top=$(tr , '\n' < "$tmp/sg.csv" | awk '{ if (NR == 1 || $1 > m) { m = $1; k = NR - 1 } } END { if (NR) printf "%d  (out=%.4g)", k, m }')
  expect "sg --main: the largest Sigmoid output as it is (${top:-none})" 0 "^${top:-no row} $" "$tmp/sg" "$pgm"
  expect "sg netrun --predict: the same" 0 "^${top:-no row} " "$netrun" "$tmp/sg.net" --predict "$pgm"
  "$netrun" "$tmp/one.net" --predict "$pgm" --logits "$tmp/one.csv" 2> /dev/null
  expect "one output: --main prints the value ($(cat "$tmp/one.csv"))" 0 "^$(cat "$tmp/one.csv") $" "$tmp/one" "$pgm"
  expect "one output: netrun --predict asks for --logits" 1 "output (Linear '1') is one value, not a vector of class scores" "$netrun" "$tmp/one.net" --predict "$pgm"
else
  fail=$((fail + 1)); echo "FAIL: sg.net or one.net does not generate or compile:"; cat "$tmp/netc.err" "$tmp/cc.err"
fi
# A PGM of maxval 6 (PIL's rounding to 8 bits) and a normalize: --main reads it as netrun
# does, bit for bit (an image output, printed as a row); a normalize of one value a channel
# is refused (the driver reads one-channel images)
printf 'network pg (input 1x1x4) {\n  Identity\n}\ntrain {\n  normalize 0.1307 0.3081\n}\n' > "$tmp/pg.net"
printf 'P2 4 1 6\n0 1 3 6\n' > "$tmp/m6.pgm"
if "$netc" "$tmp/pg.net" -o "$tmp/pg.c" --main 2> "$tmp/netc.err" &&
  $cc -std=c99 -O2 -march=native -Wall -Wextra -pedantic -Werror "$tmp/pg.c" -o "$tmp/pg" -lm 2> "$tmp/cc.err"; then
  "$netrun" "$tmp/pg.net" --predict "$tmp/m6.pgm" --logits "$tmp/pg.want" 2> /dev/null
  expect "PGM of maxval 6, normalized: --main prints netrun's row ($(cat "$tmp/pg.want"))" 0 "^$(cat "$tmp/pg.want") $" "$tmp/pg" "$tmp/m6.pgm"
else
  fail=$((fail + 1)); echo "FAIL: pg.net does not generate or compile:"; cat "$tmp/netc.err" "$tmp/cc.err"
fi
sed 's/normalize 0.1307 0.3081/normalize [0.5, 0.4, 0.3] [0.25, 0.5, 1]/' "$tmp/pg.net" > "$tmp/pg3.net"
expect "--main with a normalize a channel: refused by the file" 1 "pg3.net:5:3: error: normalize gives 3 values, but network 'pg' takes 1 channel" "$netc" "$tmp/pg3.net" -o "$tmp/pg3.c" --main
sed 's/input 1x1x4/input 4/' "$tmp/pg3.net" > "$tmp/pg3f.net" # a flat input: --main's own check
expect "--main with a normalize a channel on a flat input: refused" 1 "normalize gives 3 values, one a channel" "$netc" "$tmp/pg3f.net" -o "$tmp/pg3f.c" --main
# A net whose output is an image: --main prints netrun --predict --logits's rows (within
# 1e-5 of the largest value of the row, as codegen parity compares)
printf 'network img (input 1x28x28) {\n  Conv2d 3 k3 s2\n  ReLU\n}\n' > "$tmp/img.net"
if "$netc" "$tmp/img.net" -o "$tmp/img.c" --main 2> "$tmp/netc.err" &&
  $cc -std=c99 -O2 -march=native -Wall -Wextra -pedantic -Werror "$tmp/img.c" -o "$tmp/img" -lm 2> "$tmp/cc.err" &&
  "$tmp/img" "$tmp/t10k-images" > "$tmp/img.csv" 2> /dev/null &&
  "$netrun" "$tmp/img.net" --predict "$tmp/t10k-images" --logits "$tmp/img.want" --quiet 2> /dev/null; then
  expect "image output --main: netrun's --logits rows" 0 "^ok 2004 rows of 507 $" \
    awk -F, 'NR == FNR { for (k = 1; k <= NF; k++) w[FNR, k] = $k; nw = FNR; next }
      { m = 1; for (k = 1; k <= NF; k++) if (w[FNR, k] > m || -w[FNR, k] > m) m = (w[FNR, k] > 0 ? w[FNR, k] : -w[FNR, k])
        for (k = 1; k <= NF; k++) { d = $k - w[FNR, k]; if (d > 1e-5 * m || -d > 1e-5 * m) bad++ }
        rows++; cols = NF }
      END { if (!bad && rows == nw) printf "ok %d rows of %d\n", rows, cols; else printf "%d bad values, %d of %d rows\n", bad, rows, nw }' \
    "$tmp/img.want" "$tmp/img.csv"
else
  fail=$((fail + 1)); echo "FAIL: an image-output net with --main does not generate, compile or run:"; cat "$tmp/netc.err" "$tmp/cc.err"
fi
# The weights as a blob (--blob): the same program, bit for bit, as with C literals. It is
# compiled from the blob's directory, and from elsewhere with -Wa,-I; a net past
# CG_BLOB_AUTO_FLOATS weights gets a blob unasked, and --no-blob keeps literals.
mkdir -p "$tmp/blob"
if "$netc" "$root/nets/mnist.net" --weights "$root/examples/mnist.safetensors" -o "$tmp/blob/m.c" --main --blob 2> "$tmp/netc.err" &&
  (cd "$tmp/blob" && $cc -std=c99 -O2 -march=native -Wall -Wextra -pedantic -Werror m.c -o m -lm) 2> "$tmp/cc.err" &&
  $cc -O2 -march=native -Wa,-I"$tmp/blob" "$tmp/blob/m.c" -o "$tmp/blob/m2" -lm 2>> "$tmp/cc.err"; then
  "$tmp/mnist" "$tmp/t10k-images" | sed 's/, [0-9.]* us\/image//' > "$tmp/lit.out"
  expect "--blob: the literal program's output, from the blob's directory" 0 "^$(tr '\n' ' ' < "$tmp/lit.out")" \
    sh -c "'$tmp/blob/m' '$tmp/t10k-images' | sed 's/, [0-9.]* us\/image//'"
  expect "--blob: compiled elsewhere with -Wa,-I" 0 "^$(tr '\n' ' ' < "$tmp/lit.out")" \
    sh -c "'$tmp/blob/m2' '$tmp/t10k-images' | sed 's/, [0-9.]* us\/image//'"
  expect "--blob: no float literals in the C file" 1 "^0 $" grep -c 'static const float' "$tmp/blob/m.c"
  bytes=$(sed -n 's/^#define MNIST_WEIGHT_BYTES //p' "$tmp/blob/m.c")
  size=$(wc -c < "$tmp/blob/m.weights")
  expect "--blob: m.weights holds MNIST_WEIGHT_BYTES ($bytes) and alignment padding" 0 "^ok" \
    sh -c "[ $size -ge $bytes ] && [ $size -lt $((bytes + 64 * 8)) ] && echo ok"
  # a blob of another size stops the build (it was read past, or gave wrong answers): a
  # longer one under either assembler, a shorter one under GNU as (Clang's pads it)
  cp "$tmp/blob/m.weights" "$tmp/blob/good.weights"
  { cat "$tmp/blob/good.weights"; echo x; } > "$tmp/blob/m.weights"
  expect "--blob: a longer blob stops the build" 0 "^refused" \
    sh -c "cd '$tmp/blob' && $cc -O2 m.c -o bad -lm 2>/dev/null && echo built || echo refused"
  if ! $cc --version 2>/dev/null | grep -qi clang; then
    head -c 1000 "$tmp/blob/good.weights" > "$tmp/blob/m.weights"
    expect "--blob: a shorter blob stops the build, saying why" 1 "blob is not the $size bytes" \
      sh -c "cd '$tmp/blob' && $cc -O2 m.c -o bad -lm 2>&1"
  fi
  cp "$tmp/blob/good.weights" "$tmp/blob/m.weights"
  # link-time optimisation may put the functions that read the blob in another partition
  # than the asm that defines it (a local label there did not link); hidden, it is not
  # exported from a shared library
  if ! $cc --version 2>/dev/null | grep -qi clang &&
    "$netc" "$root/nets/mnist.net" --blob --prefix bm -o "$tmp/blob/bm.c" --header "$tmp/blob/bm.h" 2>/dev/null; then
    printf '#include "bm.h"\n#include <stdio.h>\nstatic float in[784];\nint main(void) { printf("%%d\\n", bm_predict(in)); return 0; }\n' > "$tmp/blob/lb.c"
    expect "--blob: a library and its caller link under -flto split into partitions" 0 "^[0-9] $" \
      sh -c "cd '$tmp/blob' && $cc -O2 -flto=2 -flto-partition=max lb.c bm.c -o lto -lm 2>&1 && ./lto"
  fi
  expect "--blob: the blob is not a shared library's export" 0 "^0 $" \
    sh -c "cd '$tmp/blob' && $cc -O2 -shared -fPIC m.c -o libm.so -lm && nm -D libm.so > syms && grep -c weight_blob syms; true"
else
  fail=$((fail + 1)); echo "FAIL: nets/mnist.net with --blob does not generate or compile:"; cat "$tmp/netc.err" "$tmp/cc.err"
fi
# the static arena: one block without OpenMP (a microcontroller's RAM), one a thread with
"$netc" "$root/nets/mnist.net" -o "$tmp/arena.c" 2>/dev/null
abytes=$(sed -n 's/^#define MNIST_ARENA_BYTES //p' "$tmp/arena.c")
expect "the static arena without OpenMP: MNIST_ARENA_BYTES ($abytes), once" 0 "^ok" \
  sh -c "$cc -O2 -c '$tmp/arena.c' -o '$tmp/arena.o' && s=\$(nm -S '$tmp/arena.o' | awk '/ mnist_arena\$/ { print \$2 }') && [ \$((0x\$s)) = $abytes ] && echo ok"
expect "the static arena under OpenMP: one for each of 8 threads" 0 "^ok" \
  sh -c "$cc -O2 -fopenmp -c '$tmp/arena.c' -o '$tmp/arena.o' && s=\$(nm -S '$tmp/arena.o' | awk '/ mnist_arena\$/ { print \$2 }') && [ \$((0x\$s)) = \$((8 * $abytes)) ] && echo ok"
printf 'network wide (input 1x28x28) {\n  Flatten\n  Linear 5400\n}\n' > "$tmp/wide.net"
expect "a net of 4,239,000 weights gets a blob unasked" 0 "^ok" \
  sh -c "'$netc' '$tmp/wide.net' -o '$tmp/wide.c' 2>/dev/null && [ -s '$tmp/wide.weights' ] && ! grep -q 'static const float' '$tmp/wide.c' && echo ok"
rm -f "$tmp/wide.weights"
# 2,663,424 kernel weights, but a Winograd step embeds them transformed: 4,734,976 floats
printf 'network wino (input 544x4x4) {\n  Conv2d 544 k3 p1 bias=false\n}\n' > "$tmp/wino.net"
expect "a Winograd convolution's weights count as transformed (4,734,976): a blob unasked" 0 "^ok" \
  sh -c "'$netc' '$tmp/wino.net' -o '$tmp/wino.c' 2>/dev/null && grep -q Winograd '$tmp/wino.c' && [ -s '$tmp/wino.weights' ] && ! grep -q 'static const float' '$tmp/wino.c' && echo ok"
rm -f "$tmp/wino.weights"
expect "--no-blob keeps C literals" 0 "^ok" \
  sh -c "'$netc' '$tmp/wide.net' -o '$tmp/wide.c' --no-blob 2>/dev/null && [ ! -e '$tmp/wide.weights' ] && grep -q 'static const float' '$tmp/wide.c' && echo ok"
expect "--blob needs a file" 2 "give a file name" "$netc" "$root/nets/mnist.net" -o - --blob
expect "--header - refused (the C would include a file named -)" 2 "header needs a file name" \
  "$netc" "$root/nets/mnist.net" -o "$tmp/hm.c" --header -
# the API from threads of one's own: NAME_forward_arena with an arena each gives, on every
# thread at once, the bits NAME_forward gives alone; and the headers of two nets whose
# names extend one another (a, a_in: A_IN_H is a macro of a) go into one program
cat > "$tmp/arena.c" <<'EOF2'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mn.h"
#include "mn_in.h"
int main(void)
{
    enum { N = 64 };
    static float in[N][MN_IN_SIZE], want[N][MN_OUT_SIZE], got[N][MN_OUT_SIZE];
    for (int i = 0; i < N; i++)
        for (int k = 0; k < MN_IN_SIZE; k++)
            in[i][k] = (float)((i * 7 + k * 13) % 29) / 29.0f;
    for (int i = 0; i < N; i++)
        mn_forward(in[i], want[i]);
    int bad = 0;
#pragma omp parallel reduction(+ : bad)
    {
        void *arena = aligned_alloc(64, (MN_ARENA_BYTES + 63) / 64 * 64 + 64);
#pragma omp for
        for (int i = 0; i < N; i++)
            mn_forward_arena(in[i], got[i], arena);
        free(arena);
    }
    bad = memcmp(want, got, sizeof want) != 0;
    printf(bad ? "differ\n" : "ok %d\n", MN_IN_OUT_SIZE);
    return bad;
}
EOF2
printf 'network mn_in (input 3) {\n  Linear 2\n}\n' > "$tmp/mn_in.net"
printf 'int main(void) { return 0; }\n' > "$tmp/omp.c"
omp=-fopenmp; $cc -fopenmp "$tmp/omp.c" -o "$tmp/omp" 2>/dev/null || omp="" # clang without libomp
expect "forward_arena on 4 threads${omp:+ (OpenMP)} == forward; two nets' headers in one program" 0 "^ok 2" \
  sh -c "'$netc' '$root/nets/mnist.net' --weights '$root/examples/mnist.safetensors' --prefix mn -o '$tmp/mn.c' --header '$tmp/mn.h' 2>/dev/null &&
    '$netc' '$tmp/mn_in.net' -o '$tmp/mn_in.c' --header '$tmp/mn_in.h' 2>/dev/null &&
    $cc -std=c11 -O2 $omp -I'$tmp' '$tmp/arena.c' '$tmp/mn.c' '$tmp/mn_in.c' -o '$tmp/arena' -lm && OMP_NUM_THREADS=4 '$tmp/arena'"
# a NaN in a max pool's window stays NaN, as in PyTorch's max_pool2d, whichever tap it is
# (F_max dropped one seen before a number); alone and fused after a convolution
cat > "$tmp/nanpool.c" <<'EOF2'
#include <math.h>
#include <stdio.h>
#include "np.h"
#include "npc.h"
int main(void)
{
    float in[NPC_IN_SIZE], out[NP_OUT_SIZE], outc[NPC_OUT_SIZE]; /* np reads the first 8 */
    for (int i = 0; i < NPC_IN_SIZE; i++)
        in[i] = (float)i;
    in[4] = NAN; /* window 0's third tap of four */
    in[2] = NAN; /* window 1's first */
    np_forward(in, out);
    npc_forward(in, outc);
    int ok = isnan(out[0]) && isnan(out[1]) && isnan(outc[0]) && isnan(outc[1]) &&
             !isnan(outc[2]) && !isnan(outc[3]);
    printf(ok ? "ok\n" : "dropped: %g %g %g %g\n", (double)out[0], (double)out[1], (double)outc[0],
           (double)outc[1]);
    return !ok;
}
EOF2
printf 'network np (input 1x2x4) {\n  MaxPool2d 2\n}\n' > "$tmp/np.net"
printf 'network npc (input 1x4x4) {\n  Conv2d 1 k1\n  MaxPool2d 2\n}\n' > "$tmp/npc.net"
for fam in "-march=native" "-DNETC_NO_SIMD" "-mavx2 -mfma"; do
  expect "a NaN in a max pool's window is kept ($fam)" 0 "^ok" \
    sh -c "'$netc' '$tmp/np.net' -o '$tmp/np.c' --header '$tmp/np.h' 2>/dev/null &&
      '$netc' '$tmp/npc.net' -o '$tmp/npc.c' --header '$tmp/npc.h' 2>/dev/null &&
      $cc -std=c11 -O2 $fam -I'$tmp' '$tmp/nanpool.c' '$tmp/np.c' '$tmp/npc.c' -o '$tmp/nanpool' -lm && '$tmp/nanpool'"
done
# an output that names an input or another output (another spelling, a link) is refused,
# and the file stays
cp "$root/nets/mnist.net" "$tmp/keep.net"
cp "$root/examples/mnist.safetensors" "$tmp/keep.safetensors"
ln -s keep.net "$tmp/link.net"
expect "-o at the net file" 1 "keep.net: is a file netc reads; writing there would destroy it" \
  "$netc" "$tmp/keep.net" -o "$tmp/keep.net"
expect "-o at the net file through a link" 1 "link.net: is $tmp/keep.net, a file netc reads" \
  "$netc" "$tmp/keep.net" -o "$tmp/link.net"
expect "--header at the weights" 1 "/../$(basename "$tmp")/keep.safetensors: is $tmp/keep.safetensors, a file netc reads" \
  "$netc" "$tmp/keep.net" --weights "$tmp/keep.safetensors" -o "$tmp/k.c" --header "$tmp/../$(basename "$tmp")/keep.safetensors"
expect "-o and --header one file" 2 "header $tmp/./k.c and $tmp/k.c are one file" \
  "$netc" "$tmp/keep.net" --weights "$tmp/keep.safetensors" -o "$tmp/k.c" --header "$tmp/./k.c"
# -o replaces only a regular file: it writes through a link, a FIFO and a device node (made
# here, as a copy of /dev/null's numbers), which stay what they were
echo old > "$tmp/target.c" && ln -s target.c "$tmp/via.c" && mkfifo "$tmp/pipe.c"
"$netc" "$tmp/keep.net" -o "$tmp/via.c" 2>/dev/null
expect "-o through a link: the link stays, its target is the C" 0 "^ok" sh -c "[ -L '$tmp/via.c' ] && grep -q 'generated by netc' '$tmp/target.c' && echo ok"
(timeout 20 cat "$tmp/pipe.c" > "$tmp/pipe.out" &) && timeout 20 "$netc" "$tmp/keep.net" -o "$tmp/pipe.c" 2>/dev/null
sleep 0.2
expect "-o into a FIFO: written through, the FIFO stays" 0 "^ok" sh -c "[ -p '$tmp/pipe.c' ] && grep -q 'generated by netc' '$tmp/pipe.out' && echo ok"
if mknod "$tmp/null.c" c 1 3 2>/dev/null; then
  "$netc" "$tmp/keep.net" -o "$tmp/null.c" 2>/dev/null
  expect "-o into a device node: written through, the node stays" 0 "^ok" sh -c "[ -c '$tmp/null.c' ] && echo ok"
fi
expect "... and the net and the weights are intact" 0 "^ok" sh -c "cmp -s '$root/nets/mnist.net' '$tmp/keep.net' &&
  cmp -s '$root/examples/mnist.safetensors' '$tmp/keep.safetensors' && [ -L '$tmp/link.net' ] && echo ok"
echo "driver: $pass passed, $fail failed"
[ "$fail" = 0 ]
