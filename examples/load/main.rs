//! The load tool: drives concurrent clients against any MySQL server (tlsql or
//! another, so both can be measured in one run) and prints the rate, per-operation latency,
//! the server's CPU time per operation (from `/proc/<pid>/stat`) and the server's memory per
//! idle connection (from `/proc/<pid>/status`).
//!
//! ```text
//! cargo run --release --example load -- --port 3306 --tls --ssl-ca ca.pem --server-pid PID connect
//! cargo run --release --example load -- --port 3306 --server-pid PID query --sql 'SELECT 1'
//! cargo run --release --example load -- --port 3306 --server-pid PID idle --connections 200
//! cargo run --release --example load -- --port 3306 --tls --server-pid PID hold --connections 5000
//! cargo run --release --example load -- --port 3306 --ssl-ca ca.pem --server-pid PID handshake --group X25519
//! ```
//!
//! Every run is bounded twice: by `--seconds` (at most 600) and by `--max` operations.

mod resume;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use mysql::prelude::Queryable;

#[derive(Parser)]
#[command(about = "Load generator for MySQL-protocol servers (tlsql or any other)")]
struct Cli {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    work: Work,
}

/// The server and how to log in to it.
#[derive(Args)]
struct Target {
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, default_value_t = 3306)]
    port: u16,
    #[arg(long, default_value = "root")]
    user: String,
    #[arg(long, default_value = "")]
    password: String,
    #[arg(long)]
    database: Option<String>,
    /// Connect with TLS. Without --ssl-ca the server certificate is not verified.
    #[arg(long)]
    tls: bool,
    /// CA bundle that must have issued the server certificate (implies --tls).
    #[arg(long)]
    ssl_ca: Option<PathBuf>,
    /// Client certificate (PEM), presented with --ssl-key (implies --tls).
    #[arg(long, requires = "ssl_key")]
    ssl_cert: Option<PathBuf>,
    #[arg(long, requires = "ssl_cert")]
    ssl_key: Option<PathBuf>,
    /// The server's process id, for its CPU time and memory. Without it only client-side
    /// figures are printed.
    #[arg(long)]
    server_pid: Option<i32>,
}

/// How long a timed run may last and how many operations it may do in all.
#[derive(Args, Clone, Copy)]
struct Bounds {
    /// Concurrent clients, one thread each.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=1024))]
    clients: u32,
    /// Run time in seconds.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=600))]
    seconds: u64,
    /// Stop after this many operations across all clients, even before the time is up.
    #[arg(long, default_value_t = 1_000_000)]
    max: u64,
}

#[derive(Subcommand)]
enum Work {
    /// Each operation: connect (TCP, TLS, login), `SELECT 1`, quit.
    Connect {
        #[command(flatten)]
        bounds: Bounds,
    },
    /// Like `connect` over TLS, with the tool's own client: one TLS configuration for all
    /// connections, so every connection after the first resumes a session (TLS 1.3 ticket).
    /// Needs --ssl-ca. Reports how many connections resumed.
    Handshake {
        #[command(flatten)]
        bounds: Bounds,
        /// Key exchange groups to offer, in order (rustls names: X25519, secp256r1,
        /// X25519MLKEM768, ...); rustls's default list without it.
        #[arg(long = "group")]
        groups: Vec<String>,
        /// Never resume: every connection makes a full handshake.
        #[arg(long)]
        full: bool,
    },
    /// One connection per client; each operation is one statement and its whole result.
    Query {
        #[command(flatten)]
        bounds: Bounds,
        #[arg(long, default_value = "SELECT 1")]
        sql: String,
    },
    /// Opens connections one after another and leaves them idle; reports how much the
    /// server's resident memory grew per connection.
    Idle {
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        connections: u32,
        /// Wait before reading the server's memory, so it has settled.
        #[arg(long, default_value_t = 500)]
        settle_ms: u64,
        /// Stop each connection before login: read the greeting and never answer it (what a
        /// stalled or hostile client costs until `connect-timeout`).
        #[arg(long)]
        pre_auth: bool,
        /// Prepared statements each connection creates and keeps (COM_STMT_PREPARE).
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=10_000))]
        prepared: u32,
    },
    /// Holds N logged-in idle connections, then measures what the held load costs: the latency
    /// of new logins, and one `SELECT 1` on every held connection.
    Hold {
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=20_000))]
        connections: u32,
        /// New logins (connect, login, `SELECT 1`, quit) measured one after another while the
        /// connections are held.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        logins: u32,
        /// Gives up opening connections after this long (at most 600 s).
        #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=600))]
        seconds: u64,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let opts = cli.target.opts()?;
    let server = cli.target.server_pid.map(ServerProcess::new).transpose()?;
    match cli.work {
        Work::Connect { bounds } => {
            let run = timed(bounds, server.as_ref(), |ops| {
                Ok(ops.each(|| {
                    let mut conn = mysql::Conn::new(opts.clone())?;
                    conn.query_drop("SELECT 1")
                }))
            })?;
            run.print("connect:", bounds);
        }
        Work::Handshake {
            bounds,
            groups,
            full,
        } => handshake(&cli.target, server.as_ref(), bounds, &groups, full)?,
        Work::Query { bounds, sql } => {
            let run = timed(bounds, server.as_ref(), |ops| {
                let mut conn = mysql::Conn::new(opts.clone())?;
                Ok(ops.each(|| {
                    for row in conn.query_iter(sql.as_str())? {
                        row?;
                    }
                    Ok::<_, mysql::Error>(())
                }))
            })?;
            run.print("query:", bounds);
        }
        Work::Idle {
            connections,
            settle_ms,
            pre_auth,
            prepared,
        } => {
            let stage = if pre_auth {
                Stage::PreAuth {
                    addr: (cli.target.host.as_str(), cli.target.port),
                }
            } else {
                Stage::LoggedIn { prepared }
            };
            idle(&opts, server.as_ref(), connections, settle_ms, stage)?
        }
        Work::Hold {
            connections,
            logins,
            seconds,
        } => hold(&opts, server.as_ref(), connections, logins, seconds)?,
    }
    Ok(())
}

impl Target {
    fn opts(&self) -> anyhow::Result<mysql::Opts> {
        let mut builder = mysql::OptsBuilder::new()
            .ip_or_hostname(Some(self.host.as_str()))
            .tcp_port(self.port)
            .user(Some(self.user.as_str()))
            .pass(Some(self.password.as_str()))
            .db_name(self.database.as_deref())
            // Stay on the TCP connection asked for: the driver would otherwise look up the
            // server's socket and reconnect there.
            .prefer_socket(false)
            // Known up front, so the driver does not ask the server for it on every login.
            .max_allowed_packet(Some(64 << 20));
        if self.tls || self.ssl_ca.is_some() || self.ssl_cert.is_some() {
            let mut ssl = mysql::SslOpts::default();
            ssl = match &self.ssl_ca {
                Some(ca) => {
                    std::fs::metadata(ca).with_context(|| format!("--ssl-ca {}", ca.display()))?;
                    ssl.with_root_cert_path(Some(ca.clone()))
                }
                None => ssl.with_danger_accept_invalid_certs(true),
            };
            if let (Some(cert), Some(key)) = (&self.ssl_cert, &self.ssl_key) {
                ssl = ssl.with_client_identity(Some(mysql::ClientIdentity::new(
                    cert.clone(),
                    key.clone(),
                )));
            }
            builder = builder.ssl_opts(Some(ssl));
        }
        Ok(builder.into())
    }
}

/// The measured server process.
struct ServerProcess {
    process: procfs::process::Process,
}

impl ServerProcess {
    fn new(pid: i32) -> anyhow::Result<Self> {
        let process = procfs::process::Process::new(pid)
            .with_context(|| format!("--server-pid {pid}: no such process"))?;
        Ok(Self { process })
    }

    /// User plus system CPU time consumed so far.
    fn cpu(&self) -> anyhow::Result<Duration> {
        let stat = self.process.stat().context("reading the server's stat")?;
        let ticks = stat.utime + stat.stime;
        Ok(Duration::from_secs_f64(
            ticks as f64 / procfs::ticks_per_second() as f64,
        ))
    }

    /// Open file descriptors: the entries of `/proc/PID/fd`. Not `Process::fd_count`, whose
    /// fast path (the directory's size) also counts the descriptor number each thread blocked
    /// in `accept` has reserved for the connection it waits for: the server's listening
    /// workers would then seem to come and go with the connections.
    fn fd_count(&self) -> anyhow::Result<usize> {
        let dir = PathBuf::from(format!("/proc/{}/fd", self.process.pid));
        Ok(std::fs::read_dir(&dir)
            .with_context(|| {
                format!(
                    "counting the server's file descriptors in {}",
                    dir.display()
                )
            })?
            .count())
    }

    /// Resident memory in KiB.
    fn rss_kib(&self) -> anyhow::Result<u64> {
        self.process
            .status()
            .context("reading the server's status")?
            .vmrss
            .context("the server's status has no VmRSS")
    }
}

/// The operations of one timed run, shared by its clients.
struct Ops {
    deadline: Instant,
    max: u64,
    started: AtomicU64,
}

/// What one client did.
#[derive(Default)]
struct ClientResult {
    latencies: Vec<Duration>,
    errors: u64,
    first_error: Option<String>,
}

impl Ops {
    /// Runs `op` until the time is up or `max` operations have started across all clients.
    fn each<E: std::fmt::Display>(&self, mut op: impl FnMut() -> Result<(), E>) -> ClientResult {
        let mut result = ClientResult::default();
        while Instant::now() < self.deadline
            && self.started.fetch_add(1, Ordering::Relaxed) < self.max
        {
            let begun = Instant::now();
            match op() {
                Ok(()) => result.latencies.push(begun.elapsed()),
                Err(e) => {
                    result.errors += 1;
                    result.first_error.get_or_insert_with(|| e.to_string());
                }
            }
        }
        result
    }
}

/// A finished timed run.
struct Run {
    elapsed: Duration,
    latencies: Vec<Duration>,
    errors: u64,
    first_error: Option<String>,
    server_cpu: Option<Duration>,
}

fn timed<F>(bounds: Bounds, server: Option<&ServerProcess>, client: F) -> anyhow::Result<Run>
where
    F: Fn(&Ops) -> Result<ClientResult, mysql::Error> + Sync,
{
    let ops = Ops {
        deadline: Instant::now() + Duration::from_secs(bounds.seconds),
        max: bounds.max,
        started: AtomicU64::new(0),
    };
    let cpu_before = server.map(ServerProcess::cpu).transpose()?;
    let started = Instant::now();
    let results: Vec<_> = std::thread::scope(|s| {
        let clients: Vec<_> = (0..bounds.clients)
            .map(|_| s.spawn(|| client(&ops)))
            .collect();
        clients
            .into_iter()
            .map(|c| c.join().expect("a client thread panicked"))
            .collect()
    });
    let elapsed = started.elapsed();
    let server_cpu = match (server, cpu_before) {
        (Some(s), Some(before)) => Some(s.cpu()?.saturating_sub(before)),
        _ => None,
    };
    let mut run = Run {
        elapsed,
        latencies: Vec::new(),
        errors: 0,
        first_error: None,
        server_cpu,
    };
    for result in results {
        let result = result.context("a client could not connect")?;
        run.latencies.extend(result.latencies);
        run.errors += result.errors;
        if run.first_error.is_none() {
            run.first_error = result.first_error;
        }
    }
    if run.latencies.is_empty() {
        bail!(
            "no operation succeeded ({} failed): {}",
            run.errors,
            run.first_error
                .as_deref()
                .unwrap_or("the run ended before any started")
        );
    }
    run.latencies.sort_unstable();
    Ok(run)
}

impl Run {
    /// Prints one line: `heading` (the work and what it alone reports), then the figures.
    fn print(&self, heading: &str, bounds: Bounds) {
        let ok = self.latencies.len();
        let percentile = |p: usize| self.latencies[(ok - 1) * p / 100].as_secs_f64() * 1e3;
        let mut line = format!(
            "{heading} clients={} seconds={:.2} ok={ok} errors={} rate={:.1}/s median_ms={:.3} p99_ms={:.3}",
            bounds.clients,
            self.elapsed.as_secs_f64(),
            self.errors,
            ok as f64 / self.elapsed.as_secs_f64(),
            percentile(50),
            percentile(99),
        );
        if let Some(cpu) = self.server_cpu {
            line.push_str(&format!(
                " server_cpu_ms={:.0} server_cpu_us_per_op={:.1}",
                cpu.as_secs_f64() * 1e3,
                cpu.as_secs_f64() * 1e6 / ok as f64
            ));
        }
        println!("{line}");
        if let Some(e) = &self.first_error {
            eprintln!("first error: {e}");
        }
    }
}

/// The `handshake` work: `connect` with [`resume::ResumingClient`].
fn handshake(
    target: &Target,
    server: Option<&ServerProcess>,
    bounds: Bounds,
    groups: &[String],
    full: bool,
) -> anyhow::Result<()> {
    let Some(ca) = &target.ssl_ca else {
        bail!("handshake needs --ssl-ca");
    };
    let identity = target.ssl_cert.as_deref().zip(target.ssl_key.as_deref());
    let client = resume::ResumingClient::new(
        &target.host,
        target.port,
        &target.user,
        &target.password,
        ca,
        identity,
        groups,
        !full,
    )?;
    let resumed = AtomicU64::new(0);
    let run = timed(bounds, server, |ops| {
        Ok(ops.each(|| {
            if let resume::Handshake::Resumed = client.connect_select_quit()? {
                resumed.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }))
    })?;
    run.print(
        &format!(
            "handshake: groups={} resumed={}",
            if groups.is_empty() {
                "default".to_string()
            } else {
                groups.join(",")
            },
            resumed.load(Ordering::Relaxed)
        ),
        bounds,
    );
    Ok(())
}

/// Where each idle connection stops.
enum Stage<'a> {
    /// Greeted, never answered.
    PreAuth { addr: (&'a str, u16) },
    /// Logged in, `SELECT 1` run, `prepared` statements kept.
    LoggedIn { prepared: u32 },
}

/// What an idle connection holds open on the client side.
enum Held {
    Raw(std::net::TcpStream),
    Session(mysql::Conn, Vec<mysql::Statement>),
}

fn idle(
    opts: &mysql::Opts,
    server: Option<&ServerProcess>,
    connections: u32,
    settle_ms: u64,
    stage: Stage<'_>,
) -> anyhow::Result<()> {
    use std::io::Read;
    let server = server.context("idle needs --server-pid: it measures the server's memory")?;
    let settle = Duration::from_millis(settle_ms);
    std::thread::sleep(settle);
    let before = server.rss_kib()?;
    let fds_before = server.fd_count()?;
    let mut open = Vec::with_capacity(connections as usize);
    for n in 0..connections {
        let which = || format!("connection {} of {connections}", n + 1);
        open.push(match stage {
            Stage::PreAuth { addr } => {
                let mut tcp = std::net::TcpStream::connect(addr).with_context(which)?;
                let mut greeting = [0u8; 4];
                tcp.read_exact(&mut greeting).with_context(which)?;
                Held::Raw(tcp)
            }
            Stage::LoggedIn { prepared } => {
                // The cache must keep every statement, or the driver closes the oldest.
                let opts = mysql::OptsBuilder::from_opts(opts.clone())
                    .stmt_cache_size(Some(prepared as usize + 1));
                let mut conn = mysql::Conn::new(opts).with_context(which)?;
                conn.query_drop("SELECT 1")?;
                let statements = (0..prepared)
                    .map(|i| conn.prep(format!("SELECT {i} + ?")))
                    .collect::<Result<Vec<_>, _>>()
                    .with_context(which)?;
                Held::Session(conn, statements)
            }
        });
    }
    std::thread::sleep(settle);
    let after = server.rss_kib()?;
    let fds_after = server.fd_count()?;
    let growth = after.saturating_sub(before);
    let what = match stage {
        Stage::PreAuth { .. } => "pre-auth".to_string(),
        Stage::LoggedIn { prepared } => format!("logged-in prepared_per_connection={prepared}"),
    };
    println!(
        "idle: {what} connections={connections} server_rss_before_kib={before} server_rss_after_kib={after} server_rss_kib_per_connection={:.1} server_fds_per_connection={:.2}",
        growth as f64 / f64::from(connections),
        fds_after.saturating_sub(fds_before) as f64 / f64::from(connections)
    );
    for held in open {
        match held {
            Held::Raw(tcp) => {
                let _ = tcp.shutdown(std::net::Shutdown::Both);
            }
            Held::Session(mut conn, statements) => {
                for statement in statements {
                    conn.close(statement)?;
                }
            }
        }
    }
    Ok(())
}

fn hold(
    opts: &mysql::Opts,
    server: Option<&ServerProcess>,
    connections: u32,
    logins: u32,
    seconds: u64,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let rss_before = server.map(ServerProcess::rss_kib).transpose()?;
    let opening = Instant::now();
    let mut held = Vec::with_capacity(connections as usize);
    for n in 0..connections {
        if Instant::now() > deadline {
            bail!("only {n} of {connections} connections opened within {seconds} s");
        }
        let conn = mysql::Conn::new(opts.clone())
            .with_context(|| format!("held connection {} of {connections}", n + 1))?;
        held.push(conn);
    }
    let opened = opening.elapsed();
    let rss_after = server.map(ServerProcess::rss_kib).transpose()?;

    let mut latencies = Vec::with_capacity(logins as usize);
    for n in 0..logins {
        let begun = Instant::now();
        let mut conn = mysql::Conn::new(opts.clone())
            .with_context(|| format!("new login {} of {logins}", n + 1))?;
        conn.query_drop("SELECT 1")?;
        drop(conn);
        latencies.push(begun.elapsed());
    }
    latencies.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;

    let cpu_before = server.map(ServerProcess::cpu).transpose()?;
    let round = Instant::now();
    for conn in &mut held {
        conn.query_drop("SELECT 1")?;
    }
    let round = round.elapsed();
    let round_cpu = match (server, cpu_before) {
        (Some(s), Some(before)) => Some(s.cpu()?.saturating_sub(before)),
        _ => None,
    };

    let mut line = format!(
        "hold: connections={connections} open_seconds={:.2} login_median_ms={:.3} login_max_ms={:.3} select1_round_seconds={:.3}",
        opened.as_secs_f64(),
        ms(latencies[latencies.len() / 2]),
        ms(latencies[latencies.len() - 1]),
        round.as_secs_f64()
    );
    if let (Some(before), Some(after)) = (rss_before, rss_after) {
        line.push_str(&format!(
            " server_rss_kib_per_connection={:.1}",
            after.saturating_sub(before) as f64 / f64::from(connections)
        ));
    }
    if let Some(cpu) = round_cpu {
        line.push_str(&format!(
            " select1_round_server_cpu_us_per_connection={:.1}",
            cpu.as_secs_f64() * 1e6 / f64::from(connections)
        ));
    }
    println!("{line}");
    Ok(())
}
