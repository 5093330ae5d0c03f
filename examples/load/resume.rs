//! A TLS client of the load tool's own, for what the `mysql` crate cannot do: it builds a new
//! rustls configuration for every connection, so its connections never resume a TLS session,
//! and it offers the key exchange groups rustls chose. This client keeps one configuration
//! (with its session store) for all its connections, so each connection after the first
//! resumes with a ticket from an earlier one, and offers only the groups asked for.
//!
//! The MySQL side is as small as the measurement allows: greeting, SSLRequest, login
//! (caching_sha2_password fast and full paths, mysql_native_password, AuthSwitch), one text
//! query read to its end, COM_QUIT.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use rustls::client::Resumption;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, HandshakeKind, RootCertStore, StreamOwned};
use tlsql::auth::{Nonce, client_answer};
use tlsql::protocol::client::{Login, ServerError, read_greeting, ssl_request_for};
use tlsql::protocol::handshake::caps;

const CAPABILITIES: u32 = caps::LONG_PASSWORD
    | caps::PROTOCOL_41
    | caps::SECURE_CONNECTION
    | caps::TRANSACTIONS
    | caps::DEPRECATE_EOF;

/// caching_sha2_password's AuthMoreData answers.
const FAST_AUTH_SUCCESS: u8 = 3;
const PERFORM_FULL_AUTHENTICATION: u8 = 4;

/// Where and as whom to connect, and the one TLS configuration every connection shares.
pub(crate) struct ResumingClient {
    addr: (String, u16),
    server_name: ServerName<'static>,
    user: String,
    password: String,
    config: Arc<ClientConfig>,
}

/// What a TLS connection came to.
pub(crate) enum Handshake {
    Full,
    Resumed,
}

impl ResumingClient {
    /// `groups` names the key exchange groups to offer, in order (rustls names, e.g.
    /// `X25519`, `secp256r1`, `X25519MLKEM768`); empty for rustls's default list. Without
    /// `resume` every connection makes a full handshake.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        host: &str,
        port: u16,
        user: &str,
        password: &str,
        ca: &Path,
        identity: Option<(&Path, &Path)>,
        groups: &[String],
        resume: bool,
    ) -> anyhow::Result<Self> {
        let mut provider = rustls::crypto::aws_lc_rs::default_provider();
        if !groups.is_empty() {
            let all = provider.kx_groups.clone();
            provider.kx_groups = groups
                .iter()
                .map(|name| {
                    all.iter()
                        .chain(rustls::crypto::aws_lc_rs::ALL_KX_GROUPS)
                        .copied()
                        .find(|g| format!("{:?}", g.name()).eq_ignore_ascii_case(name))
                        .with_context(|| {
                            format!("--group {name}: rustls (aws-lc-rs) has no such group")
                        })
                })
                .collect::<anyhow::Result<_>>()?;
        }
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(ca)
            .with_context(|| format!("--ssl-ca {}", ca.display()))?
        {
            roots.add(cert.with_context(|| format!("--ssl-ca {}", ca.display()))?)?;
        }
        let builder = ClientConfig::builder_with_provider(Arc::new(provider))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots);
        let mut config = match identity {
            Some((cert, key)) => {
                let chain = CertificateDer::pem_file_iter(cert)
                    .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                    .with_context(|| format!("--ssl-cert {}", cert.display()))?;
                let key = PrivateKeyDer::from_pem_file(key)
                    .with_context(|| format!("--ssl-key {}", key.display()))?;
                builder.with_client_auth_cert(chain, key)?
            }
            None => builder.with_no_client_auth(),
        };
        if !resume {
            config.resumption = Resumption::disabled();
        }
        Ok(Self {
            addr: (host.to_string(), port),
            server_name: ServerName::try_from(host.to_string())
                .with_context(|| format!("--host {host} is not a TLS server name"))?,
            user: user.to_string(),
            password: password.to_string(),
            config: Arc::new(config),
        })
    }

    /// One connection: TCP, greeting, TLS, login, `SELECT 1`, quit.
    pub(crate) fn connect_select_quit(&self) -> anyhow::Result<Handshake> {
        let tcp = TcpStream::connect((self.addr.0.as_str(), self.addr.1))?;
        tcp.set_nodelay(true)?;
        let mut plain = Framed { io: tcp, seq: 0 };
        let greeting = read_greeting(&plain.read()?)?;
        if greeting.capabilities & caps::SSL == 0 {
            bail!("the server does not offer TLS");
        }
        let nonce = nonce(&greeting.scramble)?;
        let auth = client_answer(&greeting.auth_plugin, self.password.as_bytes(), &nonce);
        let login = Login {
            capabilities: CAPABILITIES & greeting.capabilities | caps::SSL,
            collation: greeting.collation,
            user: &self.user,
            auth_response: &auth,
            auth_plugin: plugin_name(&greeting.auth_plugin),
        }
        .encode();
        plain.write(&ssl_request_for(&login)?)?;
        let tls = ClientConnection::new(self.config.clone(), self.server_name.clone())?;
        let mut conn = Framed {
            io: StreamOwned::new(tls, plain.io),
            seq: plain.seq,
        };
        conn.write(&login)?;
        self.finish_login(&mut conn)?;
        let handshake = match conn.io.conn.handshake_kind() {
            Some(HandshakeKind::Resumed) => Handshake::Resumed,
            _ => Handshake::Full,
        };
        conn.seq = 0;
        conn.write(b"\x03SELECT 1")?;
        read_result(&mut conn)?;
        conn.seq = 0;
        conn.write(&[1])?;
        conn.io.conn.send_close_notify();
        conn.io.flush()?;
        Ok(handshake)
    }

    /// Answers what the server asks after the login until its OK.
    fn finish_login(&self, conn: &mut Framed<impl Read + Write>) -> anyhow::Result<()> {
        loop {
            let packet = conn.read()?;
            match packet.first() {
                Some(0x00) => return Ok(()),
                Some(0xFF) => bail!(ServerError::parse(&packet)?),
                Some(0xFE) => {
                    let rest = &packet[1..];
                    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
                    let plugin = String::from_utf8_lossy(&rest[..end]).into_owned();
                    let data = rest.get(end + 1..).unwrap_or_default();
                    let nonce = nonce(data.strip_suffix(&[0]).unwrap_or(data))?;
                    conn.write(&client_answer(&plugin, self.password.as_bytes(), &nonce))?;
                }
                Some(0x01) if packet.get(1) == Some(&FAST_AUTH_SUCCESS) => {}
                Some(0x01) if packet.get(1) == Some(&PERFORM_FULL_AUTHENTICATION) => {
                    // Over TLS the password goes in the clear, NUL-terminated.
                    let mut clear = self.password.as_bytes().to_vec();
                    clear.push(0);
                    conn.write(&clear)?;
                }
                _ => bail!("unexpected packet during login: {packet:02x?}"),
            }
        }
    }
}

fn plugin_name(offered: &str) -> &'static str {
    match offered {
        "caching_sha2_password" => "caching_sha2_password",
        _ => "mysql_native_password",
    }
}

fn nonce(data: &[u8]) -> anyhow::Result<Nonce> {
    Nonce::try_from(data).map_err(|_| anyhow::anyhow!("the server's nonce is {} bytes", data.len()))
}

/// Reads a text result to its end (with CLIENT_DEPRECATE_EOF: column count, columns, rows,
/// then an OK packet headed 0xFE).
fn read_result(conn: &mut Framed<impl Read + Write>) -> anyhow::Result<()> {
    let first = conn.read()?;
    match first.first() {
        Some(0x00) => return Ok(()),
        Some(0xFF) => bail!(ServerError::parse(&first)?),
        _ => {}
    }
    loop {
        let packet = conn.read()?;
        match packet.first() {
            Some(0xFE) if packet.len() < 0xFF_FFFF => return Ok(()),
            Some(0xFF) => bail!(ServerError::parse(&packet)?),
            _ => {}
        }
    }
}

/// MySQL packet framing over a byte stream, single packets only (this client's are small).
struct Framed<S> {
    io: S,
    seq: u8,
}

impl<S: Read + Write> Framed<S> {
    fn read(&mut self) -> anyhow::Result<Vec<u8>> {
        let mut header = [0; 4];
        self.io.read_exact(&mut header)?;
        let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
        self.seq = header[3].wrapping_add(1);
        let mut payload = vec![0; len];
        self.io.read_exact(&mut payload)?;
        Ok(payload)
    }

    fn write(&mut self, payload: &[u8]) -> anyhow::Result<()> {
        let len = u32::try_from(payload.len())?.to_le_bytes();
        let mut packet = Vec::with_capacity(4 + payload.len());
        packet.extend_from_slice(&[len[0], len[1], len[2], self.seq]);
        packet.extend_from_slice(payload);
        self.io.write_all(&packet)?;
        self.io.flush()?;
        self.seq = self.seq.wrapping_add(1);
        Ok(())
    }
}
