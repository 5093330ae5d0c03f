#!/usr/bin/env bash
# The gateway in front of MariaDB against MariaDB directly, in one window, with the same client
# tools and certificates: the peer script's checks and baselines (../shared/peer/peer.sh), run
# once against MariaDB and once through tlsql in gateway mode in front of that same MariaDB.
#
#   benches/gateway-compare.sh                 rustls, then the other backends compiled in turn
#   TLSQLTEST_BACKENDS="rustls" benches/gateway-compare.sh
#   STEPS="verify" benches/gateway-compare.sh  only the behaviour comparison
#
# Steps:
#   verify      peer.sh verify (REQUIRE SSL/X509/SUBJECT logins and refusals, TLS versions,
#               wrong CAs, status rows, `\s`) against both; the outputs are diffed once ports,
#               connection ids, uptimes and server-wide counters are masked, and the lines
#               that differ printed.
#   conn        connbench connection rate plain / TLS / mutual TLS, with the CPU of the server
#               measured (MariaDB directly; the gateway and MariaDB behind it).
#   sysbench    oltp_point_select and oltp_read_write over TLS at 1 and 4 threads: TPS and the
#               gateway's CPU per transaction.
#   bulk        100 MB result sets plain / TLS, rate and CPU.
#
# Needs `../shared/peer/peer.sh install` once. Results go to target/gateway-results/. Every
# server listens on 127.0.0.1; every run is bounded by the peer script's time and count limits.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PEER=${PEER_SH:-$ROOT/../shared/peer/peer.sh}
# shared/ sits beside the main checkout; a worktree elsewhere finds it through the common git dir.
[[ -x $PEER ]] || PEER=$(cd "$(git rev-parse --git-common-dir)/../.." && pwd)/shared/peer/peer.sh
export PEER_DIR=${PEER_DIR:-${TMPDIR:-/tmp}/tlsql-peer}
BACKENDS=${TLSQLTEST_BACKENDS:-"rustls openssl boring"}
STEPS=${STEPS:-"verify conn sysbench bulk"}
OUT=${OUT:-$ROOT/target/gateway-results}
export ROUNDS=${ROUNDS:-3} CONN_SECS=${CONN_SECS:-4} CONN_MAX=${CONN_MAX:-20000} \
  SB_SECS=${SB_SECS:-6} SB_ROUNDS=${SB_ROUNDS:-2} BULK_SECS=${BULK_SECS:-5} BULK_MAX=${BULK_MAX:-20} \
  PY_BULK_REPS=${PY_BULK_REPS:-3}
SB_TIME=${SB_TIME:-8}
CERTS=$PEER_DIR/certs
PEER_PORT=${PEER_PORT:-3307}
PID=""

cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null || true; }
trap cleanup EXIT

mariadb_pid() { cat "$PEER_DIR/mariadbd.pid"; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }

# sysbench over TLS against PORT for THREADS: prints "tps=… gateway_us_per_txn=… backend_us_per_txn=…".
sysbench_tls() {
  local test=$1 port=$2 threads=$3 gw_pid=$4 out before_gw before_db after_gw after_db tps txns hz
  hz=$(getconf CLK_TCK)
  before_db=$(cpu_ticks "$(mariadb_pid)")
  before_gw=0; [[ -n $gw_pid ]] && before_gw=$(cpu_ticks "$gw_pid")
  out=$(cd "$PEER_DIR/sbssl" && sysbench "$test" --db-driver=mysql --mysql-host=127.0.0.1 \
    --mysql-port="$port" --mysql-user=u_ssl --mysql-password=pw_ssl --mysql-db=sbtest --mysql-ssl=on \
    --tables=1 --table-size=10000 --threads="$threads" --time="$SB_TIME" --report-interval=0 run)
  after_db=$(cpu_ticks "$(mariadb_pid)")
  after_gw=0; [[ -n $gw_pid ]] && after_gw=$(cpu_ticks "$gw_pid")
  tps=$(sed -n 's/.*transactions: *\([0-9]*\) *(\([0-9.]*\) per sec.*/\2/p' <<<"$out")
  txns=$(sed -n 's/.*transactions: *\([0-9]*\) *(.*/\1/p' <<<"$out")
  awk -v tps="$tps" -v n="$txns" -v g=$((after_gw - before_gw)) -v d=$((after_db - before_db)) -v hz="$hz" \
    'BEGIN { printf "tps=%.0f gateway_us_per_txn=%.1f backend_us_per_txn=%.1f\n", tps, g*1e6/hz/n, d*1e6/hz/n }'
}

measure() {
  local label=$1 port=$2 pid=$3 gw_pid=$4 step test threads
  mkdir -p "$OUT/$label"
  for step in $STEPS; do
    case $step in
      verify)
        # What differs between any two servers or runs is masked: ports, connection ids,
        # uptimes, server-wide counters.
        RESULTS_DIR=$OUT/$label BENCH_PORT=$port "$PEER" verify 2>&1 |
          sed -E -e "s/-P$port/-P<port>/g" -e "s/ $port( |\$)/ <port>\1/g" \
            -e 's/^(Connection id:|TCP port:|Uptime:|Threads:).*/\1 <masked>/' \
            -e 's/^(Ssl_accepts|Ssl_finished_accepts|Ssl_session_cache_[a-z_]+|Ssl_used_session_cache_entries)\t.*/\1\t<masked>/' \
            -e 's/^connection_id=[0-9]+/connection_id=<masked>/' \
            >"$OUT/$label/verify.txt" ;;
      conn) RESULTS_DIR=$OUT/$label BENCH_PORT=$port BENCH_SERVER_PID=$pid "$PEER" bench-conn >>"$OUT/$label/log.txt" 2>&1 ;;
      bulk) RESULTS_DIR=$OUT/$label BENCH_PORT=$port BENCH_SERVER_PID=$pid "$PEER" bench-bulk >>"$OUT/$label/log.txt" 2>&1 ;;
      sysbench)
        for test in oltp_point_select oltp_read_write; do
          for threads in 1 4; do
            echo "$test threads=$threads $(sysbench_tls "$test" "$port" "$threads" "$gw_pid")"
          done
        done >"$OUT/$label/sysbench-tls.txt" ;;
    esac
  done
  if [[ " $STEPS " == *" conn "* || " $STEPS " == *" bulk "* ]]; then
    RESULTS_DIR=$OUT/$label "$PEER" summary >"$OUT/$label/summary-table.txt" 2>/dev/null || true
  fi
  echo "== $label"
  for f in summary-table.txt sysbench-tls.txt; do
    [[ -f $OUT/$label/$f ]] && cat "$OUT/$label/$f"
  done
  return 0
}

rm -rf "$OUT"
mkdir -p "$OUT"
"$PEER" setup >"$OUT/peer-setup.log" 2>&1 || { cat "$OUT/peer-setup.log"; exit 1; }
measure mariadb "$PEER_PORT" "$(mariadb_pid)" ""
for backend in $BACKENDS; do
  case $backend in rustls) features="" ;; *) features="--features $backend" ;; esac
  # shellcheck disable=SC2086
  cargo build --release --bin tlsql $features
  work=$OUT/gateway-$backend
  mkdir -p "$work"
  target/release/tlsql --port 0 --data-dir "$work/data" --tls-backend "$backend" \
    --ssl-cert "$CERTS/server-cert.pem" --ssl-key "$CERTS/server-key.pem" --ssl-ca "$CERTS/ca.pem" \
    --upstream-servers "127.0.0.1:$PEER_PORT" --upstream-ssl-ca "$CERTS/ca.pem" \
    --log-level info >"$work/server.log" 2>&1 &
  PID=$!
  port=""
  for _ in $(seq 1 100); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/server.log" | head -n1)
    [[ -n $port ]] && break
    sleep 0.1
  done
  [[ -n $port ]] || { cat "$work/server.log"; exit 1; }
  # MariaDB trusts the gateway's identity CA (forwarded client certificates) from now on.
  cat "$work/data/tls/identity-ca.pem" >>"$CERTS/ca.pem"
  mariadb --no-defaults -S "$PEER_DIR/mysqld.sock" -uroot -e "FLUSH SSL"
  measure "gateway-$backend" "$port" "$PID" "$PID"
  if [[ " $STEPS " == *" verify "* ]] && ! diff -u "$OUT/mariadb/verify.txt" "$OUT/gateway-$backend/verify.txt" >"$OUT/gateway-$backend/verify.diff"; then
    # Known and documented in the README (gateway mode): the client leg's cipher follows the
    # gateway's preference order, the greeting offers no compression or MariaDB extensions,
    # TLS errors are the client leg's library's.
    echo "gateway-$backend: where peer.sh verify differs from MariaDB directly:"
    grep -E '^[-+][^-+]' "$OUT/gateway-$backend/verify.diff" || true
  fi
  kill "$PID"
  wait "$PID" || true
  PID=""
done
"$PEER" stop >/dev/null 2>&1 || true
