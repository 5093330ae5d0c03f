#!/usr/bin/env bash
# Real clients against the tlsql binary on its defaults (auto-tls): the mariadb CLI (batch and
# interactive), PyMySQL, mysql-connector-python (C extension and pure Python), each logging in
# with caching_sha2_password and mysql_native_password, writing and reading back;
# openssl s_client (TLS 1.2/1.3, resumption, SIGHUP reload); sysbench over TLS with the auto-tls
# client certificate; then a restart (data persisted), kill -9 (committed data kept) and SIGTERM
# (a running statement finishes, exit 0; a second SIGTERM exits at once).
#
# Then the load tool (examples/load/) in each of its modes, short and bounded.
#
# Needs: TLSQLTEST_BIN (the server binary), TLSQLTEST_LOAD (the load tool), PYTHON (with PyMySQL, mysql-connector-python,
# cryptography), TLSQLTEST_BACKEND (rustls | openssl | boring).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${TLSQLTEST_BIN:?set TLSQLTEST_BIN to the tlsql binary}
LOAD=${TLSQLTEST_LOAD:?set TLSQLTEST_LOAD to the load tool (examples/load/)}
PY=${PYTHON:-python3}
BACKEND=${TLSQLTEST_BACKEND:-rustls}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tlsql-clients.XXXXXX")
SOCK=$WORK/tlsql.sock
PID=""

cleanup() {
  [[ -n $PID ]] && kill -9 "$PID" 2>/dev/null || true
  if [[ ${KEEP_WORK:-} ]]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# Extra arguments are passed to the server.
start_server() {
  : > "$WORK/server.log"
  "$BIN" --port 0 --data-dir "$WORK/data" --socket "$SOCK" --tls-backend "$BACKEND" --log-level info "$@" \
    >>"$WORK/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 200); do
    PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/server.log" | head -n1)
    [[ -n $PORT && -S $SOCK ]] && break
    kill -0 "$PID" 2>/dev/null || { cat "$WORK/server.log"; echo "server exited"; exit 1; }
    sleep 0.1
  done
  [[ -n $PORT ]] || { cat "$WORK/server.log"; echo "server did not start"; exit 1; }
  grep -q "secure connection is enabled: backend $BACKEND" "$WORK/server.log" ||
    { cat "$WORK/server.log"; echo "TLS is not enabled on $BACKEND"; exit 1; }
}

stop_server() {
  kill "$PID"
  wait "$PID" || true
  PID=""
}

TLS=$WORK/data/tls
run() {
  echo "--- $1 (${2:-run1})"
  "$PY" "$HERE/clients.py" "$1" --port "$PORT" --socket "$SOCK" --ca "$TLS/ca.pem" \
    --client-cert "$TLS/client-cert.pem" --client-key "$TLS/client-key.pem" --tag "${2:-run1}"
}

s_client() {
  local version=$1
  local out
  out=$(openssl s_client -starttls mysql -connect "127.0.0.1:$PORT" "-$version" -CAfile "$TLS/ca.pem" \
    -verify_return_error -verify_hostname localhost </dev/null 2>&1) || { echo "$out"; echo "s_client -$version failed"; exit 1; }
  local expected=${version/tls1_/TLSv1.}
  grep -Eq "Protocol *: $expected|^New, $expected, " <<<"$out" || { echo "$out"; echo "s_client -$version: protocol is not $expected"; exit 1; }
  grep -q "Verify return code: 0 (ok)" <<<"$out" || { echo "$out"; echo "s_client -$version: verification failed"; exit 1; }
  echo "--- openssl s_client -starttls mysql -$version: $(sed -n 's/^New, .*, Cipher is //p' <<<"$out" | head -n1) ok"
}

# Resumption with s_client: a session saved from one connection is resumed by the next
# (`Reused`), and after SIGHUP (a reload, so a fresh resumption context) it is not.
# `sleep` keeps s_client reading long enough to receive TLS 1.3 tickets.
resume() {
  local version=$1 expect=$2
  local out
  out=$( (sleep 1) | openssl s_client -starttls mysql -connect "127.0.0.1:$PORT" "-$version" -CAfile "$TLS/ca.pem" \
    -sess_in "$WORK/session-$version.pem" 2>&1) || { echo "$out"; echo "s_client -sess_in -$version failed"; exit 1; }
  grep -q "^$expect, " <<<"$out" || { echo "$out"; echo "s_client -$version: expected a $expect session"; exit 1; }
  echo "--- openssl s_client -$version -sess_in: $expect"
}

save_session() {
  local version=$1
  (sleep 1) | openssl s_client -starttls mysql -connect "127.0.0.1:$PORT" "-$version" -CAfile "$TLS/ca.pem" \
    -sess_out "$WORK/session-$version.pem" >/dev/null 2>&1 || { echo "s_client -sess_out -$version failed"; exit 1; }
}

echo "== real clients against tlsql ($BACKEND), work dir $WORK"
start_server
run setup
run pymysql
run connector-c
run connector-pure
run mariadb
run mariadb-interactive
s_client tls1_2
s_client tls1_3

echo "== resumption and SIGHUP"
# BoringSSL sends TLS 1.3 tickets with its first application data, and s_client -starttls
# stops before the server writes any, so it never gets one there; TLS 1.3 resumption on
# BoringSSL is covered by the integration suite, whose client logs in.
RESUME_VERSIONS="tls1_2 tls1_3"
[[ $BACKEND == boring ]] && RESUME_VERSIONS="tls1_2"
for v in $RESUME_VERSIONS; do
  save_session "$v"
  resume "$v" Reused
done
kill -HUP "$PID"
for _ in $(seq 1 50); do grep -q "SIGHUP: TLS reloaded" "$WORK/server.log" && break; sleep 0.1; done
grep -q "SIGHUP: TLS reloaded" "$WORK/server.log" || { cat "$WORK/server.log"; echo "no reload after SIGHUP"; exit 1; }
echo "--- SIGHUP: TLS reloaded"
for v in $RESUME_VERSIONS; do
  resume "$v" New
done
s_client tls1_3

echo "== sysbench oltp_read_write over TLS (auto-tls client certificate), 2 threads"
mariadb --no-defaults -S "$SOCK" -uroot -e "CREATE DATABASE sbtest; \
  CREATE USER sb IDENTIFIED WITH mysql_native_password BY 'sb' REQUIRE X509; GRANT ALL ON sbtest.* TO sb;"
# sysbench 1.0 reads client-cert.pem, client-key.pem and cacert.pem from its working directory.
mkdir -p "$WORK/sysbench"
cp "$TLS/client-cert.pem" "$TLS/client-key.pem" "$WORK/sysbench/"
cp "$TLS/ca.pem" "$WORK/sysbench/cacert.pem"
sb() {
  (cd "$WORK/sysbench" && timeout 120 sysbench --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$PORT" \
    --mysql-user=sb --mysql-password=sb --mysql-db=sbtest --mysql-ssl=on --tables=2 --table-size=500 \
    --threads=2 --time=3 oltp_read_write "$@")
}
sb prepare >"$WORK/sysbench.log" 2>&1 || { cat "$WORK/sysbench.log"; echo "sysbench prepare failed"; exit 1; }
sb run >"$WORK/sysbench.log" 2>&1 || { cat "$WORK/sysbench.log"; echo "sysbench run failed"; exit 1; }
grep -Eq "transactions: +[1-9]" "$WORK/sysbench.log" || { cat "$WORK/sysbench.log"; echo "sysbench: no transactions"; exit 1; }
grep -Eq "ignored errors: +0 " "$WORK/sysbench.log" || { cat "$WORK/sysbench.log"; echo "sysbench: errors"; exit 1; }
echo "--- sysbench: $(grep -E 'transactions:' "$WORK/sysbench.log" | tr -s ' ')"

echo "== load tool: connections, queries and idle memory, measured through the server's /proc entry"
load() { "$LOAD" --port "$PORT" --server-pid "$PID" "$@"; }
expect_line() {
  local out=$1 pattern=$2
  grep -Eq "$pattern" <<<"$out" || { echo "$out"; echo "load tool output does not match: $pattern"; exit 1; }
}
out=$(load --ssl-ca "$TLS/ca.pem" connect --clients 2 --seconds 2 --max 200 2>&1)
expect_line "$out" "^connect: clients=2 .* ok=[1-9][0-9]* errors=0 .*server_cpu_us_per_op=[0-9.]+$"
echo "--- $out"
# The tool's own client keeps one TLS configuration: after the first connection's full
# handshake, every connection resumes with a ticket the server issued.
out=$(load --ssl-ca "$TLS/ca.pem" handshake --group X25519 --clients 1 --seconds 5 --max 40 2>&1)
expect_line "$out" "^handshake: groups=X25519 resumed=39 clients=1 .* ok=40 errors=0 "
echo "--- $out"
out=$(load --ssl-ca "$TLS/ca.pem" handshake --full --clients 1 --seconds 5 --max 10 2>&1)
expect_line "$out" "^handshake: groups=default resumed=0 clients=1 .* ok=10 errors=0 "
echo "--- $out"
out=$(load --tls query --clients 2 --seconds 2 --max 500 --sql "SELECT * FROM sbtest.sbtest1 LIMIT 10" 2>&1)
expect_line "$out" "^query: clients=2 .* ok=500 errors=0 "
echo "--- $out"
out=$(load --ssl-ca "$TLS/ca.pem" --ssl-cert "$TLS/client-cert.pem" --ssl-key "$TLS/client-key.pem" \
  --user sb --password sb idle --connections 20 --settle-ms 200 2>&1)
# One file descriptor per connection (TLS and plain): a duplicate per connection would halve
# how many sessions fit under the process's descriptor limit.
expect_line "$out" "^idle: logged-in prepared_per_connection=0 connections=20 .*server_rss_kib_per_connection=[0-9.]+ server_fds_per_connection=1\.00$"
echo "--- $out"
out=$(load idle --pre-auth --connections 20 --settle-ms 200 2>&1)
expect_line "$out" "^idle: pre-auth connections=20 .*server_rss_kib_per_connection=[0-9.]+ server_fds_per_connection=1\.00$"
echo "--- $out"
out=$(load --tls idle --prepared 50 --connections 4 --settle-ms 200 2>&1)
expect_line "$out" "^idle: logged-in prepared_per_connection=50 connections=4 "
echo "--- $out"
out=$(load --ssl-ca "$TLS/ca.pem" hold --connections 30 --logins 5 2>&1)
expect_line "$out" "^hold: connections=30 .*select1_round_seconds=[0-9.]+ server_rss_kib_per_connection=[0-9.]+ select1_round_server_cpu_us_per_connection=[0-9.]+$"
echo "--- $out"
if out=$(load --user sb --password sb query --seconds 1 --max 1 2>&1); then
  echo "$out"; echo "load tool: a REQUIRE X509 account logged in over plain TCP"; exit 1
fi
expect_line "$out" "Access denied for user 'sb'@'127.0.0.1'"

echo "== restart: data persisted, caching_sha2 cache empty again (RSA path over plain TCP)"
stop_server
start_server
run persisted
run pymysql-rsa
run pymysql run2

echo "== kill -9 keeps committed transactions"
"$PY" "$HERE/clients.py" insert-committed --port "$PORT" --socket "$SOCK" --ca "$TLS/ca.pem" >"$WORK/insert.out" &
WRITER=$!
for _ in $(seq 1 100); do grep -q committed "$WORK/insert.out" 2>/dev/null && break; sleep 0.1; done
grep -q committed "$WORK/insert.out" || { echo "writer did not commit"; exit 1; }
kill -9 "$PID"
wait "$PID" 2>/dev/null || true
PID=""
kill "$WRITER" 2>/dev/null || true
start_server
run durable
stop_server

# Starts `SELECT SLEEP(n)` in the mariadb CLI in the background (CLIENT, output in sleep.out)
# and returns once the server runs it: Threads_running counts the check itself, so 2.
start_sleeper() {
  mariadb --no-defaults -S "$SOCK" -uroot -N -B -e "SELECT SLEEP($1)" >"$WORK/sleep.out" 2>&1 &
  CLIENT=$!
  for _ in $(seq 1 100); do
    running=$(mariadb --no-defaults -S "$SOCK" -uroot -N -B -e "SHOW GLOBAL STATUS LIKE 'Threads_running'" | cut -f2)
    [[ $running -ge 2 ]] && return
    sleep 0.05
  done
  echo "SELECT SLEEP($1) did not start"; exit 1
}

# Sends SIGTERM (twice with "twice") and sets RC and MS: the server's exit status and how long
# it took to exit.
terminate() {
  local t0 rc=0
  t0=$(date +%s%N)
  kill -TERM "$PID"
  if [[ ${1:-} == twice ]]; then sleep 0.3; kill -TERM "$PID"; fi
  wait "$PID" || rc=$?
  MS=$((($(date +%s%N) - t0) / 1000000))
  RC=$rc
  PID=""
}

echo "== SIGTERM: a running statement finishes, then exit 0 within shutdown-timeout"
start_server --shutdown-timeout 10s
start_sleeper 2
terminate
client_rc=0; wait "$CLIENT" || client_rc=$?
[[ $RC == 0 ]] || { cat "$WORK/server.log"; echo "exit status $RC after SIGTERM, expected 0"; exit 1; }
[[ $client_rc == 0 && $(cat "$WORK/sleep.out") == 0 ]] ||
  { cat "$WORK/sleep.out" "$WORK/server.log"; echo "the running statement did not get its result"; exit 1; }
((MS < 10000)) || { cat "$WORK/server.log"; echo "exited after ${MS}ms, beyond the 10s shutdown-timeout"; exit 1; }
grep -q "shutdown complete" "$WORK/server.log" || { cat "$WORK/server.log"; echo "no clean shutdown"; exit 1; }
echo "--- SIGTERM during SELECT SLEEP(2): result delivered, exit 0 after ${MS}ms"

echo "== a second SIGTERM exits at once"
start_server --shutdown-timeout 30s
start_sleeper 20
terminate twice
kill "$CLIENT" 2>/dev/null || true
wait "$CLIENT" 2>/dev/null || true
[[ $RC == 143 ]] || { cat "$WORK/server.log"; echo "exit status $RC after a second SIGTERM, expected 143"; exit 1; }
((MS < 3000)) || { cat "$WORK/server.log"; echo "second SIGTERM: exited after ${MS}ms"; exit 1; }
echo "--- second SIGTERM: exit $RC after ${MS}ms"
echo "== real clients passed on $BACKEND"
