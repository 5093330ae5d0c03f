#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine: system packages (apt) for the
# backends being tested and the real clients, and a Python virtual environment with the
# Python drivers. Idempotent: what is already there is not installed again.
#
#   .ci/install.sh                      for every backend
#   TLSQLTEST_BACKENDS="rustls" .ci/install.sh
#   TLSQLTEST_VENV=/path .ci/install.sh where the virtual environment goes (default target/test-venv)
set -euo pipefail
cd "$(dirname "$0")/.."
BACKENDS=${TLSQLTEST_BACKENDS:-"rustls openssl boring"}
VENV=${TLSQLTEST_VENV:-$(pwd)/target/test-venv}

need=()
command -v mariadb >/dev/null || need+=(mariadb-client)
command -v sysbench >/dev/null || need+=(sysbench)
command -v openssl >/dev/null || need+=(openssl)
command -v testssl >/dev/null || need+=(testssl.sh)
command -v pkg-config >/dev/null || need+=(pkg-config)
dpkg -s libssl-dev >/dev/null 2>&1 || need+=(libssl-dev)
command -v python3 >/dev/null || need+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
if [[ " $BACKENDS " == *" boring "* ]]; then
  command -v cmake >/dev/null || need+=(cmake)
  command -v git >/dev/null || need+=(git)
  dpkg -s libclang-dev >/dev/null 2>&1 || need+=(libclang-dev)
fi
# libFuzzer (fuzz/run.sh) is C++.
command -v g++ >/dev/null || need+=(g++)
# The users' own tools (tests/tools): node mysql2, MariaDB Connector/J, go-sql-driver (built from
# Debian's source package, so nothing is fetched at build time), mariadb-dump and mariadb-slap
# (mariadb-client), prometheus-mysqld-exporter, and promtool (in Debian's prometheus package) to
# check the server's own /metrics output.
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
command -v javac >/dev/null || need+=(openjdk-17-jdk-headless)
[[ -f /usr/share/java/mariadb-java-client.jar ]] || need+=(libmariadb-java)
command -v go >/dev/null || need+=(golang-go)
[[ -d /usr/share/gocode/src/github.com/go-sql-driver/mysql ]] || need+=(golang-github-go-sql-driver-mysql-dev)
command -v prometheus-mysqld-exporter >/dev/null || need+=(prometheus-mysqld-exporter)
command -v curl >/dev/null || need+=(curl)
command -v promtool >/dev/null || need+=(prometheus)
# The gateway's backends (tests/gateway/mariadb.sh): MariaDB servers and a Galera cluster that
# the tests start themselves on loopback ports; rsync carries Galera's state transfers.
# mariadb-server, not only its -core: the Galera state-transfer script and the ed25519 plugin.
command -v wsrep_sst_rsync >/dev/null || need+=(mariadb-server)
[[ -e /usr/lib/galera/libgalera_smm.so ]] || need+=(galera-4)
command -v rsync >/dev/null || need+=(rsync)
if ((${#need[@]})); then
  printf '\n=== installing system packages: %s\n' "${need[*]}"
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
  # mariadb-server's maintainer scripts start the packaged service unless policy-rc.d forbids
  # it (exit 101); the tests start their own instances, and a system one would hold port 3306
  # and outlive the install. Whatever policy-rc.d was there before is put back afterwards.
  policy=/usr/sbin/policy-rc.d
  saved=""
  if [[ ! -x $policy ]] || { "$policy" mariadb start >/dev/null 2>&1; [[ $? -ne 101 ]]; }; then
    saved=$(mktemp)
    if [[ -e $policy ]]; then $sudo cp -p "$policy" "$saved"; else rm -f "$saved"; fi
    trap 'if [[ -e $saved ]]; then $sudo mv "$saved" "$policy"; else $sudo rm -f "$policy"; fi' EXIT
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq -o DPkg::Lock::Timeout=300 "${need[@]}" >/dev/null
  if [[ -n $saved ]]; then
    if [[ -e $saved ]]; then $sudo mv "$saved" "$policy"; else $sudo rm -f "$policy"; fi
    trap - EXIT
  fi
fi
if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c 'import ssl, pymysql, cryptography, mysql.connector as m; assert m.HAVE_CEXT' 2>/dev/null; then
  printf '\n=== installing Python drivers into %s\n' "$VENV"
  python3 -m venv "$VENV"
  # mysql-connector-python 9.2+ wheels link OpenSSL 3.2 symbols; Debian 12 ships OpenSSL 3.0, so its
  # C extension would not load. 9.1 bundles a build against OpenSSL 3.0.
  "$VENV/bin/python" -m pip install -q PyMySQL "mysql-connector-python==9.1.0" cryptography
fi
# Pinned: tests/tools/STATUS.md records what these versions do against tlsql.
if ! "$VENV/bin/python" -c 'import sqlalchemy, django; assert sqlalchemy.__version__ == "2.1.9" and django.__version__ == "5.2.20"' 2>/dev/null; then
  printf '\n=== installing SQLAlchemy and Django into %s\n' "$VENV"
  "$VENV/bin/python" -m pip install -q "SQLAlchemy==2.1.9" "Django==5.2.20"
fi
# node mysql2 at the version and dependency tree of tests/tools/node/package-lock.json, in a local
# prefix under target/ (never global).
NODE_PREFIX=$(pwd)/target/tools-node
if ! cmp -s tests/tools/node/package-lock.json "$NODE_PREFIX/package-lock.json" || [[ ! -d $NODE_PREFIX/node_modules/mysql2 ]]; then
  printf '\n=== installing node mysql2 into %s\n' "$NODE_PREFIX"
  mkdir -p "$NODE_PREFIX"
  cp tests/tools/node/package.json tests/tools/node/package-lock.json "$NODE_PREFIX/"
  npm ci --prefix "$NODE_PREFIX" --no-audit --no-fund --silent
fi
