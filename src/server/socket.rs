//! A client socket (TCP or unix) with a hard deadline for the pre-authentication phase.
//!
//! `connect-timeout` must bound the whole phase from accept to login, TLS handshake included,
//! and the TLS handshake runs inside a library that reads the socket many times. A per-read
//! timeout alone would let a client that trickles one byte at a time hold a worker forever, so
//! every read and write re-arms the socket timeout with the time left until the deadline.
//! After login the deadline is cleared and the idle timeout (`wait_timeout`) applies instead.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where a client connected from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Peer {
    /// A TCP client.
    Tcp(SocketAddr),
    /// A unix-socket client.
    Unix,
}

impl Peer {
    /// The client's host as accounts match it: the IP address for TCP (IPv4-mapped IPv6
    /// addresses as plain IPv4), `localhost` for the unix socket.
    pub fn host(&self) -> String {
        match self {
            Peer::Tcp(addr) => match addr.ip() {
                IpAddr::V6(v6) => v6
                    .to_ipv4_mapped()
                    .map_or_else(|| v6.to_string(), |v4| v4.to_string()),
                ip => ip.to_string(),
            },
            Peer::Unix => "localhost".to_string(),
        }
    }
}

enum Raw {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Raw {
    fn try_clone(&self) -> io::Result<Raw> {
        Ok(match self {
            Raw::Tcp(s) => Raw::Tcp(s.try_clone()?),
            Raw::Unix(s) => Raw::Unix(s.try_clone()?),
        })
    }

    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Raw::Tcp(s) => s.set_read_timeout(t),
            Raw::Unix(s) => s.set_read_timeout(t),
        }
    }

    fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Raw::Tcp(s) => s.set_write_timeout(t),
            Raw::Unix(s) => s.set_write_timeout(t),
        }
    }
}

/// The client connection as the session reads and writes it.
pub struct Socket {
    raw: Raw,
    peer: Peer,
    deadline: Arc<Mutex<Option<Instant>>>,
}

/// A second handle on the same socket, to change timeouts after the socket itself has been
/// handed to a TLS library.
pub struct SocketControl {
    raw: Raw,
    deadline: Arc<Mutex<Option<Instant>>>,
}

impl Socket {
    /// Wraps an accepted TCP connection (blocking mode).
    pub fn tcp(stream: TcpStream) -> io::Result<Self> {
        let peer = Peer::Tcp(stream.peer_addr()?);
        stream.set_nonblocking(false)?;
        // Interactive latency matters more than packet count: responses are written whole.
        stream.set_nodelay(true)?;
        Ok(Self {
            raw: Raw::Tcp(stream),
            peer,
            deadline: Arc::default(),
        })
    }

    /// Wraps an accepted unix-socket connection (blocking mode).
    pub fn unix(stream: UnixStream) -> io::Result<Self> {
        stream.set_nonblocking(false)?;
        Ok(Self {
            raw: Raw::Unix(stream),
            peer: Peer::Unix,
            deadline: Arc::default(),
        })
    }

    /// Where the client is.
    pub fn peer(&self) -> &Peer {
        &self.peer
    }

    /// A short description for log lines (`127.0.0.1:53412`, `unix socket`).
    pub fn peer_label(&self) -> String {
        match &self.peer {
            Peer::Tcp(addr) => addr.to_string(),
            Peer::Unix => "unix socket".to_string(),
        }
    }

    /// A handle for changing timeouts later.
    pub fn control(&self) -> io::Result<SocketControl> {
        Ok(SocketControl {
            raw: self.raw.try_clone()?,
            deadline: Arc::clone(&self.deadline),
        })
    }

    /// Arms the time left before the deadline as the socket timeout; fails once it passed.
    fn arm(&self, write: bool) -> io::Result<()> {
        let deadline = *self.deadline.lock().unwrap_or_else(|p| p.into_inner());
        let Some(deadline) = deadline else {
            return Ok(());
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "connect-timeout expired",
            ));
        }
        if write {
            self.raw.set_write_timeout(Some(left))
        } else {
            self.raw.set_read_timeout(Some(left))
        }
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.arm(false)?;
        match &mut self.raw {
            Raw::Tcp(s) => s.read(buf),
            Raw::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.arm(true)?;
        match &mut self.raw {
            Raw::Tcp(s) => s.write(buf),
            Raw::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl SocketControl {
    /// Every read and write must finish before `deadline`.
    pub fn set_deadline(&self, deadline: Instant) {
        *self.deadline.lock().unwrap_or_else(|p| p.into_inner()) = Some(deadline);
    }

    /// Ends the deadline; reads wait at most `idle` from now on, writes at most `write`.
    pub fn set_idle_timeouts(&self, idle: Duration, write: Duration) -> io::Result<()> {
        *self.deadline.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.raw
            .set_read_timeout(Some(idle.max(Duration::from_millis(1))))?;
        self.raw
            .set_write_timeout(Some(write.max(Duration::from_millis(1))))
    }

    /// Closes both directions (unblocks a read in another thread, e.g. for KILL).
    pub fn shutdown(&self) {
        let _ = match &self.raw {
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

    fn flush(&mut self) -> io::Result<()> {
        self.socket.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn pair() -> (TcpStream, Socket) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, Socket::tcp(server).unwrap())
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
        let control = socket.control().unwrap();
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
    fn hosts_as_accounts_see_them() {
        assert_eq!(
            Peer::Tcp("127.0.0.1:5".parse().unwrap()).host(),
            "127.0.0.1"
        );
        assert_eq!(Peer::Tcp("[::1]:5".parse().unwrap()).host(), "::1");
        assert_eq!(
            Peer::Tcp("[::ffff:10.0.0.1]:5".parse().unwrap()).host(),
            "10.0.0.1"
        );
        assert_eq!(Peer::Unix.host(), "localhost");
    }
}
