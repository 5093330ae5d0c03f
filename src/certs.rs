//! `tlsql certs`: a CA, a server certificate for the names an operator gives and a client
//! certificate, written as files for `--ssl-ca`, `--ssl-cert`, `--ssl-key` and for clients: the
//! job MySQL's `mysql_ssl_rsa_setup` does, for operators who want their own files instead of
//! auto-tls's in the data directory. The certificates are made by the auto-tls code
//! ([`crate::tls::auto::generate_set`]), so they have the same keys, extensions and modes.

use std::net::IpAddr;
use std::path::PathBuf;

use rcgen::SanType;
use rustls_pki_types::ServerName;

use crate::config::AutoTlsKey;
use crate::tls::auto::{self, AutoTlsError, AutoTlsPaths};

/// `tlsql certs` flags.
#[derive(Debug, clap::Parser)]
#[command(
    name = "tlsql certs",
    bin_name = "tlsql certs",
    about = "Generate a CA, a server certificate and a client certificate (PEM files) for tlsql and its clients"
)]
pub struct CertsArgs {
    /// Directory for ca.pem, ca-key.pem, server-cert.pem, server-key.pem, client-cert.pem and
    /// client-key.pem (created 0700 when missing; existing files are never overwritten).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// A name clients use to reach the server, as a DNS name or an IP address: the server
    /// certificate's subject alternative names (repeat the flag or give several values).
    #[arg(long = "host", value_name = "NAME", required = true, num_args = 1..)]
    pub hosts: Vec<String>,
    /// Key type of every certificate: ecdsa-p256, rsa-2048 or rsa-4096.
    #[arg(long, value_name = "TYPE", default_value = "ecdsa-p256")]
    pub key: AutoTlsKey,
    /// Validity of every certificate, in days from now.
    #[arg(long, value_name = "N", default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub days: u32,
}

/// Why `tlsql certs` failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertsError {
    /// A `--host` value is neither an IP address nor a DNS name.
    #[error("--host {0:?} is neither an IP address nor a valid DNS name")]
    BadHost(String),
    /// Writing or generating failed.
    #[error(transparent)]
    Generate(#[from] AutoTlsError),
}

/// Generates and writes the six files; returns where they are.
pub fn run(args: &CertsArgs) -> Result<AutoTlsPaths, CertsError> {
    let names = args
        .hosts
        .iter()
        .map(|host| san(host))
        .collect::<Result<Vec<_>, _>>()?;
    let validity = time::Duration::days(i64::from(args.days));
    Ok(auto::generate_set(&args.out, args.key, names, validity)?)
}

/// An IP address becomes an IP SAN (clients compare addresses, never text), anything else must
/// be a DNS name as TLS clients check it.
fn san(host: &str) -> Result<SanType, CertsError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let bad = || CertsError::BadHost(host.to_string());
    let name = host.to_ascii_lowercase();
    match ServerName::try_from(name.as_str()) {
        Ok(ServerName::DnsName(_)) => Ok(SanType::DnsName(name.try_into().map_err(|_| bad())?)),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_become_ip_or_dns_names() {
        assert!(
            matches!(san("127.0.0.1"), Ok(SanType::IpAddress(ip)) if ip.to_string() == "127.0.0.1")
        );
        assert!(matches!(san("::1"), Ok(SanType::IpAddress(ip)) if ip.to_string() == "::1"));
        assert!(
            matches!(san("DB.Example.com"), Ok(SanType::DnsName(n)) if n.as_str() == "db.example.com")
        );
        for bad in ["", "a b", "db..example", "-x.example.com.", "x/y"] {
            assert!(
                matches!(san(bad), Err(CertsError::BadHost(ref h)) if h == bad),
                "{bad:?} accepted"
            );
        }
    }
}
