//! Response writers, as jonhoo/msql-srv has them: a command's response is a value taken by the
//! code that answers, and every way of finishing it consumes it. A command therefore cannot
//! end without its response, nor send two, and a result set cannot be left without its end:
//! the compiler says so (the writers are `#[must_use]`).
//!
//! * [`ResponseWriter`]: OK, ERR, a result set ([`RowWriter`]), or the few other answers a
//!   command has (COM_FIELD_LIST's column list, COM_SET_OPTION's EOF, COM_STATISTICS' text).
//! * [`StatementMetaWriter`]: COM_STMT_PREPARE's `PREPARE_OK` and its parameter and column
//!   definitions, or ERR.
//!
//! Text result sets: <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_query_response_text_resultset.html>
//! Binary result sets: <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_binary_resultset.html>
//! PREPARE_OK: <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_stmt_prepare.html>

use std::io::{self, Read, Write};

use super::packet::PacketStream;
use super::response;
use super::value::{Cell, Column};
use super::wire::put_lenenc_int;
use crate::error::SqlError;

/// How rows are encoded: COM_QUERY's text protocol or COM_STMT_EXECUTE's binary one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowFormat {
    /// Every value as a length-encoded string.
    Text,
    /// Values in their column's binary form, NULLs in a bitmap.
    Binary,
}

/// The fields of an OK packet (and of the OK that ends a result set under
/// `CLIENT_DEPRECATE_EOF`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OkPacket {
    /// Rows inserted, changed or deleted.
    pub affected_rows: u64,
    /// The AUTO_INCREMENT value of the first inserted row, or 0.
    pub last_insert_id: u64,
    /// `SERVER_STATUS_*` flags.
    pub status: u16,
    /// How many warnings `SHOW WARNINGS` would list.
    pub warnings: u16,
    /// The message clients show after the statement (`Statement prepared`), usually none.
    pub info: &'static str,
}

/// The end of a result set: EOF, or OK with the 0xFE header under `CLIENT_DEPRECATE_EOF`.
fn end_marker<S: Read + Write>(
    stream: &mut PacketStream<S>,
    deprecate_eof: bool,
    status: u16,
    warnings: u16,
) -> io::Result<()> {
    if deprecate_eof {
        stream.write_packet(&response::ok(0, 0, status, warnings, "", true))
    } else {
        stream.write_packet(&response::eof(warnings, status))
    }
}

/// Column definitions, one packet each.
fn column_definitions<S: Read + Write>(
    stream: &mut PacketStream<S>,
    columns: &[Column],
) -> io::Result<()> {
    let mut out = Vec::with_capacity(64);
    for c in columns {
        out.clear();
        response::column_definition(c, &mut out);
        stream.write_packet(&out)?;
    }
    Ok(())
}

/// The response to one command or statement.
#[must_use = "a command's response must be written"]
pub struct ResponseWriter<'a, S> {
    stream: &'a mut PacketStream<S>,
    format: RowFormat,
    deprecate_eof: bool,
}

impl<'a, S: Read + Write> ResponseWriter<'a, S> {
    /// A response on `stream`; `deprecate_eof` is whether the client asked for
    /// `CLIENT_DEPRECATE_EOF`.
    pub fn new(stream: &'a mut PacketStream<S>, format: RowFormat, deprecate_eof: bool) -> Self {
        Self {
            stream,
            format,
            deprecate_eof,
        }
    }

    /// OK: the statement succeeded without a result set.
    pub fn ok(self, ok: OkPacket) -> io::Result<()> {
        self.stream.write_packet(&response::ok(
            ok.affected_rows,
            ok.last_insert_id,
            ok.status,
            ok.warnings,
            ok.info,
            false,
        ))
    }

    /// ERR.
    pub fn error(self, e: &SqlError) -> io::Result<()> {
        self.stream.write_packet(&response::err(e))
    }

    /// Starts a result set: the column count and definitions. Its rows and its end follow
    /// through the returned writer.
    pub fn start(self, columns: &[Column]) -> io::Result<RowWriter<'a, S>> {
        let mut count = Vec::with_capacity(9);
        put_lenenc_int(&mut count, columns.len() as u64);
        self.stream.write_packet(&count)?;
        column_definitions(self.stream, columns)?;
        if !self.deprecate_eof {
            self.stream.write_packet(&response::eof(0, 0))?;
        }
        Ok(RowWriter {
            stream: self.stream,
            format: self.format,
            deprecate_eof: self.deprecate_eof,
            columns: columns.to_vec(),
            written: 0,
        })
    }

    /// COM_FIELD_LIST's answer: column definitions without a count, then the end marker.
    pub fn field_list(self, columns: &[Column], status: u16) -> io::Result<()> {
        column_definitions(self.stream, columns)?;
        end_marker(self.stream, self.deprecate_eof, status, 0)
    }

    /// An EOF packet (COM_SET_OPTION's answer, whatever the client's capabilities).
    pub fn eof(self, status: u16) -> io::Result<()> {
        self.stream.write_packet(&response::eof(0, status))
    }

    /// A bare text packet (COM_STATISTICS' answer).
    pub fn text(self, text: &str) -> io::Result<()> {
        self.stream.write_packet(text.as_bytes())
    }
}

/// The rows of a result set whose column definitions are sent.
#[must_use = "a result set must be finished, or ended by an error"]
pub struct RowWriter<'a, S> {
    stream: &'a mut PacketStream<S>,
    format: RowFormat,
    deprecate_eof: bool,
    columns: Vec<Column>,
    /// Rows written so far (`FOUND_ROWS()`).
    written: u64,
}

impl<S: Read + Write> RowWriter<'_, S> {
    /// How many rows have been written.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// One row, as many values as columns, encoded straight into the packet buffer (a 1 MB
    /// value is copied there once, not into a row buffer first).
    pub fn row(&mut self, values: &[Cell<'_>]) -> io::Result<()> {
        let (format, columns) = (self.format, &self.columns);
        self.stream.write_packet_with(|out| match format {
            RowFormat::Text => response::text_row(values, out),
            RowFormat::Binary => response::binary_row(columns, values, out),
        })?;
        self.written += 1;
        Ok(())
    }

    /// The end of the result set.
    pub fn finish(self, status: u16, warnings: u16) -> io::Result<()> {
        end_marker(self.stream, self.deprecate_eof, status, warnings)
    }

    /// ERR in place of the end of the result set, which clients accept there.
    pub fn error(self, e: &SqlError) -> io::Result<()> {
        self.stream.write_packet(&response::err(e))
    }
}

/// The response to COM_STMT_PREPARE.
#[must_use = "a COM_STMT_PREPARE's response must be written"]
pub struct StatementMetaWriter<'a, S> {
    stream: &'a mut PacketStream<S>,
    deprecate_eof: bool,
}

impl<'a, S: Read + Write> StatementMetaWriter<'a, S> {
    /// A response on `stream`.
    pub fn new(stream: &'a mut PacketStream<S>, deprecate_eof: bool) -> Self {
        Self {
            stream,
            deprecate_eof,
        }
    }

    /// `COM_STMT_PREPARE_OK`, then the parameter definitions and the column definitions, each
    /// list ended by EOF (unless the client deprecated it) when it is not empty.
    pub fn reply(
        self,
        id: u32,
        params: &[Column],
        columns: &[Column],
        status: u16,
    ) -> io::Result<()> {
        let count = |n: usize| u16::try_from(n).unwrap_or(u16::MAX).to_le_bytes();
        let mut head = vec![0x00];
        head.extend_from_slice(&id.to_le_bytes());
        head.extend_from_slice(&count(columns.len()));
        head.extend_from_slice(&count(params.len()));
        head.push(0);
        // Warnings: preparing never makes any.
        head.extend_from_slice(&0u16.to_le_bytes());
        self.stream.write_packet(&head)?;
        for list in [params, columns] {
            if list.is_empty() {
                continue;
            }
            column_definitions(self.stream, list)?;
            if !self.deprecate_eof {
                self.stream.write_packet(&response::eof(0, status))?;
            }
        }
        Ok(())
    }

    /// ERR.
    pub fn error(self, e: &SqlError) -> io::Result<()> {
        self.stream.write_packet(&response::err(e))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::error::ErrorKind;

    /// A stream that keeps what is written, and the payloads it framed.
    fn stream() -> PacketStream<Cursor<Vec<u8>>> {
        PacketStream::new(Cursor::new(Vec::new()), 1 << 20)
    }

    fn payloads(stream: PacketStream<Cursor<Vec<u8>>>) -> Vec<Vec<u8>> {
        let (inner, _, _) = stream.into_parts().unwrap();
        let bytes = inner.into_inner();
        let mut out = Vec::new();
        let mut at = 0;
        while at + 4 <= bytes.len() {
            let len = usize::from(bytes[at])
                | usize::from(bytes[at + 1]) << 8
                | usize::from(bytes[at + 2]) << 16;
            out.push(bytes[at + 4..at + 4 + len].to_vec());
            at += 4 + len;
        }
        out
    }

    #[test]
    fn a_result_set_is_count_definitions_eof_rows_eof() {
        let mut s = stream();
        let mut rows = ResponseWriter::new(&mut s, RowFormat::Text, false)
            .start(&[Column::int("a"), Column::text("b")])
            .unwrap();
        rows.row(&[Cell::Int(1), Cell::Null]).unwrap();
        rows.finish(2, 1).unwrap();
        let p = payloads(s);
        assert_eq!(p.len(), 6, "count, 2 definitions, EOF, row, EOF");
        assert_eq!(p[0], vec![2]);
        assert_eq!(p[3], response::eof(0, 0));
        assert_eq!(p[4], vec![1, b'1', 0xFB]);
        assert_eq!(p[5], response::eof(1, 2));
    }

    #[test]
    fn deprecate_eof_drops_the_middle_eof_and_ends_with_ok() {
        let mut s = stream();
        let rows = ResponseWriter::new(&mut s, RowFormat::Binary, true)
            .start(&[Column::int("a")])
            .unwrap();
        rows.finish(2, 0).unwrap();
        let p = payloads(s);
        assert_eq!(p.len(), 3, "count, definition, end");
        assert_eq!(p[2], response::ok(0, 0, 2, 0, "", true));
    }

    #[test]
    fn ok_and_error_are_one_packet() {
        let mut s = stream();
        ResponseWriter::new(&mut s, RowFormat::Text, false)
            .ok(OkPacket {
                affected_rows: 3,
                last_insert_id: 7,
                status: 2,
                warnings: 1,
                info: "",
            })
            .unwrap();
        ResponseWriter::new(&mut s, RowFormat::Text, false)
            .error(&SqlError::new(ErrorKind::NoSuchTable, "x"))
            .unwrap();
        let p = payloads(s);
        assert_eq!(
            p,
            vec![response::ok(3, 7, 2, 1, "", false), {
                let mut e = vec![0xFF, 0x7A, 0x04];
                e.extend_from_slice(b"#42S02x");
                e
            }]
        );
    }

    #[test]
    fn prepare_ok_announces_params_and_columns() {
        let mut s = stream();
        StatementMetaWriter::new(&mut s, false)
            .reply(
                9,
                &[Column::text("?0")],
                &[Column::int("a"), Column::int("b")],
                2,
            )
            .unwrap();
        let p = payloads(s);
        assert_eq!(p[0], vec![0, 9, 0, 0, 0, 2, 0, 1, 0, 0, 0, 0]);
        assert_eq!(p.len(), 1 + 1 + 1 + 2 + 1, "head, param, EOF, columns, EOF");
        assert_eq!(p[2], response::eof(0, 2));
        let mut s = stream();
        StatementMetaWriter::new(&mut s, true)
            .reply(1, &[], &[], 2)
            .unwrap();
        assert_eq!(payloads(s).len(), 1, "nothing to announce: the head alone");
    }
}
