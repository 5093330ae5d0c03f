#!/usr/bin/env bash
# The test command: installs what the tests need on a fresh Debian machine, then runs every
# test for every TLS backend (rustls, OpenSSL, BoringSSL): unit and integration tests, and
# the real-client checks (mariadb CLI, PyMySQL, mysql-connector-python, openssl s_client,
# sysbench).
#
#   tests/run.sh            everything
#   TLSQLTEST_BACKENDS="rustls openssl" tests/run.sh    a subset of backends
#   TLSQLTEST_SKIP_INSTALL=1 tests/run.sh               skip apt/pip (already installed)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BACKENDS=${TLSQLTEST_BACKENDS:-"rustls openssl boring"}
VENV=${TLSQLTEST_VENV:-$ROOT/target/test-venv}

step() { printf '\n=== %s\n' "$*"; }

install() {
  local need=()
  command -v mariadb >/dev/null || need+=(mariadb-client)
  command -v sysbench >/dev/null || need+=(sysbench)
  command -v openssl >/dev/null || need+=(openssl)
  command -v pkg-config >/dev/null || need+=(pkg-config)
  dpkg -s libssl-dev >/dev/null 2>&1 || need+=(libssl-dev)
  command -v python3 >/dev/null || need+=(python3)
  python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
  if [[ " $BACKENDS " == *" boring "* ]]; then
    command -v cmake >/dev/null || need+=(cmake)
    command -v git >/dev/null || need+=(git)
    dpkg -s libclang-dev >/dev/null 2>&1 || need+=(libclang-dev)
    command -v g++ >/dev/null || need+=(g++)
  fi
  if ((${#need[@]})); then
    step "installing system packages: ${need[*]}"
    local sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c 'import ssl, pymysql, cryptography, mysql.connector as m; assert m.HAVE_CEXT' 2>/dev/null; then
    step "installing Python drivers into $VENV"
    python3 -m venv "$VENV"
    # mysql-connector-python 9.2+ wheels link OpenSSL 3.2 symbols; Debian 12 ships OpenSSL 3.0, so its
    # C extension would not load. 9.1 bundles a build against OpenSSL 3.0.
    "$VENV/bin/pip" install -q PyMySQL "mysql-connector-python==9.1.0" cryptography
  fi
}

features_for() {
  case $1 in
    rustls) echo "" ;;
    openssl) echo "--features openssl" ;;
    boring) echo "--features boring" ;;
    *) echo "unknown backend $1" >&2; exit 2 ;;
  esac
}

[[ -n ${TLSQLTEST_SKIP_INSTALL:-} ]] || install

step "shared TLS interface: cargo test -p tlsql-tls-api"
cargo test -p tlsql-tls-api

for backend in $BACKENDS; do
  features=$(features_for "$backend")
  step "$backend: backend crate tests (cargo test -p tlsql-tls-$backend)"
  cargo test -p "tlsql-tls-$backend"
  step "$backend: server unit and integration tests (cargo test -p tlsql $features)"
  # shellcheck disable=SC2086
  cargo test -p tlsql $features
  step "$backend: real clients against the tlsql binary"
  # shellcheck disable=SC2086
  cargo build --bin tlsql --example load $features
  TLSQLTEST_BIN="$ROOT/target/debug/tlsql" TLSQLTEST_LOAD="$ROOT/target/debug/examples/load" TLSQLTEST_BACKEND="$backend" PYTHON="$VENV/bin/python" \
    tests/clients/run-clients.sh
  step "$backend: the log at trace level: no secrets, bounded hostile fields"
  TLSQLTEST_BIN="$ROOT/target/debug/tlsql" TLSQLTEST_BACKEND="$backend" PYTHON="$VENV/bin/python" \
    tests/clients/log-check.sh
done

step "all tests passed for: $BACKENDS"
