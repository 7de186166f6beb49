# idx_head.sh, sourced by the PyTorch parity scripts (POSIX sh):
#   idx_head SRC DST N   writes DST/{train,t10k}-{images-idx3,labels-idx1}-ubyte: the first N
#                        28x28 images and labels of the gzip IDX files in SRC, in file order
#                        (what PyTorch stepped on), as raw IDX files, so the runs stay short.
idx_byte() { printf "\\$(printf %03o $(($1 & 255)))"; }
idx_be32() { idx_byte $(($1 >> 24)); idx_byte $(($1 >> 16)); idx_byte $(($1 >> 8)); idx_byte $1; }
idx_head() {
    mkdir -p "$2"
    for split in train t10k; do
        { idx_be32 2051; idx_be32 "$3"; idx_be32 28; idx_be32 28
          zcat "$1/$split-images-idx3-ubyte.gz" | tail -c +17 | head -c $(($3 * 784)); } \
            >"$2/$split-images-idx3-ubyte"
        { idx_be32 2049; idx_be32 "$3"
          zcat "$1/$split-labels-idx1-ubyte.gz" | tail -c +9 | head -c "$3"; } \
            >"$2/$split-labels-idx1-ubyte"
    done
}
