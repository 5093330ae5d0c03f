//! The per-connection scramble both plugins mix into the client's answer, and the byte
//! helpers they build answers with.

/// Length of the scramble (nonce) the server sends in the greeting and in AuthSwitchRequest.
pub const NONCE_LEN: usize = 20;

/// The per-connection random scramble both plugins mix into the client's response.
pub type Nonce = [u8; NONCE_LEN];

/// Upper-case hex, as MySQL prints password hashes.
pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// XORs `data` with `key` repeated as often as needed (both scrambles and the RSA payload use
/// this construction).
pub(crate) fn xor_repeating(data: &mut [u8], key: &[u8]) {
    if key.is_empty() {
        return;
    }
    for (d, k) in data.iter_mut().zip(key.iter().cycle()) {
        *d ^= k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xor_repeats_the_key() {
        let mut data = [0u8; 5];
        xor_repeating(&mut data, &[1, 2]);
        assert_eq!(data, [1, 2, 1, 2, 1]);
        assert_eq!(hex_upper(&[0x0a, 0xff]), "0AFF");
    }
}
