//! The command phase: what the client asks for, one command per packet (sequence id 0).
//!
//! <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_command_phase.html>

use super::ProtocolError;
use super::value::{ColumnType, Value};
use super::wire::Reader;

/// A parsed command packet; byte fields borrow from the packet.
#[derive(Debug, PartialEq, Eq)]
pub enum Command<'a> {
    /// COM_QUIT: close without a reply.
    Quit,
    /// COM_INIT_DB: change the default database.
    InitDb(&'a [u8]),
    /// COM_QUERY: a statement in the text protocol.
    Query(&'a [u8]),
    /// COM_FIELD_LIST: column definitions of a table (deprecated, used by CLI completion).
    FieldList {
        /// Table name.
        table: &'a [u8],
        /// `LIKE`-style filter, possibly empty.
        wildcard: &'a [u8],
    },
    /// COM_STATISTICS: a one-line status string.
    Statistics,
    /// COM_PING.
    Ping,
    /// COM_RESET_CONNECTION: back to a fresh session without re-authenticating.
    ResetConnection,
    /// COM_CHANGE_USER: log in again as another account on the same connection; the body
    /// (everything after the command byte) is read with
    /// [`super::handshake::HandshakeResponse::parse_change_user`], which needs the session's
    /// capabilities.
    ChangeUser(&'a [u8]),
    /// COM_SET_OPTION: multi-statements on/off.
    SetOption(u16),
    /// COM_STMT_PREPARE.
    StmtPrepare(&'a [u8]),
    /// COM_STMT_EXECUTE; parameters are decoded with [`decode_execute`] once the statement's
    /// parameter count is known.
    StmtExecute {
        /// Statement id.
        id: u32,
        /// Everything after the id.
        body: &'a [u8],
    },
    /// COM_STMT_SEND_LONG_DATA: a chunk of one parameter's value (no reply).
    StmtSendLongData {
        /// Statement id.
        id: u32,
        /// Parameter index.
        param: u16,
        /// The chunk.
        data: &'a [u8],
    },
    /// COM_STMT_CLOSE (no reply).
    StmtClose(u32),
    /// COM_STMT_RESET: forget long data.
    StmtReset(u32),
    /// Any other command byte.
    Unsupported(u8),
}

impl<'a> Command<'a> {
    /// Parses a command packet.
    pub fn parse(payload: &'a [u8]) -> Result<Self, ProtocolError> {
        let mut r = Reader::new(payload);
        let code = r.u8("command")?;
        Ok(match code {
            0x01 => Self::Quit,
            0x02 => Self::InitDb(r.rest()),
            0x03 => Self::Query(r.rest()),
            0x04 => {
                let table = r.nul_bytes("table")?;
                Self::FieldList {
                    table,
                    wildcard: r.rest(),
                }
            }
            0x09 => Self::Statistics,
            0x0e => Self::Ping,
            0x11 => Self::ChangeUser(r.rest()),
            0x16 => Self::StmtPrepare(r.rest()),
            0x17 => Self::StmtExecute {
                id: r.u32("statement id")?,
                body: r.rest(),
            },
            0x18 => Self::StmtSendLongData {
                id: r.u32("statement id")?,
                param: r.u16("parameter")?,
                data: r.rest(),
            },
            0x19 => Self::StmtClose(r.u32("statement id")?),
            0x1a => Self::StmtReset(r.u32("statement id")?),
            0x1b => Self::SetOption(r.u16("option")?),
            0x1f => Self::ResetConnection,
            other => Self::Unsupported(other),
        })
    }
}

/// A parameter type as the client bound it: wire type and the unsigned flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamType {
    /// The `MYSQL_TYPE_*` byte.
    pub code: u8,
    /// Whether the value is unsigned.
    pub unsigned: bool,
}

/// Decodes the parameters of a COM_STMT_EXECUTE body (after the statement id).
///
/// `types` holds the types bound by an earlier execution: clients send them only when they
/// change (`new_params_bound_flag`). `long_data` gives the values sent earlier with
/// COM_STMT_SEND_LONG_DATA; those parameters are absent from the packet.
pub fn decode_execute(
    body: &[u8],
    param_count: usize,
    types: &mut Vec<ParamType>,
    long_data: &[Option<Vec<u8>>],
) -> Result<Vec<Value>, ProtocolError> {
    let mut r = Reader::new(body);
    let flags = r.u8("cursor flags")?;
    if flags != 0 {
        return Err(ProtocolError::new("cursors are not supported"));
    }
    r.u32("iteration count")?;
    if param_count == 0 {
        return Ok(Vec::new());
    }
    let null_bitmap = r.take(param_count.div_ceil(8), "NULL bitmap")?;
    if r.u8("new-params-bound flag")? == 1 {
        types.clear();
        for _ in 0..param_count {
            let code = r.u8("parameter type")?;
            let flag = r.u8("parameter flag")?;
            types.push(ParamType {
                code,
                unsigned: flag & 0x80 != 0,
            });
        }
    }
    if types.len() != param_count {
        return Err(ProtocolError::new(
            "parameters executed without their types ever being bound",
        ));
    }
    let mut values = Vec::with_capacity(param_count);
    for (i, ty) in types.iter().enumerate() {
        if null_bitmap[i / 8] & (1 << (i % 8)) != 0 {
            values.push(Value::Null);
        } else if let Some(Some(data)) = long_data.get(i) {
            values.push(bytes_value(data.clone()));
        } else {
            values.push(decode_param(&mut r, *ty)?);
        }
    }
    Ok(values)
}

fn bytes_value(bytes: Vec<u8>) -> Value {
    match String::from_utf8(bytes) {
        Ok(s) => Value::Text(s),
        Err(e) => Value::Bytes(e.into_bytes()),
    }
}

fn decode_param(r: &mut Reader<'_>, ty: ParamType) -> Result<Value, ProtocolError> {
    const WHAT: &str = "parameter value";
    let int = |v: i64, u: u64| {
        if ty.unsigned {
            Value::UInt(u)
        } else {
            Value::Int(v)
        }
    };
    Ok(match ty.code {
        t if t == ColumnType::Null as u8 => Value::Null,
        t if t == ColumnType::Tiny as u8 => {
            let b = r.u8(WHAT)?;
            int(i64::from(b as i8), u64::from(b))
        }
        t if t == ColumnType::Short as u8 || t == ColumnType::Year as u8 => {
            let v = r.u16(WHAT)?;
            int(i64::from(v as i16), u64::from(v))
        }
        t if t == ColumnType::Long as u8 || t == ColumnType::Int24 as u8 => {
            let v = r.u32(WHAT)?;
            int(i64::from(v as i32), u64::from(v))
        }
        t if t == ColumnType::LongLong as u8 => {
            let v = r.u64(WHAT)?;
            if ty.unsigned && v > i64::MAX as u64 {
                Value::UInt(v)
            } else {
                Value::Int(v as i64)
            }
        }
        t if t == ColumnType::Float as u8 => {
            let b = r.take(4, WHAT)?;
            Value::Double(f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
        }
        t if t == ColumnType::Double as u8 => Value::Double(f64::from_bits(r.u64(WHAT)?)),
        t if t == ColumnType::Date as u8
            || t == ColumnType::DateTime as u8
            || t == ColumnType::Timestamp as u8 =>
        {
            decode_datetime(r, ty.code == ColumnType::Date as u8)?
        }
        t if t == ColumnType::Time as u8 => decode_time(r)?,
        _ => bytes_value(r.lenenc_bytes(WHAT)?.to_vec()),
    })
}

fn decode_datetime(r: &mut Reader<'_>, date_only: bool) -> Result<Value, ProtocolError> {
    const WHAT: &str = "datetime parameter";
    let len = r.u8(WHAT)?;
    let b = r.take(usize::from(len), WHAT)?;
    let (y, mo, d) = if len >= 4 {
        (u16::from_le_bytes([b[0], b[1]]), b[2], b[3])
    } else {
        (0, 0, 0)
    };
    let (h, mi, s) = if len >= 7 {
        (b[4], b[5], b[6])
    } else {
        (0, 0, 0)
    };
    let us = if len >= 11 {
        u32::from_le_bytes([b[7], b[8], b[9], b[10]])
    } else {
        0
    };
    if !matches!(len, 0 | 4 | 7 | 11) {
        return Err(ProtocolError::new(format!("{WHAT}: invalid length {len}")));
    }
    let mut text = format!("{y:04}-{mo:02}-{d:02}");
    if !date_only {
        text.push_str(&format!(" {h:02}:{mi:02}:{s:02}"));
        if us != 0 {
            text.push_str(&format!(".{us:06}"));
        }
    }
    Ok(Value::Text(text))
}

fn decode_time(r: &mut Reader<'_>) -> Result<Value, ProtocolError> {
    const WHAT: &str = "time parameter";
    let len = r.u8(WHAT)?;
    if !matches!(len, 0 | 8 | 12) {
        return Err(ProtocolError::new(format!("{WHAT}: invalid length {len}")));
    }
    let b = r.take(usize::from(len), WHAT)?;
    if len == 0 {
        return Ok(Value::Text("00:00:00".into()));
    }
    let neg = if b[0] == 1 { "-" } else { "" };
    let days = u32::from_le_bytes([b[1], b[2], b[3], b[4]]);
    let hours = u64::from(days) * 24 + u64::from(b[5]);
    let mut text = format!("{neg}{hours:02}:{:02}:{:02}", b[6], b[7]);
    if len == 12 {
        let us = u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
        text.push_str(&format!(".{us:06}"));
    }
    Ok(Value::Text(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse() {
        assert_eq!(
            Command::parse(&[0x03, b's', b'e']).unwrap(),
            Command::Query(b"se")
        );
        assert_eq!(Command::parse(&[0x01]).unwrap(), Command::Quit);
        assert_eq!(
            Command::parse(&[0x04, b't', 0, b'%']).unwrap(),
            Command::FieldList {
                table: b"t",
                wildcard: b"%"
            }
        );
        assert_eq!(
            Command::parse(&[0x19, 7, 0, 0, 0]).unwrap(),
            Command::StmtClose(7)
        );
        assert_eq!(Command::parse(&[0x63]).unwrap(), Command::Unsupported(0x63));
        assert!(Command::parse(&[]).is_err());
        assert!(Command::parse(&[0x19, 7]).is_err());
    }

    #[test]
    fn execute_parameters_decode_and_remember_types() {
        let mut body = vec![0, 1, 0, 0, 0];
        body.push(0b0000_0010); // parameter 1 is NULL
        body.push(1); // types follow
        body.extend_from_slice(&[
            ColumnType::LongLong as u8,
            0x80,
            ColumnType::VarString as u8,
            0,
            ColumnType::Double as u8,
            0,
        ]);
        body.extend_from_slice(&u64::MAX.to_le_bytes());
        body.extend_from_slice(&2.5f64.to_le_bytes());
        let mut types = Vec::new();
        let v = decode_execute(&body, 3, &mut types, &[]).unwrap();
        assert_eq!(
            v,
            vec![Value::UInt(u64::MAX), Value::Null, Value::Double(2.5)]
        );

        // Second execution without re-binding: the remembered types apply.
        let mut body = vec![0, 1, 0, 0, 0, 0b0000_0101, 0];
        body.extend_from_slice(&[3, b'a', b'b', b'c']);
        let v = decode_execute(&body, 3, &mut types, &[]).unwrap();
        assert_eq!(v, vec![Value::Null, Value::Text("abc".into()), Value::Null]);
    }

    #[test]
    fn execute_without_bound_types_is_an_error() {
        let body = vec![0, 1, 0, 0, 0, 0, 0];
        assert!(decode_execute(&body, 1, &mut Vec::new(), &[]).is_err());
    }

    #[test]
    fn truncated_execute_is_an_error_not_a_panic() {
        let mut body = vec![0, 1, 0, 0, 0, 0, 1, ColumnType::Long as u8, 0, 1, 2];
        for cut in 0..body.len() {
            let _ = decode_execute(&body[..cut], 1, &mut Vec::new(), &[]);
        }
        body.extend_from_slice(&[3, 4]);
        assert_eq!(
            decode_execute(&body, 1, &mut Vec::new(), &[]).unwrap(),
            vec![Value::Int(0x0403_0201)]
        );
    }

    #[test]
    fn temporal_parameters() {
        let mut body = vec![
            0,
            1,
            0,
            0,
            0,
            0,
            1,
            ColumnType::DateTime as u8,
            0,
            ColumnType::Time as u8,
            0,
        ];
        body.extend_from_slice(&[7, 0xE8, 0x07, 2, 29, 13, 14, 15]);
        body.extend_from_slice(&[8, 1, 1, 0, 0, 0, 1, 0, 1]);
        let v = decode_execute(&body, 2, &mut Vec::new(), &[]).unwrap();
        assert_eq!(
            v,
            vec![
                Value::Text("2024-02-29 13:14:15".into()),
                Value::Text("-25:00:01".into())
            ]
        );
    }
}
