//! Configuration: built-in defaults < TOML file < `TLSQL_…` environment variables <
//! command-line flags.
//!
//! Loading has two stages, as in ripgrep. First each layer is turned into a tree of plain values
//! (strings, numbers, booleans) and checked for unknown keys against the shape of the defaults;
//! figment merges the layers and deserializes the result into `RawConfig`, whose fields mirror
//! the TOML keys. Then `RawConfig::validate` turns it into the typed [`Config`] and checks every
//! value. figment tags each value with the layer it came from, so every error names the key and
//! its source: the file's path, the environment variable's name or the flag.

mod args;
mod layers;
mod raw;
mod units;
mod upstream;
mod validate;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use figment::Figment;
use log::LevelFilter;
use tlsql_tls_api::group::{self, KxGroup};
use tlsql_tls_api::{Capabilities, TlsVersion};

pub use args::Args;
use args::flag_layer;
use layers::{Layer, Origin, Origins, check_known, env_layer, from_figment, read_file, schema};
use raw::RawConfig;
pub use upstream::{Balance, Secret, ServerAddress, Upstream, UpstreamTls};

/// The file read when `--config` is not given and it exists, relative to the working directory.
pub const DEFAULT_FILE: &str = "config/tlsql.toml";

/// The table of gateway-mode keys.
const UPSTREAM_TABLE: &str = "upstream";

/// Prefix of the environment variables that set keys (`TLSQL_PORT`, `TLSQL_SECURITY__SSL_CERT`).
pub const ENV_PREFIX: &str = "TLSQL_";

/// The validated configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Listen address (an IP address or a host name).
    pub host: String,
    /// MySQL port; 0 asks the operating system for a free one (tests).
    pub port: u16,
    /// Unix socket path, if any.
    pub socket: Option<PathBuf>,
    /// Database, account tables and auto-TLS files.
    pub data_dir: PathBuf,
    /// Connections beyond this get ERR 1040 (one more is kept for SUPER/CONNECTION_ADMIN).
    pub max_connections: u32,
    /// Connections one client IP address may hold, pre-auth included; 0: no limit.
    pub max_connections_per_host: u32,
    /// Deadline for accept → TLS handshake → authentication.
    pub connect_timeout: Duration,
    /// Idle connection timeout.
    pub wait_timeout: Duration,
    /// How long a shutdown waits for running statements before the process exits anyway.
    pub shutdown_timeout: Duration,
    /// Larger packets get ERR 1153 and the connection is closed.
    pub max_allowed_packet: usize,
    /// Prepared statements all sessions may hold together (ERR 1461 beyond).
    pub max_prepared_stmt_count: u32,
    /// Log level when `RUST_LOG` is not set.
    pub log_level: LevelFilter,
    /// TLS and transport policy.
    pub security: Security,
    /// Where `/metrics` is served over HTTP (`metrics.listen`); `None`: nowhere.
    pub metrics_listen: Option<SocketAddr>,
    /// Gateway mode: the backends sessions are relayed to (none: the embedded engine).
    pub upstream: Upstream,
}

/// The `[security]` section.
#[derive(Clone, Debug, PartialEq)]
pub struct Security {
    /// Which compiled-in TLS library to use.
    pub tls_backend: TlsBackendKind,
    /// PEM server certificate chain.
    pub ssl_cert: Option<PathBuf>,
    /// PEM server private key (set exactly when `ssl_cert` is).
    pub ssl_key: Option<PathBuf>,
    /// PEM CA bundle for client certificates.
    pub ssl_ca: Option<PathBuf>,
    /// Generate and persist certificates when `ssl_cert`/`ssl_key` are not set.
    pub auto_tls: bool,
    /// Key type of generated certificates.
    pub auto_tls_key: AutoTlsKey,
    /// Minimum protocol version.
    pub tls_version: TlsVersion,
    /// TLS ≤ 1.2 suites, OpenSSL names, preference order.
    pub ssl_cipher: Vec<String>,
    /// TLS 1.3 suites, preference order.
    pub tls_ciphersuites: Vec<String>,
    /// Key exchange groups, preference order.
    pub tls_groups: Vec<&'static KxGroup>,
    /// Initial `require_secure_transport` when none is persisted.
    pub require_secure_transport: bool,
    /// Session resumption on or off.
    pub ssl_session_cache_mode: bool,
    /// Lifetime of a resumable session.
    pub ssl_session_cache_timeout: Duration,
    /// Reload when the certificate, key or CA file changes.
    pub auto_reload: bool,
    /// Warn (and renew auto-TLS certificates) when the server certificate expires within this.
    pub expiry_warning: Duration,
}

const DEFAULT_SSL_CIPHER: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:\
ECDHE-RSA-CHACHA20-POLY1305";
const DEFAULT_TLS_CIPHERSUITES: &str =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

fn default_groups() -> Vec<&'static KxGroup> {
    // The default list names known groups only, so nothing is dropped.
    group::parse_list(group::DEFAULT_LIST).unwrap_or_default()
}

impl Security {
    /// Whether `tls_groups` is an explicit choice: a group in it that the backend lacks is then
    /// a startup error. The default list keeps what the backend has, so one configuration
    /// (and the output of `--print-config`) starts on every backend.
    pub fn tls_groups_strict(&self) -> bool {
        self.tls_groups != default_groups()
    }
}

fn split_list(list: &str) -> Vec<String> {
    list.split(':')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

impl Default for Config {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 4000,
            socket: None,
            data_dir: PathBuf::from("./tlsql-data"),
            max_connections: 1000,
            max_connections_per_host: 0,
            connect_timeout: Duration::from_secs(10),
            wait_timeout: Duration::from_secs(8 * 3600),
            shutdown_timeout: Duration::from_secs(30),
            max_allowed_packet: 64 << 20,
            max_prepared_stmt_count: 16382,
            log_level: LevelFilter::Info,
            security: Security::default(),
            metrics_listen: None,
            upstream: Upstream::default(),
        }
    }
}

impl Default for Security {
    fn default() -> Self {
        Self {
            tls_backend: TlsBackendKind::default_for_build(),
            ssl_cert: None,
            ssl_key: None,
            ssl_ca: None,
            auto_tls: true,
            auto_tls_key: AutoTlsKey::EcdsaP256,
            tls_version: TlsVersion::Tls12,
            ssl_cipher: split_list(DEFAULT_SSL_CIPHER),
            tls_ciphersuites: split_list(DEFAULT_TLS_CIPHERSUITES),
            tls_groups: default_groups(),
            require_secure_transport: false,
            ssl_session_cache_mode: true,
            ssl_session_cache_timeout: Duration::from_secs(300),
            auto_reload: false,
            expiry_warning: Duration::from_secs(30 * 86400),
        }
    }
}

/// A TLS library tlsql can use. Which ones exist in a binary depends on its Cargo features.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TlsBackendKind {
    /// rustls (feature `rustls`).
    Rustls,
    /// OpenSSL (feature `openssl`).
    Openssl,
    /// BoringSSL (feature `boring`).
    Boring,
}

impl TlsBackendKind {
    /// Every backend, compiled in or not.
    pub const ALL: [TlsBackendKind; 3] = [Self::Rustls, Self::Openssl, Self::Boring];

    /// The name used in configuration, logs and bench ids.
    pub fn name(self) -> &'static str {
        self.capabilities().name
    }

    /// Whether this binary was built with the backend's feature.
    pub fn is_compiled_in(self) -> bool {
        match self {
            Self::Rustls => cfg!(feature = "rustls"),
            Self::Openssl => cfg!(feature = "openssl"),
            Self::Boring => cfg!(feature = "boring"),
        }
    }

    /// The backends this binary was built with.
    pub fn compiled_in() -> Vec<TlsBackendKind> {
        Self::ALL
            .into_iter()
            .filter(|b| b.is_compiled_in())
            .collect()
    }

    /// The default: the C library when one is compiled in (an operator who asked for it at build
    /// time wants it used), else rustls.
    pub fn default_for_build() -> Self {
        if cfg!(feature = "openssl") {
            Self::Openssl
        } else if cfg!(feature = "boring") {
            Self::Boring
        } else {
            Self::Rustls
        }
    }

    /// What the library can do, as its backend crate declares it (known in every build,
    /// whether the library is linked or not).
    pub fn capabilities(self) -> &'static Capabilities {
        match self {
            Self::Rustls => &tlsql_tls_rustls::CAPABILITIES,
            Self::Openssl => &tlsql_tls_openssl::CAPABILITIES,
            Self::Boring => &tlsql_tls_boring::CAPABILITIES,
        }
    }
}

impl fmt::Display for TlsBackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TlsBackendKind {
    type Err = String;

    /// Parses a name; whether the backend is compiled in is checked separately.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| format!("unknown TLS backend '{s}': expected rustls, openssl or boring"))
    }
}

/// Key type of auto-generated certificates (`security.auto-tls-key`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AutoTlsKey {
    /// ECDSA on P-256 with SHA-256: the cheapest handshakes.
    EcdsaP256,
    /// RSA, 2048-bit modulus.
    Rsa2048,
    /// RSA, 4096-bit modulus (what TiDB generates).
    Rsa4096,
}

impl AutoTlsKey {
    /// Every key type.
    pub const ALL: [AutoTlsKey; 3] = [Self::EcdsaP256, Self::Rsa2048, Self::Rsa4096];

    /// The configuration name: `ecdsa-p256`, `rsa-2048`, `rsa-4096`.
    pub fn name(self) -> &'static str {
        match self {
            Self::EcdsaP256 => "ecdsa-p256",
            Self::Rsa2048 => "rsa-2048",
            Self::Rsa4096 => "rsa-4096",
        }
    }
}

impl fmt::Display for AutoTlsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for AutoTlsKey {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                format!("unknown key type '{s}': expected ecdsa-p256, rsa-2048 or rsa-4096")
            })
    }
}

/// Why the configuration could not be loaded. Each message names the key and where its value
/// came from.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read configuration file {}: {source}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// The configuration file is not valid TOML.
    #[error("configuration file {} is not valid TOML: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A key that tlsql does not know.
    #[error("unknown key {key} from {origin}{hint}")]
    UnknownKey {
        /// The key, dotted (`security.bogus`).
        key: String,
        /// `file …`, `environment variable …`.
        origin: String,
        /// Extra advice, empty or starting with `; `.
        hint: String,
    },
    /// A value of the wrong type or an invalid value.
    #[error("invalid value for {key} from {origin}: {reason}")]
    Invalid {
        /// The key, dotted (`security.tls-version`).
        key: String,
        /// `file …`, `environment variable …`, `flag --…` or `the built-in default`.
        origin: String,
        /// What is wrong.
        reason: String,
    },
    /// A key that another setting needs is empty.
    #[error("{key} must be set: {reason}")]
    Missing {
        /// The empty key, dotted.
        key: String,
        /// Which setting needs it, and where that setting came from.
        reason: String,
    },
    /// The configuration could not be written as TOML (a path that is not UTF-8).
    #[error("cannot print the configuration as TOML: {0}")]
    Print(#[from] toml::ser::Error),
}

/// Loads the configuration: defaults, then the TOML file (`--config FILE`, else
/// [`DEFAULT_FILE`] when it exists), then `TLSQL_…` variables, then the flags given.
pub fn load(args: &Args) -> Result<Config, ConfigError> {
    let schema = schema();
    let mut figment = Figment::from(Layer::new(Origin::Default, schema.clone()));

    let file = match &args.config {
        Some(path) => Some(path.clone()),
        None => Some(PathBuf::from(DEFAULT_FILE)).filter(|p| p.is_file()),
    };
    if let Some(path) = file {
        let data = read_file(&path)?;
        let origin = Origin::File(Arc::new(path));
        check_known(&data, &schema, &mut Vec::new(), &origin)?;
        figment = figment.merge(Layer::new(origin, data));
    }

    figment = figment.merge(env_layer(&schema)?);
    figment = figment.merge(flag_layer(args));

    let raw: RawConfig = figment.extract().map_err(from_figment)?;
    raw.validate(&Origins(&figment))
}

impl Config {
    /// The configuration as TOML, in the shape of `config/tlsql.toml`; loading the output
    /// gives back this configuration (durations are written in whole milliseconds or larger
    /// units).
    pub fn to_toml(&self) -> Result<String, ConfigError> {
        let body = toml::to_string(&RawConfig::from(self))?;
        let secret = if self.upstream.monitor_password.is_empty() {
            ""
        } else {
            "# upstream.monitor-password is set (not shown)\n"
        };
        Ok(format!(
            "# tlsql configuration as loaded (defaults < file < environment < flags)\n{secret}{body}"
        ))
    }
}

/// What the tests of every part of the configuration share: a jail, flags, a failed load.
#[cfg(test)]
mod testing {
    use clap::Parser;
    use figment::Jail;

    use super::{Args, load};

    /// Runs `f` in a figment jail (its own working directory and environment) with no
    /// `TLSQL_` variables from the outside.
    #[expect(
        clippy::result_large_err,
        reason = "the closure's type is figment::Jail's"
    )]
    pub(super) fn jail(f: impl FnOnce(&mut Jail)) {
        Jail::expect_with(|jail| {
            jail.clear_env();
            f(jail);
            Ok(())
        });
    }

    pub(super) fn args(flags: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("tlsql").chain(flags.iter().copied())).unwrap()
    }

    pub(super) fn load_err(flags: &[&str]) -> String {
        load(&args(flags)).unwrap_err().to_string()
    }
}

#[cfg(test)]
mod tests {
    use figment::providers::{Format, Toml};
    use figment::value::{Dict, Value};
    use figment::{Profile, Provider};

    use super::testing::{args, jail};
    use super::*;

    /// The shipped file, tested to be exactly the defaults.
    const SHIPPED: &str = include_str!("../../config/tlsql.toml");

    #[test]
    fn no_file_no_env_no_flags_is_the_default() {
        jail(|_| assert_eq!(load(&args(&[])).unwrap(), Config::default()));
    }

    #[test]
    fn shipped_file_is_exactly_the_default() {
        jail(|jail| {
            jail.create_dir("config").unwrap();
            jail.create_file(DEFAULT_FILE, SHIPPED).unwrap();
            // Found in the working directory…
            assert_eq!(load(&args(&[])).unwrap(), Config::default());
            // …and named explicitly.
            assert_eq!(
                load(&args(&["--config", DEFAULT_FILE])).unwrap(),
                Config::default()
            );
        });
    }

    /// Every key is written in the shipped file (active, with its default), except
    /// `tls-backend`, whose default depends on the build and so is documented as a comment.
    #[test]
    fn shipped_file_documents_every_key() {
        fn leaves(dict: &Dict, prefix: &str, out: &mut Vec<String>) {
            for (k, v) in dict {
                let key = format!("{prefix}{k}");
                match v {
                    Value::Dict(_, inner) => leaves(inner, &format!("{key}."), out),
                    _ => out.push(key),
                }
            }
        }
        let mut expected = Vec::new();
        leaves(&schema(), "", &mut expected);
        expected.retain(|k| k != "security.tls-backend");
        let file = Toml::string(SHIPPED).data().unwrap();
        let mut present = Vec::new();
        leaves(&file[&Profile::Default], "", &mut present);
        assert_eq!(present, expected);
        assert!(SHIPPED.contains("\n# tls-backend = "));
    }

    #[test]
    fn file_overrides_defaults() {
        jail(|jail| {
            jail.create_dir("config").unwrap();
            jail.create_file(
                DEFAULT_FILE,
                "port = 4100\nmax-allowed-packet = \"16KiB\"\n[security]\nauto-tls = false\n",
            )
            .unwrap();
            let c = load(&args(&[])).unwrap();
            assert_eq!(c.port, 4100);
            assert_eq!(c.max_allowed_packet, 16 * 1024);
            assert!(!c.security.auto_tls);
            assert_eq!(c.host, "127.0.0.1");
        });
    }

    #[test]
    fn explicit_file_replaces_the_default_file() {
        jail(|jail| {
            jail.create_dir("config").unwrap();
            jail.create_file(DEFAULT_FILE, "port = 4100\nhost = \"::1\"\n")
                .unwrap();
            jail.create_file("other.toml", "port = 4200\n").unwrap();
            let c = load(&args(&["--config", "other.toml"])).unwrap();
            assert_eq!(c.port, 4200);
            assert_eq!(c.host, "127.0.0.1", "the default file must not be read");
        });
    }

    #[test]
    fn precedence_defaults_file_env_flags() {
        jail(|jail| {
            jail.create_file(
                "t.toml",
                "port = 4100\nhost = \"localhost\"\nwait-timeout = \"1h\"\n[log]\nlevel = \"warn\"\n",
            )
            .unwrap();
            jail.set_env("TLSQL_PORT", "4200");
            jail.set_env("TLSQL_HOST", "0.0.0.0");
            jail.set_env("TLSQL_LOG__LEVEL", "debug");

            // Environment beats file; file beats defaults where the environment is silent.
            let c = load(&args(&["--config", "t.toml"])).unwrap();
            assert_eq!(c.port, 4200);
            assert_eq!(c.host, "0.0.0.0");
            assert_eq!(c.log_level, LevelFilter::Debug);
            assert_eq!(c.wait_timeout, Duration::from_secs(3600));
            assert_eq!(c.connect_timeout, Duration::from_secs(10));

            // Flags beat everything, but only the flags given.
            let c = load(&args(&["--config", "t.toml", "--port", "4300"])).unwrap();
            assert_eq!(c.port, 4300);
            assert_eq!(c.host, "0.0.0.0");
            let c = load(&args(&["--config", "t.toml", "--log-level", "trace"])).unwrap();
            assert_eq!(c.log_level, LevelFilter::Trace);
            assert_eq!(c.port, 4200);
        });
    }

    #[test]
    fn default_backend_follows_the_features() {
        let expected = if cfg!(feature = "openssl") {
            TlsBackendKind::Openssl
        } else if cfg!(feature = "boring") {
            TlsBackendKind::Boring
        } else {
            TlsBackendKind::Rustls
        };
        assert_eq!(Config::default().security.tls_backend, expected);
        assert!(expected.is_compiled_in() || TlsBackendKind::compiled_in().is_empty());
    }

    #[test]
    fn print_config_loads_back_to_the_same_config() {
        jail(|jail| {
            jail.create_file(
                "t.toml",
                "port = 4100\nsocket = \"/tmp/s.sock\"\nmax-allowed-packet = 1000000\n[security]\nauto-tls-key = \"rsa-2048\"\n",
            )
            .unwrap();
            jail.set_env("TLSQL_SECURITY__EXPIRY_WARNING", "36h");
            jail.set_env("TLSQL_CONNECT_TIMEOUT", "2500ms");
            let original = load(&args(&[
                "--config",
                "t.toml",
                "--ssl-cert",
                "/etc/c.pem",
                "--ssl-key",
                "/etc/k.pem",
                "--tls-version",
                "TLSv1.3",
            ]))
            .unwrap();
            assert_ne!(original, Config::default());
            let printed = original.to_toml().unwrap();

            jail.clear_env();
            jail.create_file("printed.toml", &printed).unwrap();
            let reloaded = load(&args(&["--config", "printed.toml"])).unwrap();
            assert_eq!(reloaded, original, "{printed}");
        });
        jail(|jail| {
            let printed = Config::default().to_toml().unwrap();
            jail.create_file("printed.toml", &printed).unwrap();
            assert_eq!(
                load(&args(&["--config", "printed.toml"])).unwrap(),
                Config::default()
            );
        });
    }
}
