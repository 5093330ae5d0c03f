//! The client's transport: a socket (TCP or unix) with a hard deadline for the
//! pre-authentication phase, and [`Conn`], that socket or TLS over it.
//!
//! `connect-timeout` must bound the whole phase from accept to login, TLS handshake included,
//! and the TLS handshake runs inside a library that reads the socket many times. A per-read
//! timeout alone would let a client that trickles one byte at a time hold a worker forever, so
//! every read and write is bounded by the time left until the deadline.
//! After login the deadline is cleared and the idle timeout (`wait_timeout`) applies instead.
//!
//! Reads wait in `poll(2)` rather than in the read itself, on the client's socket and on the
//! server's shutdown signal: an idle session must wake when shutdown starts (see
//! [`super::shutdown`]), and a timeout changed by another thread never reaches a read already
//! blocked.

use std::io::{self, IoSlice, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::net::{SendAncillaryBuffer, SendFlags, sendmsg};
use tlsql_tls_api::TlsStream;

use crate::shutdown::Shutdown as ServerShutdown;

/// Where a client connected from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Peer {
    /// A TCP client: its address, and its host as accounts match it (see [`Peer::host`]),
    /// written out once: a connection's login, process list and log lines all show it.
    Tcp(SocketAddr, Arc<str>),
    /// A unix-socket client.
    Unix,
}

impl Peer {
    /// A TCP client at `addr`.
    pub fn tcp(addr: SocketAddr) -> Self {
        let host = match addr.ip() {
            IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map_or_else(|| v6.to_string(), |v4| v4.to_string()),
            ip => ip.to_string(),
        };
        Peer::Tcp(addr, host.into())
    }

    /// The client's host as accounts match it: the IP address for TCP (IPv4-mapped IPv6
    /// addresses as plain IPv4), `localhost` for the unix socket.
    pub fn host(&self) -> &str {
        match self {
            Peer::Tcp(_, host) => host,
            Peer::Unix => "localhost",
        }
    }
}

enum Raw {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Raw {
    fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Raw::Tcp(s) => s.set_write_timeout(t),
            Raw::Unix(s) => s.set_write_timeout(t),
        }
    }

    fn fd(&self) -> BorrowedFd<'_> {
        match self {
            Raw::Tcp(s) => s.as_fd(),
            Raw::Unix(s) => s.as_fd(),
        }
    }
}

/// How long reads may wait, shared between a socket and its controls.
#[derive(Default)]
struct Limits {
    /// Every read and write must finish before it (the connection phase).
    deadline: Option<Instant>,
    /// Otherwise each read waits at most this long (`wait_timeout`); `None` waits forever.
    idle: Option<Duration>,
    /// While set, a read that finds nothing before this instant gives up early: the session
    /// is idle and its worker parks it (see [`SocketControl::grace`]).
    grace: Option<Instant>,
    /// Set when a read gave up because `grace` passed.
    grace_expired: bool,
}

/// The client connection as the session reads and writes it.
pub struct Socket {
    /// Instance with the [`SocketControl`]s rather than duplicated: one file descriptor per
    /// connection, so a process limit of N descriptors holds N connections, not N / 2.
    raw: Arc<Raw>,
    peer: Peer,
    limits: Arc<Mutex<Limits>>,
    shutdown: Option<Arc<ServerShutdown>>,
}

/// A second handle on the same socket, to change timeouts after the socket itself has been
/// handed to a TLS library.
pub struct SocketControl {
    raw: Arc<Raw>,
    limits: Arc<Mutex<Limits>>,
}

impl Socket {
    /// Wraps an accepted TCP connection from `peer` (the address `accept` returned). The
    /// stream is in blocking mode, as Linux's `accept` gives it whatever the listener's mode.
    pub fn tcp(stream: TcpStream, peer: SocketAddr) -> io::Result<Self> {
        let peer = Peer::tcp(peer);
        // Interactive latency matters more than packet count: responses are written whole.
        stream.set_nodelay(true)?;
        Ok(Self {
            raw: Arc::new(Raw::Tcp(stream)),
            peer,
            limits: Arc::default(),
            shutdown: None,
        })
    }

    /// Wraps an accepted unix-socket connection (blocking mode).
    pub fn unix(stream: UnixStream) -> io::Result<Self> {
        stream.set_nonblocking(false)?;
        Ok(Self {
            raw: Arc::new(Raw::Unix(stream)),
            peer: Peer::Unix,
            limits: Arc::default(),
            shutdown: None,
        })
    }

    /// Makes reads fail (as a timeout would) once `shutdown` starts, even while blocked.
    pub(crate) fn watch_shutdown(&mut self, shutdown: &Arc<ServerShutdown>) {
        self.shutdown = Some(Arc::clone(shutdown));
    }

    /// Where the client is.
    pub fn peer(&self) -> &Peer {
        &self.peer
    }

    /// The address the client reached the server at (TCP only).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match &*self.raw {
            Raw::Tcp(s) => s.local_addr().ok(),
            Raw::Unix(_) => None,
        }
    }

    /// A short description for log lines (`127.0.0.1:53412`, `[::1]:53412`, `unix socket`).
    pub fn peer_label(&self) -> String {
        match &self.peer {
            Peer::Tcp(addr, host) if host.contains(':') => format!("[{host}]:{}", addr.port()),
            Peer::Tcp(addr, host) => format!("{host}:{}", addr.port()),
            Peer::Unix => "unix socket".to_string(),
        }
    }

    /// A handle for changing timeouts later, on the same file descriptor.
    pub fn control(&self) -> SocketControl {
        SocketControl {
            raw: Arc::clone(&self.raw),
            limits: Arc::clone(&self.limits),
        }
    }

    fn deadline(&self) -> Option<Instant> {
        self.limits
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .deadline
    }

    /// Writes before the deadline: without waiting when the socket has room (always, for the
    /// few kilobytes of a connection phase), else waiting in `poll(2)` for the time left. No
    /// socket option is set per write: the TLS handshake alone writes several times.
    fn write_before(&self, deadline: Instant, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        loop {
            match sendmsg(
                self.raw.fd(),
                bufs,
                &mut SendAncillaryBuffer::default(),
                SendFlags::DONTWAIT | SendFlags::NOSIGNAL,
            ) {
                Ok(n) => return Ok(n),
                Err(rustix::io::Errno::AGAIN) => {
                    let left = Timespec::try_from(time_left(deadline)?)
                        .map_err(|_| io::Error::other("timeout out of range"))?;
                    let mut fds = [PollFd::from_borrowed_fd(self.raw.fd(), PollFlags::OUT)];
                    match poll(&mut fds, Some(&left)) {
                        Ok(0) => {
                            return Err(io::Error::new(
                                io::ErrorKind::TimedOut,
                                "connect-timeout expired",
                            ));
                        }
                        Ok(_) | Err(rustix::io::Errno::INTR) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Waits until the client's data (or its close) can be read. A timeout and the start of
    /// shutdown both fail with `WouldBlock`, what a socket read timeout reports: TLS libraries
    /// keep their state on it, so the session can still answer through TLS.
    fn wait_readable(&self) -> io::Result<()> {
        let (until, grace) = {
            let limits = self.limits.lock().unwrap_or_else(|p| p.into_inner());
            let until = limits.deadline.or_else(|| {
                limits
                    .idle
                    .and_then(|idle| Instant::now().checked_add(idle))
            });
            match (until, limits.grace) {
                (Some(until), Some(grace)) if until <= grace => (Some(until), false),
                (_, Some(grace)) => (Some(grace), true),
                (until, None) => (until, false),
            }
        };
        loop {
            let timeout = match until {
                // A grace that has passed still lets data already there be read: a TLS
                // library reads a record in several calls, and a late one must not fail.
                Some(until) if grace => Some(until.saturating_duration_since(Instant::now())),
                Some(until) => Some(time_left(until)?),
                None => None,
            }
            .map(|left| {
                Timespec::try_from(left).map_err(|_| io::Error::other("timeout out of range"))
            })
            .transpose()?;
            let wake = self.shutdown.as_ref().map(|s| s.wake_fd());
            // Without a shutdown to watch only the first entry is polled.
            let mut fds = [
                PollFd::from_borrowed_fd(self.raw.fd(), PollFlags::IN),
                PollFd::from_borrowed_fd(wake.unwrap_or(self.raw.fd()), PollFlags::IN),
            ];
            let watched = if wake.is_some() { 2 } else { 1 };
            match poll(&mut fds[..watched], timeout.as_ref()) {
                Ok(_) if wake.is_some() && !fds[1].revents().is_empty() => {
                    return Err(io::Error::new(
                        io::ErrorKind::WouldBlock,
                        "server shutdown in progress",
                    ));
                }
                Ok(0) if grace => {
                    self.limits
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .grace_expired = true;
                    return Err(io::Error::new(
                        io::ErrorKind::WouldBlock,
                        "no command within the idle grace period",
                    ));
                }
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WouldBlock,
                        "timed out waiting for the client",
                    ));
                }
                Ok(_) => return Ok(()),
                // A signal (SIGHUP's reload) landed on this thread; the deadline stays.
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// The time left until `deadline`; an error once it passed.
fn time_left(deadline: Instant) -> io::Result<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "connect-timeout expired",
        ));
    }
    Ok(left)
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.wait_readable()?;
        match &*self.raw {
            // `&TcpStream` reads and writes: the descriptor is shared, not the Rust value.
            Raw::Tcp(s) => (&mut &*s).read(buf),
            Raw::Unix(s) => (&mut &*s).read(buf),
        }
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    /// One system call for all of `bufs`: a TLS library hands over a flight of records (the
    /// server's hello to its Finished, or session tickets and the response behind them) at
    /// once, and the default would send each on its own.
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if let Some(deadline) = self.deadline() {
            return self.write_before(deadline, bufs);
        }
        match &*self.raw {
            Raw::Tcp(s) => (&mut &*s).write_vectored(bufs),
            Raw::Unix(s) => (&mut &*s).write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl SocketControl {
    /// Every read and write must finish before `deadline`.
    pub fn set_deadline(&self, deadline: Instant) {
        self.limits
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .deadline = Some(deadline);
    }

    /// Ends the deadline; reads wait at most `idle` from now on, writes at most `write`.
    pub fn set_idle_timeouts(&self, idle: Duration, write: Duration) -> io::Result<()> {
        *self.limits.lock().unwrap_or_else(|p| p.into_inner()) = Limits {
            deadline: None,
            idle: Some(idle.max(Duration::from_millis(1))),
            grace: None,
            grace_expired: false,
        };
        self.raw
            .set_write_timeout(Some(write.max(Duration::from_millis(1))))
    }

    /// Another handle on the same socket (for another thread: `KILL` shuts it down).
    pub fn handle(&self) -> SocketControl {
        SocketControl {
            raw: Arc::clone(&self.raw),
            limits: Arc::clone(&self.limits),
        }
    }

    /// How long a read may wait for the client (`wait_timeout`), once logged in.
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.limits.lock().unwrap_or_else(|p| p.into_inner()).idle
    }

    /// Runs `read` with reads that give up once `until` passes with nothing to read; returns
    /// what `read` returned and whether it gave up for that reason. The session uses it to
    /// wait a little for the next command before it lets go of its thread: the TLS library
    /// reads the socket only when it has no data of its own left, so data it already holds
    /// is never mistaken for an idle client.
    pub fn grace<T>(&self, until: Instant, read: impl FnOnce() -> T) -> (T, bool) {
        {
            let mut limits = self.limits.lock().unwrap_or_else(|p| p.into_inner());
            limits.grace = Some(until);
            limits.grace_expired = false;
        }
        let result = read();
        let mut limits = self.limits.lock().unwrap_or_else(|p| p.into_inner());
        limits.grace = None;
        (result, std::mem::take(&mut limits.grace_expired))
    }

    /// The socket's descriptor, for a poller to watch while the session is parked.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.raw.fd()
    }

    /// Closes both directions (unblocks a read in another thread, e.g. for KILL).
    pub fn shutdown(&self) {
        let _ = match &*self.raw {
            Raw::Tcp(s) => s.shutdown(Shutdown::Both),
            Raw::Unix(s) => s.shutdown(Shutdown::Both),
        };
    }
}

/// Bytes already read from the socket (the start of the ClientHello that arrived together
/// with the SSLRequest) followed by the socket itself: what the TLS library must read.
pub struct Replay {
    pending: Vec<u8>,
    pos: usize,
    socket: Socket,
}

impl Replay {
    /// `pending` is returned first, then the socket's data.
    pub fn new(pending: Vec<u8>, socket: Socket) -> Self {
        Self {
            pending,
            pos: 0,
            socket,
        }
    }
}

impl Read for Replay {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.pending.len() {
            let n = (self.pending.len() - self.pos).min(buf.len());
            buf[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
            self.pos += n;
            if self.pos == self.pending.len() {
                self.pending = Vec::new();
                self.pos = 0;
            }
            return Ok(n);
        }
        self.socket.read(buf)
    }
}

impl Write for Replay {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.socket.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.socket.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.socket.flush()
    }
}

/// The transport after the connection phase: the socket itself or TLS over it.
pub enum Conn {
    /// No TLS: TCP or the unix socket.
    Plain(Socket),
    /// TLS over the socket.
    Tls(Box<dyn TlsStream>),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write_vectored(bufs),
            Conn::Tls(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn pair() -> (TcpStream, Socket) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, peer) = listener.accept().unwrap();
        (client, Socket::tcp(server, peer).unwrap())
    }

    #[test]
    fn replay_returns_buffered_bytes_first() {
        let (mut client, socket) = pair();
        client.write_all(b"world").unwrap();
        let mut r = Replay::new(b"hello ".to_vec(), socket);
        let mut out = vec![0u8; 11];
        r.read_exact(&mut out).unwrap();
        assert_eq!(&out, b"hello world");
    }

    #[test]
    fn deadline_stops_a_silent_client() {
        let (_client, mut socket) = pair();
        let control = socket.control();
        control.set_deadline(Instant::now() + Duration::from_millis(200));
        let err = socket.read(&mut [0u8; 4]).unwrap_err();
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
            "{err}"
        );
        // Once past the deadline every call fails at once.
        let err = socket.read(&mut [0u8; 4]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[test]
    fn deadline_stops_a_client_that_does_not_read_and_records_leave_together() {
        let (mut client, mut socket) = pair();
        socket
            .control()
            .set_deadline(Instant::now() + Duration::from_millis(300));
        // A flight of records is one write, not one per record.
        let sent = socket
            .write_vectored(&[IoSlice::new(b"hello "), IoSlice::new(b"world")])
            .unwrap();
        assert_eq!(sent, 11);
        let mut got = [0u8; 11];
        client.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"hello world");
        // The client stops reading: once the socket's buffers are full, a write waits only
        // until the deadline.
        let started = Instant::now();
        let chunk = vec![0u8; 1 << 16];
        let err = loop {
            if let Err(e) = socket.write(&chunk) {
                break e;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "never blocked");
        };
        assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
        assert!(started.elapsed() >= Duration::from_millis(250));
    }

    #[test]
    fn idle_timeout_bounds_a_read() {
        let (_client, mut socket) = pair();
        let control = socket.control();
        control
            .set_idle_timeouts(Duration::from_millis(100), Duration::from_secs(5))
            .unwrap();
        let started = Instant::now();
        let err = socket.read(&mut [0u8; 4]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{err}");
        assert!(started.elapsed() >= Duration::from_millis(100));
    }

    #[test]
    fn a_grace_ends_only_a_wait_with_nothing_to_read() {
        let (mut client, mut socket) = pair();
        let control = socket.control();
        control
            .set_idle_timeouts(Duration::from_secs(60), Duration::from_secs(5))
            .unwrap();
        // A grace already over when the read comes (a TLS library's second read of one
        // record, late): what arrived is read all the same.
        client.write_all(b"x").unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let (read, quiet) = control.grace(Instant::now(), || socket.read(&mut [0u8; 4]));
        assert_eq!((read.unwrap(), quiet), (1, false));
        // Nothing arrives: the read gives up at the grace, and says so.
        let started = Instant::now();
        let (read, quiet) = control.grace(started + Duration::from_millis(50), || {
            socket.read(&mut [0u8; 4])
        });
        assert_eq!(read.unwrap_err().kind(), io::ErrorKind::WouldBlock);
        assert!(quiet);
        assert!(started.elapsed() < Duration::from_secs(30));
        // Outside a grace the idle timeout applies again.
        client.write_all(b"y").unwrap();
        assert_eq!(socket.read(&mut [0u8; 4]).unwrap(), 1);
    }

    #[test]
    fn shutdown_wakes_a_blocked_read_and_writes_still_work() {
        let (mut client, mut socket) = pair();
        let shutdown = Arc::new(ServerShutdown::new().unwrap());
        socket.watch_shutdown(&shutdown);
        socket
            .control()
            .set_idle_timeouts(Duration::from_secs(60), Duration::from_secs(5))
            .unwrap();
        client.write_all(b"ab").unwrap();
        let mut buf = [0u8; 2];
        socket.read_exact(&mut buf).unwrap();
        let starter = {
            let shutdown = Arc::clone(&shutdown);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(100));
                shutdown.start();
            })
        };
        let started = Instant::now();
        let err = socket.read(&mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{err}");
        assert!(started.elapsed() < Duration::from_secs(30));
        starter.join().unwrap();
        socket.write_all(b"bye").unwrap();
        let mut got = [0u8; 3];
        client.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"bye");
    }

    #[test]
    fn hosts_as_accounts_see_them() {
        assert_eq!(
            Peer::tcp("127.0.0.1:5".parse().unwrap()).host(),
            "127.0.0.1"
        );
        assert_eq!(Peer::tcp("[::1]:5".parse().unwrap()).host(), "::1");
        assert_eq!(
            Peer::tcp("[::ffff:10.0.0.1]:5".parse().unwrap()).host(),
            "10.0.0.1"
        );
        assert_eq!(Peer::Unix.host(), "localhost");
    }
}
