//! Errors the client sees: a MySQL error number, its SQLSTATE and a message, sent as an ERR
//! packet. SQL and semantic failures are values of [`SqlError`]; only I/O and framing errors
//! end a session.

use std::fmt;

/// An error reported to the client in an ERR packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqlError {
    /// MySQL error number (`ER_*`).
    pub code: u16,
    /// Five-character SQLSTATE.
    pub state: &'static str,
    /// Human-readable message, as MySQL words it where MySQL has the same error.
    pub message: String,
}

impl SqlError {
    /// An error with an explicit number and SQLSTATE.
    pub fn new(code: u16, state: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            state,
            message: message.into(),
        }
    }

    /// 1064: the statement could not be parsed.
    pub fn syntax(detail: impl fmt::Display) -> Self {
        Self::new(
            codes::ER_PARSE_ERROR,
            "42000",
            format!("You have an error in your SQL syntax; {detail}"),
        )
    }

    /// 1105: a failure without a more specific MySQL number.
    pub fn unknown(message: impl Into<String>) -> Self {
        Self::new(codes::ER_UNKNOWN_ERROR, "HY000", message)
    }

    /// 1235: something MySQL supports and tlsql does not.
    pub fn not_supported(what: impl fmt::Display) -> Self {
        Self::new(
            codes::ER_NOT_SUPPORTED_YET,
            "42000",
            format!("This version of tlsql doesn't yet support '{what}'"),
        )
    }
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ERROR {} ({}): {}", self.code, self.state, self.message)
    }
}

impl std::error::Error for SqlError {}

/// MySQL error numbers used by tlsql (names as in MySQL's `mysqld_error.h`).
pub mod codes {
    #![allow(missing_docs)]
    pub const ER_CON_COUNT_ERROR: u16 = 1040;
    pub const ER_HANDSHAKE_ERROR: u16 = 1043;
    pub const ER_DBACCESS_DENIED_ERROR: u16 = 1044;
    pub const ER_ACCESS_DENIED_ERROR: u16 = 1045;
    pub const ER_NO_DB_ERROR: u16 = 1046;
    pub const ER_UNKNOWN_COM_ERROR: u16 = 1047;
    pub const ER_BAD_DB_ERROR: u16 = 1049;
    pub const ER_TABLE_EXISTS_ERROR: u16 = 1050;
    pub const ER_BAD_TABLE_ERROR: u16 = 1051;
    pub const ER_SERVER_SHUTDOWN: u16 = 1053;
    pub const ER_BAD_FIELD_ERROR: u16 = 1054;
    pub const ER_DUP_ENTRY: u16 = 1062;
    pub const ER_PARSE_ERROR: u16 = 1064;
    pub const ER_EMPTY_QUERY: u16 = 1065;
    pub const ER_DB_CREATE_EXISTS: u16 = 1007;
    pub const ER_DB_DROP_EXISTS: u16 = 1008;
    pub const ER_UNKNOWN_ERROR: u16 = 1105;
    pub const ER_NO_SUCH_TABLE: u16 = 1146;
    pub const ER_TABLEACCESS_DENIED_ERROR: u16 = 1142;
    pub const ER_NONEXISTING_GRANT: u16 = 1141;
    pub const ER_NET_PACKET_TOO_LARGE: u16 = 1153;
    pub const ER_NET_PACKETS_OUT_OF_ORDER: u16 = 1156;
    pub const ER_MAX_PREPARED_STMT_COUNT_REACHED: u16 = 1461;
    pub const ER_NET_READ_ERROR: u16 = 1158;
    pub const ER_NET_READ_INTERRUPTED: u16 = 1159;
    pub const ER_WRONG_ARGUMENTS: u16 = 1210;
    pub const ER_SPECIFIC_ACCESS_DENIED_ERROR: u16 = 1227;
    pub const ER_LOCAL_VARIABLE: u16 = 1228;
    pub const ER_GLOBAL_VARIABLE: u16 = 1229;
    pub const ER_NO_DEFAULT: u16 = 1230;
    pub const ER_WRONG_VALUE_FOR_VAR: u16 = 1231;
    pub const ER_WRONG_TYPE_FOR_VAR: u16 = 1232;
    pub const ER_VAR_CANT_BE_READ: u16 = 1233;
    pub const ER_INCORRECT_GLOBAL_LOCAL_VAR: u16 = 1238;
    pub const ER_NOT_SUPPORTED_YET: u16 = 1235;
    pub const ER_UNKNOWN_SYSTEM_VARIABLE: u16 = 1193;
    pub const ER_UNKNOWN_STMT_HANDLER: u16 = 1243;
    pub const ER_CANNOT_USER: u16 = 1396;
    pub const ER_PASSWORD_NO_MATCH: u16 = 1133;
    pub const ER_NONEXISTING_GRANT_FOR_USER: u16 = 1141;
    pub const ER_NOT_SUPPORTED_AUTH_MODE: u16 = 1251;
    pub const ER_WRONG_ARGUMENTS_COUNT: u16 = 1582;
    pub const ER_PLUGIN_IS_NOT_LOADED: u16 = 1524;
    pub const ER_UNKNOWN_STORAGE_ENGINE: u16 = 1286;
    pub const ER_ACCOUNT_HAS_BEEN_LOCKED: u16 = 3118;
    pub const ER_SECURE_TRANSPORT_REQUIRED: u16 = 3159;
    pub const ER_DA_SSL_LIBRARY_ERROR: u16 = 3888;
    pub const ER_ILLEGAL_USER_VAR: u16 = 3061;
    pub const ER_PASSWORD_ANONYMOUS_USER: u16 = 1131;
    pub const ER_WRONG_USAGE: u16 = 1221;
    pub const ER_REVOKE_GRANTS: u16 = 1269;
    pub const ER_DUP_ARGUMENT: u16 = 1225;
    pub const ER_CANT_CREATE_USER_WITH_GRANT: u16 = 1410;
    pub const ER_WRONG_STRING_LENGTH: u16 = 1470;
    pub const ER_WRONG_VALUE: u16 = 1525;
    pub const ER_PASSWORD_FORMAT: u16 = 1827;
    pub const ER_USER_DOES_NOT_EXIST: u16 = 3162;
    pub const ER_USER_ALREADY_EXISTS: u16 = 3163;
}
