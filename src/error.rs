//! Errors the client sees: a MySQL error number, its SQLSTATE and a message, sent as an ERR
//! packet. SQL and semantic failures are values of [`SqlError`]; only I/O and framing errors
//! end a session.
//!
//! Each error is of an [`ErrorKind`], which knows its number and SQLSTATE: the pairs are written
//! once, in the table below, as MySQL's `mysqld_error.h` pairs them, never at the call site.

use std::fmt;

/// Declares [`ErrorKind`] from one table of `Variant = (number, "SQLSTATE")` rows.
macro_rules! error_kinds {
    ($( $(#[$doc:meta])* $name:ident = ($code:literal, $state:literal), )*) => {
        /// A MySQL error condition tlsql reports; see [`ErrorKind::code`] and
        /// [`ErrorKind::sqlstate`]. Names follow MySQL's `ER_*` names, which each one's
        /// documentation gives.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorKind {
            $( $(#[$doc])* $name, )*
        }

        impl ErrorKind {
            /// The MySQL error number.
            pub const fn code(self) -> u16 {
                match self {
                    $( Self::$name => $code, )*
                }
            }

            /// The five-character SQLSTATE.
            pub const fn sqlstate(self) -> &'static str {
                match self {
                    $( Self::$name => $state, )*
                }
            }
        }

        #[cfg(test)]
        const ALL_KINDS: &[ErrorKind] = &[$( ErrorKind::$name, )*];
    };
}

error_kinds! {
    /// `ER_DB_CREATE_EXISTS`: `CREATE DATABASE` of a database that exists.
    DbCreateExists = (1007, "HY000"),
    /// `ER_DB_DROP_EXISTS`: `DROP DATABASE` of a database that does not exist.
    DbDropExists = (1008, "HY000"),
    /// `ER_CON_COUNT_ERROR`: `max-connections` reached.
    TooManyConnections = (1040, "08004"),
    /// `ER_HANDSHAKE_ERROR`: the connection phase went wrong.
    BadHandshake = (1043, "08S01"),
    /// `ER_DBACCESS_DENIED_ERROR`: no privilege on a database.
    DbAccessDenied = (1044, "42000"),
    /// `ER_ACCESS_DENIED_ERROR`: a refused login.
    AccessDenied = (1045, "28000"),
    /// `ER_NO_DB_ERROR`: an unqualified table without a default database.
    NoDatabaseSelected = (1046, "3D000"),
    /// `ER_UNKNOWN_COM_ERROR`: a command byte or option tlsql does not know.
    UnknownCommand = (1047, "08S01"),
    /// `ER_BAD_NULL_ERROR`: NULL in a NOT NULL column.
    BadNull = (1048, "23000"),
    /// `ER_BAD_DB_ERROR`: a database that does not exist.
    UnknownDatabase = (1049, "42000"),
    /// `ER_TABLE_EXISTS_ERROR`.
    TableExists = (1050, "42S01"),
    /// `ER_BAD_TABLE_ERROR`: `DROP TABLE` of tables that do not exist.
    UnknownTable = (1051, "42S02"),
    /// `ER_SERVER_SHUTDOWN`.
    ServerShutdown = (1053, "08S01"),
    /// `ER_BAD_FIELD_ERROR`: a column that does not exist.
    UnknownColumn = (1054, "42S22"),
    /// `ER_DUP_FIELDNAME`: a column added twice.
    DuplicateColumn = (1060, "42S21"),
    /// `ER_DUP_KEYNAME`: an index name used twice.
    DuplicateKeyName = (1061, "42000"),
    /// `ER_DUP_ENTRY`: a unique key violated.
    DuplicateEntry = (1062, "23000"),
    /// `ER_PARSE_ERROR`: the statement could not be parsed.
    Syntax = (1064, "42000"),
    /// `ER_EMPTY_QUERY`: nothing but whitespace and comments.
    EmptyQuery = (1065, "42000"),
    /// `ER_MULTIPLE_PRI_KEY`: two primary keys.
    MultiplePrimaryKey = (1068, "42000"),
    /// `ER_KEY_COLUMN_DOES_NOT_EXITS`: a key over a column the table lacks.
    KeyColumnDoesNotExist = (1072, "42000"),
    /// `ER_WRONG_AUTO_KEY`: an AUTO_INCREMENT column that is not the key.
    WrongAutoKey = (1075, "42000"),
    /// `ER_CANT_REMOVE_ALL_FIELDS`: dropping a table's last column.
    CantRemoveAllColumns = (1090, "42000"),
    /// `ER_CANT_DROP_FIELD_OR_KEY`: dropping a column or index that does not exist.
    CantDropColumnOrKey = (1091, "42000"),
    /// `ER_NO_SUCH_THREAD`: `KILL` of a connection id that is not running.
    NoSuchThread = (1094, "HY000"),
    /// `ER_KILL_DENIED_ERROR`: `KILL` of another account's connection without
    /// `CONNECTION_ADMIN` or `SUPER`.
    KillDenied = (1095, "HY000"),
    /// `ER_TABLE_NOT_LOCKED_FOR_WRITE`: a write to a table locked `READ`.
    TableNotLockedForWrite = (1099, "HY000"),
    /// `ER_TABLE_NOT_LOCKED`: a table not named in the session's `LOCK TABLES`.
    TableNotLocked = (1100, "HY000"),
    /// `ER_WRONG_DB_NAME`.
    WrongDatabaseName = (1102, "42000"),
    /// `ER_WRONG_TABLE_NAME`.
    WrongTableName = (1103, "42000"),
    /// `ER_UNKNOWN_ERROR`: a failure without a more specific MySQL number.
    Unknown = (1105, "HY000"),
    /// `ER_TABLE_MUST_HAVE_COLUMNS`.
    TableMustHaveColumns = (1113, "42000"),
    /// `ER_UNKNOWN_CHARACTER_SET`.
    UnknownCharacterSet = (1115, "42000"),
    /// `ER_PASSWORD_ANONYMOUS_USER`: the anonymous user changing a password.
    PasswordAnonymousUser = (1131, "42000"),
    /// `ER_PASSWORD_NO_MATCH`: `SET PASSWORD FOR` an account that does not exist.
    PasswordNoMatch = (1133, "42000"),
    /// `ER_ROW_IS_REFERENCED_2`: a parent row that child rows refer to.
    RowIsReferenced = (1451, "23000"),
    /// `ER_NO_REFERENCED_ROW_2`: a child row without its parent.
    NoReferencedRow = (1452, "23000"),
    /// `ER_SP_DOES_NOT_EXIST`: a function neither MySQL's nor tlsql's, a savepoint that does
    /// not exist.
    NoSuchFunction = (1305, "42000"),
    /// `ER_WRONG_OBJECT`: `SHOW CREATE VIEW` of a table, and the like.
    WrongObject = (1347, "HY000"),
    /// `ER_VIEW_SELECT_VARIABLE`: a view whose query reads a user variable.
    ViewSelectVariable = (1351, "HY000"),
    /// `ER_VIEW_SELECT_TMPTABLE`: a view over one of the session's temporary tables.
    ViewSelectTemporary = (1352, "HY000"),
    /// `ER_VIEW_WRONG_LIST`: a view's column list and its SELECT list differ in length.
    ViewWrongList = (1353, "HY000"),
    /// `ER_NONEXISTING_GRANT`.
    NoSuchGrant = (1141, "42000"),
    /// `ER_TABLEACCESS_DENIED_ERROR`: no privilege on a table.
    TableAccessDenied = (1142, "42000"),
    /// `ER_NO_SUCH_TABLE`.
    NoSuchTable = (1146, "42S02"),
    /// `ER_NET_PACKET_TOO_LARGE`: more than `max_allowed_packet`.
    PacketTooLarge = (1153, "08S01"),
    /// `ER_NET_PACKETS_OUT_OF_ORDER`.
    PacketsOutOfOrder = (1156, "08S01"),
    /// `ER_LOCK_OR_ACTIVE_TRANSACTION`: a statement a held table lock or open transaction
    /// forbids.
    LockOrActiveTransaction = (1192, "HY000"),
    /// `ER_UNKNOWN_SYSTEM_VARIABLE`.
    UnknownSystemVariable = (1193, "HY000"),
    /// `ER_TOO_MANY_USER_CONNECTIONS`: the global `max_user_connections` reached.
    TooManyUserConnections = (1203, "42000"),
    /// `ER_LOCK_WAIT_TIMEOUT`: another session held the lock too long.
    LockWaitTimeout = (1205, "HY000"),
    /// `ER_WRONG_ARGUMENTS`.
    WrongArguments = (1210, "HY000"),
    /// `ER_WRONG_USAGE`.
    WrongUsage = (1221, "HY000"),
    /// `ER_DUP_ARGUMENT`: an option given twice.
    DuplicateArgument = (1225, "HY000"),
    /// `ER_USER_LIMIT_REACHED`: an account's resource limit (`WITH MAX_…`) reached.
    UserLimitReached = (1226, "42000"),
    /// `ER_SPECIFIC_ACCESS_DENIED_ERROR`: a global privilege is missing.
    SpecificAccessDenied = (1227, "42000"),
    /// `ER_LOCAL_VARIABLE`: `SET GLOBAL` of a session-only variable.
    SessionOnlyVariable = (1228, "HY000"),
    /// `ER_GLOBAL_VARIABLE`: a global-only variable set without `GLOBAL`.
    GlobalOnlyVariable = (1229, "HY000"),
    /// `ER_WRONG_VALUE_FOR_VAR`.
    WrongValueForVariable = (1231, "42000"),
    /// `ER_WRONG_TYPE_FOR_VAR`.
    WrongTypeForVariable = (1232, "42000"),
    /// `ER_NOT_SUPPORTED_YET`: something MySQL supports and tlsql does not.
    NotSupported = (1235, "42000"),
    /// `ER_INCORRECT_GLOBAL_LOCAL_VAR`: a variable read or set at a scope it lacks.
    IncorrectGlobalLocalVariable = (1238, "HY000"),
    /// `ER_UNKNOWN_STMT_HANDLER`: a prepared statement id that is not open.
    UnknownStatementHandler = (1243, "HY000"),
    /// `ER_NOT_SUPPORTED_AUTH_MODE`: the client cannot switch plugins.
    AuthModeNotSupported = (1251, "08004"),
    /// `ER_COLLATION_CHARSET_MISMATCH`: `SET NAMES x COLLATE y` with `y` not of `x`.
    CollationCharsetMismatch = (1253, "42000"),
    /// `ER_REVOKE_GRANTS`.
    RevokeGrants = (1269, "HY000"),
    /// `ER_UNKNOWN_COLLATION`.
    UnknownCollation = (1273, "HY000"),
    /// `ER_UNKNOWN_STORAGE_ENGINE`.
    UnknownStorageEngine = (1286, "42000"),
    /// `ER_NON_UPDATABLE_TABLE`: `INSERT`, `UPDATE` or `DELETE` on a view.
    NonUpdatableTable = (1288, "HY000"),
    /// `ER_UNSUPPORTED_PS`: `PREPARE`, `EXECUTE` or `DEALLOCATE PREPARE` sent with
    /// COM_STMT_PREPARE.
    UnsupportedInPreparedStatements = (1295, "HY000"),
    /// `ER_UNKNOWN_TIME_ZONE`.
    UnknownTimeZone = (1298, "HY000"),
    /// `ER_QUERY_INTERRUPTED`: `KILL QUERY`, or the session's own `KILL`.
    QueryInterrupted = (1317, "70100"),
    /// `ER_CANNOT_USER`: an account statement failed for some accounts.
    CannotUser = (1396, "HY000"),
    /// `ER_CANT_CREATE_USER_WITH_GRANT`: `GRANT` to an account that does not exist.
    CantCreateUserWithGrant = (1410, "42000"),
    /// `ER_MAX_PREPARED_STMT_COUNT_REACHED`.
    TooManyPreparedStatements = (1461, "42000"),
    /// `ER_WRONG_STRING_LENGTH`: a user or host name too long.
    StringTooLong = (1470, "HY000"),
    /// `ER_PLUGIN_IS_NOT_LOADED`: an authentication plugin tlsql does not have.
    PluginNotLoaded = (1524, "HY000"),
    /// `ER_WRONG_VALUE`.
    WrongValue = (1525, "HY000"),
    /// `ER_FK_NO_INDEX_PARENT`: a foreign key to columns no key of the parent covers.
    ForeignKeyNoIndex = (1822, "HY000"),
    /// `ER_PASSWORD_FORMAT`: a stored password hash of the wrong form.
    PasswordFormat = (1827, "HY000"),
    /// `ER_ACCESS_DENIED_CHANGE_USER_ERROR`: a refused COM_CHANGE_USER, after which the
    /// connection closes.
    AccessDeniedChangeUser = (1873, "28000"),
    /// `ER_MALFORMED_PACKET`: a command packet that does not follow the protocol.
    MalformedPacket = (1835, "08S01"),
    /// `ER_ACCOUNT_HAS_BEEN_LOCKED`.
    AccountLocked = (3118, "HY000"),
    /// `ER_SECURE_TRANSPORT_REQUIRED`: `require_secure_transport` refuses the connection.
    SecureTransportRequired = (3159, "HY000"),
    /// `ER_NO_SECURE_TRANSPORTS_CONFIGURED`: `require_secure_transport` turned on from an
    /// insecure connection.
    NoSecureTransport = (3160, "HY000"),
    /// `ER_USER_DOES_NOT_EXIST` (a note of `IF EXISTS`).
    UserDoesNotExist = (3162, "HY000"),
    /// `ER_USER_ALREADY_EXISTS` (a note of `IF NOT EXISTS`).
    UserAlreadyExists = (3163, "HY000"),
    /// `ER_DA_SSL_LIBRARY_ERROR`: the TLS library refused the configuration.
    SslLibrary = (3888, "HY000"),
    /// `ER_CLIENT_INTERACTION_TIMEOUT`: sent before closing an idle session (MySQL 8.0.24+).
    ClientInteractionTimeout = (4031, "HY000"),
    /// `CR_SERVER_LOST`: a client library's number for a server gone in the middle of a query;
    /// the gateway sends it when its backend goes, so the client reports what it would have
    /// reported directly.
    LostConnection = (2013, "HY000"),
}

/// An error reported to the client in an ERR packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqlError {
    /// What went wrong, which gives the number and SQLSTATE.
    pub kind: ErrorKind,
    /// Human-readable message, as MySQL words it where MySQL has the same error.
    pub message: String,
}

impl SqlError {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// The MySQL error number.
    pub fn code(&self) -> u16 {
        self.kind.code()
    }

    /// The five-character SQLSTATE.
    pub fn sqlstate(&self) -> &'static str {
        self.kind.sqlstate()
    }

    /// 1064: the statement could not be parsed.
    pub fn syntax(detail: impl fmt::Display) -> Self {
        Self::new(
            ErrorKind::Syntax,
            format!("You have an error in your SQL syntax; {detail}"),
        )
    }

    /// 1105: a failure without a more specific MySQL number.
    pub fn unknown(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unknown, message)
    }

    /// 1235: something MySQL supports and tlsql does not.
    pub fn not_supported(what: impl fmt::Display) -> Self {
        Self::new(
            ErrorKind::NotSupported,
            format!("This version of tlsql doesn't yet support '{what}'"),
        )
    }
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ERROR {} ({}): {}",
            self.code(),
            self.sqlstate(),
            self.message
        )
    }
}

impl std::error::Error for SqlError {}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_kind_has_its_own_number_and_a_five_character_sqlstate() {
        let mut codes = HashSet::new();
        for kind in ALL_KINDS {
            assert!(codes.insert(kind.code()), "{kind:?}: number used twice");
            let state = kind.sqlstate();
            assert_eq!(state.len(), 5, "{kind:?}");
            assert!(state.bytes().all(|b| b.is_ascii_alphanumeric()), "{kind:?}");
        }
        assert_eq!(
            SqlError::syntax("near 'x'").to_string(),
            "ERROR 1064 (42000): You have an error in your SQL syntax; near 'x'"
        );
    }
}
