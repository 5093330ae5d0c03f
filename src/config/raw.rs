//! The configuration as written: plain values in the shape of the TOML file, before validation.

use std::fmt;
use std::path::PathBuf;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use tlsql_tls_api::group;

use super::Config;
use super::units::{DurationText, SizeText, format_duration, format_size};
use super::upstream::RawUpstream;

/// The keys as written in TOML: plain values, validated by [`RawConfig::validate`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) host: String,
    // Wider than the typed field so that an out-of-range number gets our message.
    pub(super) port: Integer,
    pub(super) socket: PathBuf,
    pub(super) data_dir: PathBuf,
    pub(super) max_connections: Integer,
    pub(super) max_connections_per_host: Integer,
    pub(super) connect_timeout: DurationText,
    pub(super) wait_timeout: DurationText,
    pub(super) shutdown_timeout: DurationText,
    pub(super) max_allowed_packet: SizeText,
    pub(super) max_prepared_stmt_count: Integer,
    pub(super) log: RawLog,
    pub(super) security: RawSecurity,
    pub(super) metrics: RawMetrics,
    pub(super) upstream: RawUpstream,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(super) struct RawMetrics {
    pub(super) listen: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(super) struct RawLog {
    pub(super) level: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(super) struct RawSecurity {
    pub(super) tls_backend: String,
    pub(super) ssl_cert: PathBuf,
    pub(super) ssl_key: PathBuf,
    pub(super) ssl_ca: PathBuf,
    pub(super) auto_tls: bool,
    pub(super) auto_tls_key: String,
    pub(super) tls_version: String,
    pub(super) ssl_cipher: String,
    pub(super) tls_ciphersuites: String,
    pub(super) tls_groups: String,
    pub(super) require_secure_transport: bool,
    pub(super) ssl_session_cache_mode: bool,
    pub(super) ssl_session_cache_timeout: DurationText,
    pub(super) auto_reload: bool,
    pub(super) expiry_warning: DurationText,
}

/// An integer as written (the typed range is checked by validation, with a better message
/// than serde's "expected u16").
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Integer(pub(super) i64);

impl Serialize for Integer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.0)
    }
}

impl<'de> Deserialize<'de> for Integer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Integer;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Integer, E> {
                Ok(Integer(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Integer, E> {
                i64::try_from(v).map(Integer).map_err(|_| {
                    E::invalid_value(de::Unexpected::Unsigned(v), &"a smaller integer")
                })
            }
        }
        d.deserialize_any(V)
    }
}

impl From<&Config> for RawConfig {
    fn from(c: &Config) -> Self {
        let s = &c.security;
        let opt_path = |p: &Option<PathBuf>| p.clone().unwrap_or_default();
        Self {
            host: c.host.clone(),
            port: Integer(i64::from(c.port)),
            socket: opt_path(&c.socket),
            data_dir: c.data_dir.clone(),
            max_connections: Integer(i64::from(c.max_connections)),
            max_connections_per_host: Integer(i64::from(c.max_connections_per_host)),
            connect_timeout: DurationText(format_duration(c.connect_timeout)),
            wait_timeout: DurationText(format_duration(c.wait_timeout)),
            shutdown_timeout: DurationText(format_duration(c.shutdown_timeout)),
            max_allowed_packet: format_size(c.max_allowed_packet as u64),
            max_prepared_stmt_count: Integer(i64::from(c.max_prepared_stmt_count)),
            log: RawLog {
                level: c.log_level.as_str().to_ascii_lowercase(),
            },
            security: RawSecurity {
                tls_backend: s.tls_backend.name().into(),
                ssl_cert: opt_path(&s.ssl_cert),
                ssl_key: opt_path(&s.ssl_key),
                ssl_ca: opt_path(&s.ssl_ca),
                auto_tls: s.auto_tls,
                auto_tls_key: s.auto_tls_key.name().into(),
                tls_version: s.tls_version.as_str().into(),
                ssl_cipher: s.ssl_cipher.join(":"),
                tls_ciphersuites: s.tls_ciphersuites.join(":"),
                tls_groups: group::join(&s.tls_groups),
                require_secure_transport: s.require_secure_transport,
                ssl_session_cache_mode: s.ssl_session_cache_mode,
                ssl_session_cache_timeout: DurationText(format_duration(
                    s.ssl_session_cache_timeout,
                )),
                auto_reload: s.auto_reload,
                expiry_warning: DurationText(format_duration(s.expiry_warning)),
            },
            metrics: RawMetrics {
                listen: c.metrics_listen.map(|a| a.to_string()).unwrap_or_default(),
            },
            upstream: RawUpstream::from(&c.upstream),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{jail, load_err};

    #[test]
    fn wrong_types_name_key_and_source() {
        jail(|jail| {
            jail.create_file("t.toml", "port = \"abc\"\n").unwrap();
            let err = load_err(&["--config", "t.toml"]);
            assert!(
                err.starts_with(
                    "invalid value for port from file t.toml: invalid type: found string \"abc\", expected an integer"
                ),
                "{err}"
            );

            jail.create_file("t.toml", "[log]\nlevel = 3\n").unwrap();
            let err = load_err(&["--config", "t.toml"]);
            assert!(
                err.starts_with("invalid value for log.level from file t.toml: invalid type"),
                "{err}"
            );

            jail.create_file("t.toml", "security = 1\n").unwrap();
            let err = load_err(&["--config", "t.toml"]);
            assert!(
                err.starts_with("invalid value for security from file t.toml: invalid type"),
                "{err}"
            );
        });
        jail(|jail| {
            jail.set_env("TLSQL_SECURITY__AUTO_TLS", "maybe");
            let err = load_err(&[]);
            assert!(
                err.starts_with(
                    "invalid value for security.auto-tls from environment variable TLSQL_SECURITY__AUTO_TLS: invalid type: found string \"maybe\""
                ),
                "{err}"
            );
        });
    }
}
