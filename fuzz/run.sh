#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) one after another, each for SECONDS (default 300),
# in one libFuzzer process each (no -jobs/-workers: the machine is shared), and prints the
# executions and crashes of each. Seeds the corpora first (fuzz/seed.py).
#
#   fuzz/run.sh [SECONDS] [TARGET...]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). cargo-fuzz passes nightly-only rustc
# flags; on a stable toolchain RUSTC_BOOTSTRAP=1 allows them (set here), or use `cargo +nightly`.
# Crashes land in fuzz/artifacts/<target>/; each run's log in fuzz/logs/<target>.log.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-300}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(snapshot profile check arm_payload list_page)

export RUSTC_BOOTSTRAP=1
python3 fuzz/seed.py
cargo fuzz build --sanitizer none || exit 2
mkdir -p fuzz/logs

status=0
for target in "${targets[@]}"; do
  case $target in
    profile|check) dict=fuzz/dict/toml.dict ;;
    *) dict=fuzz/dict/arm.dict ;;
  esac
  log=fuzz/logs/$target.log
  cargo fuzz run --sanitizer none "$target" -- \
    -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -dict="$dict" -print_final_stats=1 \
    > "$log" 2>&1
  code=$?
  runs=$(grep -o '^stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  crashes=$(ls fuzz/artifacts/"$target" 2>/dev/null | wc -l)
  echo "$target: ${seconds}s, ${runs:-?} executions, exit $code, $crashes file(s) in fuzz/artifacts/$target"
  [ "$code" -ne 0 ] && status=1
done
exit $status
