//! One command's work: the session's SQL side (its storage session and its state) borrowed
//! apart beside the client the command answers, and the ways a statement answers through it.

use std::borrow::Cow;
use std::io;

use super::context::{Context, SessionState};
use crate::error::SqlError;
use crate::instance::locks::interrupted;
use crate::instance::sessions::Kill;
use crate::net::{Conn, SocketControl};
use crate::protocol::handshake::status;
use crate::protocol::packet::PacketStream;
use crate::protocol::value::{Cell, Column, Value};
use crate::protocol::writers::{OkPacket, ResponseWriter, RowFormat, RowWriter};
use crate::storage::{EngineSession, ExecError, Outcome, RowSink, SessionContext};

/// What a statement the server answers itself (not storage) replies.
pub(crate) enum Reply {
    /// OK.
    Ok,
    /// A result set the server computed.
    Rows {
        /// Its columns.
        columns: Vec<Column>,
        /// Its rows.
        rows: Vec<Vec<Value>>,
    },
}

/// One command: the client, and the parts of the session a statement may use or change.
pub(crate) struct Exchange<'a> {
    pub(crate) stream: &'a mut PacketStream<Conn>,
    pub(crate) control: &'a SocketControl,
    pub(crate) engine: &'a mut EngineSession,
    pub(crate) state: &'a mut SessionState,
    /// Text rows (COM_QUERY) or binary rows (COM_STMT_EXECUTE).
    pub(crate) format: RowFormat,
    /// Set while a multi-statement query has statements after the current one.
    pub(crate) more_results: bool,
    /// Whether the last response was an error (a multi-statement query stops there).
    pub(crate) failed: bool,
}

/// Status flags for OK and EOF packets.
fn status_flags(engine: &EngineSession, more_results: bool) -> u16 {
    let mut flags = 0;
    if engine.autocommit() {
        flags |= status::AUTOCOMMIT;
    }
    if engine.in_transaction() {
        flags |= status::IN_TRANS;
    }
    if more_results {
        flags |= status::MORE_RESULTS_EXISTS;
    }
    flags
}

impl Exchange<'_> {
    /// Status flags for OK and EOF packets, as the session is now.
    pub(crate) fn status_flags(&self) -> u16 {
        status_flags(self.engine, self.more_results)
    }

    /// The response to the current command or statement.
    pub(crate) fn response(&mut self) -> ResponseWriter<'_, Conn> {
        ResponseWriter::new(self.stream, self.format, self.state.deprecate_eof())
    }

    /// Queues an OK packet.
    pub(crate) fn send_ok(&mut self, affected_rows: u64, last_insert_id: u64) -> io::Result<()> {
        self.send_ok_saying(affected_rows, last_insert_id, "")
    }

    /// Queues an OK packet with a message for the client to show.
    pub(crate) fn send_ok_saying(
        &mut self,
        affected_rows: u64,
        last_insert_id: u64,
        info: &'static str,
    ) -> io::Result<()> {
        let ok = OkPacket {
            affected_rows,
            last_insert_id,
            status: self.status_flags(),
            warnings: self.state.warning_count(),
            info,
        };
        self.response().ok(ok)
    }

    /// Queues an ERR packet.
    pub(crate) fn send_error(&mut self, e: &SqlError) -> io::Result<()> {
        self.failed = true;
        let e = reported(self.state, e);
        self.response().error(&e)
    }

    /// Queues a complete result set of server-computed rows.
    pub(crate) fn send_rows(&mut self, columns: &[Column], rows: &[Vec<Value>]) -> io::Result<()> {
        let status = self.status_flags();
        let mut writer = self.response().start(columns)?;
        for row in rows {
            writer.row(&Value::cells(row))?;
        }
        writer.finish(status, 0)
    }

    /// Queues what a statement the server answers itself replied.
    pub(crate) fn reply(&mut self, reply: Result<Reply, SqlError>) -> io::Result<()> {
        match reply {
            Ok(Reply::Ok) => self.send_ok(0, 0),
            Ok(Reply::Rows { columns, rows }) => self.send_rows(&columns, &rows),
            Err(e) => self.send_error(&e),
        }
    }

    /// Runs a statement in storage, which streams any result set into the response, and
    /// queues the response's end: OK, the end of the rows, or ERR.
    pub(crate) fn in_storage(
        &mut self,
        run: impl FnOnce(
            &mut EngineSession,
            &dyn SessionContext,
            &mut dyn RowSink,
        ) -> Result<Outcome, ExecError>,
    ) -> io::Result<()> {
        let writer = ResponseWriter::new(self.stream, self.format, self.state.deprecate_eof());
        let mut sink = StorageSink(Some(Answer::Pending(writer)));
        let outcome = run(self.engine, &Context::new(self.state), &mut sink);
        let status = status_flags(self.engine, self.more_results);
        let answer = match (outcome, sink.0) {
            (Err(ExecError::Io(e)), _) => return Err(e),
            (outcome, None) => {
                return Err(io::Error::other(format!(
                    "storage went on after the result set failed to start: {outcome:?}"
                )));
            }
            (outcome, Some(answer)) => (outcome, answer),
        };
        match answer {
            (Ok(Outcome::Rows), Answer::Rows(rows)) => {
                self.state.found_rows = rows.written();
                rows.finish(status, self.state.warning_count())
            }
            (
                Ok(Outcome::Done {
                    affected_rows,
                    last_insert_id,
                    notes,
                }),
                Answer::Pending(writer),
            ) => {
                self.state.warnings.extend(notes);
                writer.ok(OkPacket {
                    affected_rows,
                    last_insert_id,
                    status,
                    warnings: self.state.warning_count(),
                    info: "",
                })
            }
            (Err(ExecError::Sql(e)), Answer::Rows(rows)) => {
                log::debug!(
                    "session {}: error in the middle of a result set: {}",
                    self.state.id,
                    e.message
                );
                self.failed = true;
                rows.error(&reported(self.state, &e))
            }
            (Err(ExecError::Sql(e)), Answer::Pending(writer)) => {
                self.failed = true;
                writer.error(&reported(self.state, &e))
            }
            (outcome, answer) => {
                // Storage announces columns exactly when it reports rows; anything else is a
                // bug there, answered with an error rather than a malformed response.
                let e = SqlError::unknown(format!(
                    "storage reported {outcome:?} with the result set {}",
                    if matches!(answer, Answer::Rows(_)) {
                        "started"
                    } else {
                        "not started"
                    }
                ));
                self.failed = true;
                match answer {
                    Answer::Pending(writer) => writer.error(&e),
                    Answer::Rows(rows) => rows.error(&e),
                }
            }
        }
    }
}

/// The error a failed statement reports: 1317 once the session was killed (whatever SQLite
/// said when it was interrupted), else its own.
fn reported<'e>(state: &SessionState, e: &'e SqlError) -> Cow<'e, SqlError> {
    if state.registration.entry().killed() == Kill::None {
        Cow::Borrowed(e)
    } else {
        Cow::Owned(interrupted())
    }
}

/// The response while storage runs a statement: still open, or a result set once storage
/// announced its columns.
enum Answer<'a> {
    Pending(ResponseWriter<'a, Conn>),
    Rows(RowWriter<'a, Conn>),
}

/// Storage's view of the response. Empty only if starting the result set failed, in which
/// case storage returns that I/O error.
struct StorageSink<'a>(Option<Answer<'a>>);

impl RowSink for StorageSink<'_> {
    fn columns(&mut self, columns: &[Column]) -> io::Result<()> {
        match self.0.take() {
            Some(Answer::Pending(writer)) => {
                self.0 = Some(Answer::Rows(writer.start(columns)?));
                Ok(())
            }
            other => {
                self.0 = other;
                Err(io::Error::other("storage announced the columns twice"))
            }
        }
    }

    fn row(&mut self, row: &[Cell<'_>]) -> io::Result<()> {
        match &mut self.0 {
            Some(Answer::Rows(rows)) => rows.row(row),
            _ => Err(io::Error::other("storage sent a row before the columns")),
        }
    }
}
