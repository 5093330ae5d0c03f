//! A deliberately small MySQL client for the tests that need control over the bytes: which
//! TLS versions and suites are offered, whether the ClientHello is pipelined with the
//! SSLRequest or delayed, a client certificate, and raw ERR packets.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use sha1::Sha1;
use sha2::{Digest, Sha256};

const CLIENT_CAPS: u32 = 1 | 8 | 0x200 | 0x8000 | (1 << 17) | (1 << 19) | (1 << 21);
const CLIENT_SSL: u32 = 0x800;

/// An ERR packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    pub code: u16,
    pub state: String,
    pub message: String,
}

pub enum Transport {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Transport::Plain(s) => s.read(buf),
            Transport::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Transport::Plain(s) => s.write(buf),
            Transport::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Transport::Plain(s) => s.flush(),
            Transport::Tls(s) => s.flush(),
        }
    }
}

/// How the client does TLS.
#[derive(Clone, Default)]
pub struct TlsOptions {
    /// Offer only these versions (default: both).
    pub versions: Option<Vec<&'static rustls::SupportedProtocolVersion>>,
    /// Verify the server against this CA (else accept any certificate).
    pub ca: Option<std::path::PathBuf>,
    /// Present this certificate and key.
    pub identity: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// Send the ClientHello in the same write as the SSLRequest.
    pub pipelined: bool,
    /// Wait this long between the SSLRequest and the ClientHello.
    pub delay: Option<Duration>,
    /// Offer only these suites (rustls names).
    pub suites: Option<Vec<rustls::SupportedCipherSuite>>,
    /// Offer only these key exchange groups, preferred first (a key share goes with the first).
    pub groups: Option<Vec<&'static dyn rustls::crypto::SupportedKxGroup>>,
    /// Resume with this session store.
    pub resumption: Option<Arc<dyn rustls::client::ClientSessionStore>>,
    /// Use this configuration instead of building one from the fields above. rustls offers a
    /// stored session only to a configuration with the same verifier and client credentials
    /// (`Arc` identity), so connections that should resume share one.
    pub config: Option<Arc<ClientConfig>>,
}

pub struct RawClient {
    pub stream: Transport,
    pub seq: u8,
    pub server_caps: u32,
    pub scramble: Vec<u8>,
    pub server_plugin: String,
    pub server_version: String,
}

#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

pub fn client_config(opts: &TlsOptions) -> Arc<ClientConfig> {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    if let Some(suites) = &opts.suites {
        provider.cipher_suites = suites.clone();
    }
    if let Some(groups) = &opts.groups {
        provider.kx_groups = groups.clone();
    }
    let provider = Arc::new(provider);
    let versions = opts
        .versions
        .clone()
        .unwrap_or_else(|| vec![&rustls::version::TLS13, &rustls::version::TLS12]);
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .unwrap();
    let builder = match &opts.ca {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(ca).unwrap() {
                roots.add(cert.unwrap()).unwrap();
            }
            builder.with_root_certificates(roots)
        }
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider))),
    };
    let mut config = match &opts.identity {
        Some((cert, key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .unwrap()
                .map(Result::unwrap)
                .collect();
            builder
                .with_client_auth_cert(chain, PrivateKeyDer::from_pem_file(key).unwrap())
                .unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    if let Some(store) = &opts.resumption {
        config.resumption = rustls::client::Resumption::store(store.clone());
    }
    Arc::new(config)
}

impl RawClient {
    /// Connects and reads the greeting.
    pub fn connect(addr: SocketAddr) -> std::io::Result<Self> {
        let stream = TcpStream::connect(addr)?;
        // As libmysqlclient does: without it, a small write after a small write waits for a
        // delayed ACK (40 ms), which shows in resumed TLS 1.2 handshakes.
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        let mut c = Self {
            stream: Transport::Plain(stream),
            seq: 0,
            server_caps: 0,
            scramble: Vec::new(),
            server_plugin: String::new(),
            server_version: String::new(),
        };
        let g = c.read_packet()?;
        if g.first() == Some(&0xFF) {
            return Err(std::io::Error::other(format!("{:?}", parse_err(&g))));
        }
        let nul = g[1..].iter().position(|b| *b == 0).unwrap() + 1;
        c.server_version = String::from_utf8_lossy(&g[1..nul]).into_owned();
        let p = nul + 1;
        let mut scramble = g[p + 4..p + 12].to_vec();
        let caps_low = u16::from_le_bytes([g[p + 13], g[p + 14]]);
        let caps_high = u16::from_le_bytes([g[p + 18], g[p + 19]]);
        c.server_caps = u32::from(caps_low) | u32::from(caps_high) << 16;
        let rest = &g[p + 31..];
        scramble.extend_from_slice(&rest[..12]);
        let plugin_start = 13;
        let plugin_end = rest[plugin_start..].iter().position(|b| *b == 0).unwrap() + plugin_start;
        c.server_plugin = String::from_utf8_lossy(&rest[plugin_start..plugin_end]).into_owned();
        c.scramble = scramble;
        Ok(c)
    }

    pub fn offers_tls(&self) -> bool {
        self.server_caps & CLIENT_SSL != 0
    }

    fn header(&mut self, len: usize) -> [u8; 4] {
        let h = [len as u8, (len >> 8) as u8, (len >> 16) as u8, self.seq];
        self.seq = self.seq.wrapping_add(1);
        h
    }

    pub fn write_packet(&mut self, payload: &[u8]) -> std::io::Result<()> {
        let mut out = self.header(payload.len()).to_vec();
        out.extend_from_slice(payload);
        self.stream.write_all(&out)?;
        self.stream.flush()
    }

    pub fn read_packet(&mut self) -> std::io::Result<Vec<u8>> {
        let mut h = [0u8; 4];
        self.stream.read_exact(&mut h)?;
        let len = usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16;
        self.seq = h[3].wrapping_add(1);
        let mut p = vec![0u8; len];
        self.stream.read_exact(&mut p)?;
        Ok(p)
    }

    fn ssl_request(&self) -> Vec<u8> {
        let mut p = Vec::new();
        p.extend_from_slice(&(CLIENT_CAPS | CLIENT_SSL).to_le_bytes());
        p.extend_from_slice(&16_777_216u32.to_le_bytes());
        p.push(45);
        p.extend_from_slice(&[0; 23]);
        p
    }

    /// Sends an SSLRequest and performs the TLS handshake.
    pub fn start_tls(&mut self, opts: &TlsOptions) -> Result<(), String> {
        let Transport::Plain(tcp) = &self.stream else {
            return Err("already TLS".into());
        };
        let mut tcp = tcp.try_clone().map_err(|e| e.to_string())?;
        let req = self.ssl_request();
        let mut packet = self.header(req.len()).to_vec();
        packet.extend_from_slice(&req);
        let server_name = ServerName::try_from("localhost").unwrap();
        let mut conn = ClientConnection::new(
            opts.config.clone().unwrap_or_else(|| client_config(opts)),
            server_name,
        )
        .map_err(|e| e.to_string())?;
        if opts.pipelined {
            // The ClientHello leaves in the same write as the SSLRequest.
            conn.write_tls(&mut packet).map_err(|e| e.to_string())?;
            tcp.write_all(&packet).map_err(|e| e.to_string())?;
        } else {
            tcp.write_all(&packet).map_err(|e| e.to_string())?;
            if let Some(d) = opts.delay {
                std::thread::sleep(d);
            }
        }
        while conn.is_handshaking() {
            conn.complete_io(&mut tcp).map_err(|e| e.to_string())?;
        }
        self.stream = Transport::Tls(Box::new(StreamOwned::new(conn, tcp)));
        Ok(())
    }

    pub fn tls_connection(&self) -> Option<&ClientConnection> {
        match &self.stream {
            Transport::Tls(s) => Some(&s.conn),
            Transport::Plain(_) => None,
        }
    }

    /// Sends the login and runs the authentication exchange.
    pub fn login(
        &mut self,
        user: &str,
        password: &str,
        db: Option<&str>,
    ) -> Result<(), ServerError> {
        let plugin = self.server_plugin.clone();
        let mut caps = CLIENT_CAPS;
        if matches!(self.stream, Transport::Tls(_)) {
            caps |= CLIENT_SSL;
        }
        let mut p = Vec::new();
        p.extend_from_slice(&caps.to_le_bytes());
        p.extend_from_slice(&16_777_216u32.to_le_bytes());
        p.push(45);
        p.extend_from_slice(&[0; 23]);
        p.extend_from_slice(user.as_bytes());
        p.push(0);
        let auth = scramble_for(&plugin, password, &self.scramble);
        p.push(auth.len() as u8);
        p.extend_from_slice(&auth);
        if let Some(db) = db {
            p.extend_from_slice(db.as_bytes());
        }
        p.push(0);
        p.extend_from_slice(plugin.as_bytes());
        p.push(0);
        self.write_packet(&p).map_err(io_err)?;
        self.auth_exchange(password)
    }

    fn auth_exchange(&mut self, password: &str) -> Result<(), ServerError> {
        loop {
            let r = self.read_packet().map_err(io_err)?;
            match r.first() {
                Some(0x00) => return Ok(()),
                Some(0xFF) => return Err(parse_err(&r)),
                Some(0xFE) => {
                    let nul = r[1..].iter().position(|b| *b == 0).unwrap() + 1;
                    let plugin = String::from_utf8_lossy(&r[1..nul]).into_owned();
                    let mut nonce = r[nul + 1..].to_vec();
                    if nonce.last() == Some(&0) {
                        nonce.pop();
                    }
                    self.scramble = nonce;
                    self.server_plugin = plugin.clone();
                    let auth = scramble_for(&plugin, password, &self.scramble);
                    self.write_packet(&auth).map_err(io_err)?;
                }
                Some(0x01) if r.get(1) == Some(&3) => {}
                Some(0x01) if r.get(1) == Some(&4) => {
                    if matches!(self.stream, Transport::Tls(_)) {
                        let mut clear = password.as_bytes().to_vec();
                        clear.push(0);
                        self.write_packet(&clear).map_err(io_err)?;
                    } else {
                        return Err(ServerError {
                            code: 2061,
                            state: "HY000".into(),
                            message: "full auth over plaintext".into(),
                        });
                    }
                }
                other => panic!("unexpected auth packet {other:?}"),
            }
        }
    }

    /// Runs a text query and returns the rows as optional strings.
    pub fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, ServerError> {
        let rows = self.query_bytes(sql.as_bytes())?;
        Ok(rows
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|v| v.map(|b| String::from_utf8_lossy(&b).into_owned()))
                    .collect()
            })
            .collect())
    }

    /// Runs a text query of any bytes and returns the rows as the bytes the server sent.
    pub fn query_bytes(&mut self, sql: &[u8]) -> Result<Vec<Vec<Option<Vec<u8>>>>, ServerError> {
        self.seq = 0;
        let mut p = vec![0x03];
        p.extend_from_slice(sql);
        self.write_packet(&p).map_err(io_err)?;
        self.read_result()
    }

    /// Sends several COM_QUERYs in one write, without waiting for any answer: the server
    /// finds the later ones already buffered (in its TLS library, too) when it answers the
    /// first. Read the answers with [`RawClient::read_result`], one per statement.
    pub fn pipeline(&mut self, statements: &[&str]) -> std::io::Result<()> {
        let mut out = Vec::new();
        for sql in statements {
            let len = sql.len() + 1;
            out.extend_from_slice(&[len as u8, (len >> 8) as u8, (len >> 16) as u8, 0, 0x03]);
            out.extend_from_slice(sql.as_bytes());
        }
        self.stream.write_all(&out)?;
        self.stream.flush()
    }

    /// Reads the answer to a text query: its rows as the bytes the server sent, or the error.
    pub fn read_result(&mut self) -> Result<Vec<Vec<Option<Vec<u8>>>>, ServerError> {
        let first = self.read_packet().map_err(io_err)?;
        match first[0] {
            0x00 => return Ok(Vec::new()),
            0xFF => return Err(parse_err(&first)),
            _ => {}
        }
        let columns = usize::from(first[0]);
        for _ in 0..columns {
            self.read_packet().map_err(io_err)?;
        }
        let eof = self.read_packet().map_err(io_err)?;
        assert_eq!(eof[0], 0xFE, "expected EOF after the column definitions");
        let mut rows = Vec::new();
        loop {
            let r = self.read_packet().map_err(io_err)?;
            if r[0] == 0xFE && r.len() < 9 {
                return Ok(rows);
            }
            if r[0] == 0xFF {
                return Err(parse_err(&r));
            }
            let mut pos = 0;
            let mut row = Vec::new();
            for _ in 0..columns {
                if r[pos] == 0xFB {
                    row.push(None);
                    pos += 1;
                    continue;
                }
                let (len, n) = lenenc(&r[pos..]);
                pos += n;
                row.push(Some(r[pos..pos + len].to_vec()));
                pos += len;
            }
            rows.push(row);
        }
    }

    /// One status or variable value by exact name.
    pub fn status(&mut self, name: &str) -> String {
        let rows = self
            .query(&format!("SHOW SESSION STATUS LIKE '{name}'"))
            .unwrap();
        rows.first().and_then(|r| r[1].clone()).unwrap_or_default()
    }
}

fn lenenc(b: &[u8]) -> (usize, usize) {
    match b[0] {
        0xFC => (usize::from(u16::from_le_bytes([b[1], b[2]])), 3),
        0xFD => (
            usize::from(b[1]) | usize::from(b[2]) << 8 | usize::from(b[3]) << 16,
            4,
        ),
        0xFE => (u64::from_le_bytes(b[1..9].try_into().unwrap()) as usize, 9),
        n => (usize::from(n), 1),
    }
}

fn io_err(e: std::io::Error) -> ServerError {
    ServerError {
        code: 2013,
        state: "HY000".into(),
        message: e.to_string(),
    }
}

pub fn parse_err(p: &[u8]) -> ServerError {
    let code = u16::from_le_bytes([p[1], p[2]]);
    let (state, msg) = if p.get(3) == Some(&b'#') {
        (&p[4..9], &p[9..])
    } else {
        (&b""[..], &p[3..])
    };
    ServerError {
        code,
        state: String::from_utf8_lossy(state).into_owned(),
        message: String::from_utf8_lossy(msg).into_owned(),
    }
}

/// The scramble a client computes for `plugin`.
pub fn scramble_for(plugin: &str, password: &str, nonce: &[u8]) -> Vec<u8> {
    if password.is_empty() {
        return Vec::new();
    }
    match plugin {
        "caching_sha2_password" => {
            let p1 = Sha256::digest(password.as_bytes());
            let p2 = Sha256::digest(p1);
            let mut h = Sha256::new();
            h.update(p2);
            h.update(nonce);
            let p3 = h.finalize();
            p1.iter().zip(p3.iter()).map(|(a, b)| a ^ b).collect()
        }
        _ => {
            let p1 = Sha1::digest(password.as_bytes());
            let p2 = Sha1::digest(p1);
            let mut h = Sha1::new();
            h.update(nonce);
            h.update(p2);
            let p3 = h.finalize();
            p1.iter().zip(p3.iter()).map(|(a, b)| a ^ b).collect()
        }
    }
}
