//! The interface between the tlsql server and the TLS libraries it can use.
//!
//! The server never names a TLS library. It reads certificates through [`cert`] (so every backend
//! reports the same error for the same bad file), describes what it wants in [`TlsSettings`],
//! asks the compiled-in backend crate for a [`TlsContext`], and later hands each connection's
//! socket to [`TlsContext::accept`]. What comes back is a [`TlsStream`] that reads and writes
//! plaintext and carries a [`TlsInfo`] report: protocol, OpenSSL cipher name, key exchange
//! group, whether the session was resumed, and the verified client certificate.
//!
//! Every backend crate exports the same items:
//!
//! ```text
//! pub const NAME: &str;                                   // "rustls", "openssl", "boring"
//! pub const CAPABILITIES: Capabilities;                   // what its library can do
//! pub fn build(settings: &TlsSettings) -> Result<Arc<dyn TlsContext>, TlsError>;
//! pub fn build_connector(settings: &ConnectorSettings) -> Result<Arc<dyn TlsConnector>, TlsError>;
//! ```
//!
//! The two functions exist only with the crate's `library` feature (on by default), which
//! links the library; `NAME` and `CAPABILITIES` are always there, so a build can describe the
//! backends it does not link. [`connector`] describes the client side.
//!
//! # Behaviour every backend must share
//!
//! * Client certificates are requested only when [`TlsSettings::client_ca`] is set; a presented
//!   certificate must verify against it or the handshake fails; no certificate is fine (accounts
//!   that need one say so with `REQUIRE X509`, checked after login).
//! * Cipher names are OpenSSL's, in both directions: the configured lists and [`TlsInfo::cipher`].
//!   Group names are [`group`]'s (OpenSSL's spelling) on every backend.
//! * A context owns its resumption state. A new context (a reload) never resumes a session made
//!   by another one, so a session created under one client-verification rule can never be
//!   resumed under another.
//! * A resumed session reports the client certificate it was created with.
//! * Something a library cannot do is a [`TlsError::Unsupported`] naming the backend and the
//!   alternative, never a silent downgrade; the crate declares it in its [`Capabilities`].
//! * A failed handshake is a [`TlsError::Handshake`] classified by [`HandshakeFailure`], with
//!   the same first words on every backend ([`failure`]).
#![deny(missing_docs)]

pub mod capabilities;
pub mod cert;
pub mod cipher;
pub mod connector;
pub mod failure;
pub mod group;
pub mod resumption;

use std::fmt;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::{CertificateDer, PrivateKeyDer};

pub use capabilities::Capabilities;
pub use cert::{CertSummary, SubjectAltName};
pub use connector::{ConnectorFn, ConnectorSettings, ServerVerify, TlsConnector};
pub use failure::HandshakeFailure;
pub use group::KxGroup;

/// A protocol version, named as MySQL and OpenSSL name it (`TLSv1.2`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TlsVersion {
    /// TLS 1.0 (only where the backend supports it and the operator asked for it).
    Tls10,
    /// TLS 1.1 (only where the backend supports it and the operator asked for it).
    Tls11,
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

impl TlsVersion {
    /// All versions, oldest first.
    pub const ALL: [TlsVersion; 4] = [Self::Tls10, Self::Tls11, Self::Tls12, Self::Tls13];

    /// The MySQL/OpenSSL spelling: `TLSv1`, `TLSv1.1`, `TLSv1.2`, `TLSv1.3`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tls10 => "TLSv1",
            Self::Tls11 => "TLSv1.1",
            Self::Tls12 => "TLSv1.2",
            Self::Tls13 => "TLSv1.3",
        }
    }

    /// This version and every newer one.
    pub fn and_newer(self) -> impl Iterator<Item = TlsVersion> {
        Self::ALL.into_iter().filter(move |v| *v >= self)
    }
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TlsVersion {
    type Err = String;

    /// Accepts `TLSv1`/`TLSv1.0`, `TLSv1.1`, `TLSv1.2` and `TLSv1.3` (which of them a backend
    /// can negotiate, its [`Capabilities`] say).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "TLSv1" | "TLSv1.0" => Ok(Self::Tls10),
            "TLSv1.1" => Ok(Self::Tls11),
            "TLSv1.2" => Ok(Self::Tls12),
            "TLSv1.3" => Ok(Self::Tls13),
            other => Err(format!(
                "unknown TLS version '{other}': expected TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3"
            )),
        }
    }
}

/// The server's certificate chain and private key, read and checked by [`cert::load_identity`].
pub struct Identity {
    /// Certificate chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// Private key (PKCS#1, PKCS#8 or SEC1).
    pub key: PrivateKeyDer<'static>,
    /// Where the chain was read from (for messages and `Current_tls_cert`).
    pub cert_path: PathBuf,
    /// Where the key was read from (for messages and `Current_tls_key`).
    pub key_path: PathBuf,
    /// The parsed leaf certificate.
    pub leaf: CertSummary,
}

impl Identity {
    /// An identity made in memory (a certificate minted for one client, say) rather than read
    /// from files: its paths are `(in memory)`, which is what messages about it name.
    pub fn from_der(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, TlsError> {
        let in_memory = PathBuf::from("(in memory)");
        let leaf = chain
            .first()
            .ok_or_else(|| "no certificate".to_string())
            .and_then(|der| CertSummary::from_der(der))
            .map_err(|reason| TlsError::BadFile {
                path: in_memory.clone(),
                reason,
            })?;
        Ok(Self {
            chain,
            key,
            cert_path: in_memory.clone(),
            key_path: in_memory,
            leaf,
        })
    }
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Self {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
            cert_path: self.cert_path.clone(),
            key_path: self.key_path.clone(),
            leaf: self.leaf.clone(),
        }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.debug_struct("Identity")
            .field("cert_path", &self.cert_path)
            .field("key_path", &self.key_path)
            .field("chain_len", &self.chain.len())
            .field("leaf", &self.leaf)
            .finish()
    }
}

/// The CA bundle that client certificates are verified against.
#[derive(Clone, Debug)]
pub struct ClientCa {
    /// Where the bundle was read from.
    pub path: PathBuf,
    /// Every certificate in the bundle (at least one).
    pub certs: Vec<CertificateDer<'static>>,
}

/// Everything a backend needs to build a server context.
#[derive(Clone, Debug)]
pub struct TlsSettings {
    /// Server certificate chain and key.
    pub identity: Identity,
    /// When set, client certificates are requested and verified against it (optional for the
    /// client; a certificate that does not verify fails the handshake).
    pub client_ca: Option<ClientCa>,
    /// Minimum protocol version; the maximum is always TLS 1.3.
    pub min_version: TlsVersion,
    /// TLS ≤ 1.2 suites by OpenSSL name, in server preference order. Names are known to
    /// [`cipher::lookup`]; a backend that cannot do one returns [`TlsError::Unsupported`].
    pub cipher_list: Vec<String>,
    /// TLS 1.3 suites by name (`TLS_AES_128_GCM_SHA256`), in server preference order.
    pub ciphersuites: Vec<String>,
    /// Key exchange groups in server preference order; [`group::usable`] says which of them a
    /// backend offers.
    pub groups: Vec<&'static KxGroup>,
    /// Whether `groups` was configured explicitly: then a group the backend lacks is
    /// [`TlsError::Unsupported`], where the default list keeps what the backend has.
    pub groups_strict: bool,
    /// Session resumption (TLS 1.2 session ids and tickets, TLS 1.3 tickets) on or off.
    pub session_cache: bool,
    /// How long a resumable session lives.
    pub session_timeout: Duration,
}

impl TlsSettings {
    /// The suites a context built from these settings accepts, in preference order: the TLS 1.3
    /// suites, then the TLS ≤ 1.2 suites that some allowed version can use and that the
    /// server's key can authenticate. Every backend configures exactly this list and reports it
    /// as [`TlsContext::cipher_names`], so `Ssl_cipher_list` is the same on all of them.
    /// Names unknown to [`cipher::lookup`] are an error.
    pub fn effective_ciphers(&self) -> Result<Vec<&'static cipher::CipherSuite>, TlsError> {
        let key = self.identity.leaf.key_kind();
        let mut out = Vec::new();
        for name in self.ciphersuites.iter().chain(&self.cipher_list) {
            let suite =
                cipher::lookup(name).ok_or_else(|| TlsError::UnknownCipher(name.clone()))?;
            let version_ok = self.min_version.and_newer().any(|v| suite.usable_with(v));
            let key_ok = suite.needs_key().is_none_or(|k| Some(k) == key);
            if version_ok && key_ok && !out.contains(&suite) {
                out.push(suite);
            }
        }
        Ok(out)
    }

    /// The versions from the configured minimum up to TLS 1.3 that have one of `suites` left;
    /// an error naming both settings when there is none.
    pub fn allowed_versions(
        &self,
        backend: &'static str,
        suites: &[&cipher::CipherSuite],
    ) -> Result<Vec<TlsVersion>, TlsError> {
        let versions: Vec<TlsVersion> = self
            .min_version
            .and_newer()
            .filter(|v| suites.iter().any(|s| s.usable_with(*v)))
            .collect();
        if versions.is_empty() {
            return Err(TlsError::Library {
                backend,
                message: format!(
                    "no cipher suite is left to negotiate: security.tls-ciphersuites and \
                     security.ssl-cipher name none that {} and up can use with the certificate's {} key",
                    self.min_version, self.identity.leaf.key_type
                ),
            });
        }
        Ok(versions)
    }

    /// The first configured suite (TLS 1.3 list first) that `capabilities` cannot negotiate,
    /// with the setting that names it. Unknown names are an error.
    pub fn unsupported_suite(
        &self,
        capabilities: &Capabilities,
    ) -> Result<Option<(&'static cipher::CipherSuite, &'static str)>, TlsError> {
        for (names, key) in [
            (&self.ciphersuites, "security.tls-ciphersuites"),
            (&self.cipher_list, "security.ssl-cipher"),
        ] {
            for name in names {
                let suite =
                    cipher::lookup(name).ok_or_else(|| TlsError::UnknownCipher(name.clone()))?;
                if !capabilities.can_negotiate(suite) {
                    return Ok(Some((suite, key)));
                }
            }
        }
        Ok(None)
    }
}

/// What a backend reports about one established connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsInfo {
    /// Negotiated protocol version.
    pub version: TlsVersion,
    /// Negotiated cipher, OpenSSL name (`ECDHE-ECDSA-AES128-GCM-SHA256`, `TLS_AES_128_GCM_SHA256`).
    pub cipher: String,
    /// The key exchange group, if the handshake had a key exchange (a resumed TLS 1.2
    /// session has none).
    pub group: Option<&'static KxGroup>,
    /// Whether this handshake resumed an earlier session.
    pub resumed: bool,
    /// The peer's leaf certificate. On a server: the client's, present only if it verified
    /// against the configured CA (for a resumed session: the certificate the session was
    /// created with). On a connector: the server's.
    pub peer_certificate: Option<CertificateDer<'static>>,
}

/// Resumption counters of one context or connector (they start at zero with every new one).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Handshakes that resumed a session.
    pub hits: u64,
    /// Handshakes where the client offered a session (id or ticket) that could not be resumed.
    pub misses: u64,
}

/// A byte stream a backend can run TLS over: the client socket, with any bytes the server
/// already read from it replayed first.
pub trait Transport: Read + Write + Send {}

impl<T: Read + Write + Send> Transport for T {}

/// A server TLS context: built once from [`TlsSettings`], shared by every connection it accepts.
pub trait TlsContext: Send + Sync + fmt::Debug {
    /// The backend's name: `rustls`, `openssl` or `boring`.
    fn backend(&self) -> &'static str;

    /// Runs the server side of the handshake on `io` (blocking; the caller sets socket
    /// timeouts) and returns the established stream.
    fn accept(&self, io: Box<dyn Transport>) -> Result<Box<dyn TlsStream>, TlsError>;

    /// Every suite this context will negotiate, OpenSSL names, TLS 1.3 suites first, in
    /// preference order (`Ssl_cipher_list`).
    fn cipher_names(&self) -> Vec<String>;

    /// The protocol versions this context will negotiate, oldest first.
    fn versions(&self) -> Vec<TlsVersion>;

    /// The key exchange groups this context offers, in preference order (`tls_groups`).
    fn groups(&self) -> Vec<&'static KxGroup>;

    /// Whether client certificates are requested and verified.
    fn verifies_clients(&self) -> bool;

    /// Resumption counters since this context was built.
    fn session_stats(&self) -> SessionStats;
}

/// An established TLS connection: reads and writes plaintext.
pub trait TlsStream: Read + Write + Send {
    /// The connection report, fixed when the handshake finished.
    fn info(&self) -> &TlsInfo;

    /// Sends close_notify (best effort; the peer may already be gone).
    fn shutdown(&mut self) -> io::Result<()>;
}

/// Builds contexts for one backend (a function pointer, so the server can keep a table).
pub type BuildFn = fn(&TlsSettings) -> Result<Arc<dyn TlsContext>, TlsError>;

/// Why TLS could not be set up, or why one handshake failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// A file was read but does not hold what it should.
    #[error("{}: {reason}", path.display())]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The server certificate is outside its validity period.
    #[error("{}: {reason}", path.display())]
    Validity {
        /// The certificate file.
        path: PathBuf,
        /// `certificate expired on …` or `certificate is not valid before …`.
        reason: String,
    },
    /// The private key does not belong to the leaf certificate.
    #[error("private key {} does not match the certificate in {}", key_path.display(), cert_path.display())]
    KeyMismatch {
        /// The certificate file.
        cert_path: PathBuf,
        /// The key file.
        key_path: PathBuf,
    },
    /// A cipher name that no TLS library knows.
    #[error("unknown cipher '{0}'")]
    UnknownCipher(String),
    /// The settings ask for something this backend cannot do.
    #[error("the {backend} backend {what}; {alternative}")]
    Unsupported {
        /// Backend name.
        backend: &'static str,
        /// What it cannot do, phrased to follow "the rustls backend …".
        what: String,
        /// What the operator can do instead.
        alternative: String,
    },
    /// The library rejected the configuration for another reason.
    #[error("{backend}: {message}")]
    Library {
        /// Backend name.
        backend: &'static str,
        /// The library's message.
        message: String,
    },
    /// Connector settings that cannot work (verification without roots, no suite left).
    #[error("invalid TLS client settings: {0}")]
    ClientSettings(String),
    /// One connection's handshake failed (the context is fine).
    #[error("TLS handshake failed: {message}")]
    Handshake {
        /// What kind of failure it was.
        reason: HandshakeFailure,
        /// What went wrong, then what the library said.
        message: String,
    },
}

impl TlsError {
    /// The kind of a handshake failure; `None` for errors that are not one.
    pub fn handshake_failure(&self) -> Option<HandshakeFailure> {
        match self {
            Self::Handshake { reason, .. } => Some(*reason),
            _ => None,
        }
    }
}
