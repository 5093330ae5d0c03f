//! The backend servers: their health, the choice of one for a new session, and the first steps
//! of a connection to one (TCP, the PROXY header, the greeting).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ppp::v2::{Builder, Command, Protocol, Version};
use tlsql_tls_api::TlsStream;

use crate::config::{Balance, ServerAddress};
use crate::net::Peer;
use crate::protocol::client::{GreetingError, read_greeting};
use crate::protocol::handshake::Greeting;
use crate::protocol::packet::{PacketError, PacketStream};

/// The largest packet read from a backend before its login completes (its greeting, auth
/// exchange messages, an RSA public key).
pub(crate) const LOGIN_MAX_PACKET: usize = 64 * 1024;

/// One backend server.
#[derive(Debug)]
pub struct Backend {
    /// As configured.
    pub address: ServerAddress,
    /// Whether it takes new sessions, and why not.
    health: Mutex<Health>,
    /// Sessions relayed to it now.
    sessions: AtomicUsize,
}

/// A backend's last known state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// Not checked yet.
    Unknown,
    /// Passed its last check.
    Up,
    /// Failed its last check or a session's connection attempt.
    Down(String),
}

impl Backend {
    pub(crate) fn new(address: ServerAddress) -> Self {
        Self {
            address,
            health: Mutex::new(Health::Unknown),
            sessions: AtomicUsize::new(0),
        }
    }

    /// The last known state.
    pub fn health(&self) -> Health {
        self.health
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Records a check's result; returns the previous state (to log changes once).
    pub(crate) fn set_health(&self, health: Health) -> Health {
        std::mem::replace(
            &mut *self.health.lock().unwrap_or_else(|p| p.into_inner()),
            health,
        )
    }

    /// Sessions relayed to this backend now.
    pub fn sessions(&self) -> usize {
        self.sessions.load(Ordering::Relaxed)
    }

    fn usable(&self) -> bool {
        !matches!(self.health(), Health::Down(_))
    }
}

/// A session's hold on a backend: counted in `least-connections` until dropped.
#[derive(Debug)]
pub struct Lease(Arc<Backend>);

impl Lease {
    /// Counts a session on `backend`.
    pub(crate) fn new(backend: &Arc<Backend>) -> Self {
        backend.sessions.fetch_add(1, Ordering::Relaxed);
        Self(Arc::clone(backend))
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<Backend> {
        &self.0
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.0.sessions.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The backends and the balancing policy.
#[derive(Debug)]
pub struct Backends {
    list: Vec<Arc<Backend>>,
    balance: Balance,
    next: AtomicUsize,
}

impl Backends {
    pub(crate) fn new(addresses: &[ServerAddress], balance: Balance) -> Self {
        Self {
            list: addresses
                .iter()
                .cloned()
                .map(|a| Arc::new(Backend::new(a)))
                .collect(),
            balance,
            next: AtomicUsize::new(0),
        }
    }

    /// Every backend, in configuration order.
    pub fn all(&self) -> &[Arc<Backend>] {
        &self.list
    }

    /// The backends a new session may try, in the order to try them: the healthy ones by the
    /// balancing policy (a backend not checked yet counts as healthy), none that is down.
    pub(crate) fn candidates(&self) -> Vec<Arc<Backend>> {
        let mut usable: Vec<Arc<Backend>> =
            self.list.iter().filter(|b| b.usable()).cloned().collect();
        match self.balance {
            Balance::Ordered => {}
            Balance::RoundRobin => {
                if !usable.is_empty() {
                    let start = self.next.fetch_add(1, Ordering::Relaxed) % usable.len();
                    usable.rotate_left(start);
                }
            }
            // A stable sort keeps configuration order among equals.
            Balance::LeastConnections => usable.sort_by_key(|b| b.sessions()),
        }
        usable
    }

    /// Why no backend can take a session: each one's reason, for ERR 1105 and the log.
    pub(crate) fn unavailable_reasons(&self) -> String {
        self.list
            .iter()
            .map(|b| match b.health() {
                Health::Down(reason) => format!("{}: {reason}", b.address),
                Health::Up | Health::Unknown => format!("{}: connection failed", b.address),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A TCP connection to a backend, shared between the stream that reads and writes it (inside a
/// TLS library when the leg is encrypted) and the relay that changes its timeouts: one file
/// descriptor, two handles.
#[derive(Clone, Debug)]
pub struct SharedTcp(Arc<TcpStream>);

impl SharedTcp {
    /// Shares `tcp`.
    pub fn new(tcp: TcpStream) -> Self {
        Self(Arc::new(tcp))
    }

    /// Sets how long a read and a write may block (`None`: forever).
    pub fn set_timeouts(&self, read: Option<Duration>, write: Option<Duration>) -> io::Result<()> {
        self.0.set_read_timeout(read)?;
        self.0.set_write_timeout(write)
    }
}

impl Read for SharedTcp {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // `&TcpStream` reads and writes: the descriptor is shared, not the Rust value.
        (&mut &*self.0).read(buf)
    }
}

impl Write for SharedTcp {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&mut &*self.0).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The transport to a backend: TCP, or TLS over it.
pub enum BackendIo {
    /// Plain TCP.
    Plain(SharedTcp),
    /// TLS over TCP.
    Tls(Box<dyn TlsStream>),
}

impl Read for BackendIo {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            BackendIo::Plain(s) => s.read(buf),
            BackendIo::Tls(s) => s.read(buf),
        }
    }
}

impl Write for BackendIo {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            BackendIo::Plain(s) => s.write(buf),
            BackendIo::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            BackendIo::Plain(s) => s.flush(),
            BackendIo::Tls(s) => s.flush(),
        }
    }
}

/// A backend connection that has sent its greeting.
pub(crate) struct Greeted {
    /// Packets to and from the backend; the next one the backend reads is sequence id 1.
    pub(crate) stream: PacketStream<TcpStream>,
    /// The backend's greeting.
    pub(crate) greeting: Greeting,
}

/// Where a connection comes from, for the PROXY header.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Origin {
    /// A TCP client: its address and the address it reached the gateway at.
    Tcp {
        /// The client.
        source: SocketAddr,
        /// The gateway's side.
        destination: SocketAddr,
    },
    /// The gateway itself (health checks) or a unix-socket client: PROXY's LOCAL command, so
    /// the backend sees the gateway's own address.
    Local,
}

impl Origin {
    pub(crate) fn of(peer: &Peer, local: Option<SocketAddr>) -> Self {
        match (peer, local) {
            (Peer::Tcp(source, _), Some(destination)) => Origin::Tcp {
                source: *source,
                destination,
            },
            _ => Origin::Local,
        }
    }

    /// The PROXY protocol v2 header for this origin.
    fn header(self) -> io::Result<Vec<u8>> {
        match self {
            Origin::Tcp {
                source,
                destination,
            } => {
                // Both addresses must be of one family: an IPv4 client seen through an IPv6
                // listener is written as IPv4.
                let (source, destination) = same_family(source, destination);
                Builder::with_addresses(
                    Version::Two | Command::Proxy,
                    Protocol::Stream,
                    (source, destination),
                )
                .build()
            }
            Origin::Local => Builder::with_addresses(
                Version::Two | Command::Local,
                Protocol::Unspecified,
                ppp::v2::Addresses::Unspecified,
            )
            .build(),
        }
    }
}

fn same_family(source: SocketAddr, destination: SocketAddr) -> (SocketAddr, SocketAddr) {
    let v4 = |a: SocketAddr| match a {
        SocketAddr::V6(v6) => v6
            .ip()
            .to_ipv4_mapped()
            .map(|ip| SocketAddr::from((ip, v6.port()))),
        v4 => Some(v4),
    };
    match (v4(source), v4(destination)) {
        (Some(s), Some(d)) => (s, d),
        _ => {
            let v6 = |a: SocketAddr| match a {
                SocketAddr::V4(v4) => SocketAddr::from((v4.ip().to_ipv6_mapped(), v4.port())),
                v6 => v6,
            };
            (v6(source), v6(destination))
        }
    }
}

/// Why a backend could not be reached or used: a reason for the log and ERR 1105, and its
/// kind for `tlsql_upstream_connect_failures_total{reason}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreachable {
    /// The kind of failure.
    pub kind: FailureKind,
    /// What happened, in words.
    pub reason: String,
    /// The ERR packet the backend sent in place of its greeting, if that is what happened:
    /// e.g. 1130 (no account for the connecting host), 1129 (host blocked), 1040 (too many
    /// connections).
    pub refusal: Option<Vec<u8>>,
}

/// The kinds of [`Unreachable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// The host name does not resolve.
    Resolve,
    /// Nothing listens (connection refused, unreachable network, reset).
    Refused,
    /// No answer within `upstream.connect-timeout`.
    Timeout,
    /// No usable greeting: an ERR in its place (too many connections, a blocked host), or
    /// bytes that are not one.
    Greeting,
    /// The TLS handshake failed: verification, or no TLS offered.
    Tls,
    /// The monitor account's login or health query failed (or `wsrep_ready` is not `ON`).
    Monitor,
}

impl FailureKind {
    /// Every kind, for the metric's label values.
    pub const ALL: [FailureKind; 6] = [
        Self::Resolve,
        Self::Refused,
        Self::Timeout,
        Self::Greeting,
        Self::Tls,
        Self::Monitor,
    ];

    /// The metric label value.
    pub fn label(self) -> &'static str {
        match self {
            Self::Resolve => "resolve",
            Self::Refused => "refused",
            Self::Timeout => "timeout",
            Self::Greeting => "greeting",
            Self::Tls => "tls",
            Self::Monitor => "monitor",
        }
    }
}

impl Unreachable {
    /// A failure of `kind`.
    pub fn new(kind: FailureKind, reason: impl Into<String>) -> Self {
        Self {
            kind,
            reason: reason.into(),
            refusal: None,
        }
    }

    fn io(e: &io::Error) -> Self {
        let kind = match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => FailureKind::Timeout,
            _ => FailureKind::Refused,
        };
        Self::new(kind, describe_io(e))
    }
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// Opens a TCP connection to `backend` (every address its host resolves to, within `timeout`
/// in all), sends the PROXY header when asked, and reads the greeting. Reads and writes are
/// bounded by `timeout` until the caller changes them.
pub(crate) fn connect(
    backend: &Backend,
    origin: Option<Origin>,
    timeout: Duration,
) -> Result<Greeted, Unreachable> {
    let deadline = Instant::now() + timeout;
    let address = &backend.address;
    let resolved: Vec<SocketAddr> = (address.host.as_str(), address.port)
        .to_socket_addrs()
        .map_err(|e| {
            Unreachable::new(
                FailureKind::Resolve,
                format!("cannot resolve {}: {e}", address.host),
            )
        })?
        .collect();
    let mut last = Unreachable::new(
        FailureKind::Resolve,
        format!("{} resolves to no address", address.host),
    );
    let mut tcp = None;
    for addr in resolved {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            last = Unreachable::new(
                FailureKind::Timeout,
                format!("connect-timeout ({timeout:?}) expired"),
            );
            break;
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(s) => {
                tcp = Some(s);
                break;
            }
            Err(e) => last = Unreachable::io(&e),
        }
    }
    let tcp = tcp.ok_or(last)?;
    let io = |e: io::Error| Unreachable::io(&e);
    tcp.set_nodelay(true).map_err(io)?;
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1));
    tcp.set_read_timeout(Some(left)).map_err(io)?;
    tcp.set_write_timeout(Some(left)).map_err(io)?;
    let mut stream = PacketStream::new(tcp, LOGIN_MAX_PACKET);
    if let Some(origin) = origin {
        let header = origin.header().map_err(|e| {
            Unreachable::new(
                FailureKind::Greeting,
                format!("cannot encode the PROXY header: {e}"),
            )
        })?;
        stream.get_mut().write_all(&header).map_err(io)?;
    }
    let packet = stream.read_packet().map_err(|e| match e {
        PacketError::Io(e) => Unreachable::io(&e),
        other => Unreachable::new(FailureKind::Greeting, format!("no greeting: {other}")),
    })?;
    let greeting = read_greeting(&packet).map_err(|e| match e {
        GreetingError::Refused(err) => Unreachable {
            reason: format!("refused the connection: {err}"),
            refusal: Some(packet.clone()),
            kind: FailureKind::Greeting,
        },
        GreetingError::Malformed(e) => Unreachable::new(
            FailureKind::Greeting,
            format!("sent an unusable greeting: {e}"),
        ),
    })?;
    Ok(Greeted { stream, greeting })
}

fn describe_io(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => "timed out".to_string(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backends(balance: Balance) -> Backends {
        let addresses: Vec<ServerAddress> = ["a:1", "b:2", "c:3"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        Backends::new(&addresses, balance)
    }

    fn names(list: &[Arc<Backend>]) -> Vec<String> {
        list.iter().map(|b| b.address.host.clone()).collect()
    }

    #[test]
    fn ordered_skips_backends_that_are_down() {
        let b = backends(Balance::Ordered);
        assert_eq!(names(&b.candidates()), ["a", "b", "c"]);
        b.all()[0].set_health(Health::Down("connection refused".into()));
        b.all()[1].set_health(Health::Up);
        assert_eq!(names(&b.candidates()), ["b", "c"]);
        for backend in b.all() {
            backend.set_health(Health::Down("refused".into()));
        }
        assert!(b.candidates().is_empty());
        assert_eq!(
            b.unavailable_reasons(),
            "a:1: refused; b:2: refused; c:3: refused"
        );
    }

    #[test]
    fn round_robin_rotates() {
        let b = backends(Balance::RoundRobin);
        let firsts: Vec<String> = (0..4).map(|_| names(&b.candidates())[0].clone()).collect();
        assert_eq!(firsts, ["a", "b", "c", "a"]);
    }

    #[test]
    fn least_connections_counts_leases() {
        let b = backends(Balance::LeastConnections);
        let first = Lease::new(&b.candidates()[0]);
        let second = Lease::new(&b.candidates()[0]);
        assert_eq!(names(&b.candidates()), ["c", "a", "b"]);
        drop(first);
        assert_eq!(names(&b.candidates())[0], "a");
        drop(second);
        assert!(b.all().iter().all(|b| b.sessions() == 0));
    }

    #[test]
    fn proxy_headers() {
        let source: SocketAddr = "10.1.2.3:5000".parse().unwrap();
        let destination: SocketAddr = "[::ffff:127.0.0.1]:4000".parse().unwrap();
        let header = Origin::Tcp {
            source,
            destination,
        }
        .header()
        .unwrap();
        // Signature, v2 PROXY, TCP over IPv4, 12 address bytes.
        assert_eq!(&header[..12], b"\r\n\r\n\0\r\nQUIT\n");
        assert_eq!(&header[12..16], &[0x21, 0x11, 0, 12]);
        assert_eq!(&header[16..20], &[10, 1, 2, 3]);
        assert_eq!(&header[20..24], &[127, 0, 0, 1]);
        let local = Origin::Local.header().unwrap();
        assert_eq!(&local[12..16], &[0x20, 0x00, 0, 0]);
    }

    #[test]
    fn a_closed_port_is_a_reason_not_a_panic() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let backend = Backend::new(format!("127.0.0.1:{port}").parse().unwrap());
        let err = connect(&backend, None, Duration::from_secs(2))
            .err()
            .unwrap();
        assert_eq!(err.kind, FailureKind::Refused);
        assert!(err.reason.contains("refused"), "{err}");
    }
}
