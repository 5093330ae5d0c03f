//! The RSA key pair of the `caching_sha2_password` public-key exchange.
//!
//! On plain TCP a client without a secure channel asks for the server's public key (`02`), the
//! server answers AuthMoreData `01` + the PEM, and the client sends
//! `RSA-OAEP(public key, (password || NUL) XOR nonce)` with SHA-1 as the OAEP hash and in MGF1
//! (`RSA_PKCS1_OAEP_PADDING` in libmysqlclient, `padding.OAEP(MGF1(SHA1()), SHA1())` in PyMySQL,
//! `rsa.EncryptOAEP(sha1.New(), …)` in go-sql-driver). The nonce is repeated as often as the
//! password is long.
//!
//! The pair lives in `<data-dir>/private_key.pem` (mode 0600) and `<data-dir>/public_key.pem`,
//! MySQL's file names; it is generated (RSA-2048) when neither file exists.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, PrivateKey, PublicKey};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{PrivateKeyDer, SubjectPublicKeyInfoDer};
use sha1::Sha1;

use super::scramble::{Nonce, xor_repeating};

/// Modulus size of generated keys (MySQL's `auto_generate_rsa_keys` default).
pub const GENERATED_BITS: usize = 2048;

/// File names inside the data directory (MySQL's defaults for
/// `caching_sha2_password_private_key_path` / `_public_key_path`).
pub const PRIVATE_KEY_FILE: &str = "private_key.pem";
/// See [`PRIVATE_KEY_FILE`].
pub const PUBLIC_KEY_FILE: &str = "public_key.pem";

/// Why the key pair could not be loaded, generated or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RsaKeyError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A file does not hold a usable RSA key.
    #[error("{}: {reason}", path.display())]
    BadKey {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Key generation failed.
    #[error("cannot generate an RSA key: {0}")]
    Generate(String),
    /// A client's ciphertext did not decrypt (wrong length, wrong key, bad padding).
    #[error("cannot decrypt the RSA-encrypted password: {0}")]
    Decrypt(String),
}

/// The server's RSA key pair.
pub struct RsaKeyPair {
    private: PrivateKey,
    public_pem: String,
}

impl std::fmt::Debug for RsaKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsaKeyPair")
            .field("bits", &(self.size() * 8))
            .finish_non_exhaustive()
    }
}

impl RsaKeyPair {
    /// Loads the pair from `data_dir`, or generates and writes a 2048-bit one when neither
    /// file exists. Returns the pair and whether it was generated. A private key without its
    /// public file gets the public file written; a public file without a private key, or two
    /// files that do not belong together, is an error (an operator's file is never replaced).
    pub fn load_or_generate(data_dir: &Path) -> Result<(Self, bool), RsaKeyError> {
        let private_path = data_dir.join(PRIVATE_KEY_FILE);
        let public_path = data_dir.join(PUBLIC_KEY_FILE);
        match (private_path.exists(), public_path.exists()) {
            (false, false) => {
                let pair = Self::generate(GENERATED_BITS)?;
                pair.write(&private_path, &public_path)?;
                Ok((pair, true))
            }
            (false, true) => Err(RsaKeyError::BadKey {
                path: private_path,
                reason: format!(
                    "missing, but {} exists; remove it to have a new pair generated",
                    public_path.display()
                ),
            }),
            (true, public_exists) => {
                let pair = Self::from_private_pem(&read(&private_path)?, &private_path)?;
                if public_exists {
                    let der = SubjectPublicKeyInfoDer::from_pem_slice(&read(&public_path)?)
                        .map_err(|e| bad(&public_path, format!("no PEM public key: {e}")))?;
                    let public = PublicKey::from_public_key_der(der.as_ref())
                        .map_err(|e| bad(&public_path, format!("not an RSA public key: {e}")))?;
                    if &public != pair.private.as_public_key() {
                        return Err(bad(
                            &public_path,
                            format!("does not match {}", private_path.display()),
                        ));
                    }
                } else {
                    write_file(
                        &public_path,
                        pair.public_pem.as_bytes(),
                        crate::files::GROUP_READABLE_MODE,
                    )?;
                }
                Ok((pair, false))
            }
        }
    }

    /// A fresh key pair (not written anywhere).
    pub fn generate(bits: usize) -> Result<Self, RsaKeyError> {
        let private = PrivateKey::new(&mut rand::rng(), bits)
            .map_err(|e| RsaKeyError::Generate(e.to_string()))?;
        Self::from_private(private).map_err(RsaKeyError::Generate)
    }

    /// A pair from a PEM private key (PKCS#1 `RSA PRIVATE KEY` or PKCS#8 `PRIVATE KEY`);
    /// `path` names the source in errors.
    pub fn from_private_pem(pem: &[u8], path: &Path) -> Result<Self, RsaKeyError> {
        let der = PrivateKeyDer::from_pem_slice(pem)
            .map_err(|e| bad(path, format!("no PEM private key: {e}")))?;
        let private = match &der {
            PrivateKeyDer::Pkcs1(k) => PrivateKey::from_pkcs1_der(k.secret_pkcs1_der())
                .map_err(|e| bad(path, format!("invalid PKCS#1 RSA key: {e}")))?,
            PrivateKeyDer::Pkcs8(k) => PrivateKey::from_pkcs8_der(k.secret_pkcs8_der())
                .map_err(|e| bad(path, format!("not an RSA key: {e}")))?,
            _ => return Err(bad(path, "not an RSA key")),
        };
        Self::from_private(private).map_err(|e| bad(path, e))
    }

    fn from_private(private: PrivateKey) -> Result<Self, String> {
        let public_pem = private
            .as_public_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| format!("cannot encode the public key: {e}"))?;
        Ok(Self {
            private,
            public_pem,
        })
    }

    fn write(&self, private_path: &Path, public_path: &Path) -> Result<(), RsaKeyError> {
        let private_pem = self
            .private
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| RsaKeyError::Generate(format!("cannot encode the private key: {e}")))?;
        write_file(private_path, private_pem.as_bytes(), 0o600)?;
        write_file(
            public_path,
            self.public_pem.as_bytes(),
            crate::files::GROUP_READABLE_MODE,
        )
    }

    /// The public key as PEM (`-----BEGIN PUBLIC KEY-----`, SubjectPublicKeyInfo), what the
    /// server sends after `01` and what `Caching_sha2_password_rsa_public_key` shows.
    pub fn public_pem(&self) -> &str {
        &self.public_pem
    }

    /// Modulus size in bytes: the length of every valid client ciphertext.
    pub fn size(&self) -> usize {
        self.private.size()
    }

    /// Decrypts a client's RSA-OAEP(SHA-1) `ciphertext`, XORs it with `nonce` (repeated) and
    /// strips the trailing NUL: the cleartext password.
    pub fn decrypt_password(
        &self,
        ciphertext: &[u8],
        nonce: &Nonce,
    ) -> Result<Vec<u8>, RsaKeyError> {
        if ciphertext.len() != self.size() {
            return Err(RsaKeyError::Decrypt(format!(
                "ciphertext is {} bytes, the key needs {}",
                ciphertext.len(),
                self.size()
            )));
        }
        let mut plain = self
            .private
            .decrypt(Oaep::<Sha1>::new(), ciphertext)
            .map_err(|e| RsaKeyError::Decrypt(e.to_string()))?;
        xor_repeating(&mut plain, nonce);
        if plain.last() == Some(&0) {
            plain.pop();
        }
        Ok(plain)
    }
}

fn bad(path: &Path, reason: impl Into<String>) -> RsaKeyError {
    RsaKeyError::BadKey {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, RsaKeyError> {
    fs::read(path).map_err(|source| RsaKeyError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes through a temporary file and a rename, so a crash never leaves half a key behind;
/// the temporary file is created with `mode` already set, so the key is never world-readable.
fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), RsaKeyError> {
    let io = |source| RsaKeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("pem.tmp");
    let _ = fs::remove_file(&tmp);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io)?;
    file.write_all(contents).map_err(io)?;
    file.sync_all().map_err(io)?;
    // The umask may have narrowed `mode` (0644 → 0600 is fine, but be exact).
    fs::set_permissions(&tmp, fs::Permissions::from_mode(mode)).map_err(io)?;
    fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONCE: Nonce = [
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
    ];

    fn testdata(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/auth/testdata")
            .join(name)
    }

    fn fixture() -> RsaKeyPair {
        let path = testdata("rsa_private_pkcs1.pem");
        RsaKeyPair::from_private_pem(&fs::read(&path).unwrap(), &path).unwrap()
    }

    #[test]
    fn decrypts_what_pymysql_encrypted() {
        // testdata/pymysql_ciphertext.bin was produced by PyMySQL 2.2.8:
        //   pymysql._auth.sha2_rsa_encrypt(b"correct horse battery staple",
        //                                  bytes(range(1, 21)), open("rsa_public.pem", "rb").read())
        // with the key pair in testdata/ (generated by `cryptography` for this test only).
        let pair = fixture();
        let ciphertext = fs::read(testdata("pymysql_ciphertext.bin")).unwrap();
        assert_eq!(
            pair.decrypt_password(&ciphertext, &NONCE).unwrap(),
            b"correct horse battery staple"
        );
        // The same bytes with another nonce give garbage, not the password.
        let mut other = NONCE;
        other[3] ^= 0xff;
        assert_ne!(
            pair.decrypt_password(&ciphertext, &other).unwrap(),
            b"correct horse battery staple"
        );
    }

    #[test]
    fn public_pem_matches_the_fixture() {
        let pair = fixture();
        let expected = fs::read_to_string(testdata("rsa_public.pem")).unwrap();
        assert_eq!(pair.public_pem(), expected);
        assert_eq!(pair.size(), 256);
    }

    #[test]
    fn round_trip_with_our_own_encryption() {
        let pair = fixture();
        let public = PublicKey::from_public_key_pem(pair.public_pem()).unwrap();
        let mut message = b"pw\0".to_vec();
        xor_repeating(&mut message, &NONCE);
        let ciphertext = public
            .encrypt(&mut rand::rng(), Oaep::<Sha1>::new(), &message)
            .unwrap();
        assert_eq!(pair.decrypt_password(&ciphertext, &NONCE).unwrap(), b"pw");
    }

    #[test]
    fn garbage_ciphertexts_are_errors() {
        let pair = fixture();
        assert!(matches!(
            pair.decrypt_password(b"pw\0", &NONCE),
            Err(RsaKeyError::Decrypt(_))
        ));
        assert!(matches!(
            pair.decrypt_password(&[0x5a; 256], &NONCE),
            Err(RsaKeyError::Decrypt(_))
        ));
    }

    #[test]
    fn files_are_loaded_checked_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join(PRIVATE_KEY_FILE);
        let public = dir.path().join(PUBLIC_KEY_FILE);
        // A private key alone: the public file is derived and written.
        fs::copy(testdata("rsa_private_pkcs1.pem"), &private).unwrap();
        let (pair, generated) = RsaKeyPair::load_or_generate(dir.path()).unwrap();
        assert!(!generated);
        assert_eq!(fs::read_to_string(&public).unwrap(), pair.public_pem());
        // Loading again reads both and finds them consistent.
        let (again, _) = RsaKeyPair::load_or_generate(dir.path()).unwrap();
        assert_eq!(again.public_pem(), pair.public_pem());
        // A public key from another pair is refused.
        fs::copy(testdata("rsa_other_public.pem"), &public).unwrap();
        let err = RsaKeyPair::load_or_generate(dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(&public.display().to_string()), "{err}");
        // A public key without the private key is refused, not replaced.
        fs::remove_file(&private).unwrap();
        let err = RsaKeyPair::load_or_generate(dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing"), "{err}");
        // Garbage in the private key file names the file.
        fs::remove_file(&public).unwrap();
        fs::write(&private, "not a key").unwrap();
        let err = RsaKeyPair::load_or_generate(dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(&private.display().to_string()), "{err}");
    }

    #[test]
    fn generated_pair_is_written_private() {
        let dir = tempfile::tempdir().unwrap();
        let (pair, generated) = RsaKeyPair::load_or_generate(dir.path()).unwrap();
        assert!(generated);
        assert_eq!(pair.size(), GENERATED_BITS / 8);
        let mode = |name| {
            fs::metadata(dir.path().join(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode(PRIVATE_KEY_FILE), 0o600);
        assert_eq!(mode(PUBLIC_KEY_FILE), 0o640);
        let (loaded, generated) = RsaKeyPair::load_or_generate(dir.path()).unwrap();
        assert!(!generated);
        assert_eq!(loaded.public_pem(), pair.public_pem());
        assert!(
            pair.public_pem()
                .starts_with("-----BEGIN PUBLIC KEY-----\n")
        );
    }
}
