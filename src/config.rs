//! Configuration: built-in defaults < TOML file < `TLSQL_…` environment variables <
//! command-line flags.
//!
//! Loading has two stages, as in ripgrep. First each layer is turned into a tree of plain values
//! (strings, numbers, booleans) and checked for unknown keys against the shape of the defaults;
//! figment merges the layers and deserializes the result into `RawConfig`, whose fields mirror
//! the TOML keys. Then `RawConfig::validate` turns it into the typed [`Config`] and checks every
//! value. figment tags each value with the layer it came from, so every error names the key and
//! its source: the file's path, the environment variable's name or the flag.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use log::LevelFilter;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use tlsql_tls_api::cipher::{self, SuiteKind};
use tlsql_tls_api::group::{self, KxGroup};
use tlsql_tls_api::{Capabilities, TlsVersion};

/// The file read when `--config` is not given and it exists, relative to the working directory.
pub const DEFAULT_FILE: &str = "config/tlsql.toml";

/// Prefix of the environment variables that set keys (`TLSQL_PORT`, `TLSQL_SECURITY__SSL_CERT`).
pub const ENV_PREFIX: &str = "TLSQL_";

/// Separator of nested keys in environment variable names.
const ENV_NEST: &str = "__";

/// Command-line flags. Every configuration key has a flag; only flags actually given override
/// the lower layers.
#[derive(Clone, Debug, Default, clap::Parser)]
#[command(
    name = "tlsql",
    version,
    about = "A MySQL-compatible database server whose specialty is TLS between clients and server"
)]
pub struct Args {
    /// TOML configuration file [default: ./config/tlsql.toml when it exists].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the merged configuration as TOML and exit.
    #[arg(long)]
    pub print_config: bool,

    /// Listen address (`host`).
    #[arg(long, value_name = "ADDR")]
    pub host: Option<String>,
    /// MySQL port, TLS and plain on the same port (`port`).
    #[arg(long)]
    pub port: Option<u16>,
    /// Unix socket path; empty for none (`socket`).
    #[arg(long, value_name = "PATH", value_parser = path_or_empty)]
    pub socket: Option<PathBuf>,
    /// Where the database, the account tables and auto-TLS files live (`data-dir`).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Connections beyond this get ERR 1040 (`max-connections`).
    #[arg(long, value_name = "N")]
    pub max_connections: Option<u32>,
    /// Connections one client IP address may hold, pre-auth included; 0 for no limit
    /// (`max-connections-per-host`).
    #[arg(long, value_name = "N")]
    pub max_connections_per_host: Option<u32>,
    /// Deadline for accept → TLS → authentication, e.g. `10s` (`connect-timeout`).
    #[arg(long, value_name = "DURATION")]
    pub connect_timeout: Option<String>,
    /// Idle connection timeout, e.g. `8h` (`wait-timeout`).
    #[arg(long, value_name = "DURATION")]
    pub wait_timeout: Option<String>,
    /// How long SIGTERM waits for running statements, e.g. `30s` (`shutdown-timeout`).
    #[arg(long, value_name = "DURATION")]
    pub shutdown_timeout: Option<String>,
    /// Largest packet, e.g. `64MiB` or bytes (`max-allowed-packet`).
    #[arg(long, value_name = "SIZE")]
    pub max_allowed_packet: Option<String>,
    /// Prepared statements all sessions may hold together; 0 disables them
    /// (`max-prepared-stmt-count`).
    #[arg(long, value_name = "N")]
    pub max_prepared_stmt_count: Option<u32>,
    /// Log level: off, error, warn, info, debug, trace; `RUST_LOG` wins when set (`log.level`).
    #[arg(long, value_name = "LEVEL")]
    pub log_level: Option<String>,

    /// TLS library: rustls, openssl or boring (`security.tls-backend`).
    #[arg(long, value_name = "NAME")]
    pub tls_backend: Option<String>,
    /// PEM server certificate chain; empty for none (`security.ssl-cert`).
    #[arg(long, value_name = "FILE", value_parser = path_or_empty)]
    pub ssl_cert: Option<PathBuf>,
    /// PEM server private key; empty for none (`security.ssl-key`).
    #[arg(long, value_name = "FILE", value_parser = path_or_empty)]
    pub ssl_key: Option<PathBuf>,
    /// PEM CA bundle that client certificates are verified against; empty for none
    /// (`security.ssl-ca`).
    #[arg(long, value_name = "FILE", value_parser = path_or_empty)]
    pub ssl_ca: Option<PathBuf>,
    /// Generate certificates when none are configured (`security.auto-tls`).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub auto_tls: Option<bool>,
    /// Key type of generated certificates: ecdsa-p256, rsa-2048, rsa-4096 (`security.auto-tls-key`).
    #[arg(long, value_name = "TYPE")]
    pub auto_tls_key: Option<String>,
    /// Minimum TLS version: TLSv1.2 or TLSv1.3 (`security.tls-version`).
    #[arg(long, value_name = "VERSION")]
    pub tls_version: Option<String>,
    /// TLS 1.2 suites, OpenSSL names, `:`-separated (`security.ssl-cipher`).
    #[arg(long, value_name = "LIST")]
    pub ssl_cipher: Option<String>,
    /// TLS 1.3 suites, `:`-separated (`security.tls-ciphersuites`).
    #[arg(long, value_name = "LIST")]
    pub tls_ciphersuites: Option<String>,
    /// Key exchange groups, `:`-separated, preferred first (`security.tls-groups`).
    #[arg(long, value_name = "LIST")]
    pub tls_groups: Option<String>,
    /// Initial value of `require_secure_transport` (`security.require-secure-transport`).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub require_secure_transport: Option<bool>,
    /// TLS session resumption on or off (`security.ssl-session-cache-mode`).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub ssl_session_cache_mode: Option<bool>,
    /// Resumption lifetime, e.g. `300s` (`security.ssl-session-cache-timeout`).
    #[arg(long, value_name = "DURATION")]
    pub ssl_session_cache_timeout: Option<String>,
    /// Reload when the certificate files change (`security.auto-reload`).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub auto_reload: Option<bool>,
    /// Warn when the server certificate expires within this, e.g. `30d` (`security.expiry-warning`).
    #[arg(long, value_name = "DURATION")]
    pub expiry_warning: Option<String>,
}

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
        Ok(format!(
            "# tlsql configuration as loaded (defaults < file < environment < flags)\n{body}"
        ))
    }
}

/// Where a layer's values came from; describes a key's origin in messages.
#[derive(Clone, Debug)]
enum Origin {
    Default,
    File(Arc<PathBuf>),
    /// Key → the environment variable that set it.
    Env(Arc<BTreeMap<String, String>>),
    Flags,
}

impl Origin {
    fn describe(&self, key: &str) -> String {
        match self {
            Self::Default => "the built-in default".into(),
            Self::File(path) => format!("file {}", path.display()),
            Self::Env(names) => match names.get(key) {
                Some(name) => format!("environment variable {name}"),
                None => "the environment".into(),
            },
            Self::Flags => format!("flag {}", flag_for(key)),
        }
    }
}

/// The flag that mirrors `key`: the key's last segment, except `log.level` → `--log-level`.
fn flag_for(key: &str) -> String {
    match key {
        "log.level" => "--log-level".into(),
        _ => format!("--{}", key.rsplit('.').next().unwrap_or(key)),
    }
}

/// One configuration layer with fixed data, tagged so figment can tell us its [`Origin`].
struct Layer {
    origin: Origin,
    data: Dict,
}

impl Layer {
    fn new(origin: Origin, data: Dict) -> Self {
        Self { origin, data }
    }
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        let origin = self.origin.clone();
        let name = match &self.origin {
            Origin::Default => "defaults",
            Origin::File(_) => "file",
            Origin::Env(_) => "environment",
            Origin::Flags => "flags",
        };
        Metadata::named(name)
            .interpolater(move |_: &Profile, keys: &[&str]| origin.describe(&keys.join(".")))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.data.clone()))
    }
}

/// Describes where the value of a key in the merged configuration came from.
struct Origins<'a>(&'a Figment);

impl Origins<'_> {
    fn of(&self, key: &str) -> String {
        match self.0.find_metadata(key) {
            Some(md) => md.interpolate(&Profile::Default, &key.split('.').collect::<Vec<_>>()),
            None => "the configuration".into(),
        }
    }

    fn invalid(&self, key: &str, reason: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            key: key.into(),
            origin: self.of(key),
            reason: reason.into(),
        }
    }
}

fn from_figment(err: figment::Error) -> ConfigError {
    let key = if err.path.is_empty() {
        "the configuration".to_string()
    } else {
        err.path.join(".")
    };
    let origin = match &err.metadata {
        Some(md) => md.interpolate(&Profile::Default, &err.path),
        None => "the configuration".into(),
    };
    ConfigError::Invalid {
        key,
        origin,
        reason: err.kind.to_string(),
    }
}

/// The shape every layer must fit: the defaults as a tree.
fn schema() -> Dict {
    let value = Value::serialize(RawConfig::from(&Config::default()));
    // The defaults are plain strings, numbers and booleans: serializing them cannot fail.
    match value {
        Ok(Value::Dict(_, dict)) => dict,
        _ => Dict::new(),
    }
}

/// What a key path names in the schema.
enum KeyKind {
    Table,
    Value,
}

fn lookup_key(schema: &Dict, path: &[&str]) -> Option<KeyKind> {
    let (first, rest) = path.split_first()?;
    match (schema.get(*first)?, rest.is_empty()) {
        (Value::Dict(_, _), true) => Some(KeyKind::Table),
        (Value::Dict(_, inner), false) => lookup_key(inner, rest),
        (_, true) => Some(KeyKind::Value),
        (_, false) => None,
    }
}

/// Rejects keys the schema does not have. Tables of the wrong type are left to deserialization,
/// which reports them as wrong types.
fn check_known(
    data: &Dict,
    schema: &Dict,
    path: &mut Vec<String>,
    origin: &Origin,
) -> Result<(), ConfigError> {
    for (key, value) in data {
        path.push(key.clone());
        let dotted = path.join(".");
        match (schema.get(key), value) {
            (None, _) => {
                return Err(ConfigError::UnknownKey {
                    origin: origin.describe(&dotted),
                    key: dotted,
                    hint: String::new(),
                });
            }
            (Some(Value::Dict(_, inner)), Value::Dict(_, nested)) => {
                check_known(nested, inner, path, origin)?;
            }
            _ => {}
        }
        path.pop();
    }
    Ok(())
}

fn read_file(path: &Path) -> Result<Dict, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    let mut profiles = Toml::string(&text)
        .data()
        .map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: e.kind.to_string(),
        })?;
    Ok(profiles.remove(&Profile::Default).unwrap_or_default())
}

/// `TLSQL_SECURITY__SSL_CERT` → `security.ssl-cert`. Values are parsed as figment parses
/// environment values (`true`, `4000`, `"quoted"`, else a string).
fn env_layer(schema: &Dict) -> Result<Layer, ConfigError> {
    let mut vars: Vec<(String, String)> = Vec::new();
    for (name, value) in std::env::vars_os() {
        if !name.as_encoded_bytes().starts_with(ENV_PREFIX.as_bytes()) {
            continue;
        }
        let name = name.to_string_lossy().into_owned();
        let Some(value) = value.to_str() else {
            return Err(ConfigError::Invalid {
                key: env_key(&name),
                origin: format!("environment variable {name}"),
                reason: "the value is not valid UTF-8".into(),
            });
        };
        vars.push((name, value.to_string()));
    }
    // Sorted so that the first error reported does not depend on the environment's order.
    vars.sort();

    let mut names = BTreeMap::new();
    let mut data = Dict::new();
    for (name, value) in vars {
        let key = env_key(&name);
        let path: Vec<&str> = key.split('.').collect();
        let origin = format!("environment variable {name}");
        match lookup_key(schema, &path) {
            Some(KeyKind::Value) => {}
            Some(KeyKind::Table) => {
                return Err(ConfigError::Invalid {
                    key,
                    origin,
                    reason: format!(
                        "this is a table; set its keys with {name}{ENV_NEST}<KEY>, e.g. {ENV_PREFIX}SECURITY{ENV_NEST}SSL_CERT"
                    ),
                });
            }
            None => {
                let hint = if key.contains('.') {
                    String::new()
                } else {
                    format!(
                        "; nested keys are separated by `{ENV_NEST}`, e.g. {ENV_PREFIX}SECURITY{ENV_NEST}SSL_CERT"
                    )
                };
                return Err(ConfigError::UnknownKey { key, origin, hint });
            }
        }
        // figment's parser never fails: what it cannot parse is a string.
        let parsed = value
            .parse::<Value>()
            .unwrap_or_else(|_| Value::from(value.clone()));
        insert(&mut data, &path, parsed);
        names.insert(key, name);
    }
    Ok(Layer::new(Origin::Env(Arc::new(names)), data))
}

fn env_key(name: &str) -> String {
    name.strip_prefix(ENV_PREFIX)
        .unwrap_or(name)
        .split(ENV_NEST)
        .map(|seg| seg.to_ascii_lowercase().replace('_', "-"))
        .collect::<Vec<_>>()
        .join(".")
}

/// Inserts a value at a path of a schema leaf (so intermediate entries are always tables).
fn insert(dict: &mut Dict, path: &[&str], value: Value) {
    match path {
        [] => {}
        [leaf] => {
            dict.insert((*leaf).to_string(), value);
        }
        [table, rest @ ..] => {
            let entry = dict
                .entry((*table).to_string())
                .or_insert_with(|| Value::from(Dict::new()));
            if let Value::Dict(_, inner) = entry {
                insert(inner, rest, value);
            }
        }
    }
}

fn flag_layer(args: &Args) -> Layer {
    let mut data = Dict::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            insert(&mut data, &key.split('.').collect::<Vec<_>>(), value);
        }
    };
    let path = |p: &Option<PathBuf>| {
        p.as_ref()
            .map(|p| Value::from(p.to_string_lossy().as_ref()))
    };
    let text = |s: &Option<String>| s.as_deref().map(Value::from);

    put("host", text(&args.host));
    put("port", args.port.map(Value::from));
    put("socket", path(&args.socket));
    put("data-dir", path(&args.data_dir));
    put("max-connections", args.max_connections.map(Value::from));
    put(
        "max-connections-per-host",
        args.max_connections_per_host.map(Value::from),
    );
    put("connect-timeout", text(&args.connect_timeout));
    put("wait-timeout", text(&args.wait_timeout));
    put("shutdown-timeout", text(&args.shutdown_timeout));
    put("max-allowed-packet", text(&args.max_allowed_packet));
    put(
        "max-prepared-stmt-count",
        args.max_prepared_stmt_count.map(Value::from),
    );
    put("log.level", text(&args.log_level));
    put("security.tls-backend", text(&args.tls_backend));
    put("security.ssl-cert", path(&args.ssl_cert));
    put("security.ssl-key", path(&args.ssl_key));
    put("security.ssl-ca", path(&args.ssl_ca));
    put("security.auto-tls", args.auto_tls.map(Value::from));
    put("security.auto-tls-key", text(&args.auto_tls_key));
    put("security.tls-version", text(&args.tls_version));
    put("security.ssl-cipher", text(&args.ssl_cipher));
    put("security.tls-ciphersuites", text(&args.tls_ciphersuites));
    put("security.tls-groups", text(&args.tls_groups));
    put(
        "security.require-secure-transport",
        args.require_secure_transport.map(Value::from),
    );
    put(
        "security.ssl-session-cache-mode",
        args.ssl_session_cache_mode.map(Value::from),
    );
    put(
        "security.ssl-session-cache-timeout",
        text(&args.ssl_session_cache_timeout),
    );
    put("security.auto-reload", args.auto_reload.map(Value::from));
    put("security.expiry-warning", text(&args.expiry_warning));
    Layer::new(Origin::Flags, data)
}

/// The keys as written in TOML: plain values, validated by [`RawConfig::validate`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct RawConfig {
    host: String,
    // Wider than the typed field so that an out-of-range number gets our message.
    port: Integer,
    socket: PathBuf,
    data_dir: PathBuf,
    max_connections: Integer,
    max_connections_per_host: Integer,
    connect_timeout: DurationText,
    wait_timeout: DurationText,
    shutdown_timeout: DurationText,
    max_allowed_packet: SizeText,
    max_prepared_stmt_count: Integer,
    log: RawLog,
    security: RawSecurity,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct RawLog {
    level: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct RawSecurity {
    tls_backend: String,
    ssl_cert: PathBuf,
    ssl_key: PathBuf,
    ssl_ca: PathBuf,
    auto_tls: bool,
    auto_tls_key: String,
    tls_version: String,
    ssl_cipher: String,
    tls_ciphersuites: String,
    tls_groups: String,
    require_secure_transport: bool,
    ssl_session_cache_mode: bool,
    ssl_session_cache_timeout: DurationText,
    auto_reload: bool,
    expiry_warning: DurationText,
}

/// An integer as written (the typed range is checked by validation, with a better message
/// than serde's "expected u16").
#[derive(Clone, Copy, Debug, PartialEq)]
struct Integer(i64);

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

/// A duration as written: a string with a unit. A bare number is a type error, so that `10`
/// is never silently read as seconds or milliseconds.
#[derive(Clone, Debug, PartialEq)]
struct DurationText(String);

impl Serialize for DurationText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurationText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string with a unit (ms, s, m, h, d), e.g. \"10s\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationText, E> {
                Ok(DurationText(v.to_string()))
            }
        }
        d.deserialize_str(V)
    }
}

/// A size as written: bytes, or a string with a unit.
#[derive(Clone, Debug, PartialEq)]
enum SizeText {
    Bytes(u64),
    Text(String),
}

impl Serialize for SizeText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Bytes(n) => s.serialize_u64(*n),
            Self::Text(t) => s.serialize_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for SizeText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SizeText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a size in bytes or a string with a unit (B, KiB, MiB, GiB), e.g. \"64MiB\"",
                )
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SizeText, E> {
                Ok(SizeText::Bytes(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SizeText, E> {
                u64::try_from(v)
                    .map(SizeText::Bytes)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SizeText, E> {
                Ok(SizeText::Text(v.to_string()))
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
        }
    }
}

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
    fn validate(self, origins: &Origins<'_>) -> Result<Config, ConfigError> {
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
        })
    }
}

impl RawSecurity {
    fn validate(self, origins: &Origins<'_>) -> Result<Security, ConfigError> {
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

/// Parses a path flag. clap's own path parser refuses an empty value, which for these flags
/// means "none" (overriding a path set in the file or the environment).
fn path_or_empty(value: &str) -> Result<PathBuf, std::convert::Infallible> {
    Ok(PathBuf::from(value))
}

fn non_empty(path: PathBuf) -> Option<PathBuf> {
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

const DURATION_UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1000),
    ("ms", 1),
];

/// `500ms`, `10s`, `5m`, `8h`, `30d` (a space before the unit is allowed).
fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = split_number(text);
    if number.is_empty() {
        return Err(format!(
            "'{text}' is not a duration: expected a whole number and a unit (ms, s, m, h, d), e.g. \"10s\""
        ));
    }
    if unit.is_empty() {
        return Err(format!(
            "'{text}' has no unit: write e.g. \"{number}s\" or \"{number}ms\""
        ));
    }
    let Some((_, millis)) = DURATION_UNITS.iter().find(|(u, _)| *u == unit) else {
        return Err(format!(
            "'{text}' has an unknown unit '{unit}': expected ms, s, m, h or d"
        ));
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(*millis))
        .map(Duration::from_millis)
        .ok_or_else(|| format!("'{text}' is too large"))
}

/// The largest unit that states the duration exactly; sub-millisecond parts round up.
fn format_duration(d: Duration) -> String {
    let millis = u64::try_from(d.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX);
    if millis == 0 {
        return "0s".into();
    }
    DURATION_UNITS
        .iter()
        .find(|(_, unit)| millis.is_multiple_of(*unit))
        .map(|(name, unit)| format!("{}{name}", millis / unit))
        .unwrap_or_else(|| format!("{millis}ms"))
}

const SIZE_UNITS: [(&str, u64); 4] = [
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
    ("B", 1),
];

/// Bytes, or `64MiB`, `16KiB`, `1GiB`, `512B`; a string of digits alone is bytes too.
fn parse_size(size: &SizeText) -> Result<u64, String> {
    let text = match size {
        SizeText::Bytes(n) => return Ok(*n),
        SizeText::Text(t) => t,
    };
    let (number, unit) = split_number(text);
    let unit = if unit.is_empty() { "B" } else { unit };
    let Some((_, factor)) = SIZE_UNITS.iter().find(|(u, _)| *u == unit) else {
        return Err(format!(
            "'{text}' is not a size: expected bytes or a whole number with a unit (B, KiB, MiB, GiB), e.g. \"64MiB\""
        ));
    };
    number
        .parse::<u64>()
        .map_err(|_| {
            format!("'{text}' is not a size: expected a whole number with a unit, e.g. \"64MiB\"")
        })?
        .checked_mul(*factor)
        .ok_or_else(|| format!("'{text}' is too large"))
}

fn format_size(bytes: u64) -> SizeText {
    SIZE_UNITS
        .iter()
        .find(|(name, unit)| *name != "B" && bytes != 0 && bytes.is_multiple_of(*unit))
        .map(|(name, unit)| SizeText::Text(format!("{}{name}", bytes / unit)))
        .unwrap_or(SizeText::Bytes(bytes))
}

/// Splits `"10 s"` into `("10", "s")`.
fn split_number(text: &str) -> (&str, &str) {
    let text = text.trim();
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    match text.split_at_checked(end) {
        Some((number, unit)) => (number, unit.trim_start()),
        None => ("", text),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use figment::Jail;

    use super::*;

    /// The shipped file, tested to be exactly the defaults.
    const SHIPPED: &str = include_str!("../config/tlsql.toml");

    /// Runs `f` in a figment jail (its own working directory and environment) with no
    /// `TLSQL_` variables from the outside.
    #[expect(
        clippy::result_large_err,
        reason = "the closure's type is figment::Jail's"
    )]
    fn jail(f: impl FnOnce(&mut Jail)) {
        Jail::expect_with(|jail| {
            jail.clear_env();
            f(jail);
            Ok(())
        });
    }

    fn args(flags: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("tlsql").chain(flags.iter().copied())).unwrap()
    }

    fn load_err(flags: &[&str]) -> String {
        load(&args(flags)).unwrap_err().to_string()
    }

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
    fn an_empty_flag_turns_off_a_path_the_file_set() {
        jail(|jail| {
            jail.create_file("ca.pem", "").unwrap();
            jail.create_file(
                "t.toml",
                "socket = \"/tmp/t.sock\"\n[security]\nssl-ca = \"ca.pem\"\nssl-cert = \"c.pem\"\nssl-key = \"k.pem\"\n",
            )
            .unwrap();
            let c = load(&args(&[
                "--config=t.toml",
                "--socket=",
                "--ssl-ca=",
                "--ssl-cert=",
                "--ssl-key=",
            ]))
            .unwrap();
            assert_eq!(c.socket, None);
            assert_eq!(c.security.ssl_ca, None);
            assert_eq!(c.security.ssl_cert, None);
            assert_eq!(c.security.ssl_key, None);
        });
    }

    #[test]
    fn missing_explicit_file_is_an_error() {
        jail(|_| {
            let err = load_err(&["--config", "nope.toml"]);
            assert!(
                err.starts_with("cannot read configuration file nope.toml:"),
                "{err}"
            );
        });
    }

    #[test]
    fn toml_syntax_error_names_the_file() {
        jail(|jail| {
            jail.create_file("bad.toml", "port = [\n").unwrap();
            let err = load_err(&["--config", "bad.toml"]);
            assert!(
                err.starts_with("configuration file bad.toml is not valid TOML"),
                "{err}"
            );
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
    fn env_nesting_uses_double_underscore() {
        jail(|jail| {
            jail.set_env("TLSQL_SECURITY__SSL_CERT", "/etc/tlsql/server.pem");
            jail.set_env("TLSQL_SECURITY__SSL_KEY", "/etc/tlsql/server-key.pem");
            jail.set_env("TLSQL_SECURITY__REQUIRE_SECURE_TRANSPORT", "true");
            jail.set_env("TLSQL_SECURITY__SSL_SESSION_CACHE_TIMEOUT", "1h");
            jail.set_env("TLSQL_MAX_ALLOWED_PACKET", "1048576");
            let c = load(&args(&[])).unwrap();
            assert_eq!(
                c.security.ssl_cert.as_deref(),
                Some(Path::new("/etc/tlsql/server.pem"))
            );
            assert_eq!(
                c.security.ssl_key.as_deref(),
                Some(Path::new("/etc/tlsql/server-key.pem"))
            );
            assert!(c.security.require_secure_transport);
            assert_eq!(
                c.security.ssl_session_cache_timeout,
                Duration::from_secs(3600)
            );
            assert_eq!(c.max_allowed_packet, 1 << 20);
        });
    }

    #[test]
    fn every_flag_sets_its_key() {
        jail(|jail| {
            jail.create_file("ca.pem", "").unwrap();
            let c = load(&args(&[
                "--host=db.example.com",
                "--port=3307",
                "--socket=/tmp/tlsql.sock",
                "--data-dir=/var/lib/tlsql",
                "--max-connections=7",
                "--max-connections-per-host=3",
                "--connect-timeout=500ms",
                "--wait-timeout=5m",
                "--shutdown-timeout=2s",
                "--max-allowed-packet=1GiB",
                "--max-prepared-stmt-count=5",
                "--log-level=error",
                "--tls-backend=rustls",
                "--ssl-cert=c.pem",
                "--ssl-key=k.pem",
                "--ssl-ca=ca.pem",
                "--auto-tls=false",
                "--auto-tls-key=rsa-4096",
                "--tls-version=TLSv1.3",
                "--ssl-cipher=ECDHE-RSA-AES256-GCM-SHA384",
                "--tls-ciphersuites=TLS_CHACHA20_POLY1305_SHA256",
                "--tls-groups=P-384:X25519",
                "--require-secure-transport",
                "--ssl-session-cache-mode=false",
                "--ssl-session-cache-timeout=2m",
                "--auto-reload",
                "--expiry-warning=7d",
            ]));
            let Ok(c) = c else {
                // A build without rustls rejects --tls-backend=rustls; tested elsewhere.
                assert!(!TlsBackendKind::Rustls.is_compiled_in());
                return;
            };
            let expected = Config {
                host: "db.example.com".into(),
                port: 3307,
                socket: Some("/tmp/tlsql.sock".into()),
                data_dir: "/var/lib/tlsql".into(),
                max_connections: 7,
                max_connections_per_host: 3,
                connect_timeout: Duration::from_millis(500),
                wait_timeout: Duration::from_secs(300),
                shutdown_timeout: Duration::from_secs(2),
                max_allowed_packet: 1 << 30,
                max_prepared_stmt_count: 5,
                log_level: LevelFilter::Error,
                security: Security {
                    tls_backend: TlsBackendKind::Rustls,
                    ssl_cert: Some("c.pem".into()),
                    ssl_key: Some("k.pem".into()),
                    ssl_ca: Some("ca.pem".into()),
                    auto_tls: false,
                    auto_tls_key: AutoTlsKey::Rsa4096,
                    tls_version: TlsVersion::Tls13,
                    ssl_cipher: vec!["ECDHE-RSA-AES256-GCM-SHA384".into()],
                    tls_ciphersuites: vec!["TLS_CHACHA20_POLY1305_SHA256".into()],
                    tls_groups: group::parse_list("P-384:X25519").unwrap(),
                    require_secure_transport: true,
                    ssl_session_cache_mode: false,
                    ssl_session_cache_timeout: Duration::from_secs(120),
                    auto_reload: true,
                    expiry_warning: Duration::from_secs(7 * 86400),
                },
            };
            assert_eq!(c, expected);
        });
    }

    #[test]
    fn boolean_flags_take_an_optional_value() {
        assert_eq!(args(&["--auto-tls"]).auto_tls, Some(true));
        assert_eq!(args(&["--auto-tls=false"]).auto_tls, Some(false));
        assert_eq!(args(&[]).auto_tls, None);
        // `--auto-tls false` would silently mean "true" and a stray argument: refused.
        assert!(Args::try_parse_from(["tlsql", "--auto-tls", "false"]).is_err());
    }

    #[test]
    fn unknown_keys_in_the_file_are_errors() {
        jail(|jail| {
            jail.create_file("t.toml", "prot = 4000\n").unwrap();
            assert_eq!(
                load_err(&["--config", "t.toml"]),
                "unknown key prot from file t.toml"
            );
            jail.create_file("t.toml", "[security]\nssl-certificate = \"x\"\n")
                .unwrap();
            assert_eq!(
                load_err(&["--config", "t.toml"]),
                "unknown key security.ssl-certificate from file t.toml"
            );
            jail.create_file("t.toml", "[tls]\ncert = \"x\"\n").unwrap();
            assert_eq!(
                load_err(&["--config", "t.toml"]),
                "unknown key tls from file t.toml"
            );
        });
    }

    #[test]
    fn unknown_environment_variables_are_errors() {
        jail(|jail| {
            jail.set_env("TLSQL_SECURITY__SSL_CERTIFICATE", "x");
            assert_eq!(
                load_err(&[]),
                "unknown key security.ssl-certificate from environment variable TLSQL_SECURITY__SSL_CERTIFICATE"
            );
        });
        jail(|jail| {
            jail.set_env("TLSQL_LOG_LEVEL", "debug");
            let err = load_err(&[]);
            assert!(
                err.starts_with(
                    "unknown key log-level from environment variable TLSQL_LOG_LEVEL; nested keys are separated by `__`"
                ),
                "{err}"
            );
        });
        jail(|jail| {
            jail.set_env("TLSQL_SECURITY", "on");
            let err = load_err(&[]);
            assert!(
                err.starts_with(
                    "invalid value for security from environment variable TLSQL_SECURITY: this is a table"
                ),
                "{err}"
            );
        });
    }

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
    fn flag_values_are_validated_too() {
        jail(|_| {
            let err = load_err(&["--wait-timeout", "8"]);
            assert!(
                err.starts_with(
                    "invalid value for wait-timeout from flag --wait-timeout: '8' has no unit"
                ),
                "{err}"
            );
            let err = load_err(&["--max-connections", "0"]);
            assert!(
                err.starts_with("invalid value for max-connections from flag --max-connections:"),
                "{err}"
            );
            let err = load_err(&["--log-level", "chatty"]);
            assert!(
                err.starts_with("invalid value for log.level from flag --log-level:"),
                "{err}"
            );
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
    fn durations() {
        let ok = [
            ("500ms", Duration::from_millis(500)),
            ("10s", Duration::from_secs(10)),
            ("5m", Duration::from_secs(300)),
            ("8h", Duration::from_secs(8 * 3600)),
            ("30d", Duration::from_secs(30 * 86400)),
            ("10 s", Duration::from_secs(10)),
            ("0s", Duration::ZERO),
        ];
        for (text, expected) in ok {
            assert_eq!(parse_duration(text), Ok(expected), "{text}");
        }
        for bad in [
            "",
            "s",
            "10",
            "1.5s",
            "-1s",
            "10sec",
            "99999999999999999999d",
            "9999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        let printed = [
            (Duration::from_millis(1500), "1500ms"),
            (Duration::from_secs(300), "5m"),
            (Duration::from_secs(90), "90s"),
            (Duration::from_secs(8 * 3600), "8h"),
            (Duration::from_secs(30 * 86400), "30d"),
            (Duration::ZERO, "0s"),
            (Duration::from_micros(1), "1ms"),
        ];
        for (d, text) in printed {
            assert_eq!(format_duration(d), text);
        }
    }

    #[test]
    fn sizes() {
        let text = |t: &str| SizeText::Text(t.into());
        let ok = [
            (text("64MiB"), 64 << 20),
            (text("16KiB"), 16 << 10),
            (text("1GiB"), 1 << 30),
            (text("512B"), 512),
            (text("4096"), 4096),
            (text("2 MiB"), 2 << 20),
            (SizeText::Bytes(1234), 1234),
        ];
        for (size, expected) in ok {
            assert_eq!(parse_size(&size), Ok(expected), "{size:?}");
        }
        for bad in ["", "MiB", "64MB", "64M", "1.5GiB", "-1", "99999999999GiB"] {
            assert!(parse_size(&text(bad)).is_err(), "{bad}");
        }
        assert_eq!(format_size(64 << 20), text("64MiB"));
        assert_eq!(format_size(1 << 30), text("1GiB"));
        assert_eq!(format_size(3 << 10), text("3KiB"));
        assert_eq!(format_size(1536), SizeText::Bytes(1536));
        assert_eq!(format_size(1000), SizeText::Bytes(1000));
    }

    #[test]
    fn negative_size_in_toml_is_a_type_error() {
        jail(|jail| {
            jail.create_file("t.toml", "max-allowed-packet = -5\n")
                .unwrap();
            let err = load_err(&["--config", "t.toml"]);
            assert!(
                err.starts_with(
                    "invalid value for max-allowed-packet from file t.toml: invalid value"
                ),
                "{err}"
            );
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
