//! `caching_sha2_password`.
//!
//! # Exchanges
//!
//! The client answers the 20-byte nonce with
//! `XOR(SHA256(pw), SHA256(SHA256(SHA256(pw)) || nonce))`, 32 bytes (or an empty packet / a
//! single 0x00 for an empty password). The server can check that only if it knows
//! SHA256(SHA256(pw)), which it never stores: it keeps it in [`super::fast_auth::FastAuthCache`] after a
//! successful *full* authentication, in which the client sends the cleartext password (over TLS
//! or a unix socket, or RSA-encrypted, see [`super::rsa_key`]).
//!
//! <https://dev.mysql.com/doc/dev/mysql-server/latest/page_caching_sha2_authentication_exchanges.html>
//!
//! # Stored form: differs from MySQL
//!
//! MySQL stores `$A$005$<20-byte salt><43-char digest>`, where the digest is SHA-256-crypt
//! computed over the whole 20-byte salt (`CRYPT_SALT_LENGTH 20` in MySQL's
//! `crypt_genhash_impl`). Standard SHA-256-crypt (Drepper's specification, glibc, the
//! `sha-crypt` crate) cuts the salt at 16 bytes, so the crate cannot reproduce MySQL's digests
//! and hand-written crypto is off the table. tlsql therefore stores the standard crypt(3) string
//! `$5$rounds=5000$<16-char salt>$<43-char digest>` (SHA-256-crypt, 5000 rounds, as MySQL uses,
//! salt from the crypt base-64 alphabet). glibc's `crypt()`, `openssl passwd -5` and Python's
//! `crypt` verify it; a MySQL `$A$005$` hash cannot be imported with `AS '…'` (rejected as a
//! malformed hash), its users have to set their password again.

use sha_crypt::{PasswordHasher, PasswordVerifier, ShaCrypt};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::scramble::{Nonce, xor_repeating};

/// SHA-256-crypt rounds, as MySQL's `caching_sha2_password_digest_rounds` default.
pub const ROUNDS: u32 = 5000;

/// Length of SHA-256 and of the client's fast-path response.
pub const DIGEST_LEN: usize = 32;

/// Random bytes per salt: 12 bytes are 16 crypt base-64 characters, the most SHA-256-crypt uses.
const SALT_BYTES: usize = 12;

const HASHER: ShaCrypt = ShaCrypt::SHA256;

fn sha256(parts: &[&[u8]]) -> [u8; DIGEST_LEN] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The stored form of `password`: `$5$rounds=5000$<salt>$<digest>` with a fresh random salt,
/// or `""` for an empty password.
pub fn hash_password(password: &[u8]) -> String {
    if password.is_empty() {
        return String::new();
    }
    let salt: [u8; SALT_BYTES] = rand::random();
    match HASHER.hash_password_with_salt(password, &salt) {
        Ok(hash) => hash.to_string(),
        // The only failure modes are invalid parameters or salt encodings, and both are
        // constants here; an empty string would silently mean "no password", so fail loudly.
        Err(e) => panic!("SHA-256-crypt with constant parameters failed: {e}"),
    }
}

/// Whether `stored` is a valid stored form: `""` or a SHA-256-crypt string (`$5$…`, with or
/// without `rounds=`).
pub fn is_valid_stored(stored: &str) -> bool {
    if stored.is_empty() {
        return true;
    }
    if !stored.starts_with("$5$") {
        return false;
    }
    // Verifying any password distinguishes "malformed" from "valid but wrong".
    !matches!(
        HASHER.verify_password(b"", stored),
        Err(e) if e != sha_crypt::password_hash::Error::PasswordInvalid
    )
}

/// The full-authentication check: the cleartext `password` against the stored form. An empty
/// stored form accepts only an empty password; a malformed one accepts nothing.
pub fn verify_password(stored: &str, password: &[u8]) -> bool {
    if stored.is_empty() {
        return password.is_empty();
    }
    if password.is_empty() || !stored.starts_with("$5$") {
        return false;
    }
    HASHER.verify_password(password, stored).is_ok()
}

/// SHA256(SHA256(password)): what the fast-auth cache holds for an account.
pub fn fast_digest(password: &[u8]) -> [u8; DIGEST_LEN] {
    sha256(&[&sha256(&[password])])
}

/// What a client sends on the fast path for `password` and `nonce` (empty for an empty
/// password). Tests and tools that act as a client use it.
pub fn scramble(password: &[u8], nonce: &Nonce) -> Vec<u8> {
    if password.is_empty() {
        return Vec::new();
    }
    let stage1 = sha256(&[password]);
    let stage2 = sha256(&[&stage1]);
    let mut out = sha256(&[&stage2, nonce]).to_vec();
    xor_repeating(&mut out, &stage1);
    out
}

/// Checks a fast-path `response` against a cached SHA256(SHA256(pw)).
pub fn verify_scramble(digest: &[u8; DIGEST_LEN], nonce: &Nonce, response: &[u8]) -> bool {
    if response.len() != DIGEST_LEN {
        return false;
    }
    let mut stage1 = sha256(&[digest, nonce]);
    xor_repeating(&mut stage1, response);
    sha256(&[&stage1]).ct_eq(digest).into()
}

/// The password from a full-authentication packet sent in clear (`password\0`): the packet
/// without its trailing NUL.
pub fn cleartext(packet: &[u8]) -> &[u8] {
    packet.strip_suffix(&[0]).unwrap_or(packet)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONCE: Nonce = [
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
    ];

    fn hex(bytes: &[u8]) -> String {
        crate::auth::scramble::hex_upper(bytes).to_lowercase()
    }

    #[test]
    fn fast_path_known_answer() {
        // python3:
        //   s1 = sha256(b'password').digest(); s2 = sha256(s1).digest()
        //   s2.hex()
        //   bytes(a ^ b for a, b in zip(s1, sha256(s2 + bytes(range(1, 21))).digest())).hex()
        let digest = fast_digest(b"password");
        assert_eq!(
            hex(&digest),
            "73641c99f7719f57d8f4beb11a303afcd190243a51ced8782ca6d3dbe014d146"
        );
        let response = scramble(b"password", &NONCE);
        assert_eq!(
            hex(&response),
            "f7ab1c623a6e98dceab35e926290e5746a3141116115f4dd8ccca994393eccdd"
        );
        assert!(verify_scramble(&digest, &NONCE, &response));
        assert!(!verify_scramble(
            &digest,
            &NONCE,
            &scramble(b"passwore", &NONCE)
        ));
        assert!(!verify_scramble(&digest, &NONCE, &response[..31]));
    }

    #[test]
    fn stored_form_is_standard_sha256_crypt() {
        // `openssl passwd -5 -salt abcdefghijklmnop password` and glibc
        // crypt('password', '$5$rounds=5000$abcdefghijklmnop') give this digest.
        let glibc = "$5$rounds=5000$abcdefghijklmnop$ieyonWfl7MR75BuN79Fkt2PqhPI43TsNZYGUObDGVI/";
        assert!(is_valid_stored(glibc));
        assert!(verify_password(glibc, b"password"));
        assert!(!verify_password(glibc, b"Password"));
        let implicit_rounds = "$5$abcdefghijklmnop$ieyonWfl7MR75BuN79Fkt2PqhPI43TsNZYGUObDGVI/";
        assert!(verify_password(implicit_rounds, b"password"));
    }

    #[test]
    fn hashing_salts_and_verifies() {
        let a = hash_password(b"s3cret");
        let b = hash_password(b"s3cret");
        assert_ne!(a, b, "each hash draws a new salt");
        assert!(a.starts_with("$5$rounds=5000$"));
        let salt = a.split('$').nth(3).unwrap();
        assert_eq!(salt.len(), 16);
        assert_eq!(a.split('$').nth(4).unwrap().len(), 43);
        assert!(verify_password(&a, b"s3cret"));
        assert!(!verify_password(&a, b"s3cret "));
        assert!(!verify_password(&a, b""));
        assert!(is_valid_stored(&a));
    }

    #[test]
    fn empty_and_malformed_stored_forms() {
        assert_eq!(hash_password(b""), "");
        assert!(verify_password("", b""));
        assert!(!verify_password("", b"x"));
        assert!(is_valid_stored(""));
        for bad in [
            "$A$005$abcdefghijklmnopqrstieyonWfl7MR75BuN79Fkt2PqhPI43TsNZYGUObDGVI/",
            "$5$rounds=5000$abcdefghijklmnop",
            "$5$rounds=5000$abcdefghijklmnop$!!!",
            "$6$rounds=5000$abcdefghijklmnop$ieyonWfl7MR75BuN79Fkt2PqhPI43TsNZYGUObDGVI/",
            "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19",
        ] {
            assert!(!is_valid_stored(bad), "{bad}");
            assert!(!verify_password(bad, b"password"), "{bad}");
        }
    }

    #[test]
    fn cleartext_strips_one_trailing_nul() {
        assert_eq!(cleartext(b"pw\0"), b"pw");
        assert_eq!(cleartext(b"pw"), b"pw");
        assert_eq!(cleartext(b"\0"), b"");
    }
}
