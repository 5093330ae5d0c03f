//! The `[upstream]` table: gateway mode, where tlsql relays each session to a MySQL-protocol
//! backend instead of running it on the embedded SQLite engine.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::layers::Origins;
use super::units::{DurationText, format_duration, parse_duration};
use super::validate::non_empty;
use super::{ConfigError, UPSTREAM_TABLE};

/// The `[upstream]` table, validated. With no servers tlsql runs on its embedded engine.
#[derive(Clone, PartialEq)]
pub struct Upstream {
    /// The backends, in configuration order (the order `balance = "ordered"` follows).
    pub servers: Vec<ServerAddress>,
    /// How the backend leg of a TLS client's session is protected and verified.
    pub tls: UpstreamTls,
    /// CA bundle the backends' certificates are verified against.
    pub ssl_ca: Option<PathBuf>,
    /// The gateway's own client certificate toward backends (health checks), with its key.
    pub ssl_cert: Option<PathBuf>,
    /// Private key of `ssl_cert`.
    pub ssl_key: Option<PathBuf>,
    /// Name verified in every backend's certificate (and sent as SNI); each server's host when
    /// not set.
    pub server_name: Option<String>,
    /// CA that signs forwarded client identities; generated under the data directory with
    /// auto-tls when not set.
    pub identity_ca_cert: Option<PathBuf>,
    /// Private key of `identity_ca_cert`.
    pub identity_ca_key: Option<PathBuf>,
    /// Send a PROXY protocol v2 header so backends see the client's address.
    pub proxy_protocol: bool,
    /// How a new session picks its backend.
    pub balance: Balance,
    /// Time between health checks of each backend.
    pub health_interval: Duration,
    /// Account the health checks log in as (a greeting probe only when not set).
    pub monitor_user: Option<String>,
    /// Its password: never printed, never logged.
    pub monitor_password: Secret,
    /// Limit for one attempt to reach a backend (TCP, greeting, TLS); the next is tried after.
    pub connect_timeout: Duration,
}

impl Default for Upstream {
    fn default() -> Self {
        Self {
            servers: Vec::new(),
            tls: UpstreamTls::VerifyIdentity,
            ssl_ca: None,
            ssl_cert: None,
            ssl_key: None,
            server_name: None,
            identity_ca_cert: None,
            identity_ca_key: None,
            proxy_protocol: false,
            balance: Balance::LeastConnections,
            health_interval: Duration::from_secs(2),
            monitor_user: None,
            monitor_password: Secret::default(),
            connect_timeout: Duration::from_secs(3),
        }
    }
}

impl Upstream {
    /// Whether gateway mode is on.
    pub fn enabled(&self) -> bool {
        !self.servers.is_empty()
    }
}

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upstream")
            .field("servers", &self.servers)
            .field("tls", &self.tls)
            .field("ssl_ca", &self.ssl_ca)
            .field("ssl_cert", &self.ssl_cert)
            .field("server_name", &self.server_name)
            .field("identity_ca_cert", &self.identity_ca_cert)
            .field("proxy_protocol", &self.proxy_protocol)
            .field("balance", &self.balance)
            .field("health_interval", &self.health_interval)
            .field("monitor_user", &self.monitor_user)
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

/// A backend's address as configured: a host name or IP address, and a port.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServerAddress {
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl fmt::Display for ServerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl FromStr for ServerAddress {
    type Err = String;

    /// `host:port`, `[v6]:port`, or a host alone (MySQL's port 3306).
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (host, after) = rest
                .split_once(']')
                .ok_or_else(|| format!("'{s}': missing ']' after an IPv6 address"))?;
            match after {
                "" => (host, None),
                _ => match after.strip_prefix(':') {
                    Some(port) => (host, Some(port)),
                    None => return Err(format!("'{s}': expected ':port' after ']'")),
                },
            }
        } else {
            match s.rsplit_once(':') {
                Some((host, _)) if host.contains(':') => {
                    return Err(format!(
                        "'{s}': write an IPv6 address in brackets, e.g. [::1]:3306"
                    ));
                }
                Some((host, port)) => (host, Some(port)),
                None => (s, None),
            }
        };
        if host.is_empty() {
            return Err(format!("'{s}': no host"));
        }
        let port = match port {
            None => 3306,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("'{s}': '{p}' is not a port number (1 to 65535)"))?,
        };
        Ok(Self {
            host: host.to_string(),
            port,
        })
    }
}

/// `upstream.tls`: MySQL's `--ssl-mode` names for the backend leg.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpstreamTls {
    /// TLS; the chain verified against `ssl-ca` and the backend's name checked.
    VerifyIdentity,
    /// TLS; the chain verified, the name not checked.
    VerifyCa,
    /// TLS without verification.
    Required,
    /// No TLS toward backends: a TLS client's `REQUIRE SSL` then fails at the backend.
    Disabled,
}

impl UpstreamTls {
    /// The configuration spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::VerifyIdentity => "verify-identity",
            Self::VerifyCa => "verify-ca",
            Self::Required => "required",
            Self::Disabled => "disabled",
        }
    }
}

impl FromStr for UpstreamTls {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "verify-identity" => Ok(Self::VerifyIdentity),
            "verify-ca" => Ok(Self::VerifyCa),
            "required" => Ok(Self::Required),
            "disabled" => Ok(Self::Disabled),
            other => Err(format!(
                "unknown mode '{other}': expected verify-identity, verify-ca, required or disabled"
            )),
        }
    }
}

/// `upstream.balance`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Balance {
    /// The healthy backend with the fewest sessions (ties: configuration order).
    LeastConnections,
    /// Healthy backends in turn.
    RoundRobin,
    /// The first healthy backend in configuration order.
    Ordered,
}

impl Balance {
    /// The configuration spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::LeastConnections => "least-connections",
            Self::RoundRobin => "round-robin",
            Self::Ordered => "ordered",
        }
    }
}

impl FromStr for Balance {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "least-connections" => Ok(Self::LeastConnections),
            "round-robin" => Ok(Self::RoundRobin),
            "ordered" => Ok(Self::Ordered),
            other => Err(format!(
                "unknown policy '{other}': expected least-connections, round-robin or ordered"
            )),
        }
    }
}

/// A password: compared and used, never shown (`Debug` prints whether it is set).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "(none)" } else { "(set)" })
    }
}

/// `[upstream]` as written.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(super) struct RawUpstream {
    pub(super) servers: ServerList,
    pub(super) tls: String,
    pub(super) ssl_ca: PathBuf,
    pub(super) ssl_cert: PathBuf,
    pub(super) ssl_key: PathBuf,
    pub(super) server_name: String,
    pub(super) identity_ca_cert: PathBuf,
    pub(super) identity_ca_key: PathBuf,
    pub(super) proxy_protocol: bool,
    pub(super) balance: String,
    pub(super) health_interval: DurationText,
    pub(super) monitor_user: String,
    pub(super) monitor_password: String,
    pub(super) connect_timeout: DurationText,
}

/// `servers`: a TOML array of strings, or one comma-separated string (environment variables
/// and flags).
#[derive(Clone, Debug, Default)]
pub(super) struct ServerList(pub(super) Vec<String>);

impl Serialize for ServerList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for ServerList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ServerList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of \"host:port\" strings, or one comma-separated string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ServerList, E> {
                Ok(ServerList(
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect(),
                ))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ServerList, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    out.push(item);
                }
                Ok(ServerList(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl From<&Upstream> for RawUpstream {
    fn from(u: &Upstream) -> Self {
        let path = |p: &Option<PathBuf>| p.clone().unwrap_or_default();
        Self {
            servers: ServerList(u.servers.iter().map(ToString::to_string).collect()),
            tls: u.tls.name().into(),
            ssl_ca: path(&u.ssl_ca),
            ssl_cert: path(&u.ssl_cert),
            ssl_key: path(&u.ssl_key),
            server_name: u.server_name.clone().unwrap_or_default(),
            identity_ca_cert: path(&u.identity_ca_cert),
            identity_ca_key: path(&u.identity_ca_key),
            proxy_protocol: u.proxy_protocol,
            balance: u.balance.name().into(),
            health_interval: DurationText(format_duration(u.health_interval)),
            monitor_user: u.monitor_user.clone().unwrap_or_default(),
            // Printing the configuration never shows the secret (see `Config::to_toml`).
            monitor_password: String::new(),
            connect_timeout: DurationText(format_duration(u.connect_timeout)),
        }
    }
}

impl RawUpstream {
    pub(super) fn validate(self, origins: &Origins<'_>) -> Result<Upstream, ConfigError> {
        let key = |name: &str| format!("{UPSTREAM_TABLE}.{name}");
        let servers = self
            .servers
            .0
            .iter()
            .map(|s| s.parse::<ServerAddress>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|r| origins.invalid(&key("servers"), r))?;
        let tls = UpstreamTls::from_str(&self.tls).map_err(|r| origins.invalid(&key("tls"), r))?;
        let ssl_ca = non_empty(self.ssl_ca);
        if matches!(tls, UpstreamTls::VerifyIdentity | UpstreamTls::VerifyCa)
            && ssl_ca.is_none()
            && !servers.is_empty()
        {
            return Err(ConfigError::Missing {
                key: key("ssl-ca"),
                reason: format!(
                    "upstream.tls = \"{}\" (from {}) verifies the backends' certificates against the CA bundle that issued them; set upstream.ssl-ca, or upstream.tls = \"required\" to encrypt without verifying",
                    tls.name(),
                    origins.of(&key("tls"))
                ),
            });
        }
        let ssl_cert = non_empty(self.ssl_cert);
        let ssl_key = non_empty(self.ssl_key);
        both_or_neither(
            origins,
            &key("ssl-cert"),
            &key("ssl-key"),
            &ssl_cert,
            &ssl_key,
        )?;
        let identity_ca_cert = non_empty(self.identity_ca_cert);
        let identity_ca_key = non_empty(self.identity_ca_key);
        both_or_neither(
            origins,
            &key("identity-ca-cert"),
            &key("identity-ca-key"),
            &identity_ca_cert,
            &identity_ca_key,
        )?;
        let server_name = Some(self.server_name.trim().to_string()).filter(|s| !s.is_empty());
        let balance =
            Balance::from_str(&self.balance).map_err(|r| origins.invalid(&key("balance"), r))?;
        let positive = |name: &str, text: &DurationText| {
            let d = parse_duration(&text.0).map_err(|r| origins.invalid(&key(name), r))?;
            if d.is_zero() {
                return Err(origins.invalid(&key(name), "must be greater than zero"));
            }
            Ok(d)
        };
        let health_interval = positive("health-interval", &self.health_interval)?;
        let connect_timeout = positive("connect-timeout", &self.connect_timeout)?;
        let monitor_user = Some(self.monitor_user).filter(|s| !s.is_empty());
        if monitor_user.is_none() && !self.monitor_password.is_empty() {
            return Err(origins.invalid(
                &key("monitor-password"),
                "upstream.monitor-password is set but upstream.monitor-user is empty",
            ));
        }
        Ok(Upstream {
            servers,
            tls,
            ssl_ca,
            ssl_cert,
            ssl_key,
            server_name,
            identity_ca_cert,
            identity_ca_key,
            proxy_protocol: self.proxy_protocol,
            balance,
            health_interval,
            monitor_user,
            monitor_password: Secret(self.monitor_password),
            connect_timeout,
        })
    }
}

fn both_or_neither(
    origins: &Origins<'_>,
    a_key: &str,
    b_key: &str,
    a: &Option<PathBuf>,
    b: &Option<PathBuf>,
) -> Result<(), ConfigError> {
    match (a, b) {
        (Some(_), None) => Err(origins.invalid(
            a_key,
            format!("{a_key} is set but {b_key} is empty; set both or neither"),
        )),
        (None, Some(_)) => Err(origins.invalid(
            b_key,
            format!("{b_key} is set but {a_key} is empty; set both or neither"),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{args, jail, load_err};
    use super::super::{Config, load};
    use super::*;

    #[test]
    fn server_addresses() {
        let a: ServerAddress = "10.0.0.11:4000".parse().unwrap();
        assert_eq!((a.host.as_str(), a.port), ("10.0.0.11", 4000));
        let a: ServerAddress = "db.example".parse().unwrap();
        assert_eq!((a.host.as_str(), a.port), ("db.example", 3306));
        let a: ServerAddress = "[::1]:3307".parse().unwrap();
        assert_eq!((a.host.as_str(), a.port), ("::1", 3307));
        assert_eq!(a.to_string(), "[::1]:3307");
        for bad in [
            "", ":3306", "h:0", "h:99999", "h:x", "::1:3306", "[::1", "[::1]x",
        ] {
            assert!(bad.parse::<ServerAddress>().is_err(), "{bad}");
        }
    }

    #[test]
    fn upstream_table_from_file_environment_and_flags() {
        jail(|jail| {
            jail.create_file(
                "t.toml",
                "[upstream]\nservers = [\"127.0.0.1:3306\", \"[::1]:3307\"]\ntls = \"verify-ca\"\nssl-ca = \"ca.pem\"\nbalance = \"round-robin\"\nproxy-protocol = true\nmonitor-user = \"mon\"\nmonitor-password = \"s3cret\"\n",
            )
            .unwrap();
            let c = load(&args(&["--config", "t.toml"])).unwrap();
            let u = &c.upstream;
            assert!(u.enabled());
            assert_eq!(u.servers.len(), 2);
            assert_eq!(u.tls, UpstreamTls::VerifyCa);
            assert_eq!(u.balance, Balance::RoundRobin);
            assert!(u.proxy_protocol);
            assert_eq!(u.monitor_password.expose(), "s3cret");
            // Never printed, never in Debug output.
            let printed = c.to_toml().unwrap();
            assert!(!printed.contains("s3cret"), "{printed}");
            assert!(printed.contains("monitor-password is set"), "{printed}");
            assert!(!format!("{c:?}").contains("s3cret"));

            jail.set_env("TLSQL_UPSTREAM__SERVERS", "a:1, b:2");
            jail.set_env("TLSQL_UPSTREAM__TLS", "required");
            let c = load(&args(&["--config", "t.toml"])).unwrap();
            assert_eq!(c.upstream.servers[1].to_string(), "b:2");
            assert_eq!(c.upstream.tls, UpstreamTls::Required);

            let c = load(&args(&[
                "--config",
                "t.toml",
                "--upstream-servers",
                "c:3",
                "--upstream-balance",
                "ordered",
            ]))
            .unwrap();
            assert_eq!(c.upstream.servers[0].to_string(), "c:3");
            assert_eq!(c.upstream.balance, Balance::Ordered);
        });
    }

    #[test]
    fn verification_without_a_ca_is_an_error_naming_the_key() {
        jail(|jail| {
            jail.create_file("t.toml", "[upstream]\nservers = [\"127.0.0.1:3306\"]\n")
                .unwrap();
            let err = load_err(&["--config", "t.toml"]);
            assert!(
                err.starts_with("upstream.ssl-ca must be set: upstream.tls = \"verify-identity\" (from the built-in default) verifies"),
                "{err}"
            );
            jail.create_file(
                "t.toml",
                "[upstream]\nservers = [\"127.0.0.1:3306\"]\ntls = \"required\"\nhealth-interval = \"0s\"\n",
            )
            .unwrap();
            let err = load_err(&["--config", "t.toml"]);
            assert!(err.contains("upstream.health-interval"), "{err}");
            jail.create_file(
                "t.toml",
                "[upstream]\nservers = [\"x:0\"]\ntls = \"required\"\n",
            )
            .unwrap();
            let err = load_err(&["--config", "t.toml"]);
            assert!(
                err.contains("upstream.servers") && err.contains("'x:0'"),
                "{err}"
            );
            jail.create_file("t.toml", "[upstream]\nmonitor-password = \"p\"\n")
                .unwrap();
            let err = load_err(&["--config", "t.toml"]);
            assert!(err.contains("upstream.monitor-user is empty"), "{err}");
        });
    }

    #[test]
    fn the_default_is_the_embedded_engine() {
        assert!(!Config::default().upstream.enabled());
    }
}
