//! Servers on 127.0.0.1 port 0 and the client side of one exchange.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use tlsql_tls_api::{Identity, TlsConnector, TlsContext, TlsError, TlsInfo, TlsStream};

/// Socket timeouts of every test connection: a stalled peer fails the test, never hangs it.
pub const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// What the server saw of one connection.
pub type Outcome = Result<TlsInfo, TlsError>;

/// A TCP connection to `addr` with the test timeouts.
pub fn tcp(addr: SocketAddr) -> TcpStream {
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    tcp.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    tcp
}

/// Serves `n` connections one after the other: handshake, then `session` on the stream.
pub fn serve(
    ctx: &Arc<dyn TlsContext>,
    n: usize,
    session: impl Fn(&mut dyn TlsStream) + Send + 'static,
) -> (SocketAddr, JoinHandle<Vec<Outcome>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let ctx = ctx.clone();
    let server = thread::spawn(move || {
        (0..n)
            .map(|_| {
                let (tcp, _) = listener.accept().unwrap();
                tcp.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
                tcp.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
                let mut stream = ctx.accept(Box::new(tcp))?;
                session(&mut *stream);
                Ok(stream.info().clone())
            })
            .collect()
    });
    (addr, server)
}

/// The server side of an exchange: reads `ping`, answers `pong`, closes with close_notify.
pub fn pong(stream: &mut dyn TlsStream) {
    let mut buf = [0; 4];
    if stream.read_exact(&mut buf).is_ok() && &buf == b"ping" {
        let _ = stream.write_all(b"pong");
        let _ = stream.flush();
        let _ = stream.shutdown();
    }
}

/// Serves `n` ping-pong connections.
pub fn pong_server(ctx: &Arc<dyn TlsContext>, n: usize) -> (SocketAddr, JoinHandle<Vec<Outcome>>) {
    serve(ctx, n, pong)
}

/// The client side: connects as `client` to `name`, sends ping, expects pong, reads to the
/// server's close_notify (so every TLS 1.3 ticket has arrived) and answers it (a C library
/// marks a session unresumable when its connection ends without one). Returns the client's
/// report.
pub fn ping(
    connector: &dyn TlsConnector,
    addr: SocketAddr,
    name: &str,
    client: Option<&Arc<Identity>>,
) -> Result<TlsInfo, TlsError> {
    let mut stream = connector.connect(Box::new(tcp(addr)), name, client)?;
    let failed =
        |e: std::io::Error| tlsql_tls_api::failure::other(format!("after the handshake: {e}"));
    stream.write_all(b"ping").map_err(failed)?;
    stream.flush().map_err(failed)?;
    let mut buf = [0; 4];
    stream.read_exact(&mut buf).map_err(failed)?;
    assert_eq!(&buf, b"pong");
    stream.read_to_end(&mut Vec::new()).map_err(failed)?;
    stream.shutdown().map_err(failed)?;
    Ok(stream.info().clone())
}

/// One ping-pong connection of `connector` (to `localhost`) against a fresh context: the
/// server's outcome and the client's.
pub fn handshake(
    ctx: &Arc<dyn TlsContext>,
    connector: &dyn TlsConnector,
    client: Option<&Arc<Identity>>,
) -> (Outcome, Result<TlsInfo, TlsError>) {
    let (addr, server) = pong_server(ctx, 1);
    let seen = ping(connector, addr, "localhost", client);
    let mut outcomes = server.join().unwrap();
    (outcomes.remove(0), seen)
}
