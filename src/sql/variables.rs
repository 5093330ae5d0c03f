//! The values of system variables computed from live server state: TLS variables follow the
//! loaded context, not the configuration file.

use crate::instance::{Instance, SERVER_VERSION};
use crate::tls::ActiveTls;
use crate::vars::{VarDef, VarValue};

fn path_text(p: Option<&std::path::Path>) -> VarValue {
    VarValue::Text(p.map(|p| p.display().to_string()).unwrap_or_default())
}

/// The global value of `def`: stored for settable variables, computed from server state
/// for the rest.
pub(crate) fn global_value(shared: &Instance, def: &VarDef) -> VarValue {
    if let Some(v) = shared.globals.get(def.name) {
        return v;
    }
    let config = &shared.config;
    let active: Option<std::sync::Arc<ActiveTls>> = shared.tls.current();
    let text = |s: &str| VarValue::Text(s.to_string());
    let sec = &config.security;
    match def.name {
        "auto_increment_increment" | "auto_increment_offset" => VarValue::Int(1),
        "character_set_system" => text("utf8mb3"),
        "datadir" => text(&format!("{}/", config.data_dir.display())),
        "default_authentication_plugin" => text("caching_sha2_password"),
        "have_openssl" | "have_ssl" => text(if active.is_some() { "YES" } else { "DISABLED" }),
        "hostname" => text(&shared.hostname),
        "init_connect" => text(""),
        "license" => text("Apache-2.0"),
        "lower_case_table_names" => VarValue::Int(0),
        "max_allowed_packet" => {
            VarValue::Int(i64::try_from(config.max_allowed_packet).unwrap_or(i64::MAX))
        }
        "max_connections" => VarValue::Int(i64::from(config.max_connections)),
        "max_prepared_stmt_count" => VarValue::Int(i64::from(config.max_prepared_stmt_count)),
        "performance_schema" => VarValue::Bool(false),
        "port" => VarValue::Int(i64::from(config.port)),
        "protocol_version" => VarValue::Int(10),
        "query_cache_size" => VarValue::Int(0),
        "query_cache_type" => text("OFF"),
        "socket" => path_text(config.socket.as_deref()),
        "ssl_ca" => match &active {
            Some(a) => path_text(a.ca_path.as_deref()),
            None => path_text(sec.ssl_ca.as_deref()),
        },
        "ssl_cert" => match &active {
            Some(a) => path_text(Some(&a.cert_path)),
            None => path_text(sec.ssl_cert.as_deref()),
        },
        "ssl_key" => match &active {
            Some(a) => path_text(Some(&a.key_path)),
            None => path_text(sec.ssl_key.as_deref()),
        },
        "ssl_cipher" => text(&sec.ssl_cipher.join(":")),
        "tls_ciphersuites" => text(&sec.tls_ciphersuites.join(":")),
        // What the live context offers, which the default list may have cut to the backend.
        "tls_groups" => match &active {
            Some(a) => text(&a.groups),
            None => text(&tlsql_tls_api::group::join(&sec.tls_groups)),
        },
        "tls_version" => match &active {
            Some(a) => text(&a.versions),
            None => text(""),
        },
        "ssl_session_cache_mode" => VarValue::Bool(sec.ssl_session_cache_mode),
        "ssl_session_cache_timeout" => VarValue::Int(
            i64::try_from(sec.ssl_session_cache_timeout.as_secs()).unwrap_or(i64::MAX),
        ),
        "system_time_zone" => text("UTC"),
        "version" => text(SERVER_VERSION),
        "version_comment" => text("tlsql - MySQL-compatible server with TLS at its core"),
        "version_compile_machine" => text(std::env::consts::ARCH),
        "version_compile_os" => text("Linux"),
        other => {
            log::error!("system variable {other} has no value source");
            text("")
        }
    }
}
