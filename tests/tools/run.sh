#!/usr/bin/env bash
# The users' own tools, run unmodified as their users run them, against one MySQL-protocol
# endpoint over TLS that verifies the server's certificate against a CA file and, where the tool
# has the option, the host name (VERIFY_IDENTITY). Each tool asserts its real outcome; this
# script prints PASS or FAIL per tool (with the tool's own error) and exits non-zero if any
# failed. The same run validates against MariaDB (see STATUS.md) and runs against tlsql
# (tests/tools/tlsql.sh starts one).
#
#   TOOLS_HOST=127.0.0.1 TOOLS_PORT=3306 TOOLS_USER=tools TOOLS_PASSWORD=… TOOLS_CA=ca.pem \
#     tests/tools/run.sh [tool…]        (default: every tool)
#
# Tools: mysql2 jdbc go sqlalchemy django dump slap prepare show upsert exporter sqlx
# TOOLS_USER needs every privilege WITH GRANT OPTION (the tools create databases tools_* and
# accounts tools_*, and drop them at the end). TOOLS_HOST must be a name or address that the
# server's certificate names. Installed by .ci/install.sh: PYTHON (default target/test-venv),
# node mysql2 in target/tools-node; sqlx and the Go program are built here, into target/.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
: "${TOOLS_HOST:?}" "${TOOLS_PORT:?}" "${TOOLS_USER:?}" "${TOOLS_PASSWORD?}" "${TOOLS_CA:?}"
export TOOLS_HOST TOOLS_PORT TOOLS_USER TOOLS_PASSWORD TOOLS_CA
PY=${PYTHON:-$ROOT/target/test-venv/bin/python}
TARGET=$ROOT/target
ALL_TOOLS="mysql2 jdbc go sqlalchemy django dump slap prepare show upsert exporter sqlx"
TOOL_TIMEOUT=${TOOLS_TIMEOUT:-300}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tlsql-tools.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# The mariadb client programs read the endpoint from an option file, so that an empty password
# is not a prompt and the TLS options are the same for every one of them.
CNF=$WORK/client.cnf
cat >"$CNF" <<CNF
[client]
host=$TOOLS_HOST
port=$TOOLS_PORT
user=$TOOLS_USER
password=$TOOLS_PASSWORD
ssl-ca=$TOOLS_CA
ssl-verify-server-cert
CNF
sql() { mariadb --defaults-file="$CNF" -N -B "$@"; }

tool_mysql2() { NODE_PATH=$TARGET/tools-node/node_modules node "$HERE/node/mysql2.js"; }

tool_jdbc() { java -cp /usr/share/java/mariadb-java-client.jar "$HERE/jdbc/Metadata.java"; }

# GOPATH mode with Debian's driver source: nothing is fetched.
tool_go() {
  GO111MODULE=off GOPATH=$HERE/go:/usr/share/gocode GOCACHE=$TARGET/tools-go/cache GOPROXY=off GOFLAGS='' \
    go build -o "$TARGET/tools-go/toolsgo" toolsgo && "$TARGET/tools-go/toolsgo"
}

tool_sqlalchemy() { "$PY" "$HERE/python/sqlalchemy_inspect.py"; }

tool_django() { "$PY" "$HERE/python/django_migrate.py"; }

tool_upsert() { "$PY" "$HERE/python/pymysql_upsert.py"; }

# mariadb-dump with its defaults (--opt) of a database with AUTO_INCREMENT past the last row,
# unique and secondary keys, a BLOB with \0 bytes, NULLs and non-ASCII text, and a view; restored
# with the mariadb CLI into another database: the same rows (the view's too), the same next
# AUTO_INCREMENT, and the unique key enforced again.
tool_dump() {
  sql -e "DROP DATABASE IF EXISTS tools_dump_src; DROP DATABASE IF EXISTS tools_dump_dst;
    CREATE DATABASE tools_dump_src; CREATE DATABASE tools_dump_dst;
    CREATE TABLE tools_dump_src.item (id INT NOT NULL AUTO_INCREMENT, code VARCHAR(20) NOT NULL,
      name VARCHAR(100), qty INT, data BLOB, PRIMARY KEY (id), UNIQUE KEY uq_code (code), KEY k_qty (qty));
    INSERT INTO tools_dump_src.item (code, name, qty, data) VALUES
      ('a', '日本語 é ü', 1, X'00610062FF00'), ('b', NULL, NULL, NULL), ('c', 'it''s \"q\" \\\\ end', 3, X'00'),
      ('d', 'gone', 4, X'01');
    DELETE FROM tools_dump_src.item WHERE code = 'd';
    CREATE VIEW tools_dump_src.counted AS SELECT code, qty FROM tools_dump_src.item WHERE qty IS NOT NULL;" || return 1
  mariadb-dump --defaults-file="$CNF" tools_dump_src >"$WORK/dump.sql" || return 1
  mariadb --defaults-file="$CNF" tools_dump_dst <"$WORK/dump.sql" || return 1
  local rows="SELECT id, code, name, qty, HEX(data) FROM item ORDER BY id" src dst
  src=$(sql tools_dump_src -e "$rows") && dst=$(sql tools_dump_dst -e "$rows") || return 1
  [[ $src == "$dst" && $(wc -l <<<"$src") == 3 ]] || { echo "rows differ after restore:"; diff <(echo "$src") <(echo "$dst"); return 1; }
  rows="SELECT code, qty FROM counted ORDER BY code"
  src=$(sql tools_dump_src -e "$rows") && dst=$(sql tools_dump_dst -e "$rows") || return 1
  [[ $src == "$dst" && $(wc -l <<<"$src") == 2 ]] || { echo "the view's rows differ after restore:"; diff <(echo "$src") <(echo "$dst"); return 1; }
  local next
  for db in tools_dump_src tools_dump_dst; do
    next=$(sql "$db" -e "INSERT INTO item (code) VALUES ('z'); SELECT LAST_INSERT_ID()") || return 1
    [[ $next == 5 ]] || { echo "$db: next AUTO_INCREMENT $next, expected 5"; return 1; }
  done
  if out=$(sql tools_dump_dst -e "INSERT INTO item (code) VALUES ('a')" 2>&1); then
    echo "the restored unique key uq_code accepted a duplicate"; return 1
  fi
  grep -q "ERROR 1062" <<<"$out" || { echo "duplicate into the restored table: $out"; return 1; }
  sql -e "DROP DATABASE tools_dump_src; DROP DATABASE tools_dump_dst" || return 1
  echo "mariadb-dump $(mariadb-dump --version | grep -o 'Distrib [^,]*'): $(grep -c . "$WORK/dump.sql") lines restored with mariadb: 3 identical rows, a view with 2, next AUTO_INCREMENT 5 on both, unique key enforced"
}

tool_slap() {
  local out
  out=$(mariadb-slap --defaults-file="$CNF" --auto-generate-sql --concurrency=2 --iterations=2 \
    --number-of-queries=100 2>&1) || { echo "$out"; return 1; }
  grep -q "Average number of seconds to run all queries" <<<"$out" || { echo "$out"; return 1; }
  echo "mariadb-slap --auto-generate-sql: $(grep 'Average number of seconds' <<<"$out" | sed 's/^\s*//')"
}

# The mariadb CLI running SQL's prepared statements as a script would: PREPARE from a literal
# and from a user variable (a name in another case), EXECUTE … USING user variables,
# DEALLOCATE PREPARE; then the errors for a wrong number of variables (1210) and an unknown
# name (1243).
tool_prepare() {
  local out wrong unknown
  out=$(sql <<'SQL'
DROP DATABASE IF EXISTS tools_prepare;
CREATE DATABASE tools_prepare;
CREATE TABLE tools_prepare.t (id INT PRIMARY KEY, v VARCHAR(10));
PREPARE ins FROM 'INSERT INTO tools_prepare.t VALUES (?, ?)';
SET @id = 1, @v = 'one';
EXECUTE ins USING @id, @v;
SET @id = 2, @v = 'two';
EXECUTE ins USING @id, @v;
DEALLOCATE PREPARE ins;
SET @q = 'SELECT v FROM tools_prepare.t WHERE id > ? ORDER BY id';
PREPARE Sel FROM @q;
SET @min = 0;
EXECUTE sel USING @min;
DROP DATABASE tools_prepare;
SQL
  ) || { echo "$out"; return 1; }
  [[ $out == $'one\ntwo' ]] || { echo "EXECUTE gave: $out"; return 1; }
  wrong=$(sql -e "PREPARE s FROM 'SELECT ?'; EXECUTE s" 2>&1)
  [[ $wrong == *"ERROR 1210"* ]] || { echo "EXECUTE without its variable: $wrong"; return 1; }
  unknown=$(sql -e "EXECUTE ins" 2>&1)
  [[ $unknown == *"ERROR 1243"* ]] || { echo "EXECUTE of an unknown name: $unknown"; return 1; }
  echo "mariadb $(mariadb --version | grep -o 'Distrib [^,]*'): PREPARE/EXECUTE USING/DEALLOCATE PREPARE gave one, two; 1210 for a missing variable, 1243 for an unknown name"
}

# The mariadb CLI filtering SHOW TABLES, SHOW DATABASES, SHOW COLUMNS and SHOW TABLE STATUS
# with WHERE, as a script picks the base tables or views of a database: the condition uses the
# SHOW's own column names and compares without case (information_schema's collation), and the
# rows keep SHOW's order (by bytes: Beta before alpha). Of SHOW COLUMNS and SHOW TABLE STATUS
# only the columns MySQL 8 and MariaDB fill alike are compared. A database that does not exist
# is 1049.
tool_show() {
  local out missing columns status
  out=$(sql <<'SQL'
DROP DATABASE IF EXISTS tools_show;
CREATE DATABASE tools_show;
CREATE TABLE tools_show.alpha (id INT);
CREATE TABLE tools_show.Beta (id INT NOT NULL, label VARCHAR(10));
CREATE VIEW tools_show.v_alpha AS SELECT id FROM tools_show.alpha;
SHOW FULL TABLES FROM tools_show WHERE Table_type = 'base table';
SHOW FULL TABLES IN tools_show WHERE Table_type = 'VIEW';
SHOW TABLES FROM tools_show WHERE Tables_in_tools_show = 'BETA' OR Tables_in_tools_show LIKE 'v%';
SHOW DATABASES WHERE `Database` = 'TOOLS_SHOW';
SQL
  ) || { echo "$out"; return 1; }
  local expected=$'Beta\tBASE TABLE\nalpha\tBASE TABLE\nv_alpha\tVIEW\nBeta\nv_alpha\ntools_show'
  [[ $out == "$expected" ]] || { echo "SHOW … WHERE gave:"; echo "$out"; return 1; }
  columns=$(sql -e "SHOW COLUMNS FROM tools_show.Beta WHERE Field = 'LABEL' OR \`Null\` = 'no'" | cut -f1,3) || return 1
  [[ $columns == $'id\tNO\nlabel\tYES' ]] || { echo "SHOW COLUMNS … WHERE gave: $columns"; return 1; }
  status=$(sql -e "SHOW TABLE STATUS FROM tools_show WHERE Name = 'BETA' OR Comment = 'view'" | cut -f1) || return 1
  [[ $status == $'Beta\nv_alpha' ]] || { echo "SHOW TABLE STATUS … WHERE gave: $status"; return 1; }
  sql -e "DROP DATABASE tools_show" || return 1
  missing=$(sql -e "SHOW TABLES FROM tools_show_nowhere WHERE 1" 2>&1)
  [[ $missing == *"ERROR 1049"* ]] || { echo "SHOW TABLES of a missing database: $missing"; return 1; }
  echo "mariadb $(mariadb --version | grep -o 'Distrib [^,]*'): SHOW FULL TABLES, SHOW TABLES, SHOW DATABASES, SHOW COLUMNS and SHOW TABLE STATUS … WHERE, compared without case in SHOW's order; 1049 for a missing database"
}

# prometheus-mysqld-exporter with the grant its documentation gives, scraped once. MariaDB 10.5+
# split REPLICATION CLIENT: there SHOW SLAVE STATUS needs SLAVE MONITOR as well.
tool_exporter() {
  local extra=""
  [[ $(sql -e "SELECT VERSION()") == *MariaDB* ]] && extra="; GRANT SLAVE MONITOR ON *.* TO tools_exporter"
  sql -e "DROP USER IF EXISTS tools_exporter;
    CREATE USER tools_exporter IDENTIFIED BY 'exp-pw' WITH MAX_USER_CONNECTIONS 3;
    GRANT PROCESS, REPLICATION CLIENT, SELECT ON *.* TO tools_exporter$extra" || return 1
  cat >"$WORK/exporter.cnf" <<MYCNF
[client]
user=tools_exporter
password=exp-pw
host=$TOOLS_HOST
port=$TOOLS_PORT
ssl-ca=$TOOLS_CA
MYCNF
  local port pid metrics up
  port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  prometheus-mysqld-exporter --config.my-cnf="$WORK/exporter.cnf" --web.listen-address="127.0.0.1:$port" \
    >"$WORK/exporter-server.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 50); do
    metrics=$(curl -fsS "http://127.0.0.1:$port/metrics" 2>/dev/null) && break
    sleep 0.1
  done
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  sql -e "DROP USER tools_exporter" || return 1
  [[ -n $metrics ]] || { cat "$WORK/exporter-server.log"; echo "no answer from the exporter"; return 1; }
  up=$(grep '^mysql_up ' <<<"$metrics")
  if [[ $up != "mysql_up 1" ]] || grep -q '^mysql_exporter_last_scrape_error 1' <<<"$metrics"; then
    grep -E '^mysql_up |^mysql_exporter_last_scrape_error|^mysql_exporter_collector_success' <<<"$metrics"
    grep -iE 'level=(error|warn)' "$WORK/exporter-server.log" | head -5
    return 1
  fi
  echo "prometheus-mysqld-exporter: $up, no scrape error, $(grep -c '^mysql_' <<<"$metrics") mysql_ samples"
}

tool_sqlx() {
  cargo build -q --manifest-path "$HERE/sqlx/Cargo.toml" --target-dir "$TARGET/tools-sqlx" &&
    "$TARGET/tools-sqlx/debug/tlsql-tools-sqlx"
}

# Each tool runs in its own bash under `timeout`, which sees only what is exported.
export HERE ROOT PY TARGET WORK CNF
failed=()
# shellcheck disable=SC2086 # the list is split on purpose
(($#)) || set -- $ALL_TOOLS
for tool in "$@"; do
  declare -F "tool_$tool" >/dev/null || { echo "unknown tool: $tool (tools: $ALL_TOOLS)"; exit 2; }
  log=$WORK/$tool.log
  t0=$SECONDS
  if (export -f "tool_$tool" sql; timeout "$TOOL_TIMEOUT" bash -c "tool_$tool") >"$log" 2>&1; then
    echo "PASS $tool ($((SECONDS - t0)) s): $(tail -n1 "$log")"
  else
    echo "FAIL $tool ($((SECONDS - t0)) s):"
    # NUL bytes (tools echo statements with binary literals) are shown as \0.
    tail -n 15 "$log" | sed 's/\x00/\\0/g; s/^/    /'
    failed+=("$tool")
  fi
done
if ((${#failed[@]})); then
  echo "tools failed against $TOOLS_HOST:$TOOLS_PORT: ${failed[*]}"
  exit 1
fi
echo "every tool passed against $TOOLS_HOST:$TOOLS_PORT"
