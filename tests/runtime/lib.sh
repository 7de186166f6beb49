# lib.sh: what netrun's shell tests share (sourced by cli.sh, record.sh, pictures.sh and
# mpi.sh): the tally, the sanitizer check, a run that must succeed and one that must fail
# (cli.sh has its own, which also guards an existing checkpoint), and the makers of binary files (IDX data from data/mnist-mini,
# a checkpoint with one metadata value changed). The sourcing script sets DATA first.
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() {
    failed=$((failed + 1))
    echo "FAIL $1"
    shift
    for m in "$@"; do echo "     $m"; done
}
no_sanitizer() { ! grep -q -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$1"; }
run_ok() { # NAME ARGS...: netrun must succeed
    local name=$1
    shift
    "$NETRUN" "$@" >"$name.out" 2>"$name.err" && no_sanitizer "$name.err" && return 0
    bad "$name: netrun $* failed" "$(head -5 "$name.err")"
    return 1
}
# expect NAME CODE 'PATTERN;...' ARGS...: netrun ARGS must exit CODE with exactly one "error:"
# line matching every PATTERN (extended regex, case-insensitive), and no sanitizer report
expect() {
    local name=$1 code=$2 pats=$3 rc p why=""
    shift 3
    "$NETRUN" "$@" >"$name.out" 2>"$name.err"
    rc=$?
    local line
    line=$(grep 'error:' "$name.err" | head -1)
    [ "$rc" = "$code" ] || why="exit $rc, want $code"
    [ -z "$why" ] && [ "$(grep -c 'error:' "$name.err")" != 1 ] && why="not one error line"
    [ -z "$why" ] && ! no_sanitizer "$name.err" && why="sanitizer report"
    while [ -z "$why" ] && IFS= read -r p; do
        echo "$line" | grep -q -i -E -- "$p" || why="the error does not match '$p'"
    done < <(tr ';' '\n' <<<"$pats")
    [ -z "$why" ] && ok "$name: $line" || bad "$name: $why" "netrun $*" "$(head -c 1500 "$name.err")"
}

byte() { printf "\\$(printf %03o $(($1 & 255)))"; }
be32() { byte $(($1 >> 24)); byte $(($1 >> 16)); byte $(($1 >> 8)); byte $1; }
le64() { local i; for i in 0 1 2 3 4 5 6 7; do byte $(($1 >> (8 * i))); done; }
# sub_images SRC.gz DST N: the first N images of SRC as a raw IDX file (and labels likewise)
sub_images() { { be32 2051; be32 $3; be32 28; be32 28; zcat "$1" | tail -c +17 | head -c $(($3 * 784)); } >"$2"; }
sub_labels() { { be32 2049; be32 $3; zcat "$1" | tail -c +9 | head -c $3; } >"$2"; }
# make_data DIR N M: a data directory of N training and M test images, raw IDX
make_data() {
    mkdir -p "$1"
    sub_images "$DATA/train-images-idx3-ubyte.gz" "$1/train-images-idx3-ubyte" $2
    sub_labels "$DATA/train-labels-idx1-ubyte.gz" "$1/train-labels-idx1-ubyte" $2
    sub_images "$DATA/t10k-images-idx3-ubyte.gz" "$1/t10k-images-idx3-ubyte" $3
    sub_labels "$DATA/t10k-labels-idx1-ubyte.gz" "$1/t10k-labels-idx1-ubyte" $3
}
# meta_edit SRC DST SED: SRC's safetensors with its json header put through sed -E SED
meta_edit() {
    local n json
    n=$(od -An -t u8 -N8 "$1" | tr -d ' ')
    json=$(head -c $((8 + n)) "$1" | tail -c "$n" | sed -E 's/ +$//')
    json=$(printf '%s' "$json" | sed -E "$3")
    while [ $((${#json} % 8)) != 0 ]; do json="$json "; done
    { le64 ${#json}; printf '%s' "$json"; tail -c +$((9 + n)) "$1"; } >"$2"
}
# set_meta SRC DST KEY VALUE: SRC's safetensors header with metadata KEY set to VALUE
set_meta() { meta_edit "$1" "$2" "s/\"$3\":\"[^\"]*\"/\"$3\":\"$4\"/"; }
# del_meta SRC DST KEY: SRC's safetensors with metadata KEY left out
del_meta() { meta_edit "$1" "$2" "s/\"$3\":\"[^\"]*\",//; s/,\"$3\":\"[^\"]*\"//"; }
