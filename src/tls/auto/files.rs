//! The auto-TLS directory and its files: names, modes, atomic replacement, and the errors
//! that name a file.

use std::fs::{self, DirBuilder, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tlsql_tls_api::TlsError;

pub(super) const KEY_MODE: u32 = crate::files::PRIVATE_MODE;
/// Certificates are public, but nothing in the data directory is readable by other users.
pub(super) const CERT_MODE: u32 = crate::files::GROUP_READABLE_MODE;
const DIR_MODE: u32 = 0o700;

/// The six files of an auto-TLS directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AutoTlsPaths {
    /// The directory, `<data-dir>/tls`.
    pub dir: PathBuf,
    /// `ca.pem`: what clients trust (`--ssl-ca`), and what client certificates are verified
    /// against.
    pub ca_cert: PathBuf,
    /// `ca-key.pem`.
    pub ca_key: PathBuf,
    /// `server-cert.pem`.
    pub server_cert: PathBuf,
    /// `server-key.pem`.
    pub server_key: PathBuf,
    /// `client-cert.pem`.
    pub client_cert: PathBuf,
    /// `client-key.pem`.
    pub client_key: PathBuf,
}

impl AutoTlsPaths {
    /// The file names inside `dir`.
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            ca_cert: dir.join("ca.pem"),
            ca_key: dir.join("ca-key.pem"),
            server_cert: dir.join("server-cert.pem"),
            server_key: dir.join("server-key.pem"),
            client_cert: dir.join("client-cert.pem"),
            client_key: dir.join("client-key.pem"),
        }
    }
}

/// Why auto-TLS files could not be created or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AutoTlsError {
    /// The directory could not be created.
    #[error("cannot create directory {}: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// Whether a file exists could not be determined.
    #[error("cannot access {}: {source}", path.display())]
    Access {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// An existing file is unreadable or not PEM of the right kind (the message names it).
    #[error(transparent)]
    File(#[from] TlsError),
    /// An existing file is readable but wrong: damaged, mismatched or expired.
    #[error("{}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },
    /// Half of the CA is missing: replacing it would silently invalidate a CA that clients
    /// may trust.
    #[error(
        "{} is missing but {} exists; auto-tls never replaces a CA that clients may already trust: restore the missing file, or remove every file in {} to generate a new CA",
        missing.display(), present.display(), dir.display()
    )]
    Incomplete {
        /// The missing file.
        missing: PathBuf,
        /// A file that exists.
        present: PathBuf,
        /// The auto-TLS directory.
        dir: PathBuf,
    },
    /// Key or certificate generation failed.
    #[error("cannot generate auto-TLS certificates: {0}")]
    Generate(#[from] rcgen::Error),
}

pub(super) fn create_dir(dir: &Path) -> Result<(), AutoTlsError> {
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {
            if meta.permissions().mode() & 0o077 != 0 {
                log::warn!(
                    "auto-tls: {} is accessible to other users (mode {:o}); 0700 is recommended because it holds private keys",
                    dir.display(),
                    meta.permissions().mode() & 0o777
                );
            }
            Ok(())
        }
        Ok(_) => Err(AutoTlsError::CreateDir {
            path: dir.to_path_buf(),
            source: io::Error::new(
                io::ErrorKind::AlreadyExists,
                "exists and is not a directory",
            ),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let fail = |source| AutoTlsError::CreateDir {
                path: dir.to_path_buf(),
                source,
            };
            DirBuilder::new()
                .recursive(true)
                .mode(DIR_MODE)
                .create(dir)
                .map_err(fail)?;
            // The umask may have taken bits away; set exactly 0700.
            fs::set_permissions(dir, Permissions::from_mode(DIR_MODE)).map_err(fail)
        }
        Err(source) => Err(AutoTlsError::Access {
            path: dir.to_path_buf(),
            source,
        }),
    }
}

pub(super) fn exists(path: &Path) -> Result<bool, AutoTlsError> {
    path.try_exists().map_err(|source| AutoTlsError::Access {
        path: path.to_path_buf(),
        source,
    })
}

/// [`crate::files::write_atomic`], with the file named in the error.
pub(super) fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<(), AutoTlsError> {
    crate::files::write_atomic(path, contents, mode).map_err(|source| AutoTlsError::Write {
        path: path.to_path_buf(),
        source,
    })
}

pub(super) fn invalid(path: &Path, reason: impl Into<String>) -> AutoTlsError {
    AutoTlsError::Invalid {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

pub(super) fn incomplete(paths: &AutoTlsPaths, missing: &Path, present: &Path) -> AutoTlsError {
    AutoTlsError::Incomplete {
        missing: missing.to_path_buf(),
        present: present.to_path_buf(),
        dir: paths.dir.clone(),
    }
}
