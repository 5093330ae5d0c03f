#!/usr/bin/env bash
# Starts the tlsql binary on its defaults (auto-tls, its own data directory, port 0), creates the
# account the tools log in with, and runs tests/tools/run.sh against it over TLS verifying the
# auto-tls CA and the host name 127.0.0.1 (an IP SAN of the auto-tls server certificate).
#
#   TLSQLTEST_BIN=target/debug/tlsql tests/tools/tlsql.sh [tool…]     (default: every tool)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${TLSQLTEST_BIN:?set TLSQLTEST_BIN to the tlsql binary}
BACKEND=${TLSQLTEST_BACKEND:-rustls}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tlsql-tools-server.XXXXXX")
SOCK=$WORK/tlsql.sock
PID=""
cleanup() {
  [[ -n $PID ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  if [[ ${KEEP_WORK:-} ]]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

"$BIN" --port 0 --data-dir "$WORK/data" --socket "$SOCK" --tls-backend "$BACKEND" --log-level info \
  >"$WORK/server.log" 2>&1 &
PID=$!
PORT=""
for _ in $(seq 1 200); do
  PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/server.log" | head -n1)
  [[ -n $PORT && -S $SOCK ]] && break
  kill -0 "$PID" 2>/dev/null || { cat "$WORK/server.log"; echo "server exited"; exit 1; }
  sleep 0.1
done
[[ -n $PORT ]] || { cat "$WORK/server.log"; echo "server did not start"; exit 1; }
mariadb --no-defaults -S "$SOCK" -uroot -e \
  "CREATE USER tools IDENTIFIED BY 'tools-pw'; GRANT ALL ON *.* TO tools WITH GRANT OPTION"
echo "== the users' own tools against tlsql ($BACKEND) on 127.0.0.1:$PORT"
rc=0
TOOLS_HOST=127.0.0.1 TOOLS_PORT=$PORT TOOLS_USER=tools TOOLS_PASSWORD=tools-pw TOOLS_CA=$WORK/data/tls/ca.pem \
  "$HERE/run.sh" "$@" || rc=$?
if ((rc)) && [[ ${TOOLS_SERVER_LOG:-} ]]; then cp "$WORK/server.log" "$TOOLS_SERVER_LOG"; fi
exit "$rc"
