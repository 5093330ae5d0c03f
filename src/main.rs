//! The `tlsql` binary: flags → configuration → logging → server.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use tlsql::config::{self, Args, Config};
use tlsql::logging::SecretFreeLogger;

fn main() -> ExitCode {
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

fn serve(config: Config) -> anyhow::Result<()> {
    tlsql::server::run(config).context("server stopped with an error")
}
