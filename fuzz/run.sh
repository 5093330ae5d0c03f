#!/usr/bin/env bash
# Runs every fuzz target for a bounded time, on the stable toolchain.
#
#   fuzz/run.sh             each target 60 s from fuzz/seeds/<target> (hand-written, named
#                           inputs) and fuzz/corpus/<target> (what earlier runs found); then the
#                           corpus is replaced by the smallest set of inputs that covers what
#                           it and the new inputs cover (libFuzzer -merge=1)
#   fuzz/run.sh 10          each target 10 s
#   FUZZ_CI=1 fuzz/run.sh 5 CI mode: replays the corpus, fuzzes briefly, writes nothing
#                           under fuzz/ (new inputs go to a temporary directory)
#   fuzz/run.sh 60 packet   only the named targets
#
# Why not cargo-fuzz: it needs nightly. libfuzzer-sys builds libFuzzer from source with the C++
# compiler, and the coverage instrumentation libFuzzer needs is LLVM's SanitizerCoverage pass,
# which stable rustc runs when asked with -Cpasses and -Cllvm-args (the flags cargo-fuzz passes
# too, minus AddressSanitizer, which is nightly-only; safe Rust needs it least). The build names
# the host target explicitly so that build scripts and proc macros, built for the host without
# RUSTFLAGS, are not instrumented.
#
# A crash leaves its input in fuzz/artifacts/<target>/ and fails the script; reproduce it with
# target/fuzz/<triple>/release/<target> fuzz/artifacts/<target>/crash-…
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SECONDS_PER_TARGET=${1:-60}
shift || true
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=(packet first_packet execute statement account_stmt)

command -v c++ >/dev/null || { echo "fuzz/run.sh needs a C++ compiler (g++) to build libFuzzer" >&2; exit 2; }
triple=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
target_dir=$ROOT/target/fuzz
cargo build --release --manifest-path fuzz/Cargo.toml --target "$triple" --target-dir "$target_dir" --bins

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for name in "${TARGETS[@]}"; do
  seeds=fuzz/seeds/$name
  corpus=fuzz/corpus/$name
  artifacts=fuzz/artifacts/$name
  [[ -d $seeds ]] || { echo "no seed directory $seeds" >&2; exit 2; }
  mkdir -p "$artifacts" "$corpus"
  # libFuzzer adds new inputs to the first directory only.
  mkdir -p "$scratch/$name"
  dirs=("$scratch/$name" "$corpus" "$seeds")
  bin=$target_dir/$triple/release/$name
  printf '\n=== fuzz %s: %s s over %s inputs\n' "$name" "$SECONDS_PER_TARGET" "$(find "$corpus" "$seeds" -type f | wc -l)"
  log=$scratch/$name.log
  # -rss_limit_mb: a reader that trusts an announced length would go over it.
  if ! "$bin" -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=512 \
    -max_len=8192 -timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts/" "${dirs[@]}" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzz target $name found a failure; the input is in $artifacts/" >&2
    exit 1
  fi
  grep -E '^stat::(number_of_executed_units|new_units_added|peak_rss_mb)' "$log"
  if [[ -z ${FUZZ_CI:-} ]]; then
    mkdir "$scratch/$name.min"
    "$bin" -merge=1 "$scratch/$name.min" "$corpus" "$scratch/$name" >"$log" 2>&1 ||
      { tail -n 20 "$log" >&2; echo "merging the corpus of $name failed" >&2; exit 1; }
    rm -f "$corpus"/*
    find "$scratch/$name.min" -type f -exec cp -t "$corpus" {} +
    echo "corpus of $name: $(find "$corpus" -type f | wc -l) inputs"
  fi
done
printf '\n=== fuzz: every target ran %s s without a finding\n' "$SECONDS_PER_TARGET"
