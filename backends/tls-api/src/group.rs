//! Key exchange groups by one set of names for every backend.
//!
//! The names are the ones OpenSSL and BoringSSL accept in their group lists (`X25519`,
//! `P-256`, `X25519MLKEM768`), so `security.tls-groups`, `tls_groups` and `Ssl_group` read the
//! same whichever library does the work; each backend maps them to its own identifiers by the
//! IANA code point.

use crate::TlsError;

/// One key exchange group a backend may offer.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct KxGroup {
    /// tlsql's name (OpenSSL's and BoringSSL's spelling).
    pub name: &'static str,
    /// The TLS `NamedGroup` code point (IANA registry).
    pub iana: u16,
    /// Whether the exchange stays secret against a quantum computer (an ML-KEM hybrid).
    pub post_quantum: bool,
    /// Other spellings accepted in the configuration.
    aliases: &'static [&'static str],
}

/// Every group tlsql knows, the post-quantum hybrids first.
pub const ALL: &[KxGroup] = &[
    KxGroup {
        name: "X25519MLKEM768",
        iana: 0x11ec,
        post_quantum: true,
        aliases: &[],
    },
    KxGroup {
        name: "X25519",
        iana: 0x001d,
        post_quantum: false,
        aliases: &["x25519"],
    },
    KxGroup {
        name: "P-256",
        iana: 0x0017,
        post_quantum: false,
        aliases: &["prime256v1", "secp256r1"],
    },
    KxGroup {
        name: "P-384",
        iana: 0x0018,
        post_quantum: false,
        aliases: &["secp384r1"],
    },
    KxGroup {
        name: "P-521",
        iana: 0x0019,
        post_quantum: false,
        aliases: &["secp521r1"],
    },
    KxGroup {
        name: "X448",
        iana: 0x001e,
        post_quantum: false,
        aliases: &["x448"],
    },
];

/// `security.tls-groups` when nothing else is configured: the post-quantum hybrid where the
/// backend has it, then the classical groups every client offers.
pub const DEFAULT_LIST: &str = "X25519MLKEM768:X25519:P-256:P-384";

/// The group called `name` (tlsql's name or an alias, ASCII case ignored).
pub fn lookup(name: &str) -> Option<&'static KxGroup> {
    ALL.iter().find(|g| {
        g.name.eq_ignore_ascii_case(name) || g.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    })
}

/// The group with TLS code point `iana`.
pub fn by_iana(iana: u16) -> Option<&'static KxGroup> {
    ALL.iter().find(|g| g.iana == iana)
}

/// Resolves a `:`-separated list in preference order; an unknown name is returned as the
/// error, and a name given twice counts once.
pub fn parse_list(list: &str) -> Result<Vec<&'static KxGroup>, String> {
    let mut groups = Vec::new();
    for name in list.split(':').map(str::trim).filter(|n| !n.is_empty()) {
        let group = lookup(name).ok_or_else(|| name.to_string())?;
        if !groups.contains(&group) {
            groups.push(group);
        }
    }
    Ok(groups)
}

/// Joins group names as the configuration and the status variables write them.
pub fn join(groups: &[&KxGroup]) -> String {
    groups.iter().map(|g| g.name).collect::<Vec<_>>().join(":")
}

/// The groups a backend will offer from `wanted`, in the configured order, keeping those for
/// which `has` is true. An explicit list (`strict`) that names a group the backend lacks is
/// [`TlsError::Unsupported`] naming it; the default list keeps what the backend has. Either
/// way at least one group must remain.
pub fn usable(
    backend: &'static str,
    wanted: &[&'static KxGroup],
    strict: bool,
    has: impl Fn(&KxGroup) -> bool,
) -> Result<Vec<&'static KxGroup>, TlsError> {
    let available: Vec<&'static str> = ALL.iter().filter(|g| has(g)).map(|g| g.name).collect();
    let unsupported = |what: String| TlsError::Unsupported {
        backend,
        what,
        alternative: format!(
            "set security.tls-groups to groups it has ({})",
            available.join(", ")
        ),
    };
    if strict && let Some(missing) = wanted.iter().find(|g| !has(g)) {
        return Err(unsupported(format!(
            "cannot negotiate the key exchange group {}",
            missing.name
        )));
    }
    let kept: Vec<_> = wanted.iter().copied().filter(|g| has(g)).collect();
    if kept.is_empty() {
        return Err(unsupported(format!(
            "has none of the key exchange groups {}",
            join(wanted)
        )));
    }
    Ok(kept)
}

/// Configures a C library's group list through `set_list` (`SSL_CTX_set1_groups_list` or
/// BoringSSL's curves list), which returns whether the library took the list. Each group is
/// tried alone first, so the library itself says what it was built with; then the groups of
/// `wanted` it has (see [`usable`]) are set in order and returned.
pub fn configure(
    backend: &'static str,
    wanted: &[&'static KxGroup],
    strict: bool,
    mut set_list: impl FnMut(&str) -> bool,
) -> Result<Vec<&'static KxGroup>, TlsError> {
    let has: Vec<&KxGroup> = ALL.iter().filter(|g| set_list(g.name)).collect();
    let groups = usable(backend, wanted, strict, |g| has.contains(&g))?;
    if !set_list(&join(&groups)) {
        return Err(TlsError::Library {
            backend,
            message: format!("refused the key exchange groups {}", join(&groups)),
        });
    }
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_resolve_to_one_group() {
        assert_eq!(lookup("P-256").map(|g| g.iana), Some(0x0017));
        assert_eq!(lookup("prime256v1").map(|g| g.name), Some("P-256"));
        assert_eq!(
            lookup("x25519mlkem768").map(|g| g.name),
            Some("X25519MLKEM768")
        );
        assert_eq!(lookup("ffdhe2048"), None);
        assert_eq!(by_iana(0x11ec).map(|g| g.post_quantum), Some(true));
    }

    #[test]
    fn lists_keep_order_and_drop_repeats() {
        let groups = parse_list("X25519 : P-384:x25519:P-256").unwrap();
        assert_eq!(join(&groups), "X25519:P-384:P-256");
        assert_eq!(parse_list("X25519:kyber"), Err("kyber".to_string()));
        assert_eq!(join(&parse_list(DEFAULT_LIST).unwrap()), DEFAULT_LIST);
    }

    #[test]
    fn strict_lists_refuse_what_the_default_list_skips() {
        let wanted = parse_list(DEFAULT_LIST).unwrap();
        let classical = |g: &KxGroup| !g.post_quantum;
        let kept = usable("openssl", &wanted, false, classical).unwrap();
        assert_eq!(join(&kept), "X25519:P-256:P-384");
        let err = usable("openssl", &wanted, true, classical).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the openssl backend cannot negotiate the key exchange group X25519MLKEM768; set \
             security.tls-groups to groups it has (X25519, P-256, P-384, P-521, X448)"
        );
        let pq_only = parse_list("X25519MLKEM768").unwrap();
        let err = usable("openssl", &pq_only, false, classical).unwrap_err();
        assert!(
            err.to_string()
                .contains("has none of the key exchange groups X25519MLKEM768")
        );
    }
}
