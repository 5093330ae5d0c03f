//! What a TLS library can do, declared by the backend crate that wraps it.
//!
//! Every backend crate exports `pub const CAPABILITIES: Capabilities`. The declaration is
//! available even in a build that does not link the library (the crates' `library` feature is
//! off), so the server can say which other backend would do what the configured one cannot.
//! The shared conformance suite (`backends/tls-test`) checks each declaration against what the
//! backend's `build` really accepts and refuses.

use crate::TlsVersion;
use crate::cipher::{self, CipherSuite, SuiteKind};
use crate::group::{self, KxGroup};

/// One backend's abilities.
#[derive(Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// The backend's name (`rustls`, `openssl`, `boring`).
    pub name: &'static str,
    /// TLS 1.0 and TLS 1.1 can be negotiated when configured.
    pub legacy_versions: bool,
    /// Whether the TLS 1.3 suites can be chosen and ordered.
    pub tls13_suites: Tls13Suites,
    /// The TLS ≤ 1.2 suites (of [`cipher::KNOWN`]) it can negotiate.
    pub tls12_suites: SuiteSet,
    /// The key exchange groups it can offer.
    pub groups: GroupSet,
}

/// How a backend treats `tls-ciphersuites`.
#[derive(Debug, PartialEq, Eq)]
pub enum Tls13Suites {
    /// Any subset of these suites (OpenSSL names), in any order.
    Configurable(&'static [&'static str]),
    /// The library always offers exactly these suites and picks among them itself: only this
    /// set (in any order) or none at all (TLS 1.3 off) can be configured.
    Fixed(&'static [&'static str]),
}

/// A set of TLS ≤ 1.2 suites by OpenSSL name.
#[derive(Debug, PartialEq, Eq)]
pub enum SuiteSet {
    /// Every TLS ≤ 1.2 suite tlsql knows.
    All,
    /// Every known suite except these.
    AllExcept(&'static [&'static str]),
    /// Only these.
    Only(&'static [&'static str]),
}

/// The key exchange groups a backend can offer.
#[derive(Debug, PartialEq, Eq)]
pub enum GroupSet {
    /// Exactly these (tlsql names).
    Only(&'static [&'static str]),
    /// Whatever the linked library was built with (a system library: OpenSSL 3.0 has no
    /// post-quantum hybrid, 3.5 has): found out each time a context is built.
    FromLibrary,
}

impl Capabilities {
    /// The protocol versions the backend can negotiate, oldest first.
    pub fn versions(&self) -> impl Iterator<Item = TlsVersion> + '_ {
        TlsVersion::ALL
            .into_iter()
            .filter(|v| self.legacy_versions || *v >= TlsVersion::Tls12)
    }

    /// Whether the backend can negotiate `suite` (when the configuration allows it).
    pub fn can_negotiate(&self, suite: &CipherSuite) -> bool {
        match (suite.kind, &self.tls12_suites) {
            (SuiteKind::Tls13, _) => match self.tls13_suites {
                Tls13Suites::Configurable(names) | Tls13Suites::Fixed(names) => {
                    names.contains(&suite.openssl)
                }
            },
            (_, SuiteSet::All) => true,
            (_, SuiteSet::AllExcept(names)) => !names.contains(&suite.openssl),
            (_, SuiteSet::Only(names)) => names.contains(&suite.openssl),
        }
    }

    /// The known suites the backend can negotiate, in [`cipher::KNOWN`] order.
    pub fn suites(&self) -> impl Iterator<Item = &'static CipherSuite> + '_ {
        cipher::KNOWN.iter().filter(|s| self.can_negotiate(s))
    }

    /// Whether the backend can offer `group`; `None` when only the linked library can tell.
    pub fn has_group(&self, group: &KxGroup) -> Option<bool> {
        match self.groups {
            GroupSet::Only(names) => Some(names.contains(&group.name)),
            GroupSet::FromLibrary => None,
        }
    }

    /// The groups of [`group::ALL`] the backend is declared to offer (`None`: see
    /// [`GroupSet::FromLibrary`]).
    pub fn declared_groups(&self) -> Option<Vec<&'static KxGroup>> {
        match self.groups {
            GroupSet::Only(_) => Some(
                group::ALL
                    .iter()
                    .filter(|g| self.has_group(g) == Some(true))
                    .collect(),
            ),
            GroupSet::FromLibrary => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: Capabilities = Capabilities {
        name: "example",
        legacy_versions: false,
        tls13_suites: Tls13Suites::Fixed(&["TLS_AES_128_GCM_SHA256"]),
        tls12_suites: SuiteSet::AllExcept(&["AES128-SHA"]),
        groups: GroupSet::Only(&["X25519", "P-256"]),
    };

    #[test]
    fn declarations_answer_per_suite_version_and_group() {
        assert_eq!(
            EXAMPLE.versions().collect::<Vec<_>>(),
            [TlsVersion::Tls12, TlsVersion::Tls13]
        );
        let lookup = |name| cipher::lookup(name).unwrap();
        assert!(EXAMPLE.can_negotiate(lookup("TLS_AES_128_GCM_SHA256")));
        assert!(!EXAMPLE.can_negotiate(lookup("TLS_AES_256_GCM_SHA384")));
        assert!(EXAMPLE.can_negotiate(lookup("AES256-SHA")));
        assert!(!EXAMPLE.can_negotiate(lookup("AES128-SHA")));
        assert_eq!(EXAMPLE.suites().count(), 1 + 24);
        assert_eq!(
            group::join(&EXAMPLE.declared_groups().unwrap()),
            "X25519:P-256"
        );
        let open = Capabilities {
            groups: GroupSet::FromLibrary,
            ..EXAMPLE
        };
        assert_eq!(open.has_group(&group::ALL[0]), None);
    }
}
