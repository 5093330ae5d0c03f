//! Where a server's response ends, read as a client reads it: the relay forwards a backend's
//! packets to its client without decoding them, but must know when a response is complete (the
//! next packet belongs to the client), when the server waits for the client in the middle of one
//! (`LOCAL INFILE`, an authentication exchange), and which packets are the terminators whose
//! status flags announce more results.
//!
//! [`Response`] is fed the first bytes and the length of each packet (the first frame of a packet
//! of 16 MiB or more) and answers with a [`Step`].
//!
//! <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_command_phase.html>,
//! <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_query_response.html>,
//! <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_stmt_prepare.html>.

use super::ProtocolError;
use super::handshake::status;
use super::packet::MAX_PAYLOAD;
use super::wire::Reader;

/// How many bytes of a packet [`Response::packet`] needs (or the whole packet when shorter):
/// enough for an OK packet's two length-encoded integers and its status flags.
pub const PREFIX_LEN: usize = 32;

/// `SERVER_STATUS_CURSOR_EXISTS`: a COM_STMT_EXECUTE opened a cursor; rows come with
/// COM_STMT_FETCH.
const CURSOR_EXISTS: u16 = 0x40;

/// Command bytes whose responses differ from a single packet.
pub mod command {
    #![allow(missing_docs)]
    pub const QUERY: u8 = 0x03;
    pub const FIELD_LIST: u8 = 0x04;
    pub const STATISTICS: u8 = 0x09;
    pub const CHANGE_USER: u8 = 0x11;
    pub const BINLOG_DUMP: u8 = 0x12;
    pub const REGISTER_SLAVE: u8 = 0x15;
    pub const STMT_PREPARE: u8 = 0x16;
    pub const STMT_EXECUTE: u8 = 0x17;
    pub const STMT_SEND_LONG_DATA: u8 = 0x18;
    pub const STMT_CLOSE: u8 = 0x19;
    pub const STMT_FETCH: u8 = 0x1C;
    pub const BINLOG_DUMP_GTID: u8 = 0x1E;
}

/// What follows a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The server sends more packets.
    More,
    /// The response is complete; the client speaks next.
    Done,
    /// The server waits for the client in the middle of the response.
    ClientTurn(ClientPart),
}

/// What the client sends while the server waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientPart {
    /// One packet: the next message of an authentication exchange.
    AuthReply,
    /// A file's contents for `LOAD DATA LOCAL INFILE`, packets up to an empty one.
    LocalInfile,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// The first packet of a result: OK, ERR, a `LOCAL INFILE` request or a column count.
    ResultStart,
    /// Column definitions left, then the rows.
    Columns(u64),
    /// The EOF after the column definitions (without `CLIENT_DEPRECATE_EOF`).
    ColumnsEof,
    /// Rows up to a terminator or an ERR.
    Rows,
    /// COM_STMT_PREPARE's first packet.
    PrepareStart,
    /// Parameter definitions left, then columns.
    PrepareParams { left: u16, columns: u16 },
    /// The EOF after the parameters.
    PrepareParamsEof { columns: u16 },
    /// Column definitions left.
    PrepareColumns(u16),
    /// The EOF after the columns.
    PrepareColumnsEof,
    /// Definitions up to an EOF (COM_FIELD_LIST).
    FieldList,
    /// An authentication exchange (COM_CHANGE_USER, and the login itself).
    Auth,
    /// One packet answers.
    Single,
    /// Nothing more.
    Done,
}

/// Tracks one response.
#[derive(Debug)]
pub struct Response {
    state: State,
    deprecate_eof: bool,
}

impl Response {
    /// The response to `command` (the command packet's first byte). `deprecate_eof`: whether
    /// client and server agreed on `CLIENT_DEPRECATE_EOF`. Commands without a response start
    /// [`Response::is_done`].
    pub fn to_command(command: u8, deprecate_eof: bool) -> Self {
        let state = match command {
            command::QUERY | command::STMT_EXECUTE => State::ResultStart,
            command::STMT_FETCH => State::Rows,
            command::STMT_PREPARE => State::PrepareStart,
            command::FIELD_LIST => State::FieldList,
            command::CHANGE_USER => State::Auth,
            command::STMT_CLOSE | command::STMT_SEND_LONG_DATA => State::Done,
            _ => State::Single,
        };
        Self {
            state,
            deprecate_eof,
        }
    }

    /// The server's side of an authentication exchange, up to its OK or ERR.
    pub fn to_login() -> Self {
        Self {
            state: State::Auth,
            deprecate_eof: false,
        }
    }

    /// Whether the response is complete.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Whether the next packet starts a result set's rows or the result itself (the relay
    /// rewrites rows of some results).
    pub fn in_rows(&self) -> bool {
        self.state == State::Rows
    }

    /// The client finished its part (`LOCAL INFILE` data ends with an empty packet, then the
    /// server answers with OK or ERR).
    pub fn client_part_done(&mut self, part: ClientPart) {
        if part == ClientPart::LocalInfile {
            self.state = State::ResultStart;
        }
    }

    /// Takes the next packet of the response: `prefix` is its first [`PREFIX_LEN`] bytes (all of
    /// it when shorter), `len` its length (a 16 MiB frame counts as one packet; its
    /// continuation frames are not given).
    pub fn packet(&mut self, prefix: &[u8], len: usize) -> Result<Step, ProtocolError> {
        let first = prefix.first().copied();
        let (next, step) = match self.state {
            State::Done => {
                return Err(ProtocolError::new(
                    "the server sent a packet after its response was complete",
                ));
            }
            State::Single => (State::Done, Step::Done),
            State::ResultStart => match first {
                Some(0x00) => self.after_terminator(ok_status(prefix)?),
                Some(0xFF) => (State::Done, Step::Done),
                Some(0xFB) => (
                    State::ResultStart,
                    Step::ClientTurn(ClientPart::LocalInfile),
                ),
                _ => {
                    let count = Reader::new(prefix).lenenc_int("column count")?;
                    if count == 0 {
                        return Err(ProtocolError::new("a result set with no columns"));
                    }
                    (State::Columns(count), Step::More)
                }
            },
            State::Columns(left) => {
                if left > 1 {
                    (State::Columns(left - 1), Step::More)
                } else if self.deprecate_eof {
                    (State::Rows, Step::More)
                } else {
                    (State::ColumnsEof, Step::More)
                }
            }
            State::ColumnsEof => {
                if !self.is_terminator(first, len) {
                    return Err(ProtocolError::new("no EOF after the column definitions"));
                }
                let flags = terminator_status(prefix, self.deprecate_eof)?;
                if flags & CURSOR_EXISTS != 0 {
                    (State::Done, Step::Done)
                } else {
                    (State::Rows, Step::More)
                }
            }
            State::Rows => {
                if first == Some(0xFF) {
                    (State::Done, Step::Done)
                } else if self.is_terminator(first, len) {
                    self.after_terminator(terminator_status(prefix, self.deprecate_eof)?)
                } else {
                    (State::Rows, Step::More)
                }
            }
            State::PrepareStart => match first {
                Some(0x00) => {
                    let mut r = Reader::new(prefix);
                    r.take(5, "statement id")?;
                    let columns = r.u16("column count")?;
                    let params = r.u16("parameter count")?;
                    self.prepare_next(params, columns)
                }
                _ => (State::Done, Step::Done),
            },
            State::PrepareParams { left, columns } => {
                if left > 1 {
                    (
                        State::PrepareParams {
                            left: left - 1,
                            columns,
                        },
                        Step::More,
                    )
                } else if self.deprecate_eof {
                    self.prepare_next(0, columns)
                } else {
                    (State::PrepareParamsEof { columns }, Step::More)
                }
            }
            State::PrepareParamsEof { columns } => self.prepare_next(0, columns),
            State::PrepareColumns(left) => {
                if left > 1 {
                    (State::PrepareColumns(left - 1), Step::More)
                } else if self.deprecate_eof {
                    (State::Done, Step::Done)
                } else {
                    (State::PrepareColumnsEof, Step::More)
                }
            }
            State::PrepareColumnsEof => (State::Done, Step::Done),
            State::FieldList => {
                if first == Some(0xFF) || self.is_terminator(first, len) {
                    (State::Done, Step::Done)
                } else {
                    (State::FieldList, Step::More)
                }
            }
            State::Auth => match first {
                Some(0x00 | 0xFF) => (State::Done, Step::Done),
                // caching_sha2_password's fast-auth success: the OK follows.
                Some(0x01) if prefix.len() == 2 && prefix[1] == 0x03 => (State::Auth, Step::More),
                _ => (State::Auth, Step::ClientTurn(ClientPart::AuthReply)),
            },
        };
        self.state = next;
        Ok(step)
    }

    /// Where a COM_STMT_PREPARE response goes once `params` parameter definitions are left.
    fn prepare_next(&self, params: u16, columns: u16) -> (State, Step) {
        if params > 0 {
            (
                State::PrepareParams {
                    left: params,
                    columns,
                },
                Step::More,
            )
        } else if columns > 0 {
            (State::PrepareColumns(columns), Step::More)
        } else {
            (State::Done, Step::Done)
        }
    }

    fn after_terminator(&self, flags: u16) -> (State, Step) {
        if flags & status::MORE_RESULTS_EXISTS != 0 {
            (State::ResultStart, Step::More)
        } else {
            (State::Done, Step::Done)
        }
    }

    /// An EOF packet, or with `CLIENT_DEPRECATE_EOF` the OK packet that replaces it (header
    /// 0xFE; a row that starts with 0xFE is a length-encoded string of 16 MiB or more).
    fn is_terminator(&self, first: Option<u8>, len: usize) -> bool {
        first == Some(0xFE)
            && if self.deprecate_eof {
                len < MAX_PAYLOAD
            } else {
                len < 9
            }
    }
}

/// The status flags of an OK packet (header, affected rows, last insert id, status).
fn ok_status(prefix: &[u8]) -> Result<u16, ProtocolError> {
    let mut r = Reader::new(prefix);
    r.u8("OK header")?;
    r.lenenc_int("affected rows")?;
    r.lenenc_int("last insert id")?;
    r.u16("status flags")
}

/// The status flags of a terminator: an EOF packet (header, warnings, status) or an OK packet.
fn terminator_status(prefix: &[u8], deprecate_eof: bool) -> Result<u16, ProtocolError> {
    if deprecate_eof {
        return ok_status(prefix);
    }
    let mut r = Reader::new(prefix);
    r.take(3, "EOF header and warnings")?;
    r.u16("status flags")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds packets (whole payloads) and returns the steps.
    fn run(r: &mut Response, packets: &[Vec<u8>]) -> Vec<Step> {
        packets
            .iter()
            .map(|p| r.packet(&p[..p.len().min(PREFIX_LEN)], p.len()).unwrap())
            .collect()
    }

    fn ok(status: u16) -> Vec<u8> {
        let mut p = vec![0x00, 0, 0];
        p.extend_from_slice(&status.to_le_bytes());
        p.extend_from_slice(&[0, 0]);
        p
    }

    fn ok_fe(status: u16) -> Vec<u8> {
        let mut p = ok(status);
        p[0] = 0xFE;
        p
    }

    fn eof(status: u16) -> Vec<u8> {
        let mut p = vec![0xFE, 0, 0];
        p.extend_from_slice(&status.to_le_bytes());
        p
    }

    fn err() -> Vec<u8> {
        let mut p = vec![0xFF, 0x7A, 0x04, b'#'];
        p.extend_from_slice(b"42S02Table 'x' doesn't exist");
        p
    }

    fn column() -> Vec<u8> {
        b"\x03def\x00\x00\x00\x01a\x00\x0c\x3f\x00\x01\x00\x00\x00\x08\x00\x00\x00\x00".to_vec()
    }

    use Step::{ClientTurn, Done, More};

    #[test]
    fn a_text_result_set_with_and_without_eof_packets() {
        let mut r = Response::to_command(command::QUERY, false);
        let packets = [
            vec![2],
            column(),
            column(),
            eof(2),
            b"\x011\x012".to_vec(),
            eof(2),
        ];
        assert_eq!(run(&mut r, &packets), [More, More, More, More, More, Done]);
        assert!(r.is_done());

        let mut r = Response::to_command(command::QUERY, true);
        let packets = [vec![1], column(), b"\x011".to_vec(), ok_fe(2)];
        assert_eq!(run(&mut r, &packets), [More, More, More, Done]);
    }

    #[test]
    fn more_results_continue_until_the_last_terminator() {
        let mut r = Response::to_command(command::QUERY, true);
        let more = status::MORE_RESULTS_EXISTS | status::AUTOCOMMIT;
        let packets = [ok(more), vec![1], column(), ok_fe(more), err()];
        assert_eq!(run(&mut r, &packets), [More, More, More, More, Done]);
    }

    #[test]
    fn an_error_in_the_rows_ends_the_response() {
        let mut r = Response::to_command(command::QUERY, false);
        let packets = [vec![1], column(), eof(0), b"\x011".to_vec(), err()];
        assert_eq!(run(&mut r, &packets), [More, More, More, More, Done]);
    }

    #[test]
    fn a_row_starting_with_0xfe_is_not_a_terminator() {
        let mut r = Response::to_command(command::QUERY, true);
        run(&mut r, &[vec![1], column()]);
        // A row whose first value is a length-encoded string of 16 MiB or more.
        assert_eq!(r.packet(&[0xFE; 32], MAX_PAYLOAD).unwrap(), More);
        assert_eq!(r.packet(&ok_fe(0), 7).unwrap(), Done);

        let mut r = Response::to_command(command::QUERY, false);
        run(&mut r, &[vec![1], column(), eof(0)]);
        // Without DEPRECATE_EOF only a packet shorter than 9 bytes terminates.
        assert_eq!(r.packet(&[0xFE; 20], 20).unwrap(), More);
        assert_eq!(r.packet(&eof(0), 5).unwrap(), Done);
    }

    #[test]
    fn local_infile_hands_the_turn_to_the_client() {
        let mut r = Response::to_command(command::QUERY, true);
        assert_eq!(
            run(&mut r, &[b"\xFB/tmp/data.csv".to_vec()]),
            [ClientTurn(ClientPart::LocalInfile)]
        );
        r.client_part_done(ClientPart::LocalInfile);
        assert_eq!(run(&mut r, &[ok(2)]), [Done]);
    }

    #[test]
    fn a_cursor_ends_the_execute_response_after_the_metadata() {
        let mut r = Response::to_command(command::STMT_EXECUTE, false);
        let packets = [vec![1], column(), eof(CURSOR_EXISTS)];
        assert_eq!(run(&mut r, &packets), [More, More, Done]);
        let mut r = Response::to_command(command::STMT_FETCH, false);
        let packets = [b"\x00\x00\x01\x00\x00\x00".to_vec(), eof(0x80)];
        assert_eq!(run(&mut r, &packets), [More, Done]);
        let mut r = Response::to_command(command::STMT_EXECUTE, true);
        let packets = [vec![1], column(), ok_fe(CURSOR_EXISTS)];
        assert_eq!(run(&mut r, &packets), [More, More, Done]);
    }

    #[test]
    fn prepare_counts_parameters_and_columns() {
        let prepare_ok = |columns: u16, params: u16| {
            let mut p = vec![0x00, 1, 0, 0, 0];
            p.extend_from_slice(&columns.to_le_bytes());
            p.extend_from_slice(&params.to_le_bytes());
            p.extend_from_slice(&[0, 0, 0]);
            p
        };
        let mut r = Response::to_command(command::STMT_PREPARE, false);
        let packets = [
            prepare_ok(1, 2),
            column(),
            column(),
            eof(0),
            column(),
            eof(0),
        ];
        assert_eq!(run(&mut r, &packets), [More, More, More, More, More, Done]);
        let mut r = Response::to_command(command::STMT_PREPARE, true);
        assert_eq!(
            run(&mut r, &[prepare_ok(1, 1), column(), column()]),
            [More, More, Done]
        );
        let mut r = Response::to_command(command::STMT_PREPARE, true);
        assert_eq!(run(&mut r, &[prepare_ok(0, 0)]), [Done]);
        let mut r = Response::to_command(command::STMT_PREPARE, true);
        assert_eq!(run(&mut r, &[err()]), [Done]);
    }

    #[test]
    fn commands_without_a_response_and_single_packet_answers() {
        assert!(Response::to_command(command::STMT_CLOSE, true).is_done());
        assert!(Response::to_command(command::STMT_SEND_LONG_DATA, true).is_done());
        let mut r = Response::to_command(command::STATISTICS, true);
        assert_eq!(run(&mut r, &[b"Uptime: 5  Threads: 1".to_vec()]), [Done]);
        let mut r = Response::to_command(0x0E, true); // COM_PING
        assert_eq!(run(&mut r, &[ok(2)]), [Done]);
        assert!(r.packet(&ok(2), 7).is_err());
    }

    #[test]
    fn field_list_ends_at_its_eof() {
        let mut r = Response::to_command(command::FIELD_LIST, false);
        assert_eq!(
            run(&mut r, &[column(), column(), eof(2)]),
            [More, More, Done]
        );
    }

    #[test]
    fn authentication_exchanges() {
        // AuthSwitch, the client's answer, then OK.
        let mut r = Response::to_login();
        assert_eq!(
            run(
                &mut r,
                &[b"\xFEmysql_native_password\x00abcdefghijklmnopqrst\x00".to_vec()]
            ),
            [ClientTurn(ClientPart::AuthReply)]
        );
        assert_eq!(run(&mut r, &[ok(2)]), [Done]);
        // caching_sha2 fast path: 01 03 then OK from the server.
        let mut r = Response::to_login();
        assert_eq!(run(&mut r, &[vec![1, 3], ok(2)]), [More, Done]);
        // Full authentication: 01 04, the client's password, the RSA key on request, ERR.
        let mut r = Response::to_login();
        assert_eq!(
            run(
                &mut r,
                &[
                    vec![1, 4],
                    b"\x01-----BEGIN PUBLIC KEY-----".to_vec(),
                    err()
                ]
            ),
            [
                ClientTurn(ClientPart::AuthReply),
                ClientTurn(ClientPart::AuthReply),
                Done
            ]
        );
    }

    #[test]
    fn malformed_responses_are_errors_not_panics() {
        let mut r = Response::to_command(command::QUERY, true);
        assert!(r.packet(&[], 0).is_err());
        let mut r = Response::to_command(command::QUERY, true);
        assert!(r.packet(&[0x00, 0xFC], 2).is_err());
        let mut r = Response::to_command(command::STMT_PREPARE, true);
        assert!(r.packet(&[0x00, 1], 2).is_err());
        let mut r = Response::to_command(command::QUERY, false);
        run(&mut r, &[vec![1], column()]);
        assert!(r.packet(b"\x011", 2).is_err());
    }
}
