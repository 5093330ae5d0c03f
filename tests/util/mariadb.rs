//! Real MariaDB backends for the gateway tests: standalone servers and a Galera cluster,
//! started by `tests/gateway/mariadb.sh` (the same script the shell tests use) on loopback
//! ports with TLS, plus the account matrix of the policy suite and a comparison helper that
//! turns one login into a normalized [`Outcome`].
//!
//! # Lifetime
//!
//! Every instance runs under the script's `--watchdog`: a shell whose stdin is a pipe that only
//! this process holds. When the pipe closes — the fixture is dropped, the test binary exits,
//! panics or is killed — the watchdog stops the servers and removes their directory. Nothing
//! needs `Drop` to run, so the shared instances below can live in statics.
//!
//! # Sharing
//!
//! Starting is slow (wall time on the 2-core machine, busy with other builds: a standalone server
//! 1–5 s, the pair 2–6 s, a three-node Galera cluster 13–18 s; a killed Galera node is evicted
//! after about 6 s and rejoins in 5–20 s, by full state transfer), so one test binary shares one
//! standalone [`pair`] and one [`galera`] cluster, started on first use. Shared state rules:
//!
//! * The [matrix accounts](accounts) exist on every shared instance from the start; no test may
//!   change or drop them.
//! * Tests may create their own accounts, databases and tables under names of their own, and may
//!   trust more CAs of their own ([`MariaDb::add_ca`], e.g. a gateway's identity CA: trusting is
//!   additive), never [`Pki::foreign`], whose refusal other tests expect.
//! * On the [`pair`], only tests that own an instance (started with [`MariaDb::start`]) may kill
//!   or restart it or change global variables (e.g. `require_secure_transport`): a killed shared
//!   server would fail whatever test runs beside it.
//! * The [`galera`] cluster is lent to one test at a time, which may kill and restart nodes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use rcgen::DnType;

use super::certs::{Ca, Key, Pair};

/// The script every start, kill and restart goes through.
pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gateway/mariadb.sh")
}

// ---------------------------------------------------------------------------------------------
// Certificates

/// Subject of the client certificate the `SUBJECT` accounts require.
pub const ALICE: &str = "/C=SE/O=tlsql tests/CN=alice";
/// Issuer name of every certificate of [`Pki::ca`] (what the `ISSUER` accounts require).
pub const ISSUER: &str = "/O=tlsql tests/CN=backend";

/// The test PKI of a test binary: one CA that issued the backends' server certificate and the
/// client certificates, and a foreign CA.
pub struct Pki {
    /// The CA: backends trust it (`ssl-ca`) and clients verify the backends with it.
    pub ca: Ca,
    /// Server certificate for `localhost` and `127.0.0.1`, issued by `ca`.
    pub server: Pair,
    /// `/C=SE/O=tlsql tests/CN=alice` from `ca`: satisfies every matrix account.
    pub alice: Pair,
    /// `/C=SE/O=tlsql tests/CN=mallory` from `ca`: verifies, but is not the `SUBJECT`.
    pub mallory: Pair,
    /// alice's subject from a CA the backends do not trust.
    pub alice_foreign: Pair,
    /// The CA that issued `alice_foreign` and `foreign_server`.
    pub foreign: Ca,
    /// A server certificate for localhost and 127.0.0.1 from the foreign CA: a backend with it
    /// ([`Options::server`]) must be refused by a client that verifies against `ca`.
    pub foreign_server: Pair,
    /// A server certificate from `ca` for `elsewhere.example` only: refused by a client that
    /// checks the name it connected to.
    pub misnamed_server: Pair,
    _cleanup: RemoveAtExit,
}

fn alice_like(cn: &'static str) -> [(DnType, &'static str); 3] {
    [
        (DnType::CountryName, "SE"),
        (DnType::OrganizationName, "tlsql tests"),
        (DnType::CommonName, cn),
    ]
}

/// The PKI shared by every fixture of this test binary, made on first use.
pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let dir = private_dir("tlsql-pki.");
        let cleanup = RemoveAtExit::new(&dir);
        let ca = Ca::new(&dir.join("backend"), "backend");
        let foreign = Ca::new(&dir.join("foreign"), "foreign");
        Pki {
            server: ca.server("mariadb-server", Key::Ecdsa),
            alice: ca.client("alice", &alice_like("alice"), vec![]),
            mallory: ca.client("mallory", &alice_like("mallory"), vec![]),
            alice_foreign: foreign.client("alice-foreign", &alice_like("alice"), vec![]),
            foreign_server: foreign.server("foreign-server", Key::Ecdsa),
            misnamed_server: ca.server_named("misnamed-server", Key::Ecdsa, "elsewhere.example"),
            ca,
            foreign,
            _cleanup: cleanup,
        }
    })
}

fn private_dir(prefix: &str) -> PathBuf {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("temporary directory")
        .keep()
}

/// Removes a directory when this process ends however it ends: `sh` waits for end of file on a
/// pipe whose write end only this process holds, then removes the directory. Never waited for:
/// it outlives this process by design.
struct RemoveAtExit {
    _pipe: ChildStdin,
    _sh: Child,
}

impl RemoveAtExit {
    fn new(dir: &Path) -> Self {
        let mut sh = Command::new("sh")
            .args(["-c", "cat >/dev/null; rm -rf -- \"$0\""])
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sh");
        Self {
            _pipe: sh.stdin.take().expect("piped stdin"),
            _sh: sh,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Starting instances

/// How to start an instance. The default: the [`pki`] server certificate, the [`pki`] CA as
/// `ssl-ca`, PROXY protocol headers accepted from `127.0.0.0/8`, `require_secure_transport` off,
/// a free port.
#[derive(Clone, Debug)]
pub struct Options {
    /// Server certificate and key (default: [`Pki::server`]); another CA's or another name's
    /// certificate makes a backend that a verifying gateway must refuse.
    pub server: Option<Pair>,
    /// CA files appended to `ssl-ca` after the [`pki`] CA, e.g. the gateway's identity CA.
    pub extra_ca: Vec<PathBuf>,
    /// `proxy_protocol_networks`; `None` leaves it unset (headers refused).
    pub proxy_networks: Option<String>,
    /// `require_secure_transport=ON` from the start.
    pub require_secure_transport: bool,
    /// SQL port of a standalone server (default: one chosen by the script).
    pub port: Option<u16>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            server: None,
            extra_ca: Vec::new(),
            proxy_networks: Some("127.0.0.0/8".into()),
            require_secure_transport: false,
            port: None,
        }
    }
}

impl Options {
    fn script_args(&self) -> Vec<String> {
        let pki = pki();
        let server = self.server.as_ref().unwrap_or(&pki.server);
        let mut args = vec![
            "--ssl-cert".into(),
            server.cert.display().to_string(),
            "--ssl-key".into(),
            server.key.display().to_string(),
            "--ssl-ca".into(),
            pki.ca.cert.display().to_string(),
        ];
        for ca in &self.extra_ca {
            args.extend(["--ssl-ca".into(), ca.display().to_string()]);
        }
        if let Some(nets) = &self.proxy_networks {
            args.extend(["--proxy-networks".into(), nets.clone()]);
        }
        if self.require_secure_transport {
            args.push("--require-secure-transport".into());
        }
        args
    }
}

/// One line of the script's output, `key=value` pairs.
struct Line(Vec<(String, String)>);

impl Line {
    fn parse(line: &str) -> Self {
        Line(
            line.split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn get(&self, key: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("mariadb.sh printed no {key}= in {:?}", self.0))
    }

    fn num<T: std::str::FromStr>(&self, key: &str) -> T {
        self.get(key)
            .parse()
            .unwrap_or_else(|_| panic!("mariadb.sh: {key}={} is not a number", self.get(key)))
    }
}

/// The script running as a watchdog; dropping it (or this process ending) stops the servers and
/// removes their directory.
struct Watchdog {
    child: Child,
}

impl Watchdog {
    /// Runs `mariadb.sh <args> --watchdog` and returns it with the `lines` lines it printed once
    /// everything was up; panics with the script's error output when the start failed.
    fn start(args: &[String], lines: usize) -> (Self, Vec<Line>) {
        let mut child = Command::new("bash")
            .arg(script())
            .args(args)
            .arg("--watchdog")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn mariadb.sh");
        // stderr is read on its own thread so that a chatty failure cannot block the script
        // while this thread waits for stdout.
        let mut stderr = child.stderr.take().expect("piped stderr");
        let errors = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut out = Vec::new();
        for line in stdout.lines() {
            let line = line.expect("read mariadb.sh output");
            out.push(Line::parse(&line));
            if out.len() == lines {
                break;
            }
        }
        if out.len() < lines {
            let status = child.wait().expect("wait for mariadb.sh");
            let errors = errors.join().unwrap_or_default();
            panic!("mariadb.sh {} failed ({status}):\n{errors}", args.join(" "));
        }
        (Self { child }, out)
    }
}

impl Drop for Watchdog {
    /// Closes the pipe and waits until the servers are stopped and the directory is gone.
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// Runs a short script command (`kill-node`, `start-node`) and returns its stdout.
fn run_script(args: &[&str]) -> String {
    try_run_script(args).unwrap_or_else(|e| panic!("{e}"))
}

fn try_run_script(args: &[&str]) -> Result<String, String> {
    let out = Command::new("bash")
        .arg(script())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("run mariadb.sh: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "mariadb.sh {} failed ({}):\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A root connection over a server's unix socket (root has no password and no TCP account).
fn root_over(socket: &Path) -> mysql::Conn {
    let opts = mysql::OptsBuilder::new()
        .socket(Some(socket.display().to_string()))
        .user(Some("root"))
        .read_timeout(Some(Duration::from_secs(60)));
    mysql::Conn::new(opts).unwrap_or_else(|e| panic!("root over {}: {e}", socket.display()))
}

/// Appends `ca` to the CA bundle in `dir` (shared by all nodes of an instance).
fn append_ca(dir: &Path, ca: &Path) {
    let pem = std::fs::read(ca).unwrap_or_else(|e| panic!("read {}: {e}", ca.display()));
    let mut bundle = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("tls/ca.pem"))
        .expect("open the CA bundle");
    bundle.write_all(&pem).expect("append to the CA bundle");
}

/// A standalone MariaDB server on `127.0.0.1:port`.
pub struct MariaDb {
    pub port: u16,
    pub socket: PathBuf,
    /// The instance directory (layout in `tests/gateway/mariadb.sh`).
    pub dir: PathBuf,
    pid: AtomicU32,
    /// Dropped with the server: stops it and removes `dir`.
    _watchdog: Watchdog,
}

impl MariaDb {
    /// Starts a fresh server; it is stopped and its directory removed when the value is dropped
    /// or the test process ends.
    pub fn start(opts: &Options) -> Self {
        let dir = private_dir("tlsql-mariadb.");
        let mut args = vec!["start-server".to_string(), dir.display().to_string()];
        args.extend(opts.script_args());
        if let Some(port) = opts.port {
            args.extend(["--port".into(), port.to_string()]);
        }
        let (watchdog, lines) = Watchdog::start(&args, 1);
        Self {
            port: lines[0].num("port"),
            socket: lines[0].get("socket").into(),
            pid: AtomicU32::new(lines[0].num("pid")),
            dir,
            _watchdog: watchdog,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The server's process id (changes on [`restart`](Self::restart)).
    pub fn pid(&self) -> u32 {
        self.pid.load(Ordering::SeqCst)
    }

    /// A root connection over the unix socket, to create accounts and inspect state.
    pub fn root(&self) -> mysql::Conn {
        root_over(&self.socket)
    }

    /// Kills the server with SIGKILL and waits until it is gone.
    pub fn kill(&self) {
        run_script(&["kill-node", &self.dir.display().to_string(), "1"]);
    }

    /// Starts the server again on the same port and data; returns once it accepts connections.
    pub fn restart(&self) {
        let out = run_script(&["start-node", &self.dir.display().to_string(), "1"]);
        self.pid
            .store(Line::parse(out.trim()).num("pid"), Ordering::SeqCst);
    }

    /// Trusts one more CA (appended to `ssl-ca`, then `FLUSH SSL`), e.g. a gateway's identity CA.
    pub fn add_ca(&self, ca: &Path) {
        append_ca(&self.dir, ca);
        self.root().query_drop("FLUSH SSL").expect("FLUSH SSL");
    }
}

/// One node of a [`Galera`] cluster.
pub struct Node {
    /// 1-based, as in the script.
    pub index: usize,
    pub port: u16,
    pub socket: PathBuf,
    /// Group communication, incremental and full state transfer ports.
    pub gcomm: u16,
    pub ist: u16,
    pub sst: u16,
    pid: AtomicU32,
}

impl Node {
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn pid(&self) -> u32 {
        self.pid.load(Ordering::SeqCst)
    }

    pub fn root(&self) -> mysql::Conn {
        root_over(&self.socket)
    }
}

/// A Galera cluster of MariaDB nodes on loopback, every node with the same TLS setup.
pub struct Galera {
    pub nodes: Vec<Node>,
    pub dir: PathBuf,
    /// Dropped with the cluster: stops every node and removes `dir`.
    _watchdog: Watchdog,
}

impl Galera {
    /// Starts a cluster of `nodes` nodes; returns when every node is `Synced` in it.
    pub fn start(nodes: usize, opts: &Options) -> Self {
        assert!(
            opts.port.is_none(),
            "a Galera cluster chooses its own ports"
        );
        let dir = private_dir("tlsql-galera.");
        let mut args = vec![
            "start-galera".to_string(),
            dir.display().to_string(),
            "--nodes".into(),
            nodes.to_string(),
        ];
        args.extend(opts.script_args());
        let (watchdog, lines) = Watchdog::start(&args, nodes);
        let nodes = lines
            .iter()
            .map(|l| Node {
                index: l.num("node"),
                port: l.num("port"),
                socket: l.get("socket").into(),
                gcomm: l.num("gcomm"),
                ist: l.num("ist"),
                sst: l.num("sst"),
                pid: AtomicU32::new(l.num("pid")),
            })
            .collect();
        Self {
            nodes,
            dir,
            _watchdog: watchdog,
        }
    }

    /// Node `i`, 1-based.
    pub fn node(&self, i: usize) -> &Node {
        &self.nodes[i - 1]
    }

    /// Kills node `i` with SIGKILL.
    pub fn kill(&self, i: usize) {
        run_script(&["kill-node", &self.dir.display().to_string(), &i.to_string()]);
        self.node(i).pid.store(0, Ordering::SeqCst);
    }

    /// Starts node `i` again; returns once it has rejoined and every node counts it.
    pub fn restart(&self, i: usize) {
        self.try_restart(i).unwrap_or_else(|e| panic!("{e}"));
    }

    fn try_restart(&self, i: usize) -> Result<(), String> {
        let out = try_run_script(&[
            "start-node",
            &self.dir.display().to_string(),
            &i.to_string(),
        ])?;
        self.node(i)
            .pid
            .store(Line::parse(out.trim()).num("pid"), Ordering::SeqCst);
        Ok(())
    }

    /// Trusts one more CA on every running node.
    pub fn add_ca(&self, ca: &Path) {
        append_ca(&self.dir, ca);
        for node in &self.nodes {
            node.root().query_drop("FLUSH SSL").expect("FLUSH SSL");
        }
    }
}

/// Prints how long a fixture took to start (visible with `--nocapture`; the report's timings).
fn timed<T>(what: &str, start: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let value = start();
    eprintln!("{what} started in {:.1} s", t.elapsed().as_secs_f64());
    value
}

/// Two independent standalone servers with the default [`Options`] and the [matrix
/// accounts](accounts), shared by the whole test binary (see the module docs for what tests
/// may do with them).
pub fn pair() -> &'static [MariaDb; 2] {
    static PAIR: OnceLock<[MariaDb; 2]> = OnceLock::new();
    PAIR.get_or_init(|| {
        timed("MariaDB pair", || {
            let opts = Options::default();
            pki();
            let (a, b) = std::thread::scope(|s| {
                let a = s.spawn(|| MariaDb::start(&opts));
                let b = MariaDb::start(&opts);
                (a.join().expect("first server starts"), b)
            });
            for server in [&a, &b] {
                let mut root = server.root();
                install_ed25519(&mut root);
                create_accounts(&mut root);
            }
            [a, b]
        })
    })
}

/// The three-node Galera cluster of this test binary, with the default [`Options`] and the
/// [matrix accounts](accounts), started on first use. Galera tests are about failures, so the
/// cluster is lent to one test at a time: the guard may kill and restart nodes, and when it is
/// dropped (even by a failing test) any node left down is restarted for the next test.
pub fn galera() -> GaleraGuard {
    static GALERA: OnceLock<Mutex<Galera>> = OnceLock::new();
    let cluster = GALERA.get_or_init(|| {
        timed("Galera cluster (3 nodes)", || {
            let cluster = Galera::start(3, &Options::default());
            setup_galera_accounts(&cluster);
            Mutex::new(cluster)
        })
    });
    // A test that failed while holding the cluster poisoned the lock; the guard's drop has
    // already brought every node back, so the cluster is fine to use.
    GaleraGuard(cluster.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Exclusive use of the shared [`galera`] cluster.
pub struct GaleraGuard(std::sync::MutexGuard<'static, Galera>);

impl std::ops::Deref for GaleraGuard {
    type Target = Galera;
    fn deref(&self) -> &Galera {
        &self.0
    }
}

impl Drop for GaleraGuard {
    fn drop(&mut self) {
        for node in &self.0.nodes {
            if node.pid() == 0 {
                // No panic here: this may run while a failed test unwinds.
                if let Err(e) = self.0.try_restart(node.index) {
                    eprintln!("Galera node {} did not come back: {e}", node.index);
                }
            }
        }
    }
}

/// Loads the ed25519 plugin on every node (plugins are per server: Galera does not replicate
/// `INSTALL SONAME`), then creates the matrix accounts on node 1 (Galera replicates those).
pub fn setup_galera_accounts(cluster: &Galera) {
    for node in &cluster.nodes {
        install_ed25519(&mut node.root());
    }
    create_accounts(&mut cluster.node(1).root());
}

// ---------------------------------------------------------------------------------------------
// The account matrix

/// The password of every matrix account.
pub const PASSWORD: &str = "pw";

/// A matrix account: `'user'@'host'`, its plugin and its `REQUIRE` clause.
#[derive(Clone, Debug)]
pub struct Account {
    pub user: &'static str,
    pub host: &'static str,
    /// `mysql_native_password` (MariaDB has no `caching_sha2_password` server plugin) or
    /// `ed25519`.
    pub plugin: &'static str,
    pub require: String,
}

/// The accounts of the policy suite's REQUIRE matrix as MariaDB supports them (no `SAN`), an
/// `ed25519` account and `'px'@'127.0.0.2'` for PROXY-protocol address matching. Every one has
/// the password [`PASSWORD`].
pub fn accounts() -> Vec<Account> {
    let native = |user, require: String| Account {
        user,
        host: "%",
        plugin: "mysql_native_password",
        require,
    };
    vec![
        native("r_none", "NONE".into()),
        native("r_ssl", "SSL".into()),
        native("r_x509", "X509".into()),
        native("r_subject", format!("SUBJECT '{ALICE}'")),
        native("r_issuer", format!("ISSUER '{ISSUER}'")),
        native("r_both", format!("SUBJECT '{ALICE}' AND ISSUER '{ISSUER}'")),
        // What MariaDB (OpenSSL 3.0) and the `mysql` crate (rustls) negotiate: TLS 1.3 with
        // their shared first choice.
        native("r_cipher", "CIPHER 'TLS_AES_256_GCM_SHA384'".into()),
        // A TLS 1.2 suite: never negotiated by a TLS 1.3 client, so this account never logs in.
        native(
            "r_cipher_other",
            "CIPHER 'ECDHE-ECDSA-AES128-GCM-SHA256'".into(),
        ),
        Account {
            user: "r_ed25519",
            host: "%",
            plugin: "ed25519",
            require: "NONE".into(),
        },
        Account {
            user: "px",
            host: "127.0.0.2",
            plugin: "mysql_native_password",
            require: "NONE".into(),
        },
    ]
}

/// Loads MariaDB's ed25519 authentication plugin; false when it cannot be loaded here.
pub fn install_ed25519(root: &mut mysql::Conn) -> bool {
    ed25519_loaded(root) || root.query_drop("INSTALL SONAME 'auth_ed25519'").is_ok()
}

fn ed25519_loaded(root: &mut mysql::Conn) -> bool {
    let status: Option<String> = root
        .query_first(
            "SELECT PLUGIN_STATUS FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'ed25519'",
        )
        .expect("read information_schema.PLUGINS");
    status.as_deref() == Some("ACTIVE")
}

/// Creates the [`accounts`] (replacing any of the same name) that this server can hold: the
/// ed25519 one only when the plugin is loaded ([`install_ed25519`]). Returns what was created.
pub fn create_accounts(root: &mut mysql::Conn) -> Vec<Account> {
    let ed25519 = ed25519_loaded(root);
    let mut created = Vec::new();
    for a in accounts() {
        let auth = match a.plugin {
            "ed25519" if !ed25519 => continue,
            "ed25519" => format!("IDENTIFIED VIA ed25519 USING PASSWORD('{PASSWORD}')"),
            _ => format!("IDENTIFIED VIA mysql_native_password USING PASSWORD('{PASSWORD}')"),
        };
        root.query_drop(format!(
            "CREATE OR REPLACE USER '{}'@'{}' {auth} REQUIRE {}",
            a.user, a.host, a.require
        ))
        .unwrap_or_else(|e| panic!("create {}@{}: {e}", a.user, a.host));
        created.push(a);
    }
    created
}

// ---------------------------------------------------------------------------------------------
// Comparing outcomes

/// One way of connecting: endpoint, account, transport.
#[derive(Clone, Debug)]
pub struct Connect {
    pub host: String,
    pub port: u16,
    /// Connect over this unix socket instead of TCP (`host`/`port` are then unused).
    pub socket: Option<PathBuf>,
    pub user: String,
    pub password: String,
    /// TLS on the TCP connection (never on the socket).
    pub tls: bool,
    /// Verify the server against this CA and the host name; without one the server certificate
    /// is not verified.
    pub ca: Option<PathBuf>,
    /// Client certificate and key.
    pub identity: Option<Pair>,
    /// Local address to connect from (e.g. 127.0.0.2, to exercise host patterns).
    pub bind: Option<IpAddr>,
}

impl Connect {
    /// TCP to `addr` as `user` with [`PASSWORD`], plain.
    pub fn tcp(addr: SocketAddr, user: &str) -> Self {
        Self {
            host: addr.ip().to_string(),
            port: addr.port(),
            socket: None,
            user: user.into(),
            password: PASSWORD.into(),
            tls: false,
            ca: None,
            identity: None,
            bind: None,
        }
    }

    /// The same over TLS verified against the [`pki`] CA.
    pub fn verified_tls(mut self) -> Self {
        self.tls = true;
        self.ca = Some(pki().ca.cert.clone());
        self
    }

    pub fn identity(mut self, pair: &Pair) -> Self {
        self.identity = Some(pair.clone());
        self
    }

    /// The unix socket `socket` as `user` with [`PASSWORD`].
    pub fn socket(socket: &Path, user: &str) -> Self {
        Self {
            socket: Some(socket.to_path_buf()),
            ..Self::tcp(SocketAddr::from(([127, 0, 0, 1], 0)), user)
        }
    }

    /// The same TCP connection made to another endpoint (e.g. the gateway instead of the
    /// backend).
    pub fn to(&self, addr: SocketAddr) -> Self {
        Self {
            host: addr.ip().to_string(),
            port: addr.port(),
            ..self.clone()
        }
    }

    fn opts(&self) -> mysql::OptsBuilder {
        let mut opts = mysql::OptsBuilder::new()
            .user(Some(&self.user))
            .pass(Some(&self.password))
            .tcp_connect_timeout(Some(Duration::from_secs(10)))
            .read_timeout(Some(Duration::from_secs(30)))
            .write_timeout(Some(Duration::from_secs(30)));
        if let Some(socket) = &self.socket {
            return opts.socket(Some(socket.display().to_string()));
        }
        opts = opts
            .ip_or_hostname(Some(&self.host))
            .tcp_port(self.port)
            .prefer_socket(false)
            .bind_address(self.bind.map(|ip| SocketAddr::new(ip, 0)));
        if self.tls {
            let mut ssl = mysql::SslOpts::default();
            ssl = match &self.ca {
                Some(ca) => ssl.with_root_cert_path(Some(ca.clone())),
                None => ssl.with_danger_accept_invalid_certs(true),
            };
            if let Some(id) = &self.identity {
                ssl = ssl.with_client_identity(Some(mysql::ClientIdentity::new(
                    id.cert.clone(),
                    id.key.clone(),
                )));
            }
            opts = opts.ssl_opts(Some(ssl));
        }
        opts
    }
}

/// What a login came to, comparable between a direct connection and one through the gateway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Logged in: `USER()` (the account name and the client address as the server saw it),
    /// `CURRENT_USER()`, and whether the session reports a TLS cipher.
    Ok {
        user: String,
        current_user: String,
        ssl_cipher_nonempty: bool,
    },
    /// The server answered with an ERR packet.
    Err {
        code: u16,
        sqlstate: String,
        message: String,
    },
    /// The client gave up before any ERR packet: a failed TLS handshake (a client certificate the
    /// server does not trust, a server certificate the client does not), a closed connection.
    /// The text is the client's error with the endpoint replaced by `<server>`.
    Failed(String),
}

impl Outcome {
    /// The outcome with the client's address replaced by `<client>` where the server names it:
    /// the host of `USER()` and the `'user'@'host'` / `Host 'h'` parts of error messages.
    ///
    /// Compare normalized outcomes when the two connections legitimately reach the server from
    /// different addresses: through a gateway without the PROXY protocol the backend sees the
    /// gateway's address, directly it sees the client's. With the PROXY protocol on (or when both
    /// come from the same address, as on loopback) compare the raw outcomes: the address is then
    /// part of what must match.
    pub fn without_client_host(&self) -> Outcome {
        match self {
            Outcome::Ok {
                user,
                current_user,
                ssl_cipher_nonempty,
            } => Outcome::Ok {
                user: match user.rsplit_once('@') {
                    Some((name, _)) => format!("{name}@<client>"),
                    None => user.clone(),
                },
                current_user: current_user.clone(),
                ssl_cipher_nonempty: *ssl_cipher_nonempty,
            },
            Outcome::Err {
                code,
                sqlstate,
                message,
            } => Outcome::Err {
                code: *code,
                sqlstate: sqlstate.clone(),
                message: replace_client_host(message),
            },
            Outcome::Failed(s) => Outcome::Failed(s.clone()),
        }
    }
}

/// `… for user 'u'@'h' …` → `… for user 'u'@'<client>' …`; `Host 'h' is …` → `Host '<client>' is …`.
fn replace_client_host(message: &str) -> String {
    let mut out = message.to_string();
    if let Some(at) = out.find("'@'")
        && let Some(end) = out[at + 3..].find('\'')
    {
        out.replace_range(at + 3..at + 3 + end, "<client>");
    }
    if let Some(rest) = out.strip_prefix("Host '")
        && let Some(end) = rest.find('\'')
    {
        out = format!("Host '<client>'{}", &rest[end + 1..]);
    }
    out
}

/// Connects as `c` says and reports the [`Outcome`].
pub fn outcome(c: &Connect) -> Outcome {
    let endpoint = format!("{}:{}", c.host, c.port);
    let failed = |text: String| Outcome::Failed(text.replace(&endpoint, "<server>"));
    let mut conn = match mysql::Conn::new(c.opts()) {
        Ok(conn) => conn,
        Err(mysql::Error::MySqlError(e)) => {
            return Outcome::Err {
                code: e.code,
                sqlstate: e.state,
                message: e.message,
            };
        }
        Err(e) => return failed(e.to_string()),
    };
    // `SHOW SESSION STATUS` is the form whose TLS rows a gateway rewrites (SPEC §12).
    let rows = conn
        .query_first::<(String, String), _>("SELECT USER(), CURRENT_USER()")
        .and_then(|users| {
            let cipher =
                conn.query_first::<(String, String), _>("SHOW SESSION STATUS LIKE 'Ssl_cipher'")?;
            Ok((users, cipher))
        });
    let (users, cipher) = match rows {
        Ok(rows) => rows,
        Err(mysql::Error::MySqlError(e)) => {
            return Outcome::Err {
                code: e.code,
                sqlstate: e.state,
                message: e.message,
            };
        }
        Err(e) => return failed(e.to_string()),
    };
    let (user, current_user) = users.expect("one row of USER(), CURRENT_USER()");
    let cipher = cipher.map(|(_, value)| value).unwrap_or_default();
    Outcome::Ok {
        user,
        current_user,
        ssl_cipher_nonempty: !cipher.is_empty(),
    }
}
