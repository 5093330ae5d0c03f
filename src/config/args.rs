//! The command-line flags, the top layer of the configuration.

use std::path::PathBuf;

use figment::value::{Dict, Value};

use super::layers::{Layer, Origin, insert};

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

    /// Serve Prometheus metrics at http://ADDR/metrics, e.g. `127.0.0.1:9540`; empty for off
    /// (`metrics.listen`).
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<String>,
    /// Gateway mode: backends as `host:port`, comma-separated; empty for the embedded engine
    /// (`upstream.servers`).
    #[arg(long, value_name = "LIST")]
    pub upstream_servers: Option<String>,
    /// Backend leg: verify-identity, verify-ca, required or disabled (`upstream.tls`).
    #[arg(long, value_name = "MODE")]
    pub upstream_tls: Option<String>,
    /// CA bundle for the backends' certificates; empty for none (`upstream.ssl-ca`).
    #[arg(long, value_name = "FILE", value_parser = path_or_empty)]
    pub upstream_ssl_ca: Option<PathBuf>,
    /// The gateway's client certificate toward backends; empty for none (`upstream.ssl-cert`).
    #[arg(long, value_name = "FILE", value_parser = path_or_empty)]
    pub upstream_ssl_cert: Option<PathBuf>,
    /// Its private key; empty for none (`upstream.ssl-key`).
    #[arg(long, value_name = "FILE", value_parser = path_or_empty)]
    pub upstream_ssl_key: Option<PathBuf>,
    /// Name checked in every backend's certificate; empty for each server's host
    /// (`upstream.server-name`).
    #[arg(long, value_name = "NAME")]
    pub upstream_server_name: Option<String>,
    /// CA certificate that signs forwarded client identities; empty for the generated one
    /// (`upstream.identity-ca-cert`).
    #[arg(long, value_name = "FILE", value_parser = path_or_empty)]
    pub upstream_identity_ca_cert: Option<PathBuf>,
    /// Its private key (`upstream.identity-ca-key`).
    #[arg(long, value_name = "FILE", value_parser = path_or_empty)]
    pub upstream_identity_ca_key: Option<PathBuf>,
    /// Send a PROXY protocol v2 header to backends (`upstream.proxy-protocol`).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub upstream_proxy_protocol: Option<bool>,
    /// least-connections, round-robin or ordered (`upstream.balance`).
    #[arg(long, value_name = "POLICY")]
    pub upstream_balance: Option<String>,
    /// Time between health checks, e.g. `2s` (`upstream.health-interval`).
    #[arg(long, value_name = "DURATION")]
    pub upstream_health_interval: Option<String>,
    /// Account for health-check queries (`upstream.monitor-user`). Its password has no flag,
    /// so that it never shows in the process list: set `upstream.monitor-password` in the file
    /// or `TLSQL_UPSTREAM__MONITOR_PASSWORD`.
    #[arg(long, value_name = "USER")]
    pub upstream_monitor_user: Option<String>,
    /// Limit for one attempt to reach a backend, e.g. `3s` (`upstream.connect-timeout`).
    #[arg(long, value_name = "DURATION")]
    pub upstream_connect_timeout: Option<String>,
}

/// Parses a path flag. clap's own path parser refuses an empty value, which for these flags
/// means "none" (overriding a path set in the file or the environment).
fn path_or_empty(value: &str) -> Result<PathBuf, std::convert::Infallible> {
    Ok(PathBuf::from(value))
}

pub(super) fn flag_layer(args: &Args) -> Layer {
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
    put("metrics.listen", text(&args.metrics_listen));
    put("upstream.servers", text(&args.upstream_servers));
    put("upstream.tls", text(&args.upstream_tls));
    put("upstream.ssl-ca", path(&args.upstream_ssl_ca));
    put("upstream.ssl-cert", path(&args.upstream_ssl_cert));
    put("upstream.ssl-key", path(&args.upstream_ssl_key));
    put("upstream.server-name", text(&args.upstream_server_name));
    put(
        "upstream.identity-ca-cert",
        path(&args.upstream_identity_ca_cert),
    );
    put(
        "upstream.identity-ca-key",
        path(&args.upstream_identity_ca_key),
    );
    put(
        "upstream.proxy-protocol",
        args.upstream_proxy_protocol.map(Value::from),
    );
    put("upstream.balance", text(&args.upstream_balance));
    put(
        "upstream.health-interval",
        text(&args.upstream_health_interval),
    );
    put("upstream.monitor-user", text(&args.upstream_monitor_user));
    put(
        "upstream.connect-timeout",
        text(&args.upstream_connect_timeout),
    );
    Layer::new(Origin::Flags, data)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::Parser;
    use log::LevelFilter;
    use tlsql_tls_api::TlsVersion;
    use tlsql_tls_api::group;

    use super::super::testing::{args, jail, load_err};
    use super::super::{
        AutoTlsKey, Balance, Config, Secret, Security, TlsBackendKind, Upstream, UpstreamTls, load,
    };
    use super::*;

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
                "--metrics-listen=127.0.0.1:9540",
                "--upstream-servers=10.0.0.1:4000,db2",
                "--upstream-tls=verify-ca",
                "--upstream-ssl-ca=up-ca.pem",
                "--upstream-ssl-cert=up.pem",
                "--upstream-ssl-key=up-key.pem",
                "--upstream-server-name=db.internal",
                "--upstream-identity-ca-cert=id.pem",
                "--upstream-identity-ca-key=id-key.pem",
                "--upstream-proxy-protocol",
                "--upstream-balance=ordered",
                "--upstream-health-interval=500ms",
                "--upstream-monitor-user=mon",
                "--upstream-connect-timeout=1s",
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
                metrics_listen: Some("127.0.0.1:9540".parse().unwrap()),
                upstream: Upstream {
                    servers: vec![
                        "10.0.0.1:4000".parse().unwrap(),
                        "db2:3306".parse().unwrap(),
                    ],
                    tls: UpstreamTls::VerifyCa,
                    ssl_ca: Some("up-ca.pem".into()),
                    ssl_cert: Some("up.pem".into()),
                    ssl_key: Some("up-key.pem".into()),
                    server_name: Some("db.internal".into()),
                    identity_ca_cert: Some("id.pem".into()),
                    identity_ca_key: Some("id-key.pem".into()),
                    proxy_protocol: true,
                    balance: Balance::Ordered,
                    health_interval: Duration::from_millis(500),
                    monitor_user: Some("mon".into()),
                    monitor_password: Secret::default(),
                    connect_timeout: Duration::from_secs(1),
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
}
