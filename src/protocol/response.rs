//! Server responses: OK, ERR, EOF, column definitions and rows in the text and binary
//! protocols.
//!
//! * OK/EOF/ERR: <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_response_packets.html>
//! * Text result sets: <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_query_response_text_resultset.html>
//! * Binary rows: <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_binary_resultset.html>

use super::packet::Payload;
use super::value::{Cell, Column, ColumnType};
use super::wire::{put_lenenc_bytes, put_lenenc_int};
#[cfg(test)]
use crate::error::ErrorKind;
use crate::error::SqlError;

/// `OK_Packet`. With `CLIENT_DEPRECATE_EOF` the end of a result set is an OK packet with the
/// header byte 0xFE instead of 0x00 (`eof_header`).
pub fn ok(
    affected_rows: u64,
    last_insert_id: u64,
    status: u16,
    warnings: u16,
    info: &str,
    eof_header: bool,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + info.len());
    out.push(if eof_header { 0xFE } else { 0x00 });
    put_lenenc_int(&mut out, affected_rows);
    put_lenenc_int(&mut out, last_insert_id);
    out.extend_from_slice(&status.to_le_bytes());
    out.extend_from_slice(&warnings.to_le_bytes());
    // Length-encoded, as MySQL's server writes it and Connector/C reads it (the protocol pages
    // describe a string to the end of the packet).
    if !info.is_empty() {
        put_lenenc_bytes(&mut out, info.as_bytes());
    }
    out
}

/// `EOF_Packet` (clients without `CLIENT_DEPRECATE_EOF`).
pub fn eof(warnings: u16, status: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(5);
    out.push(0xFE);
    out.extend_from_slice(&warnings.to_le_bytes());
    out.extend_from_slice(&status.to_le_bytes());
    out
}

/// `ERR_Packet` with SQLSTATE (every client tlsql accepts speaks protocol 4.1).
pub fn err(e: &SqlError) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + e.message.len());
    out.push(0xFF);
    out.extend_from_slice(&e.code().to_le_bytes());
    out.push(b'#');
    let state = e.sqlstate().as_bytes();
    out.extend_from_slice(&state[..state.len().min(5)]);
    out.extend(std::iter::repeat_n(b'0', 5 - state.len().min(5)));
    out.extend_from_slice(crate::logging::error_message(&e.message).as_bytes());
    out
}

/// `ERR_Packet` sent in place of the greeting (1040, or the gateway's 1105): the client has not
/// said yet that it speaks protocol 4.1, so as MySQL does the packet carries no SQLSTATE, and
/// clients show the message as it is.
pub fn err_before_handshake(e: &SqlError) -> Vec<u8> {
    let mut out = Vec::with_capacity(3 + e.message.len());
    out.push(0xFF);
    out.extend_from_slice(&e.code().to_le_bytes());
    out.extend_from_slice(crate::logging::error_message(&e.message).as_bytes());
    out
}

/// `Protocol::ColumnDefinition41`.
pub fn column_definition(c: &Column, out: &mut Vec<u8>) {
    put_lenenc_bytes(out, b"def");
    put_lenenc_bytes(out, c.schema.as_bytes());
    put_lenenc_bytes(out, c.table.as_bytes());
    put_lenenc_bytes(out, c.org_table.as_bytes());
    put_lenenc_bytes(out, c.name.as_bytes());
    put_lenenc_bytes(out, c.org_name.as_bytes());
    out.push(0x0C);
    out.extend_from_slice(&c.charset.to_le_bytes());
    out.extend_from_slice(&c.length.to_le_bytes());
    out.push(c.column_type as u8);
    out.extend_from_slice(&c.flags.to_le_bytes());
    out.push(c.decimals);
    out.extend_from_slice(&[0, 0]);
}

/// A row in the text protocol: every value as a length-encoded string, NULL as 0xFB.
pub fn text_row<'d>(values: &[Cell<'d>], out: &mut Payload<'_, 'd>) {
    for v in values {
        match *v {
            Cell::Null => out.push(0xFB),
            value => put_text(value, out),
        }
    }
}

/// A value's text form as a length-encoded string; text and binary data are spliced from
/// where they lie when they are large.
fn put_text<'d>(v: Cell<'d>, out: &mut Payload<'_, 'd>) {
    match v {
        Cell::Text(bytes) | Cell::Bytes(bytes) => out.put_lenenc_bytes(bytes),
        number => put_lenenc_bytes(out, &number.to_text().unwrap_or_default()),
    }
}

/// A row in the binary protocol. Storage is dynamically typed, so each value is coerced to
/// its column's announced type: a client decodes by the column type, not by the value.
pub fn binary_row<'d>(columns: &[Column], values: &[Cell<'d>], out: &mut Payload<'_, 'd>) {
    out.push(0x00);
    // The NULL bitmap of binary rows starts at bit offset 2.
    let bitmap_start = out.len();
    out.resize(bitmap_start + (columns.len() + 7 + 2) / 8, 0);
    for (i, (col, v)) in columns.iter().zip(values).enumerate() {
        if v.is_null() {
            out[bitmap_start + (i + 2) / 8] |= 1 << ((i + 2) % 8);
            continue;
        }
        binary_value(col.column_type, *v, out);
    }
}

fn as_i64(v: Cell<'_>) -> i64 {
    match v {
        Cell::Int(i) => i,
        Cell::UInt(u) => u as i64,
        Cell::Double(d) => d.round() as i64,
        Cell::Text(b) | Cell::Bytes(b) => std::str::from_utf8(b)
            .ok()
            .and_then(parse_leading_number)
            .map_or(0, |d| d.round() as i64),
        Cell::Null => 0,
    }
}

fn as_f64(v: Cell<'_>) -> f64 {
    match v {
        Cell::Int(i) => i as f64,
        Cell::UInt(u) => u as f64,
        Cell::Double(d) => d,
        Cell::Text(b) | Cell::Bytes(b) => std::str::from_utf8(b)
            .ok()
            .and_then(parse_leading_number)
            .unwrap_or(0.0),
        Cell::Null => 0.0,
    }
}

/// MySQL converts strings to numbers by their leading numeric part.
fn parse_leading_number(s: &str) -> Option<f64> {
    let s = s.trim_start();
    let end = s
        .char_indices()
        .take_while(|(i, c)| {
            c.is_ascii_digit()
                || matches!(c, '.' | 'e' | 'E')
                || (*i == 0 && matches!(c, '-' | '+'))
        })
        .map(|(i, c)| i + c.len_utf8())
        .last()?;
    (1..=end).rev().find_map(|n| s[..n].parse().ok())
}

fn binary_value<'d>(t: ColumnType, v: Cell<'d>, out: &mut Payload<'_, 'd>) {
    match t {
        ColumnType::Tiny => out.push(as_i64(v) as u8),
        ColumnType::Short | ColumnType::Year => {
            out.extend_from_slice(&(as_i64(v) as u16).to_le_bytes())
        }
        ColumnType::Long | ColumnType::Int24 => {
            out.extend_from_slice(&(as_i64(v) as u32).to_le_bytes())
        }
        ColumnType::LongLong => {
            let bits = match v {
                Cell::UInt(u) => u,
                other => as_i64(other) as u64,
            };
            out.extend_from_slice(&bits.to_le_bytes());
        }
        ColumnType::Float => out.extend_from_slice(&(as_f64(v) as f32).to_le_bytes()),
        ColumnType::Double => out.extend_from_slice(&as_f64(v).to_le_bytes()),
        ColumnType::Date | ColumnType::DateTime | ColumnType::Timestamp => {
            datetime_binary(&v.to_text().unwrap_or_default(), out);
        }
        ColumnType::Time => time_binary(&v.to_text().unwrap_or_default(), out),
        _ => put_text(v, out),
    }
}

fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// Microseconds from a `.ffffff` fraction of up to six digits.
fn micros(frac: Option<&[u8]>) -> Option<u32> {
    match frac {
        None => Some(0),
        Some(f) if f.len() <= 6 => Some(digits(f)? * 10u32.pow(6 - f.len() as u32)),
        Some(_) => None,
    }
}

/// `YYYY-MM-DD[ HH:MM:SS[.ffffff]]` → the binary DATETIME form; anything else is the zero date.
fn datetime_binary(text: &[u8], out: &mut Vec<u8>) {
    let parsed = (|| {
        let (date, time) = match text.iter().position(|b| *b == b' ' || *b == b'T') {
            Some(i) => (&text[..i], Some(&text[i + 1..])),
            None => (text, None),
        };
        let mut d = date.split(|b| *b == b'-');
        let (y, m, dd) = (digits(d.next()?)?, digits(d.next()?)?, digits(d.next()?)?);
        let (mut h, mut mi, mut s, mut us) = (0, 0, 0, 0);
        if let Some(time) = time {
            let (hms, frac) = match time.iter().position(|b| *b == b'.') {
                Some(i) => (&time[..i], Some(&time[i + 1..])),
                None => (time, None),
            };
            let mut t = hms.split(|b| *b == b':');
            h = digits(t.next()?)?;
            mi = digits(t.next()?)?;
            s = digits(t.next()?)?;
            us = micros(frac)?;
        }
        Some((y, m, dd, h, mi, s, us))
    })();
    match parsed {
        Some((y, m, d, h, mi, s, us)) => {
            let len: u8 = if us != 0 {
                11
            } else if h | mi | s != 0 {
                7
            } else {
                4
            };
            out.push(len);
            out.extend_from_slice(&(y as u16).to_le_bytes());
            out.extend_from_slice(&[m as u8, d as u8]);
            if len >= 7 {
                out.extend_from_slice(&[h as u8, mi as u8, s as u8]);
            }
            if len == 11 {
                out.extend_from_slice(&us.to_le_bytes());
            }
        }
        None => out.push(0),
    }
}

/// `[-][D ]HH:MM:SS[.ffffff]` (hours may exceed 24) → the binary TIME form.
fn time_binary(text: &[u8], out: &mut Vec<u8>) {
    let parsed = (|| {
        let (neg, rest) = match text.first() {
            Some(b'-') => (true, &text[1..]),
            _ => (false, text),
        };
        let (hms, frac) = match rest.iter().position(|b| *b == b'.') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let mut t = hms.split(|b| *b == b':');
        let hours = digits(t.next()?)?;
        let (m, s) = (digits(t.next()?)?, digits(t.next()?)?);
        Some((neg, hours / 24, hours % 24, m, s, micros(frac)?))
    })();
    match parsed {
        Some((neg, days, h, m, s, us)) => {
            let len: u8 = if us != 0 { 12 } else { 8 };
            out.push(len);
            out.push(u8::from(neg));
            out.extend_from_slice(&days.to_le_bytes());
            out.extend_from_slice(&[h as u8, m as u8, s as u8]);
            if len == 12 {
                out.extend_from_slice(&us.to_le_bytes());
            }
        }
        None => out.push(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn err_before_the_handshake_has_no_sqlstate() {
        let e = SqlError::new(ErrorKind::TooManyConnections, "Too many connections");
        assert_eq!(
            err_before_handshake(&e),
            b"\xFF\x10\x04Too many connections".to_vec()
        );
    }

    #[test]
    fn err_packet_layout() {
        let e = SqlError::new(ErrorKind::AccessDenied, "Access denied");
        let p = err(&e);
        assert_eq!(&p[..3], &[0xFF, 0x15, 0x04]);
        assert_eq!(&p[3..9], b"#28000");
        assert_eq!(&p[9..], b"Access denied");
    }

    #[test]
    fn ok_and_eof_layout() {
        assert_eq!(ok(1, 2, 2, 0, "", false), vec![0, 1, 2, 2, 0, 0, 0]);
        assert_eq!(ok(0, 0, 2, 0, "", true)[0], 0xFE);
        assert_eq!(eof(0, 2), vec![0xFE, 0, 0, 2, 0]);
    }

    #[test]
    fn an_ok_message_is_length_encoded() {
        let ok = ok(0, 0, 2, 0, "Statement prepared", false);
        assert_eq!(ok[..7], [0x00, 0, 0, 2, 0, 0, 0]);
        assert_eq!(ok[7], 18);
        assert_eq!(&ok[8..], b"Statement prepared");
        assert_eq!(super::ok(0, 0, 2, 0, "", false).len(), 7);
    }

    #[test]
    fn text_rows_encode_null_as_fb() {
        let mut out = Vec::new();
        text_row(
            &[Cell::Int(42), Cell::Null, Cell::Text("hé".as_bytes())],
            &mut Payload::unspliced(&mut out),
        );
        assert_eq!(out, vec![2, b'4', b'2', 0xFB, 3, b'h', 0xC3, 0xA9]);
    }

    #[test]
    fn binary_rows_use_the_column_types() {
        let cols = vec![Column::int("a"), Column::text("b"), Column::int("c")];
        let mut out = Vec::new();
        binary_row(
            &cols,
            &[Cell::Int(-1), Cell::Null, Cell::Text(b"7")],
            &mut Payload::unspliced(&mut out),
        );
        // header, bitmap (3 columns + 2 → 1 byte, column 1 is NULL → bit 3), -1 as i64, 7 as i64
        let mut expected = vec![0x00, 0b0000_1000];
        expected.extend_from_slice(&(-1i64).to_le_bytes());
        expected.extend_from_slice(&7i64.to_le_bytes());
        assert_eq!(out, expected);
    }

    #[test]
    fn temporal_binary_forms() {
        let mut out = Vec::new();
        datetime_binary(b"2024-02-29 13:14:15.5", &mut out);
        assert_eq!(
            out,
            vec![11, 0xE8, 0x07, 2, 29, 13, 14, 15, 0x20, 0xA1, 0x07, 0x00]
        );
        out.clear();
        datetime_binary(b"2024-02-29", &mut out);
        assert_eq!(out, vec![4, 0xE8, 0x07, 2, 29]);
        out.clear();
        datetime_binary(b"garbage", &mut out);
        assert_eq!(out, vec![0]);
        out.clear();
        time_binary(b"-25:00:01", &mut out);
        assert_eq!(out, vec![8, 1, 1, 0, 0, 0, 1, 0, 1]);
    }

    #[test]
    fn leading_numbers() {
        assert_eq!(parse_leading_number("12abc"), Some(12.0));
        assert_eq!(parse_leading_number(" -3.5"), Some(-3.5));
        assert_eq!(parse_leading_number("1e3x"), Some(1000.0));
        assert_eq!(parse_leading_number("x1"), None);
    }
}
