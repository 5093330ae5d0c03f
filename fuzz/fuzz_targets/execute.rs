//! COM_STMT_EXECUTE parameter decoding.
//!
//! Input: byte 0 is the statement's parameter count, byte 1 marks which of the first eight
//! parameters were sent as long data, the rest is the EXECUTE body after the statement id. The
//! body is decoded twice with the same type list, as a client executing a statement again
//! without rebinding does. Oracle: a decode that succeeds yields one value per parameter.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tlsql::protocol::command::decode_execute;

fuzz_target!(|input: &[u8]| {
    let [count, long_mask, body @ ..] = input else {
        return;
    };
    let param_count = usize::from(*count);
    let long_data: Vec<Option<Vec<u8>>> = (0..param_count.min(8))
        .map(|i| (long_mask & (1 << i) != 0).then(|| vec![b'x'; i]))
        .collect();
    let mut types = Vec::new();
    for _ in 0..2 {
        if let Ok(values) = decode_execute(body, param_count, &mut types, &long_data) {
            assert_eq!(values.len(), param_count);
        }
    }
});
