#!/usr/bin/env bash
# Real clients against any MySQL endpoint on 127.0.0.1 — a MariaDB backend directly, or tlsql's
# gateway in front of it — printing one line per check that is the same for the same behaviour
# wherever the endpoint is (no ports, ids, timings or cipher names), so that the output of a
# direct run and a run through the gateway can be compared line by line.
#
#   clients.sh TARGET_PORT     the checks against 127.0.0.1:TARGET_PORT
#   clients.sh setup SOCKET    creates the accounts and databases the checks use on a backend,
#                              as root over its unix socket (through a gateway: on its backends)
#   clients.sh self-test       a MariaDB with fresh certificates (mariadb.sh), setup, the checks,
#                              then the server stopped
#   clients.sh gateway         the same MariaDB checked directly and through a tlsql gateway in
#                              front of it (TLSQLTEST_BIN, TLSQLTEST_BACKEND): the same lines
#
# Checks: the mariadb CLI (--ssl-verify-server-cert --ssl-ca; a REQUIRE X509 account with and
# without --ssl-cert/--ssl-key; `status`), PyMySQL, mysql-connector-python with its C extension
# and pure Python (verified TLS with host name check, client certificate, refusals), sysbench
# oltp_read_write with --mysql-ssl=on for CLIENTS_SB_SECONDS (default 3) seconds.
#
# Environment: CLIENTS_CA (verifies the endpoint's certificate), CLIENTS_CERT / CLIENTS_KEY (a
# client certificate the endpoint trusts, for the REQUIRE X509 account); PYTHON (default
# target/test-venv/bin/python, see .ci/install.sh). Exit status 1 when a check did not observe
# what MariaDB answers directly (each such check also prints FAIL on stderr).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=${PYTHON:-$ROOT/target/test-venv/bin/python}
SB_SECONDS=${CLIENTS_SB_SECONDS:-3}
HOST=127.0.0.1
FAILED=0

# report CHECK OBSERVED EXPECTED: the comparable line, and FAIL on stderr when they differ.
report() {
  echo "$1: $2"
  if [[ $2 != "$3" ]]; then
    echo "FAIL $1: expected '$3'" >&2
    FAILED=1
  fi
}

cli() {
  mariadb --no-defaults -h"$HOST" -P"$PORT" --ssl-verify-server-cert --ssl-ca="$CA" --batch "$@" 2>&1
}

# The mariadb CLI: a row written and read back, the session's cipher and `status` (\s).
cli_checks() {
  local out user cipher status tag=$1
  out=$(cli -uc_native -pc-native-pw -N -e "
    INSERT INTO clients_gw.rows (driver, tag, note) VALUES ('cli', '$tag', 'from the CLI');
    SELECT COUNT(*) FROM clients_gw.rows WHERE driver = 'cli' AND tag = '$tag';
    SELECT CURRENT_USER();
    SHOW SESSION STATUS LIKE 'Ssl_cipher';") || true
  user=$(sed -n 2p <<<"$out")
  cipher=$(sed -n 3p <<<"$out" | cut -f2)
  report "mariadb-cli native verified-tls" "user=$user rows=$(sed -n 1p <<<"$out") cipher=$([[ -n $cipher ]] && echo yes || echo no)" \
    "user=c_native@% rows=1 cipher=yes"
  status=$(cli -uc_native -pc-native-pw -e status | grep -Eo 'SSL:[[:space:]]+Cipher in use is' | tr -s '\t ' ' ') || true
  report "mariadb-cli native status" "${status:-no SSL line}" "SSL: Cipher in use is"
  out=$(cli -uc_x509 -pc-x509-pw -N --ssl-cert="$CERT" --ssl-key="$KEY" -e "SELECT CURRENT_USER()") || true
  report "mariadb-cli x509 client-cert" "$out" "c_x509@%"
  out=$(cli -uc_x509 -pc-x509-pw -N -e "SELECT CURRENT_USER()") || true
  report "mariadb-cli x509 no-cert" "$out" \
    "ERROR 1045 (28000): Access denied for user 'c_x509'@'127.0.0.1' (using password: YES)"
  out=$(mariadb --no-defaults -h"$HOST" -P"$PORT" --skip-ssl -uc_native -pc-native-pw -N -e "SELECT 1" 2>&1) || true
  report "mariadb-cli native plain" "$out" \
    "ERROR 1045 (28000): Access denied for user 'c_native'@'127.0.0.1' (using password: YES)"
}

python_checks() {
  local driver rc
  for driver in pymysql connector-c connector-pure; do
    rc=0
    "$PY" "$HERE/clients.py" "$driver" --host "$HOST" --port "$PORT" --ca "$CA" --cert "$CERT" \
      --key "$KEY" --tag "$1" || rc=$?
    [[ $rc == 0 ]] || FAILED=1
  done
}

# sysbench 1.0.20 --mysql-ssl=on reads cacert.pem, client-cert.pem and client-key.pem from its
# working directory: the REQUIRE X509 account proves the client certificate went through. One
# thread: with two, InnoDB deadlocks between them (ignored by sysbench, but their count varies).
sysbench_check() {
  local dir out rc=0
  dir=$(mktemp -d)
  cp "$CA" "$dir/cacert.pem"
  cp "$CERT" "$dir/client-cert.pem"
  cp "$KEY" "$dir/client-key.pem"
  sb() {
    (cd "$dir" && timeout $((SB_SECONDS + 60)) sysbench oltp_read_write --db-driver=mysql \
      --mysql-host="$HOST" --mysql-port="$PORT" --mysql-user=c_x509 --mysql-password=c-x509-pw \
      --mysql-db=clients_sb --mysql-ssl=on --tables=1 --table-size=1000 --threads=1 \
      --time="$SB_SECONDS" --events=200000 --report-interval=0 "$@")
  }
  out=$( { sb cleanup && sb prepare && sb run && sb cleanup; } 2>&1) || rc=$?
  rm -rf "$dir"
  local tx errors
  tx=$(grep -Eo 'transactions: +[0-9]+' <<<"$out" | grep -Eo '[0-9]+$' || echo 0)
  errors=$(grep -Eo 'ignored errors: +[0-9]+' <<<"$out" | grep -Eo '[0-9]+$' || echo "?")
  report "sysbench oltp_read_write ssl=on" "exit=$rc transactions=$([[ $tx -gt 0 ]] && echo some || echo none) ignored-errors=$errors" \
    "exit=0 transactions=some ignored-errors=0"
  [[ $rc == 0 ]] || tail -n 20 <<<"$out" >&2
}

run_checks() {
  PORT=$1
  CA=${CLIENTS_CA:?set CLIENTS_CA to the CA that verifies the endpoint}
  CERT=${CLIENTS_CERT:?set CLIENTS_CERT to a client certificate the endpoint trusts}
  KEY=${CLIENTS_KEY:?set CLIENTS_KEY to its key}
  [[ $PORT =~ ^[0-9]+$ ]] || { echo "clients.sh: not a port: $PORT" >&2; exit 2; }
  local tag
  tag="run-$(date +%s%N)"
  cli_checks "$tag"
  python_checks "$tag"
  sysbench_check
  return "$FAILED"
}

# Certificates for the self-test: a CA, a server certificate for localhost and 127.0.0.1, and a
# client certificate (ECDSA P-256).
make_certs() {
  local d=$1 key=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
  openssl req -x509 "${key[@]}" -days 2 -keyout "$d/ca-key.pem" -out "$d/ca.pem" \
    -subj "/O=tlsql tests/CN=clients CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req "${key[@]}" -keyout "$d/server-key.pem" -out "$d/server.csr" -subj "/O=tlsql tests/CN=localhost" 2>/dev/null
  printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "extendedKeyUsage=serverAuth" >"$d/server.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" -CAcreateserial -days 2 \
    -extfile "$d/server.ext" -out "$d/server-cert.pem" 2>/dev/null
  openssl req "${key[@]}" -keyout "$d/client-key.pem" -out "$d/client.csr" -subj "/O=tlsql tests/CN=clients" 2>/dev/null
  printf '%s\n' "extendedKeyUsage=clientAuth" >"$d/client.ext"
  openssl x509 -req -in "$d/client.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" -CAcreateserial -days 2 \
    -extfile "$d/client.ext" -out "$d/client-cert.pem" 2>/dev/null
}

self_test() {
  local line port socket t0
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/tlsql-clients-gw.XXXXXX")
  trap '"$HERE/mariadb.sh" stop "$WORK/mariadb" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
  # The server runs as the mysql user: it must reach its directory.
  chmod 755 "$WORK"
  mkdir "$WORK/certs"
  make_certs "$WORK/certs"
  t0=$(date +%s%N)
  line=$("$HERE/mariadb.sh" start-server "$WORK/mariadb" --ssl-cert "$WORK/certs/server-cert.pem" \
    --ssl-key "$WORK/certs/server-key.pem" --ssl-ca "$WORK/certs/ca.pem")
  port=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$line")
  socket=$(sed -n 's/.*socket=\([^ ]*\).*/\1/p' <<<"$line")
  echo "== MariaDB on 127.0.0.1:$port, started in $(( ($(date +%s%N) - t0) / 1000000 )) ms" >&2
  "$PY" "$HERE/clients.py" setup --socket "$socket" >/dev/null
  CLIENTS_CA=$WORK/certs/ca.pem CLIENTS_CERT=$WORK/certs/client-cert.pem CLIENTS_KEY=$WORK/certs/client-key.pem \
    run_checks "$port"
}

# The same checks against a MariaDB directly and through a tlsql gateway in front of it (the
# binary TLSQLTEST_BIN, TLS library TLSQLTEST_BACKEND, PROXY protocol on): both runs must pass and
# print the same lines.
gateway_test() {
  local bin=${TLSQLTEST_BIN:?set TLSQLTEST_BIN to the tlsql binary} line port socket gw direct through rc=0
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/tlsql-clients-gw.XXXXXX")
  pid=""
  trap '[[ -n $pid ]] && kill "$pid" 2>/dev/null; "$HERE/mariadb.sh" stop "$WORK/mariadb" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
  chmod 755 "$WORK"
  mkdir "$WORK/certs"
  make_certs "$WORK/certs"
  line=$("$HERE/mariadb.sh" start-server "$WORK/mariadb" --ssl-cert "$WORK/certs/server-cert.pem" \
    --ssl-key "$WORK/certs/server-key.pem" --ssl-ca "$WORK/certs/ca.pem" --proxy-networks 127.0.0.0/8)
  port=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$line")
  socket=$(sed -n 's/.*socket=\([^ ]*\).*/\1/p' <<<"$line")
  "$PY" "$HERE/clients.py" setup --socket "$socket" >/dev/null
  "$bin" --port 0 --data-dir "$WORK/gateway" --tls-backend "${TLSQLTEST_BACKEND:-rustls}" \
    --ssl-cert "$WORK/certs/server-cert.pem" --ssl-key "$WORK/certs/server-key.pem" \
    --ssl-ca "$WORK/certs/ca.pem" --upstream-servers "127.0.0.1:$port" \
    --upstream-ssl-ca "$WORK/certs/ca.pem" --upstream-proxy-protocol --log-level info \
    >"$WORK/gateway.log" 2>&1 &
  pid=$!
  gw=""
  for _ in $(seq 1 200); do
    gw=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/gateway.log" | head -n1)
    # The gateway has made its identity CA and checked its backends once it says so.
    [[ -n $gw ]] && grep -q "gateway: relaying" "$WORK/gateway.log" && break
    sleep 0.1
  done
  grep -q "gateway: relaying" "$WORK/gateway.log" || { cat "$WORK/gateway.log" >&2; exit 1; }
  # The backend trusts the gateway's identity CA: forwarded client certificates verify.
  cat "$WORK/gateway/tls/identity-ca.pem" >>"$WORK/mariadb/tls/ca.pem" || { cat "$WORK/gateway.log" >&2; exit 1; }
  mariadb --no-defaults -S "$socket" -uroot -e "FLUSH SSL"
  echo "== MariaDB on 127.0.0.1:$port, tlsql gateway (${TLSQLTEST_BACKEND:-rustls}) on 127.0.0.1:$gw" >&2
  export CLIENTS_CA=$WORK/certs/ca.pem CLIENTS_CERT=$WORK/certs/client-cert.pem CLIENTS_KEY=$WORK/certs/client-key.pem
  direct=$(run_checks "$port") || rc=1
  through=$( (run_checks "$gw") ) || rc=1
  echo "$through"
  if [[ $direct != "$through" ]]; then
    echo "FAIL: through the gateway the clients saw something else than directly:" >&2
    diff <(echo "$direct") <(echo "$through") >&2 || true
    rc=1
  fi
  if ((rc)); then
    echo "== gateway log" >&2
    tail -n 40 "$WORK/gateway.log" >&2
  fi
  return "$rc"
}

case ${1:-} in
  setup) "$PY" "$HERE/clients.py" setup --socket "${2:?usage: clients.sh setup SOCKET}" ;;
  self-test) self_test ;;
  gateway) gateway_test ;;
  [0-9]*) run_checks "$1" ;;
  *) sed -n '2,24p' "$0" >&2; exit 2 ;;
esac
