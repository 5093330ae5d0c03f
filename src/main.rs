//! The `tlsql` binary: flags → configuration → logging → server.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use tlsql::certs::CertsArgs;
use tlsql::config::{self, Args, Config};
use tlsql::logging::SecretFreeLogger;

fn main() -> ExitCode {
    // `tlsql certs …` is a tool of its own; every other command line starts the server.
    if std::env::args_os().nth(1).is_some_and(|a| a == "certs") {
        return certs(CertsArgs::parse_from(std::env::args_os().skip(1)));
    }
    let args = Args::parse();
    // A configuration error is a usage error, like a bad flag (which clap reports with 2).
    let config = match config::load(&args) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("tlsql: {err}");
            return ExitCode::from(2);
        }
    };
    if args.print_config {
        return match config.to_toml() {
            Ok(toml) => {
                print!("{toml}");
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("tlsql: {err}");
                ExitCode::from(2)
            }
        };
    }
    init_logging(&config);
    raise_open_file_limit(config.max_connections);
    match serve(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            log::error!("{err:#}");
            eprintln!("tlsql: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// `log.level` is the default; `RUST_LOG`, when set, replaces it (with env_logger's full
/// per-module syntax).
fn init_logging(config: &Config) {
    let level = config.log_level.as_str().to_ascii_lowercase();
    let logger =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level)).build();
    log::set_max_level(logger.filter());
    if log::set_boxed_logger(Box::new(SecretFreeLogger::new(logger))).is_err() {
        eprintln!("tlsql: a logger was already installed");
    }
}

/// Descriptors the server needs besides one per connection: listeners, the account store and
/// the databases sessions attach (three files each: database, log, shared memory), logs.
const FILES_BESIDES_CONNECTIONS: u64 = 1024;

/// Raises the soft limit on open files to the hard limit, as MySQL does at startup: each
/// connection holds one descriptor, and the usual soft default (1024) would refuse connections
/// long before `max-connections`. Says so when even the hard limit is too low.
fn raise_open_file_limit(max_connections: u32) {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let (Some(soft), hard) = (limit.current, limit.maximum) else {
        return;
    };
    let mut open_files = soft;
    if hard.is_none_or(|hard| hard > soft) {
        let raised = rustix::process::Rlimit {
            current: hard,
            maximum: hard,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => {
                open_files = hard.unwrap_or(u64::MAX);
                log::info!(
                    "open file limit raised from {soft} to {}",
                    hard.map_or("unlimited".to_string(), |h| h.to_string())
                );
            }
            Err(e) => log::warn!("cannot raise the open file limit from {soft}: {e}"),
        }
    }
    let needed = u64::from(max_connections) + FILES_BESIDES_CONNECTIONS;
    if open_files < needed {
        log::warn!(
            "the open file limit ({open_files}) is below what max-connections ({max_connections}) needs ({needed}): connections beyond about {} will fail with 'Too many open files'; raise the hard limit (ulimit -Hn, LimitNOFILE=) or lower max-connections",
            open_files.saturating_sub(FILES_BESIDES_CONNECTIONS)
        );
    }
}

fn serve(config: Config) -> anyhow::Result<()> {
    tlsql::server::run(config).context("server stopped with an error")
}

fn certs(args: CertsArgs) -> ExitCode {
    match tlsql::certs::run(&args) {
        Ok(paths) => {
            let (ca, cert, key) = (
                paths.ca_cert.display(),
                paths.server_cert.display(),
                paths.server_key.display(),
            );
            println!(
                "wrote a CA, a server certificate for {} and a client certificate ({}, valid {} days) to {}",
                args.hosts.join(", "),
                args.key,
                args.days,
                paths.dir.display()
            );
            println!("server:  tlsql --ssl-ca={ca} --ssl-cert={cert} --ssl-key={key}");
            println!(
                "clients: --ssl-mode=VERIFY_IDENTITY --ssl-ca={ca}, and for REQUIRE X509 --ssl-cert={} --ssl-key={}",
                paths.client_cert.display(),
                paths.client_key.display()
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("tlsql certs: {err}");
            ExitCode::FAILURE
        }
    }
}
