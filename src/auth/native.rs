//! `mysql_native_password`.
//!
//! Stored form: `*` followed by the 40 upper-case hex digits of SHA1(SHA1(password)), or `""`
//! for an account without a password (MySQL's `generate_native_password`).
//!
//! The client answers the 20-byte nonce with
//! `SHA1(password) XOR SHA1(nonce || SHA1(SHA1(password)))`, 20 bytes, or with an empty response
//! for an empty password. The server recovers SHA1(password) by XOR-ing the response with
//! `SHA1(nonce || stored)` and accepts when SHA1 of that equals the stored digest.
//!
//! <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase_authentication_methods_native_password_authentication.html>

use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

use super::scramble::{Nonce, hex_upper, xor_repeating};

/// Length of SHA-1 and of the client's response.
const DIGEST_LEN: usize = 20;

fn sha1(parts: &[&[u8]]) -> [u8; DIGEST_LEN] {
    let mut h = Sha1::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The stored form of `password`: `*` + hex SHA1(SHA1(password)), `""` when it is empty.
pub fn hash_password(password: &[u8]) -> String {
    if password.is_empty() {
        return String::new();
    }
    format!("*{}", hex_upper(&sha1(&[&sha1(&[password])])))
}

/// Whether `stored` is a valid stored form: `""` or `*` + 40 hex digits (either case, as MySQL
/// accepts in `IDENTIFIED WITH mysql_native_password AS '…'`).
pub fn is_valid_stored(stored: &str) -> bool {
    stored.is_empty() || decode_stored(stored).is_some()
}

fn decode_stored(stored: &str) -> Option<[u8; DIGEST_LEN]> {
    let hex = stored.strip_prefix('*')?.as_bytes();
    if hex.len() != DIGEST_LEN * 2 {
        return None;
    }
    let mut out = [0u8; DIGEST_LEN];
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let hi = char::from(pair[0]).to_digit(16)?;
        let lo = char::from(pair[1]).to_digit(16)?;
        *byte = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

/// What a client sends for `password` and `nonce` (empty for an empty password). The server
/// never needs this; tests and tools that act as a client do.
pub fn scramble(password: &[u8], nonce: &Nonce) -> Vec<u8> {
    if password.is_empty() {
        return Vec::new();
    }
    let stage1 = sha1(&[password]);
    let stage2 = sha1(&[&stage1]);
    let mut out = sha1(&[nonce, &stage2]).to_vec();
    xor_repeating(&mut out, &stage1);
    out
}

/// Checks the client's `response` to `nonce` against the account's stored form.
///
/// An empty stored form accepts only an empty response; a non-empty one needs exactly 20
/// bytes. A malformed stored form accepts nothing.
pub fn verify(stored: &str, nonce: &Nonce, response: &[u8]) -> bool {
    if stored.is_empty() {
        return response.is_empty();
    }
    let Some(stage2) = decode_stored(stored) else {
        return false;
    };
    if response.len() != DIGEST_LEN {
        return false;
    }
    let mut candidate_stage1 = sha1(&[nonce, &stage2]);
    xor_repeating(&mut candidate_stage1, response);
    sha1(&[&candidate_stage1]).ct_eq(&stage2).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1..=20, the nonce the vectors below were computed with.
    const NONCE: Nonce = [
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
    ];

    #[test]
    fn stored_form_matches_mysql_password_function() {
        // MySQL 5.7: SELECT PASSWORD('password') = '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19';
        // also python3: '*' + sha1(sha1(b'password').digest()).hexdigest().upper()
        assert_eq!(
            hash_password(b"password"),
            "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"
        );
        assert_eq!(hash_password(b""), "");
    }

    #[test]
    fn scramble_known_answer() {
        // python3:
        //   s1 = sha1(b'password').digest(); s2 = sha1(s1).digest()
        //   bytes(a ^ b for a, b in zip(s1, sha1(bytes(range(1, 21)) + s2).digest())).hex()
        let expected = "c17d6009a5cb47e59f7483fcf05553bbbf7dd0d6";
        let got = scramble(b"password", &NONCE);
        assert_eq!(hex_upper(&got), expected.to_uppercase());
        assert!(verify(
            "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19",
            &NONCE,
            &got
        ));
    }

    #[test]
    fn wrong_password_or_nonce_fails() {
        let stored = hash_password(b"password");
        assert!(!verify(&stored, &NONCE, &scramble(b"Password", &NONCE)));
        let mut other = NONCE;
        other[0] = 99;
        assert!(!verify(&stored, &other, &scramble(b"password", &NONCE)));
        assert!(!verify(&stored, &NONCE, b""));
        assert!(!verify(&stored, &NONCE, &[0u8; 19]));
        assert!(!verify(&stored, &NONCE, &[0u8; 21]));
    }

    #[test]
    fn empty_password_is_an_empty_response() {
        assert!(scramble(b"", &NONCE).is_empty());
        assert!(verify("", &NONCE, b""));
        assert!(!verify("", &NONCE, &scramble(b"x", &NONCE)));
    }

    #[test]
    fn stored_form_validation() {
        assert!(is_valid_stored(""));
        assert!(is_valid_stored("*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"));
        assert!(is_valid_stored("*2470c0c06dee42fd1618bb99005adca2ec9d1e19"));
        assert!(!is_valid_stored("2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"));
        assert!(!is_valid_stored("*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E1"));
        assert!(!is_valid_stored(
            "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1EZZ"
        ));
        assert!(!is_valid_stored("*é470C0C06DEE42FD1618BB99005ADCA2EC9D1E1"));
        assert!(!verify("*garbage", &NONCE, &[0u8; 20]));
    }
}
