//! The `SHOW`s of what the server is made of: `ENGINES`, `CHARACTER SET`, `COLLATION`, and the
//! replication statuses of a server without replication (`SLAVE`/`REPLICA`/`MASTER STATUS`,
//! an empty result: monitoring tools read them and take no rows as "not a replica").
//!
//! `LIKE` filters the first column as MySQL does; `WHERE` is evaluated by storage over the
//! same rows, served as `information_schema.CHARACTER_SETS` and `COLLATIONS`.

use std::io;

use super::query;
use super::show::ServerShow;
use crate::auth::privileges::Privilege;
use crate::charset;
use crate::lex::like;
use crate::protocol::value::{Column, Value};
use crate::sql::exchange::Exchange;
use crate::storage::Filter;
use crate::vars;

/// `SHOW SLAVE STATUS`'s columns in MySQL 8.0; `SHOW REPLICA STATUS` names them with
/// `Replica` and `Source` for `Slave` and `Master`.
const SLAVE_STATUS_COLUMNS: &[&str] = &[
    "Slave_IO_State",
    "Master_Host",
    "Master_User",
    "Master_Port",
    "Connect_Retry",
    "Master_Log_File",
    "Read_Master_Log_Pos",
    "Relay_Log_File",
    "Relay_Log_Pos",
    "Relay_Master_Log_File",
    "Slave_IO_Running",
    "Slave_SQL_Running",
    "Replicate_Do_DB",
    "Replicate_Ignore_DB",
    "Replicate_Do_Table",
    "Replicate_Ignore_Table",
    "Replicate_Wild_Do_Table",
    "Replicate_Wild_Ignore_Table",
    "Last_Errno",
    "Last_Error",
    "Skip_Counter",
    "Exec_Master_Log_Pos",
    "Relay_Log_Space",
    "Until_Condition",
    "Until_Log_File",
    "Until_Log_Pos",
    "Master_SSL_Allowed",
    "Master_SSL_CA_File",
    "Master_SSL_CA_Path",
    "Master_SSL_Cert",
    "Master_SSL_Cipher",
    "Master_SSL_Key",
    "Seconds_Behind_Master",
    "Master_SSL_Verify_Server_Cert",
    "Last_IO_Errno",
    "Last_IO_Error",
    "Last_SQL_Errno",
    "Last_SQL_Error",
    "Replicate_Ignore_Server_Ids",
    "Master_Server_Id",
    "Master_UUID",
    "Master_Info_File",
    "SQL_Delay",
    "SQL_Remaining_Delay",
    "Slave_SQL_Running_State",
    "Master_Retry_Count",
    "Master_Bind",
    "Last_IO_Error_Timestamp",
    "Last_SQL_Error_Timestamp",
    "Master_SSL_Crl",
    "Master_SSL_Crlpath",
    "Retrieved_Gtid_Set",
    "Executed_Gtid_Set",
    "Auto_Position",
    "Replicate_Rewrite_DB",
    "Channel_Name",
    "Master_TLS_Version",
    "Master_public_key_path",
    "Get_master_public_key",
    "Network_Namespace",
];

/// `SHOW MASTER STATUS`'s columns.
const MASTER_STATUS_COLUMNS: &[&str] = &[
    "File",
    "Position",
    "Binlog_Do_DB",
    "Binlog_Ignore_DB",
    "Executed_Gtid_Set",
];

/// Runs one of these `SHOW`s (`PROCESSLIST` is [`super::process`]'s).
pub(super) fn execute(show: ServerShow, ex: &mut Exchange<'_>) -> io::Result<()> {
    let (columns, rows, filter) = match show {
        ServerShow::Engines => (
            vec![
                Column::text("Engine"),
                Column::text("Support"),
                Column::text("Comment"),
                Column::text("Transactions"),
                Column::text("XA"),
                Column::text("Savepoints"),
            ],
            vars::ENGINES
                .iter()
                .map(|e| {
                    let yes_no = |b: bool| Value::from(if b { "YES" } else { "NO" });
                    vec![
                        Value::from(e.name),
                        Value::from(e.support),
                        Value::from(e.comment),
                        yes_no(e.transactions),
                        yes_no(e.xa),
                        yes_no(e.savepoints),
                    ]
                })
                .collect(),
            None,
        ),
        ServerShow::Charsets(filter) => {
            if let Some(Filter::Where(condition)) = filter {
                let statement = query::show_where(
                    "information_schema",
                    "CHARACTER_SETS",
                    &[
                        ("CHARACTER_SET_NAME", "Charset"),
                        ("DESCRIPTION", "Description"),
                        ("DEFAULT_COLLATE_NAME", "Default collation"),
                        ("MAXLEN", "Maxlen"),
                    ],
                    *condition,
                );
                return ex.in_storage(|engine, ctx, sink| engine.execute(statement, ctx, sink));
            }
            (
                vec![
                    Column::text("Charset"),
                    Column::text("Description"),
                    Column::text("Default collation"),
                    Column::int("Maxlen"),
                ],
                charset::CHARSETS
                    .iter()
                    .map(|c| {
                        vec![
                            Value::from(c.name),
                            Value::from(c.description),
                            Value::from(c.default_collation),
                            Value::Int(i64::from(c.max_len)),
                        ]
                    })
                    .collect(),
                filter,
            )
        }
        ServerShow::Collations(filter) => {
            if let Some(Filter::Where(condition)) = filter {
                let statement = query::show_where(
                    "information_schema",
                    "COLLATIONS",
                    &[
                        ("COLLATION_NAME", "Collation"),
                        ("CHARACTER_SET_NAME", "Charset"),
                        ("ID", "Id"),
                        ("IS_DEFAULT", "Default"),
                        ("IS_COMPILED", "Compiled"),
                        ("SORTLEN", "Sortlen"),
                        ("PAD_ATTRIBUTE", "Pad_attribute"),
                    ],
                    *condition,
                );
                return ex.in_storage(|engine, ctx, sink| engine.execute(statement, ctx, sink));
            }
            (
                vec![
                    Column::text("Collation"),
                    Column::text("Charset"),
                    Column::int("Id"),
                    Column::text("Default"),
                    Column::text("Compiled"),
                    Column::int("Sortlen"),
                    Column::text("Pad_attribute"),
                ],
                charset::COLLATIONS
                    .iter()
                    .map(|c| {
                        let default = charset::charset(c.charset)
                            .is_some_and(|cs| cs.default_collation == c.name);
                        vec![
                            Value::from(c.name),
                            Value::from(c.charset),
                            Value::Int(i64::from(c.id)),
                            Value::from(if default { "Yes" } else { "" }),
                            Value::from("Yes"),
                            Value::Int(if c.pad_space { 1 } else { 0 }),
                            Value::from(if c.pad_space { "PAD SPACE" } else { "NO PAD" }),
                        ]
                    })
                    .collect(),
                filter,
            )
        }
        ServerShow::ReplicaStatus { replica } => {
            // MySQL 8 asks for REPLICATION CLIENT (or SUPER); MariaDB for SLAVE MONITOR.
            if let Err(e) = ex.state.require_any_privilege(&[
                Privilege::ReplicationClient,
                Privilege::SlaveMonitor,
                Privilege::Super,
            ]) {
                return ex.send_error(&e);
            }
            let columns = SLAVE_STATUS_COLUMNS
                .iter()
                .map(|name| {
                    if replica {
                        Column::text(&replica_name(name))
                    } else {
                        Column::text(name)
                    }
                })
                .collect();
            (columns, Vec::new(), None)
        }
        ServerShow::MasterStatus => {
            if let Err(e) = ex
                .state
                .require_any_privilege(&[Privilege::ReplicationClient, Privilege::Super])
            {
                return ex.send_error(&e);
            }
            let columns = MASTER_STATUS_COLUMNS
                .iter()
                .map(|name| Column::text(name))
                .collect();
            (columns, Vec::new(), None)
        }
        ServerShow::ProcessList { full } => return super::process::show(full, ex),
    };
    let rows: Vec<Vec<Value>> = match filter {
        Some(Filter::Like(pattern)) => rows
            .into_iter()
            .filter(|row| matches!(&row[0], Value::Text(name) if like(&pattern, name)))
            .collect(),
        _ => rows,
    };
    ex.send_rows(&columns, &rows)
}

/// A `SHOW SLAVE STATUS` column under MySQL 8.0.22's names (`SHOW REPLICA STATUS`).
fn replica_name(slave_name: &str) -> String {
    slave_name
        .replace("Slave", "Replica")
        .replace("Master", "Source")
        .replace("master", "Source")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_names_follow_mysql_8_0_22() {
        let names: Vec<String> = SLAVE_STATUS_COLUMNS
            .iter()
            .map(|n| replica_name(n))
            .collect();
        for expected in [
            "Replica_IO_State",
            "Source_Host",
            "Read_Source_Log_Pos",
            "Relay_Source_Log_File",
            "Seconds_Behind_Source",
            "Replica_SQL_Running_State",
            "Get_Source_public_key",
            "Source_public_key_path",
        ] {
            assert!(names.iter().any(|n| n == expected), "{expected}");
        }
        assert!(
            !names
                .iter()
                .any(|n| n.contains("aster") || n.contains("lave"))
        );
    }
}
