//! What only the boring backend does: its refusals point to the backends that can.

use tlsql_tls_api::{TlsError, TlsSettings};
use tlsql_tls_test::pki::{Key, Pki, split};

fn refusal(settings: &TlsSettings) -> (String, String) {
    match tlsql_tls_boring::build(settings) {
        Err(TlsError::Unsupported {
            backend: "boring",
            what,
            alternative,
        }) => (what, alternative),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn restricting_tls13_suites_points_to_rustls_and_openssl() {
    let pki = Pki::new();
    let (what, alternative) = refusal(&TlsSettings {
        ciphersuites: split("TLS_AES_128_GCM_SHA256"),
        ..pki.settings(Key::Ecdsa)
    });
    assert_eq!(
        what,
        "cannot restrict TLS 1.3 cipher suites (it always offers TLS_AES_128_GCM_SHA256, \
         TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256)"
    );
    assert_eq!(
        alternative,
        "leave security.tls-ciphersuites at its default, or use the rustls or openssl backend"
    );
}

#[test]
fn dropped_suites_point_to_openssl() {
    let pki = Pki::new();
    let (what, alternative) = refusal(&TlsSettings {
        cipher_list: split("DHE-RSA-AES128-GCM-SHA256"),
        ..pki.settings(Key::Rsa)
    });
    assert_eq!(
        what,
        "cannot negotiate the cipher DHE-RSA-AES128-GCM-SHA256"
    );
    assert_eq!(
        alternative,
        "remove DHE-RSA-AES128-GCM-SHA256 from security.ssl-cipher, or use the openssl backend"
    );
}
