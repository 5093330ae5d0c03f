//! Account transport requirements: `REQUIRE NONE | SSL | X509 | [CIPHER 'c'] [AND] [ISSUER 'i']
//! [AND] [SUBJECT 's'] [AND] [SAN 'DNS:…,IP:…,URI:…']`.
//!
//! * `SSL`: the connection uses TLS.
//! * `X509`: TLS and a client certificate that verified against `ssl-ca`.
//! * `CIPHER`: TLS with exactly this negotiated cipher (OpenSSL name).
//! * `ISSUER` / `SUBJECT`: a verified certificate whose issuer / subject, in OpenSSL's
//!   `X509_NAME_oneline` form (`/C=SE/O=Example/CN=client`, attributes in certificate order),
//!   equals the string exactly, as MySQL compares them.
//! * `SAN` (a TiDB extension): a verified certificate with matching subject alternative names;
//!   the requirement lists `TYPE:value` entries, and every type listed must be matched by at
//!   least one of its values (AND across types, OR within a type).
//!
//! Values are validated when a statement sets them, so a typo is a statement error rather than
//! an account nobody can log in to: unknown cipher names, names that are not `/KEY=value…` with
//! OpenSSL attribute keys, SAN entries of an unknown type or with an unparsable IP address, and a
//! clause given twice are rejected.
//!
//! Printing follows MySQL's `SHOW CREATE USER`: `REQUIRE NONE`, `REQUIRE SSL`, `REQUIRE X509`,
//! `REQUIRE SUBJECT '…' ISSUER '…' CIPHER '…'` (MySQL's order, no `AND`), with `SAN '…'` last.

use std::fmt;
use std::net::IpAddr;

use tlsql_tls_api::cert::NAME_KEYS;
use tlsql_tls_api::{CertSummary, SubjectAltName, TlsInfo, cipher};

use crate::error::{ErrorKind, SqlError};

/// What an account requires of the transport before it may log in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TlsRequirement {
    /// `REQUIRE NONE` (the default).
    #[default]
    None,
    /// `REQUIRE SSL`.
    Ssl,
    /// `REQUIRE X509`.
    X509,
    /// `REQUIRE CIPHER … ISSUER … SUBJECT … SAN …` (at least one present).
    Specified(CertRequirement),
}

/// The parts of a `REQUIRE CIPHER/ISSUER/SUBJECT/SAN` requirement; absent parts are not checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertRequirement {
    /// Negotiated cipher, OpenSSL name.
    pub cipher: Option<String>,
    /// Issuer of the verified client certificate, `/KEY=value…`.
    pub issuer: Option<String>,
    /// Subject of the verified client certificate, `/KEY=value…`.
    pub subject: Option<String>,
    /// Subject alternative names, in the order given (never empty when present).
    pub san: Option<Vec<SubjectAltName>>,
}

/// One clause of a `REQUIRE` list as the parser found it, before validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequireClause {
    /// `CIPHER 'name'`
    Cipher(String),
    /// `ISSUER '/…'`
    Issuer(String),
    /// `SUBJECT '/…'`
    Subject(String),
    /// `SAN 'TYPE:value,…'`
    San(String),
}

impl RequireClause {
    fn keyword(&self) -> &'static str {
        match self {
            RequireClause::Cipher(_) => "CIPHER",
            RequireClause::Issuer(_) => "ISSUER",
            RequireClause::Subject(_) => "SUBJECT",
            RequireClause::San(_) => "SAN",
        }
    }
}

/// Why a login does not meet its account's requirement (for the server log; the client only
/// ever sees 1045).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequireFailure {
    /// TLS was required and the connection is plain.
    #[error("{required} required but the connection is not encrypted")]
    NotEncrypted {
        /// What was required (`SSL`, `X509`, `CIPHER`, `ISSUER`, `SUBJECT`, `SAN`).
        required: &'static str,
    },
    /// A verified client certificate was required and there is none.
    #[error("{required} required but no verified client certificate was presented")]
    NoVerifiedCertificate {
        /// What was required (`X509`, `ISSUER`, `SUBJECT`, `SAN`).
        required: &'static str,
    },
    /// `REQUIRE CIPHER` and another cipher was negotiated.
    #[error("cipher mismatch: required '{required}' but negotiated '{negotiated}'")]
    CipherMismatch {
        /// The account's cipher.
        required: String,
        /// The connection's cipher.
        negotiated: String,
    },
    /// `REQUIRE ISSUER` and the certificate's issuer differs.
    #[error("X509 issuer mismatch: required '{required}' but presented '{presented}'")]
    IssuerMismatch {
        /// The account's issuer.
        required: String,
        /// The certificate's issuer.
        presented: String,
    },
    /// `REQUIRE SUBJECT` and the certificate's subject differs.
    #[error("X509 subject mismatch: required '{required}' but presented '{presented}'")]
    SubjectMismatch {
        /// The account's subject.
        required: String,
        /// The certificate's subject.
        presented: String,
    },
    /// `REQUIRE SAN` and no certificate name of one required type matches.
    #[error("X509 SAN mismatch: required one of '{required}' but presented '{presented}'")]
    SanMismatch {
        /// The account's entries of the type that failed, comma-separated.
        required: String,
        /// The certificate's subject alternative names, comma-separated.
        presented: String,
    },
}

impl TlsRequirement {
    /// Builds a `CIPHER/ISSUER/SUBJECT/SAN` requirement from parsed clauses, validating each
    /// value: a duplicate clause is 1225 `Option 'X' used twice in statement`, an invalid value
    /// 1525 `Incorrect X value: '…': reason`. No clauses at all is a syntax error.
    pub fn from_clauses(clauses: Vec<RequireClause>) -> Result<Self, SqlError> {
        if clauses.is_empty() {
            return Err(SqlError::syntax(
                "REQUIRE needs NONE, SSL, X509, or CIPHER/ISSUER/SUBJECT/SAN clauses",
            ));
        }
        let mut req = CertRequirement::default();
        for clause in clauses {
            let keyword = clause.keyword();
            let duplicate = match &clause {
                RequireClause::Cipher(_) => req.cipher.is_some(),
                RequireClause::Issuer(_) => req.issuer.is_some(),
                RequireClause::Subject(_) => req.subject.is_some(),
                RequireClause::San(_) => req.san.is_some(),
            };
            if duplicate {
                return Err(SqlError::new(
                    ErrorKind::DuplicateArgument,
                    format!("Option '{keyword}' used twice in statement"),
                ));
            }
            match clause {
                RequireClause::Cipher(c) => {
                    validate_cipher(&c)?;
                    req.cipher = Some(c);
                }
                RequireClause::Issuer(i) => {
                    validate_x509_name("ISSUER", &i)?;
                    req.issuer = Some(i);
                }
                RequireClause::Subject(s) => {
                    validate_x509_name("SUBJECT", &s)?;
                    req.subject = Some(s);
                }
                RequireClause::San(s) => req.san = Some(parse_san(&s)?),
            }
        }
        Ok(TlsRequirement::Specified(req))
    }

    /// The login check. `tls` is the connection's TLS report (`None` for a plain connection,
    /// including a plain unix socket: `REQUIRE SSL` is about TLS, unlike
    /// `require_secure_transport`); `peer` is the client certificate, which the caller passes
    /// only when it verified against `ssl-ca`.
    pub fn check(
        &self,
        tls: Option<&TlsInfo>,
        peer: Option<&CertSummary>,
    ) -> Result<(), RequireFailure> {
        match self {
            TlsRequirement::None => Ok(()),
            TlsRequirement::Ssl => tls
                .map(|_| ())
                .ok_or(RequireFailure::NotEncrypted { required: "SSL" }),
            TlsRequirement::X509 => {
                if tls.is_none() {
                    return Err(RequireFailure::NotEncrypted { required: "X509" });
                }
                peer.map(|_| ())
                    .ok_or(RequireFailure::NoVerifiedCertificate { required: "X509" })
            }
            TlsRequirement::Specified(req) => req.check(tls, peer),
        }
    }

    /// The requirement in MySQL's `SHOW CREATE USER` form, without the `REQUIRE` keyword:
    /// `NONE`, `SSL`, `X509`, or `SUBJECT '…' ISSUER '…' CIPHER '…' SAN '…'`.
    pub fn to_sql(&self) -> String {
        match self {
            TlsRequirement::None => "NONE".to_string(),
            TlsRequirement::Ssl => "SSL".to_string(),
            TlsRequirement::X509 => "X509".to_string(),
            TlsRequirement::Specified(req) => {
                let mut parts = Vec::new();
                if let Some(s) = &req.subject {
                    parts.push(format!("SUBJECT {}", quote(s)));
                }
                if let Some(i) = &req.issuer {
                    parts.push(format!("ISSUER {}", quote(i)));
                }
                if let Some(c) = &req.cipher {
                    parts.push(format!("CIPHER {}", quote(c)));
                }
                if let Some(san) = &req.san {
                    parts.push(format!("SAN {}", quote(&san_to_string(san))));
                }
                parts.join(" ")
            }
        }
    }

    /// The storage form, in the shape of MySQL's `mysql.user` columns: `ssl_type` is `""`,
    /// `ANY`, `X509` or `SPECIFIED`.
    pub fn to_columns(&self) -> RequireColumns {
        let mut cols = RequireColumns {
            ssl_type: match self {
                TlsRequirement::None => "",
                TlsRequirement::Ssl => "ANY",
                TlsRequirement::X509 => "X509",
                TlsRequirement::Specified(_) => "SPECIFIED",
            }
            .to_string(),
            ..RequireColumns::default()
        };
        if let TlsRequirement::Specified(req) = self {
            cols.cipher = req.cipher.clone();
            cols.issuer = req.issuer.clone();
            cols.subject = req.subject.clone();
            cols.san = req.san.as_deref().map(san_to_string);
        }
        cols
    }

    /// Reads the storage form back, validating it as a statement would (a stored value that
    /// no longer validates is an error, never a weaker requirement).
    pub fn from_columns(cols: RequireColumns) -> Result<Self, SqlError> {
        match cols.ssl_type.as_str() {
            "" => Ok(TlsRequirement::None),
            "ANY" => Ok(TlsRequirement::Ssl),
            "X509" => Ok(TlsRequirement::X509),
            "SPECIFIED" => {
                let clauses: Vec<RequireClause> = [
                    cols.cipher.map(RequireClause::Cipher),
                    cols.issuer.map(RequireClause::Issuer),
                    cols.subject.map(RequireClause::Subject),
                    cols.san.map(RequireClause::San),
                ]
                .into_iter()
                .flatten()
                .collect();
                Self::from_clauses(clauses)
            }
            other => Err(SqlError::unknown(format!("unknown ssl_type '{other}'"))),
        }
    }
}

impl fmt::Display for TlsRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_sql())
    }
}

/// [`TlsRequirement`] as stored: one text column per part, as MySQL's `mysql.user` has.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequireColumns {
    /// `""`, `ANY`, `X509` or `SPECIFIED`.
    pub ssl_type: String,
    /// `ssl_cipher`.
    pub cipher: Option<String>,
    /// `x509_issuer`.
    pub issuer: Option<String>,
    /// `x509_subject`.
    pub subject: Option<String>,
    /// SAN list, `TYPE:value,…`.
    pub san: Option<String>,
}

impl CertRequirement {
    fn check(
        &self,
        tls: Option<&TlsInfo>,
        peer: Option<&CertSummary>,
    ) -> Result<(), RequireFailure> {
        let first = self.first_clause();
        let Some(tls) = tls else {
            return Err(RequireFailure::NotEncrypted { required: first });
        };
        if let Some(required) = &self.cipher
            && *required != tls.cipher
        {
            return Err(RequireFailure::CipherMismatch {
                required: required.clone(),
                negotiated: tls.cipher.clone(),
            });
        }
        if self.issuer.is_none() && self.subject.is_none() && self.san.is_none() {
            return Ok(());
        }
        let Some(cert) = peer else {
            let required = if self.issuer.is_some() {
                "ISSUER"
            } else if self.subject.is_some() {
                "SUBJECT"
            } else {
                "SAN"
            };
            return Err(RequireFailure::NoVerifiedCertificate { required });
        };
        if let Some(required) = &self.issuer
            && *required != cert.issuer
        {
            return Err(RequireFailure::IssuerMismatch {
                required: required.clone(),
                presented: cert.issuer.clone(),
            });
        }
        if let Some(required) = &self.subject
            && *required != cert.subject
        {
            return Err(RequireFailure::SubjectMismatch {
                required: required.clone(),
                presented: cert.subject.clone(),
            });
        }
        if let Some(required) = &self.san {
            check_san(required, &cert.subject_alt_names)?;
        }
        Ok(())
    }

    fn first_clause(&self) -> &'static str {
        if self.cipher.is_some() {
            "CIPHER"
        } else if self.issuer.is_some() {
            "ISSUER"
        } else if self.subject.is_some() {
            "SUBJECT"
        } else {
            "SAN"
        }
    }
}

/// The SAN type of an entry, for grouping (AND across groups, OR within one).
fn san_kind(name: &SubjectAltName) -> &'static str {
    match name {
        SubjectAltName::Dns(_) => "DNS",
        SubjectAltName::Ip(_) => "IP",
        SubjectAltName::Uri(_) => "URI",
        SubjectAltName::Email(_) => "email",
    }
}

fn san_matches(required: &SubjectAltName, presented: &SubjectAltName) -> bool {
    match (required, presented) {
        // DNS names are case-insensitive (RFC 4343); everything else compares exactly.
        (SubjectAltName::Dns(a), SubjectAltName::Dns(b)) => a.eq_ignore_ascii_case(b),
        (SubjectAltName::Ip(a), SubjectAltName::Ip(b)) => a == b,
        (SubjectAltName::Uri(a), SubjectAltName::Uri(b)) => a == b,
        (SubjectAltName::Email(a), SubjectAltName::Email(b)) => a == b,
        _ => false,
    }
}

fn check_san(
    required: &[SubjectAltName],
    presented: &[SubjectAltName],
) -> Result<(), RequireFailure> {
    let mut kinds: Vec<&'static str> = required.iter().map(san_kind).collect();
    kinds.dedup();
    for kind in kinds {
        let wanted: Vec<&SubjectAltName> =
            required.iter().filter(|r| san_kind(r) == kind).collect();
        let ok = wanted
            .iter()
            .any(|r| presented.iter().any(|p| san_matches(r, p)));
        if !ok {
            return Err(RequireFailure::SanMismatch {
                required: wanted
                    .iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
                presented: san_to_string(presented),
            });
        }
    }
    Ok(())
}

fn san_to_string(san: &[SubjectAltName]) -> String {
    san.iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn incorrect(what: &str, value: &str, reason: impl fmt::Display) -> SqlError {
    SqlError::new(
        ErrorKind::WrongValue,
        format!("Incorrect {what} value: '{value}': {reason}"),
    )
}

/// Checks that `name` is a cipher suite tlsql knows by its OpenSSL name.
pub fn validate_cipher(name: &str) -> Result<(), SqlError> {
    if cipher::lookup(name).is_some() {
        return Ok(());
    }
    let hint = match cipher::lookup_iana(name) {
        Some(suite) => format!(
            "that is the IANA name, the OpenSSL name is '{}'",
            suite.openssl
        ),
        None => "unknown cipher suite (expected an OpenSSL name such as \
                 ECDHE-RSA-AES128-GCM-SHA256 or TLS_AES_128_GCM_SHA256)"
            .to_string(),
    };
    Err(incorrect("CIPHER", name, hint))
}

/// Checks an `ISSUER`/`SUBJECT` value: `/KEY=value` components, keys as OpenSSL prints them
/// (`C`, `ST`, `L`, `O`, `OU`, `CN`, `emailAddress`, …). `what` names the clause in the error.
pub fn validate_x509_name(what: &str, name: &str) -> Result<(), SqlError> {
    let Some(body) = name.strip_prefix('/') else {
        return Err(incorrect(
            what,
            name,
            "an X.509 name is written /KEY=value/KEY=value…, e.g. /C=SE/O=Example/CN=client",
        ));
    };
    for component in body.split('/') {
        let Some((key, _value)) = component.split_once('=') else {
            return Err(incorrect(
                what,
                name,
                format!("component '{component}' is not KEY=value"),
            ));
        };
        if !NAME_KEYS.iter().any(|(k, _)| *k == key) {
            let known: Vec<&str> = NAME_KEYS.iter().map(|(k, _)| *k).collect();
            return Err(incorrect(
                what,
                name,
                format!(
                    "unknown attribute '{key}' (known, case-sensitive: {})",
                    known.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Parses a `SAN` value: comma-separated `TYPE:value` entries, `TYPE` one of `DNS`, `IP`, `URI`,
/// `email` (any case), spaces around entries ignored.
pub fn parse_san(value: &str) -> Result<Vec<SubjectAltName>, SqlError> {
    let mut out = Vec::new();
    for entry in value.split(',') {
        let entry = entry.trim();
        let Some((kind, v)) = entry.split_once(':') else {
            return Err(incorrect(
                "SAN",
                value,
                format!("entry '{entry}' is not TYPE:value (TYPE is DNS, IP, URI or email)"),
            ));
        };
        let v = v.trim();
        if v.is_empty() {
            return Err(incorrect(
                "SAN",
                value,
                format!("entry '{entry}' has no value"),
            ));
        }
        let name = match kind.trim().to_ascii_uppercase().as_str() {
            "DNS" => {
                if v.chars().any(|c| c.is_whitespace()) {
                    return Err(incorrect("SAN", value, format!("'{v}' is not a DNS name")));
                }
                SubjectAltName::Dns(v.to_string())
            }
            "IP" => match v.parse::<IpAddr>() {
                Ok(ip) => SubjectAltName::Ip(ip),
                Err(_) => {
                    return Err(incorrect(
                        "SAN",
                        value,
                        format!("'{v}' is not an IP address"),
                    ));
                }
            },
            "URI" => {
                if !is_uri(v) {
                    return Err(incorrect(
                        "SAN",
                        value,
                        format!("'{v}' is not a URI (scheme:rest)"),
                    ));
                }
                SubjectAltName::Uri(v.to_string())
            }
            "EMAIL" => SubjectAltName::Email(v.to_string()),
            other => {
                return Err(incorrect(
                    "SAN",
                    value,
                    format!("unsupported type '{other}' (expected DNS, IP, URI or email)"),
                ));
            }
        };
        out.push(name);
    }
    Ok(out)
}

/// A URI has a scheme (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`, RFC 3986) and something
/// after its colon.
fn is_uri(v: &str) -> bool {
    let Some((scheme, rest)) = v.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && !v.chars().any(char::is_whitespace)
}

/// Quotes a string literal so that the MySQL tokenizer reads it back unchanged.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tlsql_tls_api::TlsVersion;

    const ISSUER: &str = "/C=US/ST=California/L=San Francisco/O=PingCAP/OU=TiDB/CN=TiDB admin";
    const SUBJECT: &str = "/C=ZH/ST=Beijing/L=Haidian/O=PingCAP.Inc/OU=TiDB/CN=tester1";
    const SPIFFE_ME1: &str = "spiffe://mesh.pingcap.com/ns/timesh/sa/me1";

    fn spec(clauses: &[RequireClause]) -> TlsRequirement {
        TlsRequirement::from_clauses(clauses.to_vec()).unwrap()
    }

    fn tls(cipher: &str) -> TlsInfo {
        TlsInfo {
            version: TlsVersion::Tls13,
            cipher: cipher.to_string(),
            group: None,
            resumed: false,
            peer_certificate: None,
        }
    }

    fn cert(issuer: &str, subject: &str, san: Vec<SubjectAltName>) -> CertSummary {
        CertSummary {
            subject: subject.to_string(),
            issuer: issuer.to_string(),
            subject_alt_names: san,
            not_before: time::macros::datetime!(2020-01-01 00:00 UTC),
            not_after: time::macros::datetime!(2040-01-01 00:00 UTC),
            key_type: "ECDSA P-256".to_string(),
        }
    }

    /// The 15 accounts of TiDB's `TestCheckCertBasedAuth` (r12, an account without a stored
    /// requirement, is `TlsRequirement::default()`; r13's broken record is covered by
    /// `accounts::tests::corrupted_requirement_refuses_to_open`).
    fn tidb_accounts() -> Vec<(&'static str, TlsRequirement)> {
        use RequireClause::*;
        vec![
            ("r1", TlsRequirement::None),
            ("r2", TlsRequirement::None),
            ("r3", TlsRequirement::Ssl),
            ("r4", TlsRequirement::X509),
            (
                "r5",
                spec(&[
                    Issuer(ISSUER.into()),
                    Subject(SUBJECT.into()),
                    Cipher("TLS_AES_128_GCM_SHA256".into()),
                ]),
            ),
            (
                "r6",
                spec(&[Issuer(ISSUER.into()), Subject(SUBJECT.into())]),
            ),
            ("r7_issuer_only", spec(&[Issuer(ISSUER.into())])),
            ("r8_subject_only", spec(&[Subject(SUBJECT.into())])),
            (
                "r9_subject_disorder",
                spec(&[Subject(
                    "/ST=Beijing/C=ZH/L=Haidian/O=PingCAP.Inc/OU=TiDB/CN=tester1".into(),
                )]),
            ),
            (
                "r10_issuer_disorder",
                spec(&[Issuer(
                    "/ST=California/C=US/L=San Francisco/O=PingCAP/OU=TiDB/CN=TiDB admin".into(),
                )]),
            ),
            (
                "r11_cipher_only",
                spec(&[Cipher("TLS_AES_256_GCM_SHA384".into())]),
            ),
            ("r12_old_tidb_user", TlsRequirement::default()),
            (
                "r14_san_only_pass",
                spec(&[San(format!("URI:{SPIFFE_ME1}"))]),
            ),
            (
                "r15_san_only_fail",
                spec(&[San("URI:spiffe://mesh.pingcap.com/ns/timesh/sa/me2".into())]),
            ),
        ]
    }

    /// Runs every account against one connection state; `expect` lists the accounts that
    /// must pass (all others must fail).
    fn assert_matrix(tls: Option<&TlsInfo>, peer: Option<&CertSummary>, pass: &[&str]) {
        for (name, req) in tidb_accounts() {
            let got = req.check(tls, peer);
            assert_eq!(
                got.is_ok(),
                pass.contains(&name),
                "{name} with tls={tls:?} peer={peer:?}: {got:?}"
            );
        }
    }

    #[test]
    fn tidb_check_cert_based_auth_without_tls() {
        assert_matrix(None, None, &["r1", "r2", "r12_old_tidb_user"]);
    }

    #[test]
    fn tidb_check_cert_based_auth_tls_without_certificate() {
        assert_matrix(
            Some(&tls("TLS_AES_128_GCM_SHA256")),
            None,
            &["r1", "r2", "r3", "r12_old_tidb_user"],
        );
    }

    #[test]
    fn tidb_check_cert_based_auth_verified_certificate_with_other_names() {
        // TiDB: "ssl with signed but info wrong ca": a verified chain whose names match nothing.
        let empty = cert("", "", vec![]);
        assert_matrix(
            Some(&tls("TLS_AES_128_GCM_SHA256")),
            Some(&empty),
            &["r1", "r2", "r3", "r4", "r12_old_tidb_user"],
        );
    }

    #[test]
    fn tidb_check_cert_based_auth_all_pass() {
        let c = cert(
            ISSUER,
            SUBJECT,
            vec![SubjectAltName::Uri(SPIFFE_ME1.to_string())],
        );
        assert_matrix(
            Some(&tls("TLS_AES_128_GCM_SHA256")),
            Some(&c),
            &[
                "r1",
                "r2",
                "r3",
                "r4",
                "r5",
                "r6",
                "r7_issuer_only",
                "r8_subject_only",
                "r12_old_tidb_user",
                "r14_san_only_pass",
            ],
        );
    }

    #[test]
    fn tidb_check_cert_based_auth_cipher_mismatch() {
        let c = cert(ISSUER, SUBJECT, vec![]);
        let t = tls("TLS_AES_256_GCM_SHA384");
        let reqs = tidb_accounts();
        let get = |n: &str| reqs.iter().find(|(name, _)| *name == n).unwrap().1.clone();
        assert_eq!(
            get("r5").check(Some(&t), Some(&c)),
            Err(RequireFailure::CipherMismatch {
                required: "TLS_AES_128_GCM_SHA256".into(),
                negotiated: "TLS_AES_256_GCM_SHA384".into()
            })
        );
        assert!(get("r6").check(Some(&t), Some(&c)).is_ok());
        assert!(get("r11_cipher_only").check(Some(&t), Some(&c)).is_ok());
    }

    #[test]
    fn tidb_check_cert_based_auth_issuer_only_and_subject_only() {
        let reqs = tidb_accounts();
        let get = |n: &str| reqs.iter().find(|(name, _)| *name == n).unwrap().1.clone();
        let t = tls("TLS_AES_128_GCM_SHA256");
        let other_subject = cert(
            ISSUER,
            "/C=AZ/ST=Beijing/L=Shijingshang/O=CAPPing.Inc/OU=TiDB/CN=tester2",
            vec![],
        );
        assert!(
            get("r7_issuer_only")
                .check(Some(&t), Some(&other_subject))
                .is_ok()
        );
        assert!(
            get("r8_subject_only")
                .check(Some(&t), Some(&other_subject))
                .is_err()
        );
        let other_issuer = cert(
            "/C=AU/ST=California/L=San Francisco/O=PingCAP/OU=TiDB/CN=TiDB admin2",
            SUBJECT,
            vec![],
        );
        assert!(
            get("r8_subject_only")
                .check(Some(&t), Some(&other_issuer))
                .is_ok()
        );
        assert!(
            get("r7_issuer_only")
                .check(Some(&t), Some(&other_issuer))
                .is_err()
        );
    }

    #[test]
    fn tidb_check_cert_based_auth_disorder_and_san_mismatch() {
        let reqs = tidb_accounts();
        let get = |n: &str| reqs.iter().find(|(name, _)| *name == n).unwrap().1.clone();
        let t = tls("TLS_AES_128_GCM_SHA256");
        let c = cert(
            ISSUER,
            SUBJECT,
            vec![SubjectAltName::Uri(SPIFFE_ME1.into())],
        );
        assert!(matches!(
            get("r9_subject_disorder").check(Some(&t), Some(&c)),
            Err(RequireFailure::SubjectMismatch { .. })
        ));
        assert!(matches!(
            get("r10_issuer_disorder").check(Some(&t), Some(&c)),
            Err(RequireFailure::IssuerMismatch { .. })
        ));
        assert!(matches!(
            get("r15_san_only_fail").check(Some(&t), Some(&c)),
            Err(RequireFailure::SanMismatch { .. })
        ));
        // "require but give nothing": r5 on a plain connection.
        assert_eq!(
            get("r5").check(None, None),
            Err(RequireFailure::NotEncrypted { required: "CIPHER" })
        );
    }

    #[test]
    fn failure_reasons_read_well() {
        let t = tls("TLS_AES_128_GCM_SHA256");
        let req = spec(&[RequireClause::Subject("/CN=a".into())]);
        let err = req
            .check(Some(&t), Some(&cert("/CN=ca", "/CN=b", vec![])))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "X509 subject mismatch: required '/CN=a' but presented '/CN=b'"
        );
        assert_eq!(
            TlsRequirement::Ssl
                .check(None, None)
                .unwrap_err()
                .to_string(),
            "SSL required but the connection is not encrypted"
        );
        assert_eq!(
            TlsRequirement::X509
                .check(Some(&t), None)
                .unwrap_err()
                .to_string(),
            "X509 required but no verified client certificate was presented"
        );
        assert_eq!(
            req.check(Some(&t), None).unwrap_err().to_string(),
            "SUBJECT required but no verified client certificate was presented"
        );
    }

    #[test]
    fn san_is_and_across_types_or_within_a_type() {
        let t = tls("TLS_AES_128_GCM_SHA256");
        let req = spec(&[RequireClause::San(
            "DNS:a.example, DNS:b.example, IP:10.0.0.1, URI:spiffe://x/y".into(),
        )]);
        let with =
            |names: Vec<SubjectAltName>| req.check(Some(&t), Some(&cert("/CN=ca", "/CN=c", names)));
        use SubjectAltName::*;
        let ip = Ip("10.0.0.1".parse().unwrap());
        assert!(
            with(vec![
                Dns("B.example".into()),
                ip.clone(),
                Uri("spiffe://x/y".into())
            ])
            .is_ok()
        );
        // Missing the URI type: fails even though DNS and IP match.
        let err = with(vec![Dns("a.example".into()), ip.clone()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "X509 SAN mismatch: required one of 'URI:spiffe://x/y' but presented 'DNS:a.example,IP:10.0.0.1'"
        );
        // No DNS value matches.
        assert!(
            with(vec![
                Dns("c.example".into()),
                ip,
                Uri("spiffe://x/y".into())
            ])
            .is_err()
        );
        // IPv6 compares as an address, not as text.
        let v6 = spec(&[RequireClause::San("IP:0:0::1".into())]);
        assert!(
            v6.check(
                Some(&t),
                Some(&cert("/CN=ca", "/CN=c", vec![Ip("::1".parse().unwrap())]))
            )
            .is_ok()
        );
    }

    #[test]
    fn cipher_only_needs_no_certificate() {
        let req = spec(&[RequireClause::Cipher("ECDHE-RSA-AES128-GCM-SHA256".into())]);
        assert!(
            req.check(Some(&tls("ECDHE-RSA-AES128-GCM-SHA256")), None)
                .is_ok()
        );
        assert!(
            req.check(Some(&tls("TLS_AES_128_GCM_SHA256")), None)
                .is_err()
        );
    }

    #[test]
    fn validation_errors() {
        use RequireClause::*;
        let err = |c: Vec<RequireClause>| TlsRequirement::from_clauses(c).unwrap_err();

        let e = err(vec![
            Cipher("AES128-GCM-SHA256".into()),
            Cipher("AES256-SHA".into()),
        ]);
        assert_eq!(
            (e.code(), e.message.as_str()),
            (1225, "Option 'CIPHER' used twice in statement")
        );
        let e = err(vec![
            Subject("/CN=a".into()),
            Issuer("/CN=b".into()),
            Subject("/CN=c".into()),
        ]);
        assert_eq!(e.message, "Option 'SUBJECT' used twice in statement");
        let e = err(vec![San("DNS:a".into()), San("DNS:b".into())]);
        assert_eq!(e.message, "Option 'SAN' used twice in statement");

        let e = err(vec![Cipher("NOT-A-CIPHER".into())]);
        assert_eq!(e.code(), 1525);
        assert!(
            e.message
                .starts_with("Incorrect CIPHER value: 'NOT-A-CIPHER': unknown cipher suite"),
            "{}",
            e.message
        );
        let e = err(vec![Cipher("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".into())]);
        assert!(
            e.message
                .contains("the OpenSSL name is 'ECDHE-RSA-AES128-GCM-SHA256'"),
            "{}",
            e.message
        );

        let e = err(vec![Issuer("CN=a".into())]);
        assert!(
            e.message
                .starts_with("Incorrect ISSUER value: 'CN=a': an X.509 name is written"),
            "{}",
            e.message
        );
        let e = err(vec![Subject("/CN=a/garbage".into())]);
        assert_eq!(
            e.message,
            "Incorrect SUBJECT value: '/CN=a/garbage': component 'garbage' is not KEY=value"
        );
        let e = err(vec![Subject("/CN=a/".into())]);
        assert!(
            e.message.contains("component '' is not KEY=value"),
            "{}",
            e.message
        );
        let e = err(vec![Subject("/XX=a".into())]);
        assert!(
            e.message.contains("unknown attribute 'XX'"),
            "{}",
            e.message
        );
        let e = err(vec![Subject("/cn=a".into())]);
        assert!(
            e.message.contains("unknown attribute 'cn'"),
            "{}",
            e.message
        );

        let e = err(vec![San("FOO:bar".into())]);
        assert_eq!(
            e.message,
            "Incorrect SAN value: 'FOO:bar': unsupported type 'FOO' (expected DNS, IP, URI or email)"
        );
        let e = err(vec![San("IP:1.2.3".into())]);
        assert_eq!(
            e.message,
            "Incorrect SAN value: 'IP:1.2.3': '1.2.3' is not an IP address"
        );
        let e = err(vec![San("DNS:a,".into())]);
        assert!(
            e.message.contains("entry '' is not TYPE:value"),
            "{}",
            e.message
        );
        let e = err(vec![San("URI:nope".into())]);
        assert!(e.message.contains("is not a URI"), "{}", e.message);
        let e = err(vec![San("DNS:".into())]);
        assert!(e.message.contains("has no value"), "{}", e.message);

        assert_eq!(err(vec![]).code(), 1064);
    }

    #[test]
    fn prints_in_mysql_order() {
        use RequireClause::*;
        assert_eq!(TlsRequirement::None.to_sql(), "NONE");
        assert_eq!(TlsRequirement::Ssl.to_sql(), "SSL");
        assert_eq!(TlsRequirement::X509.to_sql(), "X509");
        let req = spec(&[
            San("dns:a.example , ip:10.0.0.1,uri:spiffe://x/y,Email:me@x".into()),
            Cipher("TLS_AES_128_GCM_SHA256".into()),
            Issuer("/CN=ca".into()),
            Subject("/O=it's/CN=me\\you".into()),
        ]);
        assert_eq!(
            req.to_sql(),
            r"SUBJECT '/O=it\'s/CN=me\\you' ISSUER '/CN=ca' CIPHER 'TLS_AES_128_GCM_SHA256' SAN 'DNS:a.example,IP:10.0.0.1,URI:spiffe://x/y,email:me@x'"
        );
    }

    #[test]
    fn columns_round_trip() {
        use RequireClause::*;
        for req in [
            TlsRequirement::None,
            TlsRequirement::Ssl,
            TlsRequirement::X509,
            spec(&[Cipher("AES128-GCM-SHA256".into())]),
            spec(&[
                Issuer(ISSUER.into()),
                Subject(SUBJECT.into()),
                San("IP:::1,DNS:x".into()),
            ]),
        ] {
            assert_eq!(TlsRequirement::from_columns(req.to_columns()).unwrap(), req);
        }
        let broken = RequireColumns {
            ssl_type: "SPECIFIED".into(),
            subject: Some("garbage".into()),
            ..RequireColumns::default()
        };
        assert!(TlsRequirement::from_columns(broken).is_err());
        let unknown = RequireColumns {
            ssl_type: "MAYBE".into(),
            ..RequireColumns::default()
        };
        assert!(TlsRequirement::from_columns(unknown).is_err());
    }
}
