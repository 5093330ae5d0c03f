//! The acceptor: one thread, one mio `Poll`, registered only for the listening sockets.
//! It accepts until `WouldBlock`, applies admission (`max-connections`, the per-host limit; see
//! [`crate::instance::admission`]) and hands blocking sockets to the worker pool. Client sockets are never registered with this poll: workers own them, and the idle poller
//! ([`super::idle`]) watches the quiet ones.

use std::io;
use std::os::unix::net::UnixListener as StdUnixListener;
use std::sync::Arc;
use std::time::Duration;

use mio::net::{TcpListener, UnixListener};
use mio::{Events, Interest, Poll, Token, Waker};

use super::pool::{Held, Job, Pool, Work};
use crate::error::{ErrorKind, SqlError};
use crate::instance::Instance;
use crate::instance::admission::Refused;
use crate::net::Socket;
use crate::protocol::packet::PacketStream;
use crate::protocol::response;
use crate::session::Service;
use crate::status::{Counters, SharedGauge};

const TCP: Token = Token(0);
const UNIX: Token = Token(1);
const WAKE: Token = Token(2);

/// The listening side of the server.
pub(crate) struct Acceptor {
    poll: Poll,
    waker: Arc<Waker>,
    tcp: TcpListener,
    unix: Option<UnixListener>,
}

impl Acceptor {
    pub(crate) fn new(
        tcp: std::net::TcpListener,
        unix: Option<StdUnixListener>,
    ) -> io::Result<Self> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKE)?);
        tcp.set_nonblocking(true)?;
        let mut tcp = TcpListener::from_std(tcp);
        poll.registry()
            .register(&mut tcp, TCP, Interest::READABLE)?;
        let unix = match unix {
            Some(l) => {
                l.set_nonblocking(true)?;
                let mut l = UnixListener::from_std(l);
                poll.registry().register(&mut l, UNIX, Interest::READABLE)?;
                Some(l)
            }
            None => None,
        };
        Ok(Self {
            poll,
            waker,
            tcp,
            unix,
        })
    }

    /// Wakes [`Acceptor::run`] so it returns (shutdown).
    pub(crate) fn waker(&self) -> Arc<Waker> {
        Arc::clone(&self.waker)
    }

    /// Accepts until woken.
    pub(crate) fn run(
        mut self,
        shared: &Arc<Instance>,
        service: Arc<dyn Service>,
    ) -> io::Result<()> {
        let pool = Pool::new(Arc::clone(shared), service)?;
        let mut events = Events::with_capacity(64);
        loop {
            match self.poll.poll(&mut events, None) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            // Connections ready in the same batch as the wake-up are not admitted any more.
            if shared.shutdown.started() {
                return Ok(());
            }
            for event in &events {
                match event.token() {
                    TCP => self.accept_tcp(shared, &pool),
                    UNIX => self.accept_unix(shared, &pool),
                    _ => return Ok(()),
                }
            }
        }
    }

    fn accept_tcp(&self, shared: &Arc<Instance>, pool: &Pool) {
        loop {
            match self.tcp.accept() {
                Ok((stream, peer)) => match Socket::tcp(std::net::TcpStream::from(stream), peer) {
                    Ok(socket) => admit(shared, pool, socket),
                    Err(e) => log::debug!("dropping a TCP connection that failed setup: {e}"),
                },
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    // EMFILE and friends: log and come back on the next event rather than spin.
                    log::warn!("accept failed: {e}");
                    return;
                }
            }
        }
    }

    fn accept_unix(&self, shared: &Arc<Instance>, pool: &Pool) {
        let Some(listener) = &self.unix else { return };
        loop {
            match listener.accept() {
                Ok((stream, _)) => match Socket::unix(std::os::unix::net::UnixStream::from(stream))
                {
                    Ok(socket) => admit(shared, pool, socket),
                    Err(e) => {
                        log::debug!("dropping a unix-socket connection that failed setup: {e}")
                    }
                },
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    log::warn!("accept on the unix socket failed: {e}");
                    return;
                }
            }
        }
    }
}

/// Applies admission: a client that may not even start a handshake gets ERR 1040 instead of a
/// greeting.
fn admit(shared: &Arc<Instance>, pool: &Pool, mut socket: Socket) {
    Counters::bump(&shared.counters.connections);
    let ticket = match shared.admission.admit(socket.peer()) {
        Ok(ticket) => ticket,
        Err(refused) => {
            Counters::bump(&shared.counters.aborted_connects);
            match refused {
                Refused::Full => {
                    Counters::bump(&shared.counters.connection_errors_max_connections);
                    log::info!(
                        "refusing {}: max-connections ({}) reached and no handshake for the reserved slot may start",
                        socket.peer_label(),
                        shared.config.max_connections
                    )
                }
                Refused::PerHost => log::info!(
                    "refusing {}: max-connections-per-host ({}) reached",
                    socket.peer_label(),
                    shared.config.max_connections_per_host
                ),
            }
            refuse_too_many(&mut socket);
            return;
        }
    };
    let connected = SharedGauge::raise(Arc::clone(shared), |s| &s.counters.threads_connected);
    socket.watch_shutdown(&shared.shutdown);
    let open = shared.shutdown.open_session();
    pool.dispatch(Job {
        work: Work::Connect(socket),
        held: Held {
            ticket,
            _connected: connected,
            _open: open,
        },
    });
}

fn refuse_too_many(socket: &mut Socket) {
    // Written from the acceptor thread: bound the time a client that does not read can cost.
    socket
        .control()
        .set_deadline(std::time::Instant::now() + Duration::from_millis(200));
    let mut stream = PacketStream::new(socket, 0);
    let err = SqlError::new(ErrorKind::TooManyConnections, "Too many connections");
    let _ = stream
        .write_packet(&response::err_before_handshake(&err))
        .and_then(|()| stream.flush());
}
