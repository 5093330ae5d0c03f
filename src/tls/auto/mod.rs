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

mod certs;
mod files;

use std::path::Path;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyUsagePurpose, SanType};
use time::OffsetDateTime;
use tlsql_tls_api::cert;

pub(crate) use self::certs::random_serial;
use self::certs::{
    BACKDATE, CA_VALIDITY, Ca, Leaf, Role, common_name, expires_within, generate_key, issue,
    issue_params, load_leaf, load_pair, same_name, san_text, server_names, server_not_after,
    whole_seconds,
};
pub use self::files::{AutoTlsError, AutoTlsPaths};
use self::files::{CERT_MODE, KEY_MODE, create_dir, exists, incomplete, invalid, write_atomic};
use crate::config::AutoTlsKey;

/// Subject of the generated CA.
pub const CA_SUBJECT: &str = "/CN=tlsql auto-tls CA";
/// Subject of the generated server certificate.
pub const SERVER_SUBJECT: &str = "/CN=tlsql auto-tls server";
/// Subject of the generated client certificate, as `REQUIRE SUBJECT` takes it.
pub const CLIENT_SUBJECT: &str = "/CN=tlsql auto-tls client";

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

#[cfg(test)]
mod tests {
    use std::process::Command;

    use rustls_pki_types::UnixTime;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    use rustls_pki_types::{CertificateDer, ServerName};
    use tlsql_tls_api::SubjectAltName;
    use tlsql_tls_api::cert::CertSummary;
    use x509_parser::certificate::X509Certificate;
    use x509_parser::extensions::GeneralName;
    use x509_parser::prelude::FromDer;

    use super::certs::{first_certificate, key_label};
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
