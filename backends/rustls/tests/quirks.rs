//! What only the rustls backend does: its refusals name rustls' limits and the openssl build,
//! and it never installs a process-wide crypto provider.

use rustls::crypto::CryptoProvider;
use tlsql_tls_api::{TlsError, TlsSettings, TlsVersion};
use tlsql_tls_test::net::handshake;
use tlsql_tls_test::pki::{Key, Pki};

fn refusal(settings: &TlsSettings) -> TlsError {
    let err = tlsql_tls_rustls::build(settings).unwrap_err();
    assert!(
        matches!(
            err,
            TlsError::Unsupported {
                backend: "rustls",
                ..
            }
        ),
        "{err}"
    );
    err
}

#[test]
fn tls10_and_tls11_are_refused_naming_the_openssl_build() {
    let pki = Pki::new();
    for min_version in [TlsVersion::Tls10, TlsVersion::Tls11] {
        let err = refusal(&TlsSettings {
            min_version,
            ..pki.settings(Key::Ecdsa)
        });
        assert_eq!(
            err.to_string(),
            "the rustls backend does not support TLSv1.0 or TLSv1.1; set security.tls-version \
             to TLSv1.2 or TLSv1.3, or build with --features openssl"
        );
    }
}

#[test]
fn ciphers_rustls_cannot_negotiate_are_refused_by_name() {
    let pki = Pki::new();
    for (name, tls13) in [
        ("ECDHE-RSA-AES128-SHA256", false),
        ("DHE-RSA-AES128-GCM-SHA256", false),
        ("AES128-GCM-SHA256", false),
        ("ECDHE-ECDSA-AES128-SHA", false),
        ("TLS_AES_128_CCM_SHA256", true),
    ] {
        let mut settings = pki.settings(Key::Ecdsa);
        let key = if tls13 {
            settings.ciphersuites.push(name.to_string());
            "security.tls-ciphersuites"
        } else {
            settings.cipher_list.insert(0, name.to_string());
            "security.ssl-cipher"
        };
        let msg = refusal(&settings).to_string();
        assert!(
            msg.starts_with(&format!(
                "the rustls backend cannot negotiate the cipher {name} "
            )),
            "{msg}"
        );
        assert!(
            msg.ends_with(&format!(
                "remove {name} from {key}, or build with --features openssl"
            )),
            "{msg}"
        );
    }
}

/// Every context and every connector names its provider; none is installed process-wide.
#[test]
fn process_default_provider_is_never_installed() {
    let pki = Pki::new();
    let ctx = tlsql_tls_rustls::build(&pki.settings(Key::Ecdsa)).unwrap();
    let client = tlsql_tls_rustls::build_connector(&pki.connector()).unwrap();
    let (info, seen) = handshake(&ctx, &*client, None);
    info.unwrap();
    seen.unwrap();
    assert!(CryptoProvider::get_default().is_none());
}
