//! Auto-TLS: when `security.auto-tls` is on and no certificate is configured, the
//! server gets its certificates from [`ensure`] on `<data-dir>/tls`.
//!
//! The directory (mode 0700) holds a private CA and two certificates it signed:
//!
//! | file | what | validity |
//! |---|---|---|
//! | `ca.pem`, `ca-key.pem` | CA (`CA:TRUE`, pathlen 0, keyCertSign + cRLSign), subject [`CA_SUBJECT`] | 10 years |
//! | `server-cert.pem`, `server-key.pem` | serverAuth; SANs `localhost`, `127.0.0.1`, `::1` and the host name; subject [`SERVER_SUBJECT`] | 1 year, renewed |
//! | `client-cert.pem`, `client-key.pem` | clientAuth; subject [`CLIENT_SUBJECT`] (for `REQUIRE SUBJECT`) | as long as the CA |
//!
//! Keys are 0600, certificates 0644. Clients connect with
//! `--ssl-mode=VERIFY_IDENTITY --ssl-ca=<data-dir>/tls/ca.pem`, and log in with
//! `--ssl-cert=client-cert.pem --ssl-key=client-key.pem` as accounts that `REQUIRE X509`.
//!
//! Existing files are always reused, after checking that they parse, that keys match their
//! certificates and that the certificates verify against the CA. A damaged file is an error that
//! names it: the CA may already be trusted by clients, so it is never replaced silently. Only the
//! server certificate is reissued, under the same CA: when it expires within `renew_within`, when
//! the host name is missing from it, or (at startup) when `auto-tls-key` asks for another key
//! type. Renewal keeps the server key, so the certificate file alone changes, and every file is
//! replaced atomically (temporary file + rename): a concurrent reload never sees half a file or a
//! key that does not match.

use std::fs::{self, DirBuilder, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PKCS_RSA_SHA256, PublicKeyData,
    RsaKeySize, SanType, SerialNumber,
};
use rustls_pki_types::{CertificateDer, ServerName};
use time::OffsetDateTime;
use tlsql_tls_api::cert::{self, CertSummary};
use tlsql_tls_api::{SubjectAltName, TlsError};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use crate::config::AutoTlsKey;

/// Subject of the generated CA.
pub const CA_SUBJECT: &str = "/CN=tlsql auto-tls CA";
/// Subject of the generated server certificate.
pub const SERVER_SUBJECT: &str = "/CN=tlsql auto-tls server";
/// Subject of the generated client certificate, as `REQUIRE SUBJECT` takes it.
pub const CLIENT_SUBJECT: &str = "/CN=tlsql auto-tls client";

const CA_VALIDITY: time::Duration = time::Duration::days(3650);
const SERVER_VALIDITY: time::Duration = time::Duration::days(365);
/// Certificates start slightly in the past so that a client whose clock is a little behind
/// still accepts a certificate made a moment ago.
const BACKDATE: time::Duration = time::Duration::hours(1);

const KEY_MODE: u32 = crate::files::PRIVATE_MODE;
/// Certificates are public, but nothing in the data directory is readable by other users.
const CERT_MODE: u32 = crate::files::GROUP_READABLE_MODE;
const DIR_MODE: u32 = 0o700;

/// The six files of an auto-TLS directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AutoTlsPaths {
    /// The directory, `<data-dir>/tls`.
    pub dir: PathBuf,
    /// `ca.pem`: what clients trust (`--ssl-ca`), and what client certificates are verified
    /// against.
    pub ca_cert: PathBuf,
    /// `ca-key.pem`.
    pub ca_key: PathBuf,
    /// `server-cert.pem`.
    pub server_cert: PathBuf,
    /// `server-key.pem`.
    pub server_key: PathBuf,
    /// `client-cert.pem`.
    pub client_cert: PathBuf,
    /// `client-key.pem`.
    pub client_key: PathBuf,
}

impl AutoTlsPaths {
    /// The file names inside `dir`.
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            ca_cert: dir.join("ca.pem"),
            ca_key: dir.join("ca-key.pem"),
            server_cert: dir.join("server-cert.pem"),
            server_key: dir.join("server-key.pem"),
            client_cert: dir.join("client-cert.pem"),
            client_key: dir.join("client-key.pem"),
        }
    }
}

/// What [`ensure`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// A new CA and certificates were generated: clients need the new `ca.pem`.
    Created,
    /// Every existing file was reused unchanged (a missing client pair may have been issued).
    Reused,
    /// The server certificate was reissued under the existing CA: reload TLS.
    Renewed,
}

/// The result of [`ensure`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AutoTlsFiles {
    /// Where the files are.
    pub paths: AutoTlsPaths,
    /// What was done.
    pub outcome: Outcome,
    /// When the server certificate now in place expires.
    pub server_not_after: OffsetDateTime,
}

/// Why auto-TLS files could not be created or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AutoTlsError {
    /// The directory could not be created.
    #[error("cannot create directory {}: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// Whether a file exists could not be determined.
    #[error("cannot access {}: {source}", path.display())]
    Access {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// An existing file is unreadable or not PEM of the right kind (the message names it).
    #[error(transparent)]
    File(#[from] TlsError),
    /// An existing file is readable but wrong: damaged, mismatched or expired.
    #[error("{}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },
    /// Half of the CA is missing: replacing it would silently invalidate a CA that clients
    /// may trust.
    #[error(
        "{} is missing but {} exists; auto-tls never replaces a CA that clients may already trust: restore the missing file, or remove every file in {} to generate a new CA",
        missing.display(), present.display(), dir.display()
    )]
    Incomplete {
        /// The missing file.
        missing: PathBuf,
        /// A file that exists.
        present: PathBuf,
        /// The auto-TLS directory.
        dir: PathBuf,
    },
    /// Key or certificate generation failed.
    #[error("cannot generate auto-TLS certificates: {0}")]
    Generate(#[from] rcgen::Error),
}

/// Creates the auto-TLS files in `dir` when absent, or checks and reuses them. The server
/// certificate is reissued (same CA) when it expires within `renew_within`, lacks the host name,
/// or has a key of another type than `key`.
pub fn ensure(
    dir: &Path,
    key: AutoTlsKey,
    renew_within: Duration,
) -> Result<AutoTlsFiles, AutoTlsError> {
    ensure_at(dir, key, renew_within, OffsetDateTime::now_utc())
}

/// For the server's periodic check: reissues the server certificate (same CA, same key) when
/// it expires within `renew_within` or lacks the host name. Returns whether it did, in which
/// case TLS should be reloaded. The files must exist ([`ensure`] made them).
pub fn renew_if_due(dir: &Path, renew_within: Duration) -> Result<bool, AutoTlsError> {
    renew_if_due_at(dir, renew_within, OffsetDateTime::now_utc())
}

fn ensure_at(
    dir: &Path,
    key: AutoTlsKey,
    renew_within: Duration,
    now: OffsetDateTime,
) -> Result<AutoTlsFiles, AutoTlsError> {
    let now = whole_seconds(now);
    let paths = AutoTlsPaths::new(dir);
    create_dir(dir)?;

    match (exists(&paths.ca_cert)?, exists(&paths.ca_key)?) {
        (true, true) => {}
        (false, false) => {
            for other in [
                &paths.server_cert,
                &paths.server_key,
                &paths.client_cert,
                &paths.client_key,
            ] {
                if exists(other)? {
                    return Err(incomplete(&paths, &paths.ca_cert, other));
                }
            }
            return create_all(paths, key, renew_within, now);
        }
        (true, false) => return Err(incomplete(&paths, &paths.ca_key, &paths.ca_cert)),
        (false, true) => return Err(incomplete(&paths, &paths.ca_cert, &paths.ca_key)),
    }

    let ca = Ca::load(&paths, now)?;

    // An existing client pair is only checked: users may have copied it to their clients.
    if load_pair(&paths.client_cert, &paths.client_key, &ca)?.is_none() {
        let client_key = generate_key(key)?;
        let pem = issue(Role::Client, &client_key, &ca, now, ca.summary.not_after)?;
        write_atomic(
            &paths.client_key,
            client_key.serialize_pem().as_bytes(),
            KEY_MODE,
        )?;
        write_atomic(&paths.client_cert, pem.as_bytes(), CERT_MODE)?;
        log::info!(
            "auto-tls: issued a new client certificate {}",
            paths.client_cert.display()
        );
    }

    let Some(server) = load_pair(&paths.server_cert, &paths.server_key, &ca)? else {
        let not_after = server_not_after(now, renew_within, &ca);
        let server_key = generate_key(key)?;
        let pem = issue(Role::Server, &server_key, &ca, now, not_after)?;
        write_atomic(
            &paths.server_key,
            server_key.serialize_pem().as_bytes(),
            KEY_MODE,
        )?;
        write_atomic(&paths.server_cert, pem.as_bytes(), CERT_MODE)?;
        log::info!(
            "auto-tls: issued a new server certificate {}",
            paths.server_cert.display()
        );
        return Ok(AutoTlsFiles {
            paths,
            outcome: Outcome::Renewed,
            server_not_after: not_after,
        });
    };

    if server.key_type != Some(key) {
        let not_after = server_not_after(now, renew_within, &ca);
        let server_key = generate_key(key)?;
        let pem = issue(Role::Server, &server_key, &ca, now, not_after)?;
        // Startup only: nothing reads the pair yet, so the two renames need not be atomic
        // together.
        write_atomic(
            &paths.server_key,
            server_key.serialize_pem().as_bytes(),
            KEY_MODE,
        )?;
        write_atomic(&paths.server_cert, pem.as_bytes(), CERT_MODE)?;
        log::info!(
            "auto-tls: reissued the server certificate with a {key} key (auto-tls-key changed from {})",
            server.summary.key_type
        );
        return Ok(AutoTlsFiles {
            paths,
            outcome: Outcome::Renewed,
            server_not_after: not_after,
        });
    }

    match renew_server(&paths, &server, &ca, renew_within, now)? {
        Some(not_after) => Ok(AutoTlsFiles {
            paths,
            outcome: Outcome::Renewed,
            server_not_after: not_after,
        }),
        None => Ok(AutoTlsFiles {
            paths,
            outcome: Outcome::Reused,
            server_not_after: server.summary.not_after,
        }),
    }
}

fn renew_if_due_at(
    dir: &Path,
    renew_within: Duration,
    now: OffsetDateTime,
) -> Result<bool, AutoTlsError> {
    let now = whole_seconds(now);
    let paths = AutoTlsPaths::new(dir);
    let ca = Ca::load(&paths, now)?;
    let server = load_leaf(&paths.server_cert, &paths.server_key, &ca)?;
    Ok(renew_server(&paths, &server, &ca, renew_within, now)?.is_some())
}

/// Reissues the server certificate with its existing key when it is due; returns the new
/// expiry.
fn renew_server(
    paths: &AutoTlsPaths,
    server: &Leaf,
    ca: &Ca,
    renew_within: Duration,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>, AutoTlsError> {
    let expiring = expires_within(server.summary.not_after, now, renew_within);
    let missing_names: Vec<String> = server_names()
        .iter()
        .filter(|name| {
            !server
                .summary
                .subject_alt_names
                .iter()
                .any(|san| same_name(san, name))
        })
        .map(san_text)
        .collect();
    if !expiring && missing_names.is_empty() {
        return Ok(None);
    }
    let not_after = server_not_after(now, renew_within, ca);
    if missing_names.is_empty() && not_after <= server.summary.not_after {
        // The CA ends first: a new certificate would not last longer than this one.
        log::warn!(
            "auto-tls: the server certificate expires on {} and cannot be renewed beyond the CA, which expires on {}; remove every file in {} to generate a new CA (clients must then trust the new ca.pem)",
            cert::format_time(server.summary.not_after),
            cert::format_time(ca.summary.not_after),
            paths.dir.display()
        );
        return Ok(None);
    }
    let pem = issue(Role::Server, &server.key, ca, now, not_after)?;
    write_atomic(&paths.server_cert, pem.as_bytes(), CERT_MODE)?;
    if expiring {
        log::info!(
            "auto-tls: renewed the server certificate, which expired or was to expire on {}; it now expires on {}",
            cert::format_time(server.summary.not_after),
            cert::format_time(not_after)
        );
    } else {
        log::info!(
            "auto-tls: reissued the server certificate to add {}",
            missing_names.join(", ")
        );
    }
    Ok(Some(not_after))
}

fn create_all(
    paths: AutoTlsPaths,
    key: AutoTlsKey,
    renew_within: Duration,
    now: OffsetDateTime,
) -> Result<AutoTlsFiles, AutoTlsError> {
    let (ca, ca_pem, ca_key_pem) = new_ca(key, now, CA_VALIDITY, &paths.ca_cert)?;
    let client_key = generate_key(key)?;
    let client_pem = issue(Role::Client, &client_key, &ca, now, ca.summary.not_after)?;
    let server_key = generate_key(key)?;
    let server_not_after = server_not_after(now, renew_within, &ca);
    let server_pem = issue(Role::Server, &server_key, &ca, now, server_not_after)?;

    // The CA first: if this is interrupted, the next start finds a CA and issues what is
    // missing instead of refusing to touch a half-made directory.
    write_atomic(&paths.ca_key, ca_key_pem.as_bytes(), KEY_MODE)?;
    write_atomic(&paths.ca_cert, ca_pem.as_bytes(), CERT_MODE)?;
    write_atomic(
        &paths.client_key,
        client_key.serialize_pem().as_bytes(),
        KEY_MODE,
    )?;
    write_atomic(&paths.client_cert, client_pem.as_bytes(), CERT_MODE)?;
    write_atomic(
        &paths.server_key,
        server_key.serialize_pem().as_bytes(),
        KEY_MODE,
    )?;
    write_atomic(&paths.server_cert, server_pem.as_bytes(), CERT_MODE)?;
    log::info!(
        "auto-tls: generated a new {key} CA and certificates in {}; clients verify the server with --ssl-ca={}",
        paths.dir.display(),
        paths.ca_cert.display()
    );
    Ok(AutoTlsFiles {
        paths,
        outcome: Outcome::Created,
        server_not_after,
    })
}

/// A new CA valid for `validity` from `now`: checked and ready to sign, and its certificate and
/// key as PEM.
fn new_ca(
    key: AutoTlsKey,
    now: OffsetDateTime,
    validity: time::Duration,
    path: &Path,
) -> Result<(Ca, String, String), AutoTlsError> {
    let ca_key = generate_key(key)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = common_name("tlsql auto-tls CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.serial_number = Some(random_serial());
    params.not_before = now.saturating_sub(BACKDATE);
    params.not_after = now.saturating_add(validity);
    let ca_cert = params.self_signed(&ca_key)?;
    let ca_key_pem = ca_key.serialize_pem();
    let ca = Ca::from_parts(ca_cert.der().clone(), ca_key, path)?;
    Ok((ca, ca_cert.pem(), ca_key_pem))
}

/// Writes the six files of [`AutoTlsPaths`] into `dir` (created 0700 when missing), made like
/// auto-tls's (same key types, extensions, subjects and modes) except that the server
/// certificate names `server_names` and every certificate is valid for `validity`: what
/// `tlsql certs` does. An existing file is never overwritten: that is an error naming it, and
/// nothing is written.
pub fn generate_set(
    dir: &Path,
    key: AutoTlsKey,
    server_names: Vec<SanType>,
    validity: time::Duration,
) -> Result<AutoTlsPaths, AutoTlsError> {
    let paths = AutoTlsPaths::new(dir);
    let files = [
        &paths.ca_cert,
        &paths.ca_key,
        &paths.server_cert,
        &paths.server_key,
        &paths.client_cert,
        &paths.client_key,
    ];
    for path in files {
        if exists(path)? {
            return Err(invalid(
                path,
                "already exists; tlsql certs never overwrites a file: remove it or choose another --out",
            ));
        }
    }
    create_dir(dir)?;
    let now = whole_seconds(OffsetDateTime::now_utc());
    let (ca, ca_pem, ca_key_pem) = new_ca(key, now, validity, &paths.ca_cert)?;
    let client_key = generate_key(key)?;
    let client_pem = issue(Role::Client, &client_key, &ca, now, ca.summary.not_after)?;
    let server_key = generate_key(key)?;
    let mut server = issue_params(Role::Server, &server_key, now, ca.summary.not_after);
    server.subject_alt_names = server_names;
    let server_pem = server.signed_by(&server_key, &ca.issuer)?.pem();
    let contents = [
        (ca_pem, CERT_MODE),
        (ca_key_pem, KEY_MODE),
        (server_pem, CERT_MODE),
        (server_key.serialize_pem(), KEY_MODE),
        (client_pem, CERT_MODE),
        (client_key.serialize_pem(), KEY_MODE),
    ];
    for (path, (pem, mode)) in files.into_iter().zip(contents) {
        write_atomic(path, pem.as_bytes(), mode)?;
    }
    Ok(paths)
}

/// The CA, checked and ready to sign.
struct Ca {
    der: CertificateDer<'static>,
    summary: CertSummary,
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    fn load(paths: &AutoTlsPaths, now: OffsetDateTime) -> Result<Self, AutoTlsError> {
        let der = first_certificate(&paths.ca_cert)?;
        let key = load_key(&paths.ca_key)?;
        let ca = Self::from_parts(der, key, &paths.ca_cert)?;
        if now > ca.summary.not_after {
            return Err(invalid(
                &paths.ca_cert,
                format!(
                    "the auto-TLS CA expired on {}; remove every file in {} to generate a new one (clients must then trust the new ca.pem)",
                    cert::format_time(ca.summary.not_after),
                    paths.dir.display()
                ),
            ));
        }
        Ok(ca)
    }

    fn from_parts(
        der: CertificateDer<'static>,
        key: KeyPair,
        path: &Path,
    ) -> Result<Self, AutoTlsError> {
        let (_, x509) = X509Certificate::from_der(&der)
            .map_err(|e| invalid(path, format!("invalid X.509 certificate: {e}")))?;
        let is_ca = matches!(x509.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
        if !is_ca {
            return Err(invalid(
                path,
                "not a CA certificate (basicConstraints CA:TRUE is missing)",
            ));
        }
        if key.subject_public_key_info() != x509.public_key().raw {
            return Err(invalid(
                path,
                "the key in ca-key.pem does not belong to this certificate",
            ));
        }
        let summary = CertSummary::from_der(&der).map_err(|e| invalid(path, e))?;
        let issuer = Issuer::from_ca_cert_der(&der, key)
            .map_err(|e| invalid(path, format!("cannot use this certificate to sign: {e}")))?;
        Ok(Self {
            der,
            summary,
            issuer,
        })
    }
}

/// A server or client certificate with its key, checked against the CA.
struct Leaf {
    key: KeyPair,
    summary: CertSummary,
    key_type: Option<AutoTlsKey>,
}

/// Loads a certificate and key pair; `None` when both are absent. When only one of them
/// exists the pair is useless (its other half is gone), so it is reissued, with a warning.
fn load_pair(cert_path: &Path, key_path: &Path, ca: &Ca) -> Result<Option<Leaf>, AutoTlsError> {
    match (exists(cert_path)?, exists(key_path)?) {
        (true, true) => load_leaf(cert_path, key_path, ca).map(Some),
        (false, false) => Ok(None),
        (present, _) => {
            let (have, lack) = if present {
                (cert_path, key_path)
            } else {
                (key_path, cert_path)
            };
            log::warn!(
                "auto-tls: {} exists without {}; issuing a new pair",
                have.display(),
                lack.display()
            );
            Ok(None)
        }
    }
}

fn load_leaf(cert_path: &Path, key_path: &Path, ca: &Ca) -> Result<Leaf, AutoTlsError> {
    let der = first_certificate(cert_path)?;
    let (_, x509) = X509Certificate::from_der(&der)
        .map_err(|e| invalid(cert_path, format!("invalid X.509 certificate: {e}")))?;
    let (_, ca_x509) = X509Certificate::from_der(&ca.der)
        .map_err(|e| invalid(cert_path, format!("invalid CA certificate: {e}")))?;
    if x509.verify_signature(Some(ca_x509.public_key())).is_err() {
        return Err(invalid(
            cert_path,
            "not signed by the auto-TLS CA in ca.pem (damaged, or left from another CA); remove it and its key to issue a new one",
        ));
    }
    let key = load_key(key_path)?;
    if key.subject_public_key_info() != x509.public_key().raw {
        return Err(invalid(
            key_path,
            format!(
                "this key does not belong to {}; remove both files to issue a new pair",
                cert_path.display()
            ),
        ));
    }
    let summary = CertSummary::from_der(&der).map_err(|e| invalid(cert_path, e))?;
    let key_type = AutoTlsKey::ALL
        .into_iter()
        .find(|k| key_label(*k) == summary.key_type);
    Ok(Leaf {
        key,
        summary,
        key_type,
    })
}

fn first_certificate(path: &Path) -> Result<CertificateDer<'static>, AutoTlsError> {
    // read_certificates never returns an empty list.
    cert::read_certificates(path)?
        .into_iter()
        .next()
        .ok_or_else(|| invalid(path, "no certificate found"))
}

fn load_key(path: &Path) -> Result<KeyPair, AutoTlsError> {
    let der = cert::read_private_key(path)?;
    KeyPair::try_from(&der).map_err(|e| invalid(path, format!("unusable private key: {e}")))
}

/// How [`CertSummary::key_type`] names each key type.
fn key_label(key: AutoTlsKey) -> &'static str {
    match key {
        AutoTlsKey::EcdsaP256 => "ECDSA P-256",
        AutoTlsKey::Rsa2048 => "RSA 2048",
        AutoTlsKey::Rsa4096 => "RSA 4096",
    }
}

fn generate_key(key: AutoTlsKey) -> Result<KeyPair, rcgen::Error> {
    match key {
        AutoTlsKey::EcdsaP256 => KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256),
        AutoTlsKey::Rsa2048 => KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048),
        AutoTlsKey::Rsa4096 => KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_4096),
    }
}

#[derive(Clone, Copy)]
enum Role {
    Server,
    Client,
}

/// Signs a server or client certificate for `key` with the CA; returns it as PEM.
fn issue(
    role: Role,
    key: &KeyPair,
    ca: &Ca,
    now: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<String, AutoTlsError> {
    Ok(issue_params(role, key, now, not_after)
        .signed_by(key, &ca.issuer)?
        .pem())
}

/// The parameters [`issue`] signs.
fn issue_params(
    role: Role,
    key: &KeyPair,
    now: OffsetDateTime,
    not_after: OffsetDateTime,
) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.is_ca = IsCa::ExplicitNoCa;
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(random_serial());
    params.not_before = now.saturating_sub(BACKDATE);
    params.not_after = not_after;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    match role {
        Role::Server => {
            params.distinguished_name = common_name("tlsql auto-tls server");
            params.subject_alt_names = server_names();
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            // TLS 1.2 suites without forward secrecy encrypt the premaster secret to the
            // server's RSA key.
            if key.algorithm() == &PKCS_RSA_SHA256 {
                params.key_usages.push(KeyUsagePurpose::KeyEncipherment);
            }
        }
        Role::Client => {
            params.distinguished_name = common_name("tlsql auto-tls client");
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        }
    }
    params
}

fn common_name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

/// `localhost`, `127.0.0.1`, `::1` and this machine's host name when it is a valid DNS name,
/// so that `VERIFY_IDENTITY` works however a local client names the server.
fn server_names() -> Vec<SanType> {
    let mut names = vec![
        SanType::IpAddress([127, 0, 0, 1].into()),
        SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()),
    ];
    let mut dns = vec!["localhost".to_string()];
    if let Ok(host) = gethostname::gethostname().into_string() {
        let host = host.to_ascii_lowercase();
        if matches!(
            ServerName::try_from(host.as_str()),
            Ok(ServerName::DnsName(_))
        ) && host != "localhost"
        {
            dns.push(host);
        }
    }
    for name in dns {
        // Names accepted by ServerName are ASCII, which is all an IA5String needs.
        if let Ok(name) = name.try_into() {
            names.push(SanType::DnsName(name));
        }
    }
    names
}

fn same_name(present: &SubjectAltName, wanted: &SanType) -> bool {
    match (present, wanted) {
        (SubjectAltName::Dns(p), SanType::DnsName(w)) => p.eq_ignore_ascii_case(w.as_str()),
        (SubjectAltName::Ip(p), SanType::IpAddress(w)) => p == w,
        _ => false,
    }
}

fn san_text(san: &SanType) -> String {
    match san {
        SanType::DnsName(name) => format!("DNS:{}", name.as_str()),
        SanType::IpAddress(ip) => format!("IP:{ip}"),
        other => format!("{other:?}"),
    }
}

/// One year, but at least twice `renew_within` (so a new certificate is not due at once), and
/// never beyond the CA.
fn server_not_after(now: OffsetDateTime, renew_within: Duration, ca: &Ca) -> OffsetDateTime {
    let within = time::Duration::try_from(renew_within).unwrap_or(time::Duration::MAX);
    let validity = SERVER_VALIDITY.max(within.saturating_mul(2));
    now.checked_add(validity)
        .map_or(ca.summary.not_after, |t| t.min(ca.summary.not_after))
}

fn expires_within(not_after: OffsetDateTime, now: OffsetDateTime, within: Duration) -> bool {
    let within = time::Duration::try_from(within).unwrap_or(time::Duration::MAX);
    now.checked_add(within)
        .is_none_or(|limit| not_after <= limit)
}

/// Certificates hold whole seconds; comparing against a `now` with a fraction would make a
/// certificate issued this second look a little older than it is.
fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

pub(crate) fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    // Positive and without a leading zero byte, so it encodes in exactly 16 bytes.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::from_slice(&bytes)
}

fn create_dir(dir: &Path) -> Result<(), AutoTlsError> {
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {
            if meta.permissions().mode() & 0o077 != 0 {
                log::warn!(
                    "auto-tls: {} is accessible to other users (mode {:o}); 0700 is recommended because it holds private keys",
                    dir.display(),
                    meta.permissions().mode() & 0o777
                );
            }
            Ok(())
        }
        Ok(_) => Err(AutoTlsError::CreateDir {
            path: dir.to_path_buf(),
            source: io::Error::new(
                io::ErrorKind::AlreadyExists,
                "exists and is not a directory",
            ),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let fail = |source| AutoTlsError::CreateDir {
                path: dir.to_path_buf(),
                source,
            };
            DirBuilder::new()
                .recursive(true)
                .mode(DIR_MODE)
                .create(dir)
                .map_err(fail)?;
            // The umask may have taken bits away; set exactly 0700.
            fs::set_permissions(dir, Permissions::from_mode(DIR_MODE)).map_err(fail)
        }
        Err(source) => Err(AutoTlsError::Access {
            path: dir.to_path_buf(),
            source,
        }),
    }
}

fn exists(path: &Path) -> Result<bool, AutoTlsError> {
    path.try_exists().map_err(|source| AutoTlsError::Access {
        path: path.to_path_buf(),
        source,
    })
}

/// Distinguishes temporary files of concurrent writers in one process.
/// [`crate::files::write_atomic`], with the file named in the error.
fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<(), AutoTlsError> {
    crate::files::write_atomic(path, contents, mode).map_err(|source| AutoTlsError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn invalid(path: &Path, reason: impl Into<String>) -> AutoTlsError {
    AutoTlsError::Invalid {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn incomplete(paths: &AutoTlsPaths, missing: &Path, present: &Path) -> AutoTlsError {
    AutoTlsError::Incomplete {
        missing: missing.to_path_buf(),
        present: present.to_path_buf(),
        dir: paths.dir.clone(),
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use rustls_pki_types::UnixTime;
    use x509_parser::extensions::GeneralName;

    use super::*;

    const MONTH: Duration = Duration::from_secs(30 * 86400);

    fn now() -> OffsetDateTime {
        whole_seconds(OffsetDateTime::now_utc())
    }

    fn days(n: i64) -> time::Duration {
        time::Duration::days(n)
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn all(paths: &AutoTlsPaths) -> [&PathBuf; 6] {
        [
            &paths.ca_cert,
            &paths.ca_key,
            &paths.server_cert,
            &paths.server_key,
            &paths.client_cert,
            &paths.client_key,
        ]
    }

    fn contents(paths: &AutoTlsPaths) -> Vec<Vec<u8>> {
        all(paths).iter().map(|p| fs::read(p).unwrap()).collect()
    }

    fn der(path: &Path) -> CertificateDer<'static> {
        first_certificate(path).unwrap()
    }

    fn summary(path: &Path) -> CertSummary {
        CertSummary::from_der(&der(path)).unwrap()
    }

    /// (serverAuth, clientAuth) of a certificate's extended key usage.
    fn ekus(path: &Path) -> (bool, bool) {
        let der = der(path);
        let (_, x509) = X509Certificate::from_der(&der).unwrap();
        let eku = x509.extended_key_usage().unwrap().unwrap().value;
        (eku.server_auth, eku.client_auth)
    }

    fn fresh(key: AutoTlsKey) -> (tempfile::TempDir, AutoTlsFiles) {
        let tmp = tempfile::tempdir().unwrap();
        let files = ensure_at(&tmp.path().join("tls"), key, MONTH, now()).unwrap();
        (tmp, files)
    }

    #[test]
    fn creates_every_file_with_private_modes() {
        let (_tmp, files) = fresh(AutoTlsKey::EcdsaP256);
        assert_eq!(files.outcome, Outcome::Created);
        let p = &files.paths;
        assert_eq!(mode(&p.dir), 0o700);
        for key in [&p.ca_key, &p.server_key, &p.client_key] {
            assert_eq!(mode(key), 0o600, "{}", key.display());
        }
        for cert in [&p.ca_cert, &p.server_cert, &p.client_cert] {
            assert_eq!(mode(cert), 0o640, "{}", cert.display());
        }
        // Nothing else: no temporary files left behind.
        assert_eq!(fs::read_dir(&p.dir).unwrap().count(), 6);
        assert_eq!(files.server_not_after, summary(&p.server_cert).not_after);
    }

    #[test]
    fn certificates_have_the_promised_names_and_usages() {
        let start = now();
        let (_tmp, files) = fresh(AutoTlsKey::EcdsaP256);
        let p = &files.paths;

        let ca_der = der(&p.ca_cert);
        let (_, ca) = X509Certificate::from_der(&ca_der).unwrap();
        let bc = ca.basic_constraints().unwrap().unwrap().value;
        assert!(bc.ca);
        assert_eq!(bc.path_len_constraint, Some(0));
        let ku = ca.key_usage().unwrap().unwrap().value;
        assert!(ku.key_cert_sign() && ku.crl_sign());
        let ca_summary = summary(&p.ca_cert);
        assert_eq!(ca_summary.subject, CA_SUBJECT);
        assert!(ca_summary.not_after >= start + days(3650));

        let server = summary(&p.server_cert);
        assert_eq!(server.subject, SERVER_SUBJECT);
        assert_eq!(server.issuer, CA_SUBJECT);
        assert_eq!(ekus(&p.server_cert), (true, false));
        let sans = &server.subject_alt_names;
        assert!(sans.contains(&SubjectAltName::Dns("localhost".into())));
        assert!(sans.contains(&SubjectAltName::Ip("127.0.0.1".parse().unwrap())));
        assert!(sans.contains(&SubjectAltName::Ip("::1".parse().unwrap())));
        let host = gethostname::gethostname().into_string().unwrap();
        if matches!(
            ServerName::try_from(host.as_str()),
            Ok(ServerName::DnsName(_))
        ) {
            assert!(
                sans.contains(&SubjectAltName::Dns(host.to_ascii_lowercase())),
                "{sans:?}"
            );
        }
        assert!(server.not_before < start);
        assert!(server.not_after >= start + days(365));
        assert!(server.not_after < start + days(366));

        let client = summary(&p.client_cert);
        assert_eq!(client.subject, CLIENT_SUBJECT);
        assert_eq!(client.issuer, CA_SUBJECT);
        assert_eq!(ekus(&p.client_cert), (false, true));
        assert!(client.subject_alt_names.is_empty());
        assert_eq!(client.not_after, ca_summary.not_after);

        // Fresh random serials, not the key-derived default.
        let serial = |path: &Path| {
            let der = der(path);
            let (_, x509) = X509Certificate::from_der(&der).unwrap();
            x509.raw_serial().to_vec()
        };
        assert_ne!(serial(&p.server_cert), serial(&p.client_cert));
        assert_eq!(serial(&p.server_cert).len(), 16);
    }

    #[test]
    fn existing_files_are_reused_unchanged() {
        let (tmp, files) = fresh(AutoTlsKey::EcdsaP256);
        let before = contents(&files.paths);
        let again =
            ensure_at(&tmp.path().join("tls"), AutoTlsKey::EcdsaP256, MONTH, now()).unwrap();
        assert_eq!(again.outcome, Outcome::Reused);
        assert_eq!(again.paths, files.paths);
        assert_eq!(again.server_not_after, files.server_not_after);
        assert_eq!(contents(&files.paths), before);
        assert!(!renew_if_due_at(&files.paths.dir, MONTH, now()).unwrap());
        assert_eq!(contents(&files.paths), before);
    }

    #[test]
    fn every_key_type() {
        for key in AutoTlsKey::ALL {
            let (_tmp, files) = fresh(key);
            let p = &files.paths;
            for cert in [&p.ca_cert, &p.server_cert, &p.client_cert] {
                assert_eq!(summary(cert).key_type, key_label(key), "{key}");
            }
            let server_der = der(&p.server_cert);
            let (_, server) = X509Certificate::from_der(&server_der).unwrap();
            let usage = server.key_usage().unwrap().unwrap().value;
            assert!(usage.digital_signature());
            assert_eq!(
                usage.key_encipherment(),
                key != AutoTlsKey::EcdsaP256,
                "{key}"
            );
            let loaded = load_leaf(&p.server_cert, &p.server_key, &Ca::load(p, now()).unwrap());
            assert_eq!(loaded.unwrap().key_type, Some(key));
        }
    }

    #[test]
    fn server_certificate_is_renewed_before_it_expires() {
        let (tmp, files) = fresh(AutoTlsKey::EcdsaP256);
        let p = files.paths.clone();
        let before = contents(&p);
        let created = files.server_not_after;

        // 40 days before expiry: not yet due with a 30-day window.
        let early = now() + days(325);
        assert!(!renew_if_due_at(&p.dir, MONTH, early).unwrap());
        assert_eq!(contents(&p), before);

        // 20 days before expiry: due.
        let later = now() + days(345);
        let renewed =
            ensure_at(&tmp.path().join("tls"), AutoTlsKey::EcdsaP256, MONTH, later).unwrap();
        assert_eq!(renewed.outcome, Outcome::Renewed);
        assert!(renewed.server_not_after >= later + days(365));
        assert!(renewed.server_not_after > created);
        let after = contents(&p);
        for (i, path) in all(&p).iter().enumerate() {
            // Only the server certificate changes: same CA, same key, same client pair.
            assert_eq!(
                after[i] != before[i],
                **path == p.server_cert,
                "{}",
                path.display()
            );
        }
        assert_eq!(summary(&p.server_cert).not_after, renewed.server_not_after);
        assert_eq!(mode(&p.server_cert), 0o640);

        // The timer's entry point renews too, once.
        let much_later = later + days(350);
        assert!(renew_if_due_at(&p.dir, MONTH, much_later).unwrap());
        assert!(!renew_if_due_at(&p.dir, MONTH, much_later).unwrap());
        assert_eq!(fs::read_dir(&p.dir).unwrap().count(), 6);
    }

    #[test]
    fn an_expired_server_certificate_is_renewed() {
        let (tmp, files) = fresh(AutoTlsKey::EcdsaP256);
        let at = now() + days(400);
        let renewed = ensure_at(&tmp.path().join("tls"), AutoTlsKey::EcdsaP256, MONTH, at).unwrap();
        assert_eq!(renewed.outcome, Outcome::Renewed);
        assert!(summary(&files.paths.server_cert).is_valid_at(at));
    }

    #[test]
    fn renewal_never_outlives_the_ca() {
        let (_tmp, files) = fresh(AutoTlsKey::EcdsaP256);
        let p = &files.paths;
        let ca_end = summary(&p.ca_cert).not_after;
        let at = ca_end - days(20);
        assert!(renew_if_due_at(&p.dir, MONTH, at).unwrap());
        assert_eq!(summary(&p.server_cert).not_after, ca_end);
        // Still "due", but a new certificate could not last longer: no reissue loop.
        let before = contents(p);
        assert!(!renew_if_due_at(&p.dir, MONTH, at + days(1)).unwrap());
        assert_eq!(contents(p), before);
    }

    #[test]
    fn expired_ca_is_an_error_naming_it() {
        let (_tmp, files) = fresh(AutoTlsKey::EcdsaP256);
        let p = &files.paths;
        let at = summary(&p.ca_cert).not_after + days(1);
        let err = ensure_at(&p.dir, AutoTlsKey::EcdsaP256, MONTH, at)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!(
                "{}: the auto-TLS CA expired on",
                p.ca_cert.display()
            )),
            "{err}"
        );
    }

    #[test]
    fn changing_the_key_type_reissues_only_the_server_pair() {
        let (tmp, files) = fresh(AutoTlsKey::EcdsaP256);
        let p = files.paths.clone();
        let before = contents(&p);
        let again = ensure_at(&tmp.path().join("tls"), AutoTlsKey::Rsa2048, MONTH, now()).unwrap();
        assert_eq!(again.outcome, Outcome::Renewed);
        assert_eq!(summary(&p.server_cert).key_type, "RSA 2048");
        assert_eq!(summary(&p.ca_cert).key_type, "ECDSA P-256");
        let after = contents(&p);
        for (i, path) in all(&p).iter().enumerate() {
            let server = **path == p.server_cert || **path == p.server_key;
            assert_eq!(after[i] != before[i], server, "{}", path.display());
        }
        assert_eq!(
            ensure_at(&p.dir, AutoTlsKey::Rsa2048, MONTH, now())
                .unwrap()
                .outcome,
            Outcome::Reused
        );
    }

    #[test]
    fn damaged_files_are_errors_that_name_them() {
        let (_tmp, files) = fresh(AutoTlsKey::EcdsaP256);
        let p = &files.paths;
        let pristine = contents(p);
        let restore = || {
            for (path, bytes) in all(p).iter().zip(&pristine) {
                fs::write(path, bytes).unwrap();
            }
        };
        let err_for = || {
            ensure_at(&p.dir, AutoTlsKey::EcdsaP256, MONTH, now())
                .unwrap_err()
                .to_string()
        };

        // Garbage instead of the CA.
        fs::write(&p.ca_cert, "not a certificate\n").unwrap();
        let err = err_for();
        assert!(err.starts_with(&p.ca_cert.display().to_string()), "{err}");
        assert_eq!(
            fs::read(&p.ca_cert).unwrap(),
            b"not a certificate\n",
            "never replaced"
        );
        restore();

        // A truncated certificate.
        let half = &pristine[2][..pristine[2].len() / 2];
        fs::write(&p.server_cert, half).unwrap();
        let err = err_for();
        assert!(
            err.starts_with(&p.server_cert.display().to_string()),
            "{err}"
        );
        restore();

        // A damaged CA key.
        fs::write(
            &p.ca_key,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let err = err_for();
        assert!(err.starts_with(&p.ca_key.display().to_string()), "{err}");
        restore();

        // Keys swapped between the pairs.
        fs::write(&p.server_key, &pristine[5]).unwrap();
        let err = err_for();
        assert!(
            err.starts_with(&format!(
                "{}: this key does not belong to",
                p.server_key.display()
            )),
            "{err}"
        );
        restore();

        // A certificate signed by another CA.
        let (_other_tmp, other) = fresh(AutoTlsKey::EcdsaP256);
        fs::copy(&other.paths.client_cert, &p.client_cert).unwrap();
        fs::copy(&other.paths.client_key, &p.client_key).unwrap();
        let err = err_for();
        assert!(
            err.starts_with(&format!(
                "{}: not signed by the auto-TLS CA",
                p.client_cert.display()
            )),
            "{err}"
        );
        restore();

        // A CA key that belongs to another CA.
        fs::copy(&other.paths.ca_key, &p.ca_key).unwrap();
        let err = err_for();
        assert!(err.contains("does not belong to this certificate"), "{err}");
        restore();

        assert_eq!(
            ensure_at(&p.dir, AutoTlsKey::EcdsaP256, MONTH, now())
                .unwrap()
                .outcome,
            Outcome::Reused
        );
    }

    #[test]
    fn half_a_ca_is_never_replaced() {
        let (_tmp, files) = fresh(AutoTlsKey::EcdsaP256);
        let p = &files.paths;
        fs::remove_file(&p.ca_key).unwrap();
        match ensure_at(&p.dir, AutoTlsKey::EcdsaP256, MONTH, now()) {
            Err(AutoTlsError::Incomplete {
                missing, present, ..
            }) => {
                assert_eq!(missing, p.ca_key);
                assert_eq!(present, p.ca_cert);
            }
            other => panic!("{other:?}"),
        }

        // Both CA files gone while certificates it issued remain: clients may trust the lost
        // CA, so no new one is made behind their back.
        fs::remove_file(&p.ca_cert).unwrap();
        let err = ensure_at(&p.dir, AutoTlsKey::EcdsaP256, MONTH, now()).unwrap_err();
        assert!(
            matches!(err, AutoTlsError::Incomplete { ref missing, .. } if *missing == p.ca_cert),
            "{err}"
        );
        assert!(!p.ca_cert.exists());
    }

    #[test]
    fn missing_leaf_pairs_are_issued_from_the_existing_ca() {
        let (_tmp, files) = fresh(AutoTlsKey::EcdsaP256);
        let p = &files.paths;
        let ca_before = fs::read(&p.ca_cert).unwrap();
        fs::remove_file(&p.server_cert).unwrap();
        fs::remove_file(&p.client_cert).unwrap();
        fs::remove_file(&p.client_key).unwrap();
        let again = ensure_at(&p.dir, AutoTlsKey::EcdsaP256, MONTH, now()).unwrap();
        assert_eq!(again.outcome, Outcome::Renewed);
        assert_eq!(fs::read(&p.ca_cert).unwrap(), ca_before);
        let ca = Ca::load(p, now()).unwrap();
        load_leaf(&p.server_cert, &p.server_key, &ca).unwrap();
        load_leaf(&p.client_cert, &p.client_key, &ca).unwrap();
        assert_eq!(mode(&p.client_key), 0o600);
    }

    #[test]
    fn renew_if_due_needs_the_files() {
        let tmp = tempfile::tempdir().unwrap();
        let err = renew_if_due(tmp.path(), MONTH).unwrap_err().to_string();
        assert!(err.contains("ca.pem"), "{err}");
    }

    /// Runs `openssl` with `args`; `None` when the binary is not installed.
    fn openssl(args: &[&str]) -> Option<(bool, String)> {
        let out = Command::new("openssl").args(args).output().ok()?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Some((out.status.success(), text))
    }

    #[test]
    fn openssl_verifies_the_certificates() {
        if openssl(&["version"]).is_none() {
            eprintln!("openssl binary not found: skipping");
            return;
        }
        for key in [AutoTlsKey::EcdsaP256, AutoTlsKey::Rsa2048] {
            let (_tmp, files) = fresh(key);
            let p = &files.paths;
            let s = |path: &PathBuf| path.to_str().unwrap().to_string();
            let (ca, server, client) = (s(&p.ca_cert), s(&p.server_cert), s(&p.client_cert));
            let verify = |extra: &[&str], cert: &str| {
                let mut args = vec!["verify", "-CAfile", ca.as_str()];
                args.extend_from_slice(extra);
                args.push(cert);
                openssl(&args).unwrap()
            };
            for extra in [
                &["-purpose", "sslserver"][..],
                &["-purpose", "sslserver", "-verify_hostname", "localhost"],
                &["-purpose", "sslserver", "-verify_ip", "127.0.0.1"],
                &["-purpose", "sslserver", "-verify_ip", "::1"],
            ] {
                let (ok, text) = verify(extra, &server);
                assert!(ok, "{key} {extra:?}: {text}");
            }
            let (ok, text) = verify(&["-purpose", "sslclient"], &client);
            assert!(ok, "{key}: {text}");

            // The checks can fail: wrong purposes and a name the certificate lacks.
            assert!(!verify(&["-purpose", "sslclient"], &server).0);
            assert!(!verify(&["-purpose", "sslserver"], &client).0);
            assert!(!verify(&["-verify_hostname", "example.com"], &server).0);

            for k in [&p.ca_key, &p.server_key, &p.client_key] {
                let (ok, text) = openssl(&["pkey", "-noout", "-in", k.to_str().unwrap()]).unwrap();
                assert!(ok, "{}: {text}", k.display());
            }
        }
    }

    #[test]
    fn webpki_verifies_the_certificates() {
        use webpki::aws_lc_rs::{ECDSA_P256_SHA256, RSA_PKCS1_2048_8192_SHA256};
        let algs: &[&dyn rustls_pki_types::SignatureVerificationAlgorithm] =
            &[ECDSA_P256_SHA256, RSA_PKCS1_2048_8192_SHA256];
        for key in [AutoTlsKey::EcdsaP256, AutoTlsKey::Rsa2048] {
            let (_tmp, files) = fresh(key);
            let p = &files.paths;
            let ca = der(&p.ca_cert);
            let anchors = [webpki::anchor_from_trusted_cert(&ca).unwrap()];
            let time = UnixTime::now();

            let server_der = der(&p.server_cert);
            let server = webpki::EndEntityCert::try_from(&server_der).unwrap();
            server
                .verify_for_usage(
                    algs,
                    &anchors,
                    &[],
                    time,
                    webpki::KeyUsage::server_auth(),
                    None,
                    None,
                )
                .unwrap();
            for name in ["localhost", "127.0.0.1", "::1"] {
                server
                    .verify_is_valid_for_subject_name(&ServerName::try_from(name).unwrap())
                    .unwrap();
            }
            assert!(
                server
                    .verify_is_valid_for_subject_name(&ServerName::try_from("example.com").unwrap())
                    .is_err()
            );
            assert!(
                server
                    .verify_for_usage(
                        algs,
                        &anchors,
                        &[],
                        time,
                        webpki::KeyUsage::client_auth(),
                        None,
                        None
                    )
                    .is_err()
            );

            let client_der = der(&p.client_cert);
            let client = webpki::EndEntityCert::try_from(&client_der).unwrap();
            client
                .verify_for_usage(
                    algs,
                    &anchors,
                    &[],
                    time,
                    webpki::KeyUsage::client_auth(),
                    None,
                    None,
                )
                .unwrap();
        }
    }

    #[test]
    fn san_names_in_certificates_are_the_advertised_ones() {
        // server_names() and what the certificate holds agree, so reuse does not reissue.
        let (_tmp, files) = fresh(AutoTlsKey::EcdsaP256);
        let der = der(&files.paths.server_cert);
        let (_, x509) = X509Certificate::from_der(&der).unwrap();
        let count = x509
            .subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
            .general_names
            .iter()
            .filter(|n| matches!(n, GeneralName::DNSName(_) | GeneralName::IPAddress(_)))
            .count();
        assert_eq!(count, server_names().len());
    }
}
