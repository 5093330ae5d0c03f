//! The acceptor: one thread, one mio `Poll`, registered for the unix socket and the shutdown
//! waker. It accepts unix-socket connections until `WouldBlock`, applies admission
//! ([`admit`]) and hands blocking sockets to the worker pool. TCP connections are accepted by
//! the workers themselves, which wait in `accept` ([`super::pool`]); at shutdown the acceptor
//! shuts the TCP listener down, which wakes them. Client sockets are never registered with
//! this poll: workers own them, and the idle poller ([`super::idle`]) watches the quiet ones.

use std::io;
use std::net::TcpListener;
use std::os::unix::net::UnixListener as StdUnixListener;
use std::sync::Arc;
use std::time::Duration;

use mio::net::UnixListener;
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

const UNIX: Token = Token(1);
const WAKE: Token = Token(2);

/// The listening side of the server.
pub(crate) struct Acceptor {
    poll: Poll,
    waker: Arc<Waker>,
    /// In blocking mode: the workers wait in its `accept`.
    tcp: Arc<TcpListener>,
    unix: Option<UnixListener>,
}

/// Shuts the TCP listener down for reading when [`Acceptor::run`] returns, however it returns:
/// the kernel then refuses new connections and wakes every worker waiting in `accept`.
struct StopListening<'a>(&'a TcpListener);

impl Drop for StopListening<'_> {
    fn drop(&mut self) {
        if let Err(e) = rustix::net::shutdown(self.0, rustix::net::Shutdown::Read) {
            log::error!("cannot stop listening for TCP connections: {e}");
        }
    }
}

impl Acceptor {
    pub(crate) fn new(tcp: TcpListener, unix: Option<StdUnixListener>) -> io::Result<Self> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKE)?);
        tcp.set_nonblocking(false)?;
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
            tcp: Arc::new(tcp),
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
        let _stop = StopListening(&self.tcp);
        let pool = Pool::new(Arc::clone(shared), service, Some(Arc::clone(&self.tcp)))?;
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
                    UNIX => self.accept_unix(shared, &pool),
                    _ => return Ok(()),
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
                    Ok(socket) => {
                        if let Some(job) = admit(shared, socket) {
                            pool.dispatch(job);
                        }
                    }
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

/// Applies admission (`max-connections`, the per-host limit; see
/// [`crate::instance::admission`]) to an accepted connection: the job that serves it, or
/// `None` when the client may not even start a handshake and got ERR 1040 instead of a
/// greeting.
pub(super) fn admit(shared: &Arc<Instance>, mut socket: Socket) -> Option<Job> {
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
            return None;
        }
    };
    let connected = SharedGauge::raise(Arc::clone(shared), |s| &s.counters.threads_connected);
    socket.watch_shutdown(&shared.shutdown);
    let open = shared.shutdown.open_session();
    Some(Job {
        work: Work::Connect(socket),
        held: Held {
            ticket,
            _connected: connected,
            _open: open,
        },
    })
}

fn refuse_too_many(socket: &mut Socket) {
    // Written by the thread that accepts: bound the time a client that does not read can cost.
    socket
        .control()
        .set_deadline(std::time::Instant::now() + Duration::from_millis(200));
    let mut stream = PacketStream::new(socket, 0);
    let err = SqlError::new(ErrorKind::TooManyConnections, "Too many connections");
    let _ = stream
        .write_packet(&response::err_before_handshake(&err))
        .and_then(|()| stream.flush());
}
