//! The layers below the flags (defaults, file, environment), where each value came from, and
//! the check that every key is one tlsql knows.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};

use super::raw::RawConfig;
use super::{Config, ConfigError, ENV_PREFIX};

/// Separator of nested keys in environment variable names.
const ENV_NEST: &str = "__";

/// Where a layer's values came from; describes a key's origin in messages.
#[derive(Clone, Debug)]
pub(super) enum Origin {
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
pub(super) struct Layer {
    origin: Origin,
    data: Dict,
}

impl Layer {
    pub(super) fn new(origin: Origin, data: Dict) -> Self {
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
pub(super) struct Origins<'a>(pub(super) &'a Figment);

impl Origins<'_> {
    pub(super) fn of(&self, key: &str) -> String {
        match self.0.find_metadata(key) {
            Some(md) => md.interpolate(&Profile::Default, &key.split('.').collect::<Vec<_>>()),
            None => "the configuration".into(),
        }
    }

    pub(super) fn invalid(&self, key: &str, reason: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            key: key.into(),
            origin: self.of(key),
            reason: reason.into(),
        }
    }
}

pub(super) fn from_figment(err: figment::Error) -> ConfigError {
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
pub(super) fn schema() -> Dict {
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
pub(super) fn check_known(
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

pub(super) fn read_file(path: &Path) -> Result<Dict, ConfigError> {
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
pub(super) fn env_layer(schema: &Dict) -> Result<Layer, ConfigError> {
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
pub(super) fn insert(dict: &mut Dict, path: &[&str], value: Value) {
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::load;
    use super::super::testing::{args, jail, load_err};
    use super::*;

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
}
