//! The second stage: every raw value checked and turned into its type.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use log::LevelFilter;
use tlsql_tls_api::TlsVersion;
use tlsql_tls_api::cipher::{self, SuiteKind};
use tlsql_tls_api::group;

use super::layers::Origins;
use super::raw::{RawConfig, RawSecurity};
use super::units::{DurationText, parse_duration, parse_size};
use super::{AutoTlsKey, Config, ConfigError, Security, TlsBackendKind};

/// MySQL's limits for `max_allowed_packet`.
const MIN_PACKET: u64 = 1024;
const MAX_PACKET: u64 = 1 << 30;
/// MySQL's upper limit for `max_prepared_stmt_count`.
const MAX_PREPARED_STMT_COUNT: i64 = 4_194_304;
/// MySQL's upper limit for `max_connections`.
const MAX_CONNECTIONS: i64 = 100_000;
/// RFC 8446 §4.6.1: a TLS 1.3 ticket lives at most seven days.
const MAX_SESSION_TIMEOUT: Duration = Duration::from_secs(7 * 86400);

impl RawConfig {
    pub(super) fn validate(self, origins: &Origins<'_>) -> Result<Config, ConfigError> {
        let host = check_host(&self.host).map_err(|r| origins.invalid("host", r))?;
        let port = u16::try_from(self.port.0).map_err(|_| {
            origins.invalid(
                "port",
                format!("{} is not a port number (0 to 65535)", self.port.0),
            )
        })?;
        if self.data_dir.as_os_str().is_empty() {
            return Err(origins.invalid("data-dir", "must not be empty"));
        }
        let max_connections = match self.max_connections.0 {
            n @ 1..=MAX_CONNECTIONS => n as u32,
            n => {
                return Err(origins.invalid(
                    "max-connections",
                    format!("{n} is out of range (1 to {MAX_CONNECTIONS})"),
                ));
            }
        };
        let max_connections_per_host = match self.max_connections_per_host.0 {
            n @ 0..=MAX_CONNECTIONS => n as u32,
            n => {
                return Err(origins.invalid(
                    "max-connections-per-host",
                    format!("{n} is out of range (0 to {MAX_CONNECTIONS}; 0: no limit)"),
                ));
            }
        };
        let positive = |key: &str, text: &DurationText| {
            let d = parse_duration(&text.0).map_err(|r| origins.invalid(key, r))?;
            if d.is_zero() {
                return Err(origins.invalid(key, "must be greater than zero"));
            }
            Ok(d)
        };
        let connect_timeout = positive("connect-timeout", &self.connect_timeout)?;
        let wait_timeout = positive("wait-timeout", &self.wait_timeout)?;
        // Zero is allowed: exit as soon as the idle sessions are told, cutting running ones.
        let shutdown_timeout = parse_duration(&self.shutdown_timeout.0)
            .map_err(|r| origins.invalid("shutdown-timeout", r))?;
        let max_allowed_packet = parse_size(&self.max_allowed_packet)
            .and_then(|n| {
                if (MIN_PACKET..=MAX_PACKET).contains(&n) {
                    usize::try_from(n).map_err(|_| "too large for this platform".to_string())
                } else {
                    Err(format!("{n} bytes is out of range (1KiB to 1GiB)"))
                }
            })
            .map_err(|r| origins.invalid("max-allowed-packet", r))?;
        let max_prepared_stmt_count = match self.max_prepared_stmt_count.0 {
            n @ 0..=MAX_PREPARED_STMT_COUNT => n as u32,
            n => {
                return Err(origins.invalid(
                    "max-prepared-stmt-count",
                    format!("{n} is out of range (0 to {MAX_PREPARED_STMT_COUNT})"),
                ));
            }
        };
        let log_level = LevelFilter::from_str(&self.log.level).map_err(|_| {
            origins.invalid(
                "log.level",
                format!(
                    "unknown log level '{}': expected off, error, warn, info, debug or trace",
                    self.log.level
                ),
            )
        })?;

        Ok(Config {
            host,
            port,
            socket: non_empty(self.socket),
            data_dir: self.data_dir,
            max_connections,
            max_connections_per_host,
            connect_timeout,
            wait_timeout,
            shutdown_timeout,
            max_allowed_packet,
            max_prepared_stmt_count,
            log_level,
            security: self.security.validate(origins)?,
            metrics_listen: match self.metrics.listen.trim() {
                "" => None,
                addr => Some(SocketAddr::from_str(addr).map_err(|_| {
                    origins.invalid(
                        "metrics.listen",
                        format!(
                            "'{addr}' is not an IP address and port, e.g. 127.0.0.1:9540 (empty: off)"
                        ),
                    )
                })?),
            },
            upstream: self.upstream.validate(origins)?,
        })
    }
}

impl RawSecurity {
    pub(super) fn validate(self, origins: &Origins<'_>) -> Result<Security, ConfigError> {
        let key = |name: &str| format!("security.{name}");

        let tls_backend = TlsBackendKind::from_str(&self.tls_backend)
            .map_err(|r| origins.invalid(&key("tls-backend"), r))?;
        if !tls_backend.is_compiled_in() {
            let compiled: Vec<_> = TlsBackendKind::compiled_in()
                .into_iter()
                .map(TlsBackendKind::name)
                .collect();
            return Err(origins.invalid(
                &key("tls-backend"),
                format!(
                    "TLS backend `{tls_backend}` is not available in this build (compiled in: {}); rebuild with `--features {tls_backend}`",
                    compiled.join(", ")
                ),
            ));
        }

        let ssl_cert = non_empty(self.ssl_cert);
        let ssl_key = non_empty(self.ssl_key);
        match (&ssl_cert, &ssl_key) {
            (Some(_), None) => {
                return Err(origins.invalid(
                    &key("ssl-cert"),
                    "security.ssl-cert is set but security.ssl-key is empty; set both or neither",
                ));
            }
            (None, Some(_)) => {
                return Err(origins.invalid(
                    &key("ssl-key"),
                    "security.ssl-key is set but security.ssl-cert is empty; set both or neither",
                ));
            }
            _ => {}
        }

        let auto_tls_key = AutoTlsKey::from_str(&self.auto_tls_key)
            .map_err(|r| origins.invalid(&key("auto-tls-key"), r))?;

        let legacy: Vec<TlsBackendKind> = TlsBackendKind::ALL
            .into_iter()
            .filter(|b| b.capabilities().legacy_versions)
            .collect();
        let tls_version = TlsVersion::from_str(&self.tls_version).map_err(|_| {
            let names: Vec<_> = legacy.iter().map(|b| b.name()).collect();
            origins.invalid(
                &key("tls-version"),
                format!(
                    "unknown TLS version '{}': expected TLSv1.2 or TLSv1.3 (TLSv1.0 and TLSv1.1 only on the {} backends)",
                    self.tls_version,
                    names.join(" and ")
                ),
            )
        })?;
        let capabilities = tls_backend.capabilities();
        if !capabilities.versions().any(|v| v == tls_version) {
            let alternatives: Vec<_> = legacy
                .into_iter()
                .map(|b| {
                    if b.is_compiled_in() {
                        format!("{b} (tls-backend = \"{b}\")")
                    } else {
                        format!("{b} (build with --features {b})")
                    }
                })
                .collect();
            return Err(origins.invalid(
                &key("tls-version"),
                format!(
                    "the {tls_backend} backend cannot do {tls_version} (it supports {} only); the {} backend can",
                    capabilities
                        .versions()
                        .map(TlsVersion::as_str)
                        .collect::<Vec<_>>()
                        .join(" and "),
                    alternatives.join(" or ")
                ),
            ));
        }

        let ssl_cipher = check_suites(&self.ssl_cipher, false)
            .map_err(|r| origins.invalid(&key("ssl-cipher"), r))?;
        let tls_ciphersuites = check_suites(&self.tls_ciphersuites, true)
            .map_err(|r| origins.invalid(&key("tls-ciphersuites"), r))?;
        let usable = ssl_cipher
            .iter()
            .chain(&tls_ciphersuites)
            .filter_map(|name| cipher::lookup(name))
            .any(|suite| tls_version.and_newer().any(|v| suite.usable_with(v)));
        if !usable {
            let list = if tls_version == TlsVersion::Tls13 {
                "tls-ciphersuites"
            } else {
                "ssl-cipher"
            };
            return Err(origins.invalid(
                &key(list),
                format!("no configured suite can be used with {tls_version} or newer"),
            ));
        }

        let tls_groups = match group::parse_list(&self.tls_groups) {
            Ok(groups) if groups.is_empty() => Err("name at least one group".to_string()),
            Ok(groups) => Ok(groups),
            Err(name) => Err(format!(
                "unknown key exchange group '{name}': expected {}",
                group::join(&group::ALL.iter().collect::<Vec<_>>())
            )),
        }
        .map_err(|r| origins.invalid(&key("tls-groups"), r))?;

        let ssl_session_cache_timeout =
            parse_duration(&self.ssl_session_cache_timeout.0).and_then(|d| {
                if d > MAX_SESSION_TIMEOUT {
                    Err("must be at most 7d (the TLS 1.3 limit for tickets)".to_string())
                } else {
                    Ok(d)
                }
            });
        let ssl_session_cache_timeout = ssl_session_cache_timeout
            .map_err(|r| origins.invalid(&key("ssl-session-cache-timeout"), r))?;
        let expiry_warning = parse_duration(&self.expiry_warning.0)
            .map_err(|r| origins.invalid(&key("expiry-warning"), r))?;

        Ok(Security {
            tls_backend,
            ssl_cert,
            ssl_key,
            ssl_ca: non_empty(self.ssl_ca),
            auto_tls: self.auto_tls,
            auto_tls_key,
            tls_version,
            ssl_cipher,
            tls_ciphersuites,
            tls_groups,
            require_secure_transport: self.require_secure_transport,
            ssl_session_cache_mode: self.ssl_session_cache_mode,
            ssl_session_cache_timeout,
            auto_reload: self.auto_reload,
            expiry_warning,
        })
    }
}

pub(super) fn non_empty(path: PathBuf) -> Option<PathBuf> {
    Some(path).filter(|p| !p.as_os_str().is_empty())
}

/// Resolves a `:`-separated list; every name must be known and of the right family.
fn check_suites(list: &str, tls13: bool) -> Result<Vec<String>, String> {
    let suites = cipher::parse_list(list).map_err(|name| format!("unknown cipher '{name}'"))?;
    for suite in &suites {
        match (suite.kind == SuiteKind::Tls13, tls13) {
            (true, false) => {
                return Err(format!(
                    "'{}' is a TLS 1.3 suite; list it in security.tls-ciphersuites",
                    suite.openssl
                ));
            }
            (false, true) => {
                return Err(format!(
                    "'{}' is a TLS 1.2 suite; list it in security.ssl-cipher",
                    suite.openssl
                ));
            }
            _ => {}
        }
    }
    Ok(suites.iter().map(|s| s.openssl.to_string()).collect())
}

/// An IP address, or a host name (RFC 1123 labels).
fn check_host(host: &str) -> Result<String, String> {
    if host.parse::<IpAddr>().is_ok() {
        return Ok(host.to_string());
    }
    let bad = || format!("'{host}' is neither an IP address nor a host name");
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.is_empty() || name.len() > 253 {
        return Err(bad());
    }
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if name.split('.').all(label_ok) {
        Ok(host.to_string())
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::super::load;
    use super::super::testing::{args, jail, load_err};
    use super::*;

    #[test]
    fn tls_version_errors_name_the_source() {
        jail(|jail| {
            jail.set_env("TLSQL_SECURITY__TLS_VERSION", "TLSv9");
            let err = load_err(&[]);
            assert!(
                err.starts_with(
                    "invalid value for security.tls-version from environment variable TLSQL_SECURITY__TLS_VERSION: unknown TLS version 'TLSv9'"
                ),
                "{err}"
            );
        });
        jail(|jail| {
            jail.create_file("t.toml", "[security]\ntls-version = \"SSLv3\"\n")
                .unwrap();
            let err = load_err(&["--config", "t.toml"]);
            assert!(
                err.starts_with(
                    "invalid value for security.tls-version from file t.toml: unknown TLS version 'SSLv3'"
                ),
                "{err}"
            );
            // The flag wins over the file, and is what the error names.
            let err = load_err(&["--config", "t.toml", "--tls-version", "TLSv2"]);
            assert!(
                err.starts_with(
                    "invalid value for security.tls-version from flag --tls-version: unknown TLS version 'TLSv2'"
                ),
                "{err}"
            );
        });
    }

    #[test]
    fn scalar_values_are_validated() {
        jail(|jail| {
            let cases: &[(&str, &str, &str)] = &[
                (
                    "TLSQL_PORT",
                    "70000",
                    "invalid value for port from environment variable TLSQL_PORT: 70000 is not a port number",
                ),
                (
                    "TLSQL_HOST",
                    "not a host",
                    "invalid value for host from environment variable TLSQL_HOST: 'not a host' is neither",
                ),
                (
                    "TLSQL_MAX_CONNECTIONS",
                    "0",
                    "invalid value for max-connections from environment variable TLSQL_MAX_CONNECTIONS: 0 is out of range",
                ),
                (
                    "TLSQL_CONNECT_TIMEOUT",
                    "10",
                    "invalid value for connect-timeout from environment variable TLSQL_CONNECT_TIMEOUT: invalid type: found unsigned int `10`, expected a duration string with a unit",
                ),
                (
                    "TLSQL_WAIT_TIMEOUT",
                    "0s",
                    "invalid value for wait-timeout from environment variable TLSQL_WAIT_TIMEOUT: must be greater than zero",
                ),
                (
                    "TLSQL_MAX_ALLOWED_PACKET",
                    "64MB",
                    "invalid value for max-allowed-packet from environment variable TLSQL_MAX_ALLOWED_PACKET: '64MB' is not a size",
                ),
                (
                    "TLSQL_MAX_ALLOWED_PACKET",
                    "100",
                    "invalid value for max-allowed-packet from environment variable TLSQL_MAX_ALLOWED_PACKET: 100 bytes is out of range",
                ),
                (
                    "TLSQL_METRICS__LISTEN",
                    "localhost",
                    "invalid value for metrics.listen from environment variable TLSQL_METRICS__LISTEN: 'localhost' is not an IP address and port, e.g. 127.0.0.1:9540 (empty: off)",
                ),
                (
                    "TLSQL_LOG__LEVEL",
                    "loud",
                    "invalid value for log.level from environment variable TLSQL_LOG__LEVEL: unknown log level 'loud'",
                ),
                (
                    "TLSQL_DATA_DIR",
                    "\"\"",
                    "invalid value for data-dir from environment variable TLSQL_DATA_DIR: must not be empty",
                ),
                (
                    "TLSQL_SECURITY__AUTO_TLS_KEY",
                    "ed25519",
                    "invalid value for security.auto-tls-key from environment variable TLSQL_SECURITY__AUTO_TLS_KEY: unknown key type 'ed25519'",
                ),
                (
                    "TLSQL_SECURITY__EXPIRY_WARNING",
                    "30 days",
                    "invalid value for security.expiry-warning from environment variable TLSQL_SECURITY__EXPIRY_WARNING: '30 days' has an unknown unit 'days'",
                ),
                (
                    "TLSQL_SECURITY__SSL_SESSION_CACHE_TIMEOUT",
                    "8d",
                    "invalid value for security.ssl-session-cache-timeout from environment variable TLSQL_SECURITY__SSL_SESSION_CACHE_TIMEOUT: must be at most 7d",
                ),
                (
                    "TLSQL_SECURITY__TLS_BACKEND",
                    "gnutls",
                    "invalid value for security.tls-backend from environment variable TLSQL_SECURITY__TLS_BACKEND: unknown TLS backend 'gnutls'",
                ),
            ];
            for (var, value, expected) in cases {
                jail.clear_env();
                jail.set_env(var, value);
                let err = load_err(&[]);
                assert!(err.starts_with(expected), "{var}={value}: {err}");
            }
        });
    }

    #[test]
    fn cert_and_key_come_together() {
        jail(|jail| {
            jail.create_file("t.toml", "[security]\nssl-cert = \"server.pem\"\n")
                .unwrap();
            let err = load_err(&["--config", "t.toml"]);
            assert!(
                err.starts_with(
                    "invalid value for security.ssl-cert from file t.toml: security.ssl-cert is set but security.ssl-key is empty"
                ),
                "{err}"
            );
            let err = load_err(&["--ssl-key", "key.pem"]);
            assert!(
                err.starts_with(
                    "invalid value for security.ssl-key from flag --ssl-key: security.ssl-key is set but security.ssl-cert is empty"
                ),
                "{err}"
            );
        });
    }

    #[test]
    fn cipher_lists_are_checked_by_family() {
        jail(|jail| {
            jail.set_env("TLSQL_SECURITY__SSL_CIPHER", "TLS_AES_128_GCM_SHA256");
            let err = load_err(&[]);
            assert!(
                err.starts_with(
                    "invalid value for security.ssl-cipher from environment variable TLSQL_SECURITY__SSL_CIPHER: 'TLS_AES_128_GCM_SHA256' is a TLS 1.3 suite"
                ),
                "{err}"
            );
            jail.clear_env();
            jail.set_env("TLSQL_SECURITY__SSL_CIPHER", "AES128-SHA:RC4-MD5");
            let err = load_err(&[]);
            assert!(err.ends_with("unknown cipher 'RC4-MD5'"), "{err}");
            jail.clear_env();
            let err = load_err(&["--tls-ciphersuites", "ECDHE-RSA-AES128-GCM-SHA256"]);
            assert!(
                err.starts_with(
                    "invalid value for security.tls-ciphersuites from flag --tls-ciphersuites: 'ECDHE-RSA-AES128-GCM-SHA256' is a TLS 1.2 suite"
                ),
                "{err}"
            );
            let err = load_err(&["--tls-version", "TLSv1.3", "--tls-ciphersuites", ""]);
            assert!(
                err.starts_with(
                    "invalid value for security.tls-ciphersuites from flag --tls-ciphersuites: no configured suite can be used with TLSv1.3"
                ),
                "{err}"
            );
        });
        // Lists keep the configured order; spaces around names are tolerated.
        jail(|_| {
            let c = load(&args(&[
                "--ssl-cipher",
                "ECDHE-RSA-AES256-GCM-SHA384 : AES128-SHA",
            ]))
            .unwrap();
            assert_eq!(
                c.security.ssl_cipher,
                ["ECDHE-RSA-AES256-GCM-SHA384", "AES128-SHA"]
            );
        });
    }

    #[test]
    fn backend_missing_from_the_build_is_named() {
        let Some(missing) = TlsBackendKind::ALL
            .into_iter()
            .find(|b| !b.is_compiled_in())
        else {
            return;
        };
        jail(|_| {
            let err = load_err(&["--tls-backend", missing.name()]);
            let compiled: Vec<_> = TlsBackendKind::compiled_in()
                .into_iter()
                .map(TlsBackendKind::name)
                .collect();
            let expected = format!(
                "invalid value for security.tls-backend from flag --tls-backend: TLS backend `{missing}` is not available in this build (compiled in: {})",
                compiled.join(", ")
            );
            assert!(err.starts_with(&expected), "{err}");
        });
    }

    #[test]
    fn rustls_refuses_old_tls_versions() {
        if !TlsBackendKind::Rustls.is_compiled_in() {
            return;
        }
        jail(|jail| {
            jail.set_env("TLSQL_SECURITY__TLS_VERSION", "TLSv1.1");
            let err = load_err(&["--tls-backend", "rustls"]);
            assert!(
                err.starts_with(
                    "invalid value for security.tls-version from environment variable TLSQL_SECURITY__TLS_VERSION: the rustls backend cannot do TLSv1.1"
                ),
                "{err}"
            );
            assert!(err.contains("the openssl"), "{err}");
        });
    }

    #[test]
    fn old_tls_versions_load_on_c_backends() {
        let Some(c_backend) = [TlsBackendKind::Openssl, TlsBackendKind::Boring]
            .into_iter()
            .find(|b| b.is_compiled_in())
        else {
            return;
        };
        jail(|_| {
            let c = load(&args(&[
                "--tls-backend",
                c_backend.name(),
                "--tls-version",
                "TLSv1",
            ]))
            .unwrap();
            assert_eq!(c.security.tls_version, TlsVersion::Tls10);
        });
    }

    #[test]
    fn hosts() {
        for ok in [
            "127.0.0.1",
            "::1",
            "0.0.0.0",
            "localhost",
            "db-1.example.com",
            "example.com.",
        ] {
            assert!(check_host(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "[::1]",
            "a b",
            "-db",
            "db_1.example",
            "a..b",
            &"x".repeat(64),
        ] {
            assert!(check_host(bad).is_err(), "{bad}");
        }
    }
}
