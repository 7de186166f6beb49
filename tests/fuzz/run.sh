#!/bin/sh
# Runs each libFuzzer target for SECONDS with a fresh corpus copied from nets/ and
# tests/golden (in a temporary directory), -max_len=4096. Exits 1 on the first finding and
# keeps the reproducer in fuzz-artifacts/ (under the current directory).
#   run.sh SECONDS [BUILD_DIR]    BUILD_DIR defaults to build-fuzz (see meson.build here)
#   FUZZ_SEED=N FUZZ_RUNS=N run.sh ...   a repeatable run of N inputs (SECONDS still caps it)
set -u
secs=${1:?usage: run.sh SECONDS [BUILD_DIR]}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath "${2:-$root/build-fuzz}")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
status=0
for t in net yaml; do
  exe=$build/tests/fuzz/fuzz_$t
  [ -x "$exe" ] || { echo "run.sh: $exe not built (fuzz=true, CC=clang)"; exit 2; }
  mkdir -p "$tmp/corpus_$t" "$tmp/artifacts_$t"
  find "$root/nets" "$root/tests/golden" -type f -name "*.$t" -exec cp {} "$tmp/corpus_$t/" \;
  # FUZZ_SEED and FUZZ_RUNS make a run repeatable (CI uses them, so that CI's verdict does
  # not depend on luck); without them each run explores from a fresh random seed.
  "$exe" "$tmp/corpus_$t" -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    ${FUZZ_SEED:+-seed=$FUZZ_SEED} ${FUZZ_RUNS:+-runs=$FUZZ_RUNS} \
    -dict="$root/tests/fuzz/$t.dict" -artifact_prefix="$tmp/artifacts_$t/" -print_final_stats=1 \
    > "$tmp/log_$t" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/log_$t")
  cov=$(grep -o 'cov: [0-9]*' "$tmp/log_$t" | tail -1)
  if [ $rc != 0 ]; then
    status=1
    mkdir -p fuzz-artifacts && cp "$tmp/artifacts_$t"/* fuzz-artifacts/ 2>/dev/null
    echo "fuzz_$t: FINDING after ${execs:-?} runs (reproducer in fuzz-artifacts/)"
    grep -E -A30 'ERROR|runtime error|round trip' "$tmp/log_$t" | head -60
  else
    echo "fuzz_$t: ${execs:-?} runs${FUZZ_RUNS:+ from seed $FUZZ_SEED} (time cap ${secs}s), $cov, no findings"
  fi
done
exit $status
