#!/bin/sh
# Runs each libFuzzer target for SECONDS, from a fresh corpus in a temporary directory: the
# target's committed corpus (tests/fuzz/corpus/TARGET), and for the front ends the nets in
# nets/ and tests/golden. Exits 1 on the first finding and keeps the reproducer in
# fuzz-artifacts/ (under the current directory).
#   run.sh SECONDS [BUILD_DIR]    BUILD_DIR defaults to build-fuzz (see meson.build here)
#   FUZZ_SEED=N FUZZ_RUNS=N run.sh ...   a repeatable run of N inputs (SECONDS still caps it)
#   FUZZ_TARGETS="idx pgm"               only these targets
#   FUZZ_KEEP=DIR                        keep each target's corpus in DIR/TARGET (a campaign
#                                        grows it over runs; minimise it into corpus/ after)
#                                        and its libFuzzer log in DIR/log_TARGET
#   FUZZ_JOBS=N                          N parallel jobs (-jobs=N -workers=N) per target
#   FUZZ_TIMEOUT=S                       an input slower than S seconds is a finding (10; a
#                                        campaign at nice 19 on a busy machine needs more)
# max_len is per target, large enough for the inputs that reach the loaders' size checks
# (a 28x28 IDX file, a checkpoint with a long name or many tensors).
set -u
secs=${1:?usage: run.sh SECONDS [BUILD_DIR]}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath "${2:-$root/build-fuzz}")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# a UBSan report must stop the run (the targets are also built with -fno-sanitize-recover)
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
status=0
for t in ${FUZZ_TARGETS:-net yaml safetensors idx pgm f32 metrics cifar image csv driver}; do
  exe=$build/tests/fuzz/fuzz_$t
  [ -x "$exe" ] || { echo "run.sh: $exe not built (fuzz=true, CC=clang)"; exit 2; }
  case $t in
    net|yaml) max_len=16384 ;;
    safetensors) max_len=131072 ;;
    driver) max_len=4096 ;; # its stand-in net's images are 12 bytes: 300 of them and labels
    *) max_len=65536 ;;
  esac
  corpus=$tmp/corpus_$t
  [ -n "${FUZZ_KEEP:-}" ] && corpus=$FUZZ_KEEP/$t
  mkdir -p "$corpus" "$tmp/artifacts_$t"
  case $t in
    net|yaml) find "$root/nets" "$root/tests/golden" -type f -name "*.$t" -exec cp {} "$corpus/" \; ;;
  esac
  [ -d "$root/tests/fuzz/corpus/$t" ] && cp "$root/tests/fuzz/corpus/$t"/* "$corpus/" 2>/dev/null
  dict=
  [ -f "$root/tests/fuzz/$t.dict" ] && dict=-dict=$root/tests/fuzz/$t.dict
  jobs=
  [ -n "${FUZZ_JOBS:-}" ] && jobs="-jobs=$FUZZ_JOBS -workers=$FUZZ_JOBS"
  # FUZZ_SEED and FUZZ_RUNS make a run repeatable (CI uses them, so that CI's verdict does
  # not depend on luck); without them each run explores from a fresh random seed.
  (cd "$tmp" && "$exe" "$corpus" -max_total_time="$secs" -max_len=$max_len -timeout=${FUZZ_TIMEOUT:-10} \
    -rss_limit_mb=2048 ${FUZZ_SEED:+-seed=$FUZZ_SEED} ${FUZZ_RUNS:+-runs=$FUZZ_RUNS} $dict $jobs \
    -artifact_prefix="$tmp/artifacts_$t/" -print_final_stats=1 > "$tmp/log_$t" 2>&1)
  rc=$?
  rm -f "$tmp"/fuzz-*.log # with -jobs, the jobs' logs (already copied into the main one)
  [ -n "${FUZZ_KEEP:-}" ] && cp "$tmp/log_$t" "$FUZZ_KEEP/log_$t"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/log_$t" | awk '{s += $1} END {print s}')
  cov=$(grep -o 'cov: [0-9]*' "$tmp/log_$t" | tail -1)
  if [ $rc != 0 ]; then
    status=1
    mkdir -p fuzz-artifacts && cp "$tmp/artifacts_$t"/* fuzz-artifacts/ 2>/dev/null
    echo "fuzz_$t: FINDING after ${execs:-?} runs (reproducer in fuzz-artifacts/)"
    grep -E -A30 'ERROR|runtime error|round trip' "$tmp/log_$t" | head -60
  else
    echo "fuzz_$t: ${execs:-?} runs${FUZZ_SEED:+ from seed $FUZZ_SEED} (time cap ${secs}s), $cov, $(ls "$corpus" | wc -l) inputs in the corpus, no findings"
  fi
done
exit $status
