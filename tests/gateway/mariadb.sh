#!/usr/bin/env bash
# MariaDB backends for the gateway tests: standalone servers and Galera clusters on loopback,
# each with TLS, started from scratch in a directory and never as a system service. The Rust
# fixture (tests/util/mariadb.rs) and the shell tests use this one implementation.
#
#   mariadb.sh start-server DIR --ssl-cert F --ssl-key F --ssl-ca F [--ssl-ca F …]
#              [--proxy-networks NETS] [--require-secure-transport] [--port P] [--watchdog]
#   mariadb.sh start-galera DIR --nodes N --ssl-cert F --ssl-key F --ssl-ca F [--ssl-ca F …]
#              [--proxy-networks NETS] [--require-secure-transport] [--watchdog]
#   mariadb.sh stop DIR            SIGTERM every node, wait, then SIGKILL
#   mariadb.sh kill-node DIR N     SIGKILL node N (1-based; a standalone server is node 1)
#   mariadb.sh start-node DIR N    start node N again (a Galera node rejoins the running nodes)
#
# A start prints one line per node on stdout once every node accepts connections (a Galera
# cluster: once wsrep_cluster_size is N and every node is Synced):
#   standalone:  port=P socket=S pid=PID
#   Galera:      node=I port=P socket=S pid=PID gcomm=G ist=I sst=S
# start-node prints the line of that node.
#
# Every --ssl-ca file is appended to the server's CA bundle (the test CA, then e.g. the
# gateway's identity CA). The files are copied into DIR, which is owned by the `mysql` user the
# servers run as. Root has no password and is reachable only over the unix socket (the other
# root accounts mariadb-install-db creates are dropped); accounts are the caller's to create.
#
# --watchdog: after printing, the script stays in the foreground reading its stdin; at end of
# file (the caller closed the pipe, exited or died) or on SIGINT/SIGTERM/SIGHUP it stops every
# node under DIR and removes DIR. A test process holds the write end of that pipe, so the
# servers never outlive it, even when it panics or is killed.
#
# Layout: DIR/nodeI/{my.cnf,data/,mariadbd.sock,launch.pid,error.log,tmp/}, DIR/tls/,
# DIR/ports. SQL, gcomm, IST and SST ports are drawn from 20000-32000 (below the ephemeral
# range, so no outgoing connection holds one), all of a start at once, each bound to check
# that it is free, and recorded in $MARIADB_SH_PORTS (default ${TMPDIR:-/tmp}/tlsql-mariadb-
# ports) so that no later start on this machine within six hours gets one again: a repeated
# gcomm port once made a node join the wrong cluster.
#
# Everything listens on 127.0.0.1 only: SQL (bind-address), gcomm (gmcast.listen_addr), IST
# (ist.recv_addr) and the rsync SST daemon (wsrep_sst_receive_address). State transfers and
# Galera replication are not encrypted: they never leave loopback, and the client-facing TLS is
# what the gateway tests exercise.
set -euo pipefail

GALERA_LIB=${GALERA_LIB:-/usr/lib/galera/libgalera_smm.so}
PORTS_FILE=${MARIADB_SH_PORTS:-${TMPDIR:-/tmp}/tlsql-mariadb-ports}
START_TIMEOUT=${MARIADB_SH_START_TIMEOUT:-90}   # seconds for one node to accept connections or sync
STOP_TIMEOUT=${MARIADB_SH_STOP_TIMEOUT:-30}     # seconds after SIGTERM before SIGKILL
RUN_AS=mysql

die() { printf 'mariadb.sh: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,18p' "$0" >&2; exit 2; }

node_dir() { echo "$1/node$2"; }
sock_of() { echo "$(node_dir "$1" "$2")/mariadbd.sock"; }
alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }
# The process PID if its command line mentions TEXT: a recorded pid is signalled only while it
# still belongs to this instance (pids are reused).
ours() { [[ -n $1 ]] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"; }
# Node I's server pid, empty when it is not running.
pid_of() {
  local nd pid
  nd=$(node_dir "$1" "$2")
  pid=$(cat "$nd/launch.pid" 2>/dev/null) || return 0
  if ours "$pid" "--defaults-file=$nd/my.cnf"; then echo "$pid"; fi
}
nodes_in() { local d; for d in "$1"/node*/; do [[ -f $d/my.cnf ]] && basename "$d" | sed 's/^node//'; done | sort -n; }
root_sql() { mariadb --no-defaults -S "$(sock_of "$1" "$2")" -uroot -N -B -e "$3"; }
status_of() { root_sql "$1" "$2" "SHOW GLOBAL STATUS LIKE '$3'" 2>/dev/null | cut -f2; }

# Draws N free ports (see the header) and prints them space-separated.
alloc_ports() {
  local n=$1
  touch "$PORTS_FILE"
  {
    flock 9
    python3 - "$n" "$PORTS_FILE" <<'EOF'
import random, socket, sys, time
n, path = int(sys.argv[1]), sys.argv[2]
now = time.time()
recent = {}
for line in open(path):
    parts = line.split()
    if len(parts) == 2 and now - float(parts[1]) < 6 * 3600:
        recent[int(parts[0])] = parts[1]
held, ports = [], []
for _ in range(20000):
    if len(ports) == n:
        break
    p = random.randint(20000, 32000)
    if p in recent or p in ports:
        continue
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        s.close()
        continue
    held.append(s)
    ports.append(p)
if len(ports) < n:
    sys.exit(f"only {len(ports)} free ports of {n} found in 20000-32000")
with open(path, "w") as f:
    for p, t in recent.items():
        f.write(f"{p} {t}\n")
    for p in ports:
        f.write(f"{p} {now}\n")
print(*ports)
EOF
  } 9>>"$PORTS_FILE.lock"
}

# Parses the options shared by start-server and start-galera into globals.
parse_opts() {
  SSL_CERT="" SSL_KEY="" SSL_CAS=() PROXY_NETWORKS="" REQUIRE_SECURE=0 PORT="" NODES="" WATCHDOG=0
  while (($#)); do
    case $1 in
      --ssl-cert) SSL_CERT=${2:?--ssl-cert needs a file}; shift 2 ;;
      --ssl-key) SSL_KEY=${2:?--ssl-key needs a file}; shift 2 ;;
      --ssl-ca) SSL_CAS+=("${2:?--ssl-ca needs a file}"); shift 2 ;;
      --proxy-networks) PROXY_NETWORKS=${2:?--proxy-networks needs a value}; shift 2 ;;
      --require-secure-transport) REQUIRE_SECURE=1; shift ;;
      --port) PORT=${2:?--port needs a number}; shift 2 ;;
      --nodes) NODES=${2:?--nodes needs a number}; shift 2 ;;
      --watchdog) WATCHDOG=1; shift ;;
      *) die "unknown option: $1" ;;
    esac
  done
  [[ -n $SSL_CERT && -n $SSL_KEY && ${#SSL_CAS[@]} -gt 0 ]] || die "--ssl-cert, --ssl-key and --ssl-ca are required"
  local f
  for f in "$SSL_CERT" "$SSL_KEY" "${SSL_CAS[@]}"; do [[ -r $f ]] || die "cannot read $f"; done
  [[ -z $PORT || $PORT =~ ^[0-9]+$ ]] || die "--port: not a number: $PORT"
}

# Creates DIR (owned by the server user) with the TLS files; refuses a DIR already in use.
prepare_dir() {
  local dir=$1
  command -v mariadbd >/dev/null || die "mariadbd not found (install mariadb-server: .ci/install.sh)"
  id "$RUN_AS" >/dev/null 2>&1 || die "no '$RUN_AS' user (install mariadb-server: .ci/install.sh)"
  [[ $(id -u) == 0 ]] || die "must run as root: the servers run as '$RUN_AS' (Galera's rsync SST needs it)"
  if [[ -d $dir ]] && [[ -n $(ls -A "$dir") ]]; then die "$dir is not empty"; fi
  mkdir -p "$dir/tls"
  chmod 755 "$dir"
  runuser -u "$RUN_AS" -- test -x "$dir" || die "$dir is not reachable by the '$RUN_AS' user (a parent directory is private)"
  cp "$SSL_CERT" "$dir/tls/server-cert.pem"
  cp "$SSL_KEY" "$dir/tls/server-key.pem"
  cat "${SSL_CAS[@]}" >"$dir/tls/ca.pem"
  chown -R "$RUN_AS:" "$dir/tls"
  chmod 600 "$dir/tls/server-key.pem"
}

# Writes nodeI/my.cnf. Galera settings only when CLUSTER_ADDRESS is set.
write_cnf() {
  local dir=$1 i=$2 port=$3 nd
  nd=$(node_dir "$dir" "$i")
  mkdir -p "$nd/data" "$nd/tmp"
  cat >"$nd/my.cnf" <<EOF
[mariadbd]
user=$RUN_AS
datadir=$nd/data
tmpdir=$nd/tmp
socket=$nd/mariadbd.sock
pid-file=$nd/mariadbd.pid
log-error=$nd/error.log
port=$port
bind-address=127.0.0.1
skip-name-resolve
# A gateway's health probes must never get it blocked.
max_connect_errors=4294967295
max_connections=300
character-set-server=utf8mb4
collation-server=utf8mb4_general_ci
# Small: several instances share a 2-core machine with the test builds.
innodb_buffer_pool_size=32M
innodb_log_file_size=16M
innodb_log_buffer_size=4M
key_buffer_size=1M
aria_pagecache_buffer_size=8M
performance_schema=OFF
ssl-cert=$dir/tls/server-cert.pem
ssl-key=$dir/tls/server-key.pem
ssl-ca=$dir/tls/ca.pem
EOF
  [[ -n $PROXY_NETWORKS ]] && echo "proxy_protocol_networks=$PROXY_NETWORKS" >>"$nd/my.cnf"
  ((REQUIRE_SECURE)) && echo "require_secure_transport=ON" >>"$nd/my.cnf"
  if [[ -n ${CLUSTER_ADDRESS:-} ]]; then
    local gcomm=$4 ist=$5 sst=$6
    cat >>"$nd/my.cnf" <<EOF
wsrep_on=ON
wsrep_provider=$GALERA_LIB
wsrep_cluster_name=$CLUSTER_NAME
wsrep_cluster_address=$CLUSTER_ADDRESS
wsrep_node_name=node$i
wsrep_node_address=127.0.0.1:$gcomm
wsrep_node_incoming_address=127.0.0.1:$port
wsrep_provider_options="gmcast.listen_addr=tcp://127.0.0.1:$gcomm;ist.recv_addr=127.0.0.1:$ist;gcache.size=32M"
wsrep_sst_receive_address=127.0.0.1:$sst
wsrep_sst_method=rsync
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2

# Without this Debian's SST script derives encryption from the server's ssl-* options, wants
# stunnel and rejects an ssl-ca bundle that holds more than the CA of ssl-cert.
[sst]
ssl-mode=DISABLED
EOF
    echo "gcomm=$gcomm ist=$ist sst=$sst" >"$nd/galera-ports"
  fi
  chown -R "$RUN_AS:" "$nd"
}

install_db() {
  local nd
  nd=$(node_dir "$1" "$2")
  mariadb-install-db --defaults-file="$nd/my.cnf" --auth-root-authentication-method=normal \
    --skip-test-db >"$nd/install-db.log" 2>&1 || { cat "$nd/install-db.log" >&2; die "mariadb-install-db failed in $nd"; }
}

# Starts node I in the background (its own session, so a terminal's ^C reaches only the
# watchdog) and records its pid at once, so that a stop racing with the start finds it.
launch() {
  local dir=$1 i=$2 nd
  shift 2
  nd=$(node_dir "$dir" "$i")
  alive "$(pid_of "$dir" "$i")" && die "node $i in $dir is already running (pid $(pid_of "$dir" "$i"))"
  setsid mariadbd --defaults-file="$nd/my.cnf" "$@" </dev/null >>"$nd/stdout.log" 2>&1 &
  echo $! >"$nd/launch.pid"
}

fail_node() {
  local nd
  nd=$(node_dir "$1" "$2")
  printf '%s\n' "--- tail of $nd/error.log:" >&2
  tail -n 30 "$nd/error.log" >&2 2>/dev/null || true
  die "node $2 in $1: $3"
}

# Waits until node I answers on its socket (and, for Galera, is Synced in a cluster of SIZE).
wait_ready() {
  local dir=$1 i=$2 size=${3:-} pid deadline
  # Read as recorded: until setsid has exec'd mariadbd the process does not look like it yet.
  pid=$(cat "$(node_dir "$dir" "$i")/launch.pid")
  deadline=$((SECONDS + START_TIMEOUT))
  until mariadb-admin --no-defaults -S "$(sock_of "$dir" "$i")" -uroot ping >/dev/null 2>&1; do
    alive "$pid" || fail_node "$dir" "$i" "mariadbd exited during startup"
    ((SECONDS < deadline)) || fail_node "$dir" "$i" "not accepting connections after ${START_TIMEOUT}s"
    sleep 0.2
  done
  [[ -z $size ]] && return 0
  until [[ $(status_of "$dir" "$i" wsrep_local_state_comment) == Synced &&
    $(status_of "$dir" "$i" wsrep_cluster_size) == "$size" ]]; do
    alive "$pid" || fail_node "$dir" "$i" "mariadbd exited while joining the cluster"
    ((SECONDS < deadline)) || fail_node "$dir" "$i" "not Synced in a cluster of $size after ${START_TIMEOUT}s"
    sleep 0.2
  done
}

node_line() {
  local dir=$1 i=$2 port
  port=$(sed -n 's/^port=//p' "$(node_dir "$dir" "$i")/my.cnf")
  if [[ -f $(node_dir "$dir" "$i")/galera-ports ]]; then
    echo "node=$i port=$port socket=$(sock_of "$dir" "$i") pid=$(pid_of "$dir" "$i") $(cat "$(node_dir "$dir" "$i")/galera-ports")"
  else
    echo "port=$port socket=$(sock_of "$dir" "$i") pid=$(pid_of "$dir" "$i")"
  fi
}

# Root only over the unix socket: mariadb-install-db also creates password-less root accounts
# for 127.0.0.1, ::1 and the host name.
drop_remote_root() {
  local dir=$1 drops
  drops=$(root_sql "$dir" 1 "SELECT GROUP_CONCAT(CONCAT(QUOTE(user), '@', QUOTE(host))) FROM mysql.global_priv WHERE user = 'root' AND host <> 'localhost'")
  [[ $drops == NULL || -z $drops ]] || root_sql "$dir" 1 "DROP USER $drops"
}

# Stops every node under DIR: SIGTERM to all, wait, SIGKILL what is left; then the rsync SST
# daemons a node may have left behind (they write their pid into the node's data directory).
cmd_stop() {
  local dir=${1:?usage: stop DIR} i pid pids=() deadline f
  [[ -d $dir ]] || return 0
  for i in $(nodes_in "$dir"); do
    pid=$(pid_of "$dir" "$i")
    if alive "$pid"; then kill -TERM "$pid" 2>/dev/null || true; pids+=("$pid"); fi
  done
  deadline=$((SECONDS + STOP_TIMEOUT))
  for pid in "${pids[@]}"; do
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
    if alive "$pid"; then
      echo "mariadb.sh: pid $pid did not stop ${STOP_TIMEOUT}s after SIGTERM; SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  for f in "$dir"/node*/data/rsync_sst.pid; do
    [[ -f $f ]] || continue
    pid=$(cat "$f")
    if ours "$pid" "$dir/"; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  for i in $(nodes_in "$dir"); do rm -f "$(node_dir "$dir" "$i")/launch.pid"; done
}

cmd_kill_node() {
  local dir=${1:?usage: kill-node DIR N} i=${2:?usage: kill-node DIR N} pid
  [[ -f $(node_dir "$dir" "$i")/my.cnf ]] || die "no node $i in $dir"
  pid=$(pid_of "$dir" "$i")
  alive "$pid" || die "node $i in $dir is not running"
  kill -KILL "$pid"
  while alive "$pid"; do sleep 0.05; done
  rm -f "$(node_dir "$dir" "$i")/launch.pid"
}

cmd_start_node() {
  local dir=${1:?usage: start-node DIR N} i=${2:?usage: start-node DIR N} size="" j
  [[ -f $(node_dir "$dir" "$i")/my.cnf ]] || die "no node $i in $dir"
  if [[ -f $(node_dir "$dir" "$i")/galera-ports ]]; then
    # Rejoined means counted by a cluster of every node running now, plus this one.
    size=1
    for j in $(nodes_in "$dir"); do
      if [[ $j != "$i" && -n $(pid_of "$dir" "$j") ]]; then size=$((size + 1)); fi
    done
    ((size > 1)) || die "no running node of $dir for node $i to join"
  fi
  launch "$dir" "$i"
  wait_ready "$dir" "$i" "$size"
  node_line "$dir" "$i"
}

# A start that fails or is interrupted leaves nothing running; with --watchdog nothing at all
# (its error went to stderr), otherwise DIR stays for its logs. Signals become exits so that the
# EXIT trap runs, and a caller that went away (SIGPIPE on the output) is an error like any other.
guard_start() {
  START_DIR=$1
  trap 'start_failed "$START_DIR"' EXIT
  trap 'exit 129' HUP
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap '' PIPE
}

start_failed() {
  local rc=$? dir=$1
  ((rc == 0)) && return 0
  cmd_stop "$dir" || true
  ((WATCHDOG)) && rm -rf "$dir"
  exit "$rc"
}

# With --watchdog: hold the foreground until stdin closes, then stop and remove DIR.
watch() {
  local dir=$1
  ((WATCHDOG)) || return 0
  exec >/dev/null 2>&1
  trap 'cmd_stop "$dir"; rm -rf "$dir"; exit 0' INT TERM HUP
  while read -r _; do :; done
  cmd_stop "$dir"
  rm -rf "$dir"
}

cmd_start_server() {
  local dir=${1:?usage: start-server DIR OPTIONS}
  shift
  parse_opts "$@"
  [[ -z $NODES ]] || die "start-server takes no --nodes (start-galera does)"
  guard_start "$dir"
  prepare_dir "$dir"
  [[ -n $PORT ]] || PORT=$(alloc_ports 1)
  echo "$PORT" >"$dir/ports"
  write_cnf "$dir" 1 "$PORT"
  install_db "$dir" 1
  launch "$dir" 1
  wait_ready "$dir" 1
  drop_remote_root "$dir"
  node_line "$dir" 1
  trap - EXIT
  watch "$dir"
}

cmd_start_galera() {
  local dir=${1:?usage: start-galera DIR --nodes N OPTIONS} ports i gcomms=() all=()
  shift
  parse_opts "$@"
  if ! [[ $NODES =~ ^[0-9]+$ ]] || ((NODES < 2)); then die "--nodes N (N >= 2) is required"; fi
  [[ -z $PORT ]] || die "start-galera chooses its ports (no --port)"
  [[ -e $GALERA_LIB ]] || die "$GALERA_LIB not found (install galera-4: .ci/install.sh)"
  command -v rsync >/dev/null || die "rsync not found (install rsync: .ci/install.sh)"
  command -v wsrep_sst_rsync >/dev/null || die "wsrep_sst_rsync not found (install mariadb-server: .ci/install.sh)"
  guard_start "$dir"
  prepare_dir "$dir"
  read -ra all <<<"$(alloc_ports $((NODES * 4)))"
  echo "${all[*]}" >"$dir/ports"
  for ((i = 0; i < NODES; i++)); do gcomms+=("127.0.0.1:${all[i * 4 + 1]}"); done
  CLUSTER_NAME="tlsql-test-${all[0]}-$$"
  CLUSTER_ADDRESS="gcomm://$(IFS=,; echo "${gcomms[*]}")"
  for ((i = 1; i <= NODES; i++)); do
    ports=("${all[@]:(i - 1) * 4:4}")
    write_cnf "$dir" "$i" "${ports[0]}" "${ports[1]}" "${ports[2]}" "${ports[3]}"
  done
  # The first node bootstraps the cluster from a fresh instance; the others start with an empty
  # data directory and receive theirs by state transfer (rsync SST happens before the storage
  # engines start). They join together: a donor serves one transfer at a time and the other
  # joiner retries until a donor is free.
  install_db "$dir" 1
  launch "$dir" 1 --wsrep-new-cluster
  wait_ready "$dir" 1 1
  drop_remote_root "$dir"
  for ((i = 2; i <= NODES; i++)); do launch "$dir" "$i"; done
  for ((i = 1; i <= NODES; i++)); do wait_ready "$dir" "$i" "$NODES"; done
  for ((i = 1; i <= NODES; i++)); do node_line "$dir" "$i"; done
  trap - EXIT
  watch "$dir"
}

case ${1:-} in
  start-server) shift; cmd_start_server "$@" ;;
  start-galera) shift; cmd_start_galera "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  kill-node) shift; cmd_kill_node "$@" ;;
  start-node) shift; cmd_start_node "$@" ;;
  *) usage ;;
esac
