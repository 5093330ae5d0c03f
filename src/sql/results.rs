//! Streams result sets to the client while storage produces them.
//!
//! Text protocol: <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_query_response_text_resultset.html>
//! Binary protocol: <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_binary_resultset.html>

use std::io;

use crate::net::Conn;
use crate::protocol::packet::PacketStream;
use crate::protocol::response;
use crate::protocol::value::{Column, Value};
use crate::protocol::wire::put_lenenc_int;
use crate::storage::RowSink;

/// Writes one result set: column count, definitions, rows. The end (EOF or OK) is written by
/// [`finish_rows`] once storage reports success; if it reports an error instead, the session
/// sends ERR, which clients accept in place of the end marker.
#[must_use]
pub(crate) struct ResultWriter<'a> {
    stream: &'a mut PacketStream<Conn>,
    deprecate_eof: bool,
    binary: bool,
    columns: Vec<Column>,
    started: bool,
    row: Vec<u8>,
}

impl<'a> ResultWriter<'a> {
    /// A writer for COM_QUERY results.
    pub(crate) fn text(stream: &'a mut PacketStream<Conn>, deprecate_eof: bool) -> Self {
        Self {
            stream,
            deprecate_eof,
            binary: false,
            columns: Vec::new(),
            started: false,
            row: Vec::new(),
        }
    }

    /// A writer for COM_STMT_EXECUTE results.
    pub(crate) fn binary(stream: &'a mut PacketStream<Conn>, deprecate_eof: bool) -> Self {
        Self {
            binary: true,
            ..Self::text(stream, deprecate_eof)
        }
    }

    /// Whether column definitions were sent.
    pub(crate) fn started(&self) -> bool {
        self.started
    }

    /// Writes the end of the result set (for server-computed results).
    pub(crate) fn finish(self, status: u16, warnings: u16) -> io::Result<()> {
        finish_rows(self.stream, self.deprecate_eof, status, warnings)
    }
}

/// The end of a result set: EOF, or OK with the 0xFE header under `CLIENT_DEPRECATE_EOF`.
pub(crate) fn finish_rows(
    stream: &mut PacketStream<Conn>,
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

impl RowSink for ResultWriter<'_> {
    fn columns(&mut self, columns: &[Column]) -> io::Result<()> {
        let mut out = Vec::with_capacity(64);
        put_lenenc_int(&mut out, columns.len() as u64);
        self.stream.write_packet(&out)?;
        for c in columns {
            out.clear();
            response::column_definition(c, &mut out);
            self.stream.write_packet(&out)?;
        }
        if !self.deprecate_eof {
            self.stream.write_packet(&response::eof(0, 0))?;
        }
        self.columns = columns.to_vec();
        self.started = true;
        Ok(())
    }

    fn row(&mut self, row: &[Value]) -> io::Result<()> {
        self.row.clear();
        if self.binary {
            response::binary_row(&self.columns, row, &mut self.row);
        } else {
            response::text_row(row, &mut self.row);
        }
        self.stream.write_packet(&self.row)
    }
}
