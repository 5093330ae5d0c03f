#!/usr/bin/env bash
# tlsql on each TLS backend and MariaDB, measured on the same work with the same client tools
# in one window: the peer script in ../shared/peer (connbench connection rate plain / TLS /
# mutual TLS, sysbench oltp_point_select plain / TLS, 100 MB result sets plain / TLS), with the
# server's CPU time per operation from /proc/<pid>/stat; and this repository's load tool
# (examples/load/: server RSS per idle connection, connection rate, queries per second).
#
#   benches/peer-compare.sh                       all backends compiled in turn, then MariaDB
#   TLSQLTEST_BACKENDS="rustls" benches/peer-compare.sh
#
# Needs `../shared/peer/peer.sh install` once (MariaDB, sysbench, connbench). Results go to
# target/peer-results/<label>/ (summary-table.txt per target). Every server listens on
# 127.0.0.1 and every run is bounded by the peer script's time and count limits.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shared/ sits beside the main checkout; a worktree elsewhere finds it through the common git dir.
PEER=${PEER_SH:-$ROOT/../shared/peer/peer.sh}
[[ -x $PEER ]] || PEER=$(cd "$(git rev-parse --git-common-dir)/../.." && pwd)/shared/peer/peer.sh
export PEER_DIR=${PEER_DIR:-${TMPDIR:-/tmp}/tlsql-peer}
BACKENDS=${TLSQLTEST_BACKENDS:-"rustls openssl boring"}
# `load` first: it measures memory per idle connection, which wants a server not yet warmed by
# the other steps.
STEPS=${STEPS:-"load bench-conn bench-sysbench bench-bulk"}
OUT=${OUT:-$ROOT/target/peer-results}
# A shorter run than the peer's defaults; override any of them from the environment.
export ROUNDS=${ROUNDS:-3} CONN_SECS=${CONN_SECS:-4} CONN_MAX=${CONN_MAX:-20000} \
  SB_SECS=${SB_SECS:-6} SB_ROUNDS=${SB_ROUNDS:-2} BULK_SECS=${BULK_SECS:-5} BULK_MAX=${BULK_MAX:-20} \
  PY_BULK_REPS=${PY_BULK_REPS:-3}
CERTS=$PEER_DIR/certs
PID=""

cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null || true; }
trap cleanup EXIT

measure() {
  local label=$1 port=$2 pid=$3 step
  rm -rf "${OUT:?}/$label"
  mkdir -p "$OUT/$label"
  for step in $STEPS; do
    if [[ $step == load ]]; then
      load_tool "$port" "$pid" >"$OUT/$label/load.txt"
    else
      RESULTS_DIR=$OUT/$label BENCH_PORT=$port BENCH_SERVER_PID=$pid "$PEER" "$step" >>"$OUT/$label/log.txt" 2>&1
    fi
  done
  RESULTS_DIR=$OUT/$label "$PEER" summary >"$OUT/$label/summary-table.txt"
  echo "== $label"
  cat "$OUT/$label/summary-table.txt"
  # Without the `load` step there is no load.txt, which must not end the run.
  if [[ -f $OUT/$label/load.txt ]]; then cat "$OUT/$label/load.txt"; fi
}

LOAD_SECS=${LOAD_SECS:-5}
LOAD_IDLE=${LOAD_IDLE:-200}
# Both servers run with max_connections = 1000 (the peer's my.cnf, tlsql's default): hold fewer.
LOAD_HOLD=${LOAD_HOLD:-900}
# The load tool against one server, as the peer's accounts: u_plain over plain TCP, u_ssl over
# TLS verified against the peer's CA. Idle memory over TLS is measured first, on a fresh server
# (a thread and a TLS session per connection); the plain run after it finds those threads
# cached by both servers, so it shows the session's own memory.
load_tool() {
  local port=$1 pid=$2 tool=$ROOT/target/release/examples/load
  local plain=(--port "$port" --server-pid "$pid" --user u_plain --password pw_plain)
  local tls=(--port "$port" --server-pid "$pid" --user u_ssl --password pw_ssl --ssl-ca "$CERTS/ca.pem")
  echo "tls   $("$tool" "${tls[@]}" idle --connections "$LOAD_IDLE")"
  echo "plain $("$tool" "${plain[@]}" idle --connections "$LOAD_IDLE")"
  echo "tls   $("$tool" "${tls[@]}" hold --connections "$LOAD_HOLD" --logins 50)"
  echo "plain $("$tool" "${plain[@]}" connect --clients 2 --seconds "$LOAD_SECS")"
  echo "tls   $("$tool" "${tls[@]}" connect --clients 2 --seconds "$LOAD_SECS")"
  # The tool's own TLS client offering X25519 alone: full handshakes, then resumed ones.
  echo "tls   $("$tool" "${tls[@]}" handshake --full --group X25519 --clients 2 --seconds "$LOAD_SECS")"
  echo "tls   $("$tool" "${tls[@]}" handshake --group X25519 --clients 2 --seconds "$LOAD_SECS")"
  echo "plain $("$tool" "${plain[@]}" query --clients 2 --seconds "$LOAD_SECS" --sql 'SELECT 1')"
  echo "tls   $("$tool" "${tls[@]}" query --clients 2 --seconds "$LOAD_SECS" --sql 'SELECT 1')"
}

# The accounts, databases and tables the peer creates on MariaDB, created the same way here.
prepare_tlsql() {
  local sock=$1 port=$2
  mariadb --no-defaults -S "$sock" -uroot <<SQL
CREATE DATABASE sbtest;
CREATE DATABASE bench;
CREATE TABLE bench.t100 (id INT PRIMARY KEY);
INSERT INTO bench.t100 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) SELECT i FROM n;
CREATE USER 'u_plain'@'%'   IDENTIFIED BY 'pw_plain';
CREATE USER 'u_ssl'@'%'     IDENTIFIED BY 'pw_ssl'     REQUIRE SSL;
CREATE USER 'u_x509'@'%'    IDENTIFIED BY 'pw_x509'    REQUIRE X509;
CREATE USER 'u_subject'@'%' IDENTIFIED BY 'pw_subject' REQUIRE SUBJECT '/C=US/O=PeerTest/CN=peer-client';
GRANT ALL PRIVILEGES ON sbtest.* TO 'u_plain'@'%', 'u_ssl'@'%', 'u_x509'@'%', 'u_subject'@'%';
GRANT SELECT ON bench.* TO 'u_plain'@'%', 'u_ssl'@'%', 'u_x509'@'%', 'u_subject'@'%';
SQL
  sysbench oltp_point_select --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$port" --mysql-db=sbtest \
    --tables=1 --table-size=10000 --mysql-user=u_plain --mysql-password=pw_plain prepare >/dev/null
}

"$PEER" setup >"$PEER_DIR-setup.log" 2>&1 || { cat "$PEER_DIR-setup.log"; exit 1; }
for backend in $BACKENDS; do
  case $backend in rustls) features="" ;; *) features="--features $backend" ;; esac
  # shellcheck disable=SC2086
  cargo build --release --bin tlsql --example load $features
  work=$OUT/data-$backend
  rm -rf "$work"
  mkdir -p "$work"
  target/release/tlsql --port 0 --data-dir "$work/data" --socket "$work/tlsql.sock" --tls-backend "$backend" \
    --ssl-cert "$CERTS/server-cert.pem" --ssl-key "$CERTS/server-key.pem" --ssl-ca "$CERTS/ca.pem" \
    --log-level info >"$work/server.log" 2>&1 &
  PID=$!
  port=""
  for _ in $(seq 1 100); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/server.log" | head -n1)
    [[ -n $port && -S $work/tlsql.sock ]] && break
    sleep 0.1
  done
  [[ -n $port ]] || { cat "$work/server.log"; exit 1; }
  prepare_tlsql "$work/tlsql.sock" "$port"
  measure "tlsql-$backend" "$port" "$PID"
  kill "$PID"
  wait "$PID" || true
  PID=""
done
measure mariadb "${PEER_PORT:-3307}" "$(cat "$PEER_DIR/mariadbd.pid")"
"$PEER" stop >/dev/null 2>&1 || true
