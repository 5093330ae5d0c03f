//! The `/metrics` endpoint: a `tiny_http` server on its own thread, serving what a render
//! function returns. Anything but `GET /metrics` gets 404 (or 405 for another method).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use tiny_http::{Header, Method, Response, Server};

/// OpenMetrics 1.0 text, what the Prometheus client writes.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The classic Prometheus text format.
const CLASSIC: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A running endpoint; stopped (and its thread joined) on drop.
pub struct MetricsServer {
    server: Arc<Server>,
    addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl MetricsServer {
    /// Listens on `addr` and answers scrapes with `render(openmetrics)`: OpenMetrics text when
    /// the scraper's `Accept` header asks for it, else the classic text format.
    pub fn start(
        addr: SocketAddr,
        render: impl Fn(bool) -> String + Send + 'static,
    ) -> io::Result<Self> {
        let server = Arc::new(Server::http(addr).map_err(io::Error::other)?);
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| io::Error::other("the metrics listener has no IP address"))?;
        let header = |value: &str| {
            Header::from_bytes("Content-Type", value)
                .map_err(|()| io::Error::other("invalid Content-Type header"))
        };
        let (openmetrics, classic) = (header(OPENMETRICS)?, header(CLASSIC)?);
        let serving = Arc::clone(&server);
        let thread = std::thread::Builder::new()
            .name("tlsql-metrics".into())
            .spawn(move || {
                for request in serving.incoming_requests() {
                    let response = match (request.method(), request.url()) {
                        (Method::Get, "/metrics") => {
                            let wants_openmetrics = request.headers().iter().any(|h| {
                                h.field.equiv("Accept")
                                    && h.value.as_str().contains("application/openmetrics-text")
                            });
                            let content_type = if wants_openmetrics {
                                &openmetrics
                            } else {
                                &classic
                            };
                            Response::from_string(render(wants_openmetrics))
                                .with_header(content_type.clone())
                        }
                        (Method::Get, _) => {
                            Response::from_string("not found\n").with_status_code(404)
                        }
                        _ => Response::from_string("method not allowed\n").with_status_code(405),
                    };
                    if let Err(e) = request.respond(response) {
                        log::debug!("metrics: answering a scrape failed: {e}");
                    }
                }
            })?;
        log::info!("metrics served at http://{addr}/metrics");
        Ok(Self {
            server,
            addr,
            thread: Some(thread),
        })
    }

    /// The address bound (a port 0 in `metrics.listen` picks a free one).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
