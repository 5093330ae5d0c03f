#!/usr/bin/env bash
# The test command: installs what the tests need on a fresh Debian machine (.ci/install.sh), then runs every
# test for every TLS backend (rustls, OpenSSL, BoringSSL): unit and integration tests, and
# the real-client checks (mariadb CLI, PyMySQL, mysql-connector-python, openssl s_client,
# sysbench), the same clients through the gateway in front of a MariaDB, and a testssl scan; then every fuzz target briefly over its corpus (fuzz/run.sh).
#
#   tests/run.sh            everything
#   TLSQLTEST_BACKENDS="rustls openssl" tests/run.sh    a subset of backends
#   TLSQLTEST_SKIP_INSTALL=1 tests/run.sh               skip apt/pip (already installed)
#   TLSQLTEST_FUZZ_SECONDS=60 tests/run.sh              fuzz each target longer (default 10 s)
#   TLSQLTEST_TOOLS="mysql2 sqlx" tests/run.sh           the users' own tools run (tests/tools)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BACKENDS=${TLSQLTEST_BACKENDS:-"rustls openssl boring"}
VENV=${TLSQLTEST_VENV:-$ROOT/target/test-venv}
# The users' own tools (tests/tools/run.sh) that pass against tlsql, in run.sh's order
# (tests/tools/STATUS.md). TLSQLTEST_TOOLS="mysql2 jdbc …" runs a subset, TLSQLTEST_TOOLS="" none.
TOOLS=${TLSQLTEST_TOOLS-"mysql2 jdbc go sqlalchemy django dump slap prepare show upsert exporter sqlx"}

step() { printf '\n=== %s\n' "$*"; }

features_for() {
  case $1 in
    rustls) echo "" ;;
    openssl) echo "--features openssl" ;;
    boring) echo "--features boring" ;;
    *) echo "unknown backend $1" >&2; exit 2 ;;
  esac
}

# Installing is .ci/install.sh's job; the test command runs it first so that it alone sets up a
# fresh machine.
[[ -n ${TLSQLTEST_SKIP_INSTALL:-} ]] || TLSQLTEST_BACKENDS="$BACKENDS" TLSQLTEST_VENV="$VENV" .ci/install.sh

step "shared TLS interface: cargo test -p tlsql-tls-api"
cargo test -p tlsql-tls-api

for backend in $BACKENDS; do
  features=$(features_for "$backend")
  step "$backend: backend crate tests (cargo test -p tlsql-tls-$backend)"
  cargo test -p "tlsql-tls-$backend"
  step "$backend: server unit and integration tests (cargo test -p tlsql $features)"
  # The `backends` tests exercise MariaDB directly, whatever TLS library tlsql links: once is
  # enough.
  skip=()
  [[ -n ${backends_done:-} ]] && skip=(-- --skip backends::)
  # shellcheck disable=SC2086
  cargo test -p tlsql $features "${skip[@]}"
  backends_done=1
  step "$backend: real clients against the tlsql binary"
  # shellcheck disable=SC2086
  cargo build --bin tlsql --example load $features
  TLSQLTEST_BIN="$ROOT/target/debug/tlsql" TLSQLTEST_LOAD="$ROOT/target/debug/examples/load" TLSQLTEST_BACKEND="$backend" PYTHON="$VENV/bin/python" \
    tests/clients/run-clients.sh
  step "$backend: the log at trace level: no secrets, bounded hostile fields"
  TLSQLTEST_BIN="$ROOT/target/debug/tlsql" TLSQLTEST_BACKEND="$backend" PYTHON="$VENV/bin/python" \
    tests/clients/log-check.sh
  if [[ -n $TOOLS ]]; then
    step "$backend: the users' own tools against the tlsql binary: $TOOLS (tests/tools/STATUS.md lists the rest)"
    # shellcheck disable=SC2086
    TLSQLTEST_BIN="$ROOT/target/debug/tlsql" TLSQLTEST_BACKEND="$backend" PYTHON="$VENV/bin/python" tests/tools/tlsql.sh $TOOLS
  fi
  step "$backend: real clients directly against MariaDB and through the gateway: the same answers"
  TLSQLTEST_BIN="$ROOT/target/debug/tlsql" TLSQLTEST_BACKEND="$backend" PYTHON="$VENV/bin/python" \
    tests/gateway/clients.sh gateway
  step "$backend: TLS scan of the default configuration (testssl --starttls mysql)"
  TLSQLTEST_BIN="$ROOT/target/debug/tlsql" TLSQLTEST_BACKEND="$backend" PYTHON="$VENV/bin/python" \
    tests/clients/testssl.sh
done

step "fuzz targets: the corpus replayed, then ${TLSQLTEST_FUZZ_SECONDS:-10} s each (fuzz/run.sh)"
FUZZ_CI=1 fuzz/run.sh "${TLSQLTEST_FUZZ_SECONDS:-10}"

step "all tests passed for: $BACKENDS"
