#!/usr/bin/env bash
# What the server log says about hostile and secret input, read from the real binary at the
# most verbose level (`--log-level trace`):
#
# * no password, in any protocol: account statements through COM_QUERY (mariadb CLI),
#   COM_STMT_PREPARE (mysql-connector-python's prepared cursor) and `PREPARE … FROM`, and the
#   logins that use the password (TLS cleartext and RSA-encrypted full authentication);
# * no password hash (`$5$rounds=…`);
# * a 200 KB user name costs the log a bounded line, not 200 KB, and a user name with a newline
#   cannot start a forged log line.
#
# Needs: TLSQLTEST_BIN (the server binary), PYTHON (with PyMySQL and mysql-connector-python),
# TLSQLTEST_BACKEND (rustls | openssl | boring).
set -euo pipefail
BIN=${TLSQLTEST_BIN:?set TLSQLTEST_BIN to the tlsql binary}
PY=${PYTHON:-python3}
BACKEND=${TLSQLTEST_BACKEND:-rustls}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tlsql-logcheck.XXXXXX")
PID=""
cleanup() {
  [[ -n $PID ]] && kill -9 "$PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

LOG=$WORK/server.log
"$BIN" --port 0 --data-dir "$WORK/data" --tls-backend "$BACKEND" --log-level trace >"$LOG" 2>&1 &
PID=$!
PORT=""
for _ in $(seq 1 200); do
  PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$LOG" | head -n1)
  [[ -n $PORT ]] && break
  kill -0 "$PID" 2>/dev/null || { cat "$LOG"; fail "server exited"; }
  sleep 0.1
done
[[ -n $PORT ]] || { cat "$LOG"; fail "server did not start"; }
CA=$WORK/data/tls/ca.pem

SECRET="Leak-Me-$RANDOM-$RANDOM"
sql() { mariadb -h 127.0.0.1 -P "$PORT" -u root --ssl-verify-server-cert --ssl-ca="$CA" -N -e "$1"; }

echo "--- account statements through COM_QUERY"
sql "CREATE USER 'leak'@'%' IDENTIFIED BY '$SECRET'"
sql "ALTER USER 'leak'@'%' IDENTIFIED BY '$SECRET-2'"
sql "SET PASSWORD FOR 'leak'@'%' = '$SECRET'"
sql "CREATE USER 'leaknative'@'%' IDENTIFIED WITH mysql_native_password BY '$SECRET'"
echo "--- PREPARE … FROM (refused or not, the text reaches the parser)"
sql "PREPARE s FROM 'CREATE USER ''leak3''@''%'' IDENTIFIED BY ''$SECRET'''" 2>/dev/null || true

echo "--- COM_STMT_PREPARE and password logins"
"$PY" - "$PORT" "$CA" "$SECRET" <<'PYEOF'
import sys
import mysql.connector

port, ca, secret = int(sys.argv[1]), sys.argv[2], sys.argv[3]
cnx = mysql.connector.connect(host="127.0.0.1", port=port, user="root", password="",
                              ssl_ca=ca, ssl_verify_cert=True, use_pure=True)
cur = cnx.cursor(prepared=True)
try:
    cur.execute(f"CREATE USER 'leak4'@'%' IDENTIFIED BY '{secret}'")
except mysql.connector.Error:
    pass  # refused as a prepared statement or not: the text was parsed either way
cnx.close()
for user in ("leak", "leaknative"):
    # TLS: the full caching_sha2 path sends the password in the clear inside TLS.
    c = mysql.connector.connect(host="127.0.0.1", port=port, user=user, password=secret,
                                ssl_ca=ca, ssl_verify_cert=True, use_pure=True)
    c.close()
PYEOF
"$PY" - "$PORT" "$SECRET" <<'PYEOF'
import sys
import pymysql

port, secret = int(sys.argv[1]), sys.argv[2]
# Plain TCP: the RSA public-key exchange.
c = pymysql.connect(host="127.0.0.1", port=port, user="leak", password=secret, ssl_disabled=True)
c.close()
PYEOF

grep -qF "$SECRET" "$LOG" && { grep -nF "$SECRET" "$LOG" | cut -c1-300; fail "a password reached the log"; }
grep -qF '$5$rounds=' "$LOG" && fail "a password hash reached the log"
grep -qF "IDENTIFIED BY" "$LOG" && { grep -nF "IDENTIFIED BY" "$LOG" | cut -c1-300; fail "account statement text reached the log"; }
echo "--- no password, hash or account statement text in $(wc -l <"$LOG") log lines at trace"

echo "--- hostile user names"
before=$(stat -c %s "$LOG")
"$PY" - "$PORT" <<'PYEOF'
import sys
import pymysql

port = int(sys.argv[1])
for i in range(30):
    try:
        pymysql.connect(host="127.0.0.1", port=port, user="u" * 200_000, password="x", ssl_disabled=True)
    except pymysql.err.OperationalError as e:
        code, message = e.args
        assert code == 1045, e.args
        assert len(message.encode()) <= 512, len(message.encode())
    else:
        raise SystemExit("a 200 KB user name logged in")
try:
    pymysql.connect(host="127.0.0.1", port=port, user="evil\n[2026-01-01T00:00:00Z INFO  tlsql] forged", password="x",
                    ssl_disabled=True)
except pymysql.err.OperationalError as e:
    assert e.args[0] == 1045, e.args
PYEOF
sleep 0.5
after=$(stat -c %s "$LOG")
per_login=$(( (after - before) / 31 ))
echo "--- log bytes per refused login with a 200 KB user name: $per_login"
(( per_login < 4096 )) || fail "each hostile login wrote $per_login bytes of log"
grep -q '^\[2026-01-01T00:00:00Z INFO  tlsql\] forged' "$LOG" && fail "a user name forged a log line"
grep -qF 'evil\n[2026-01-01' "$LOG" || { tail -n 20 "$LOG" | cut -c1-300; fail "the escaped user name is not in the log"; }
kill "$PID"; wait "$PID" || true; PID=""
echo "--- log check passed ($BACKEND)"
