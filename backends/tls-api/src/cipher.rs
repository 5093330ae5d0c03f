//! The cipher names tlsql understands: OpenSSL's names, with the IANA name and the protocol
//! versions each suite belongs to. Configuration (`ssl-cipher`, `tls-ciphersuites`) and
//! `REQUIRE CIPHER` are validated against this table; backends map from it to their own
//! identifiers and report which entries they can negotiate.

use crate::TlsVersion;

/// One cipher suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CipherSuite {
    /// OpenSSL name (`ECDHE-RSA-AES128-GCM-SHA256`, `TLS_AES_128_GCM_SHA256`).
    pub openssl: &'static str,
    /// IANA name (`TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`).
    pub iana: &'static str,
    /// Which family the suite belongs to.
    pub kind: SuiteKind,
}

/// Where a suite can be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SuiteKind {
    /// A TLS 1.3 suite (`tls-ciphersuites`).
    Tls13,
    /// A suite defined for TLS 1.2 only (`ssl-cipher`).
    Tls12,
    /// A suite usable from TLS 1.0 up to TLS 1.2 (`ssl-cipher`).
    Legacy,
}

/// The kind of server key a TLS ≤ 1.2 suite authenticates with (TLS 1.3 suites work with any).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// RSA keys (`ECDHE-RSA-…`, `DHE-RSA-…` and static-RSA suites).
    Rsa,
    /// ECDSA keys (`ECDHE-ECDSA-…`).
    Ecdsa,
}

impl CipherSuite {
    /// The key kind the suite needs, `None` for TLS 1.3 suites.
    pub fn needs_key(&self) -> Option<KeyKind> {
        match self.kind {
            SuiteKind::Tls13 => None,
            _ if self.openssl.contains("ECDSA") => Some(KeyKind::Ecdsa),
            _ => Some(KeyKind::Rsa),
        }
    }

    /// Whether the suite can be negotiated with `version`.
    pub fn usable_with(&self, version: TlsVersion) -> bool {
        match self.kind {
            SuiteKind::Tls13 => version == TlsVersion::Tls13,
            SuiteKind::Tls12 => version == TlsVersion::Tls12,
            SuiteKind::Legacy => version <= TlsVersion::Tls12,
        }
    }
}

macro_rules! suites {
    ($($kind:ident $openssl:literal $iana:literal;)*) => {
        /// Every suite tlsql knows, TLS 1.3 first, then forward-secret AEAD, then the rest.
        pub const KNOWN: &[CipherSuite] = &[
            $(CipherSuite { openssl: $openssl, iana: $iana, kind: SuiteKind::$kind },)*
        ];
    };
}

suites! {
    Tls13 "TLS_AES_128_GCM_SHA256" "TLS_AES_128_GCM_SHA256";
    Tls13 "TLS_AES_256_GCM_SHA384" "TLS_AES_256_GCM_SHA384";
    Tls13 "TLS_CHACHA20_POLY1305_SHA256" "TLS_CHACHA20_POLY1305_SHA256";
    Tls13 "TLS_AES_128_CCM_SHA256" "TLS_AES_128_CCM_SHA256";
    Tls13 "TLS_AES_128_CCM_8_SHA256" "TLS_AES_128_CCM_8_SHA256";
    Tls12 "ECDHE-ECDSA-AES128-GCM-SHA256" "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256";
    Tls12 "ECDHE-RSA-AES128-GCM-SHA256" "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256";
    Tls12 "ECDHE-ECDSA-AES256-GCM-SHA384" "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384";
    Tls12 "ECDHE-RSA-AES256-GCM-SHA384" "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384";
    Tls12 "ECDHE-ECDSA-CHACHA20-POLY1305" "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256";
    Tls12 "ECDHE-RSA-CHACHA20-POLY1305" "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256";
    Tls12 "DHE-RSA-AES128-GCM-SHA256" "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256";
    Tls12 "DHE-RSA-AES256-GCM-SHA384" "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384";
    Tls12 "DHE-RSA-CHACHA20-POLY1305" "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256";
    Tls12 "ECDHE-ECDSA-AES128-SHA256" "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256";
    Tls12 "ECDHE-RSA-AES128-SHA256" "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256";
    Tls12 "ECDHE-ECDSA-AES256-SHA384" "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384";
    Tls12 "ECDHE-RSA-AES256-SHA384" "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384";
    Tls12 "AES128-GCM-SHA256" "TLS_RSA_WITH_AES_128_GCM_SHA256";
    Tls12 "AES256-GCM-SHA384" "TLS_RSA_WITH_AES_256_GCM_SHA384";
    Tls12 "AES128-SHA256" "TLS_RSA_WITH_AES_128_CBC_SHA256";
    Tls12 "AES256-SHA256" "TLS_RSA_WITH_AES_256_CBC_SHA256";
    Legacy "ECDHE-ECDSA-AES128-SHA" "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA";
    Legacy "ECDHE-RSA-AES128-SHA" "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA";
    Legacy "ECDHE-ECDSA-AES256-SHA" "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA";
    Legacy "ECDHE-RSA-AES256-SHA" "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA";
    Legacy "DHE-RSA-AES128-SHA" "TLS_DHE_RSA_WITH_AES_128_CBC_SHA";
    Legacy "DHE-RSA-AES256-SHA" "TLS_DHE_RSA_WITH_AES_256_CBC_SHA";
    Legacy "AES128-SHA" "TLS_RSA_WITH_AES_128_CBC_SHA";
    Legacy "AES256-SHA" "TLS_RSA_WITH_AES_256_CBC_SHA";
}

/// Finds a suite by its OpenSSL name (exact, as OpenSSL prints it).
pub fn lookup(openssl_name: &str) -> Option<&'static CipherSuite> {
    KNOWN.iter().find(|s| s.openssl == openssl_name)
}

/// Finds a suite by its IANA name.
pub fn lookup_iana(iana_name: &str) -> Option<&'static CipherSuite> {
    KNOWN.iter().find(|s| s.iana == iana_name)
}

/// Splits a `:`-separated list and resolves every name; the first unknown name is the error.
pub fn parse_list(list: &str) -> Result<Vec<&'static CipherSuite>, String> {
    list.split(':')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| lookup(name).ok_or_else(|| name.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        for (i, a) in KNOWN.iter().enumerate() {
            for b in &KNOWN[i + 1..] {
                assert_ne!(a.openssl, b.openssl);
                assert_ne!(a.iana, b.iana);
            }
        }
    }

    #[test]
    fn list_parsing_reports_the_unknown_name() {
        let ok = parse_list("ECDHE-RSA-AES128-GCM-SHA256:TLS_AES_128_GCM_SHA256").unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[1].kind, SuiteKind::Tls13);
        assert_eq!(
            parse_list("AES128-SHA:NOPE-CIPHER").unwrap_err(),
            "NOPE-CIPHER"
        );
    }

    #[test]
    fn version_usability() {
        let legacy = lookup("AES128-SHA").unwrap();
        assert!(legacy.usable_with(TlsVersion::Tls10));
        assert!(legacy.usable_with(TlsVersion::Tls12));
        assert!(!legacy.usable_with(TlsVersion::Tls13));
        let gcm = lookup("ECDHE-RSA-AES128-GCM-SHA256").unwrap();
        assert!(!gcm.usable_with(TlsVersion::Tls11));
    }
}
