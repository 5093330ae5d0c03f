//! `SHOW`: the forms the server answers itself (variables, status, warnings) and those
//! storage answers from its files (databases, tables, columns, definitions), with `DESCRIBE`.
//!
//! ```text
//! SHOW [GLOBAL|SESSION|LOCAL] {VARIABLES|STATUS} [LIKE 'pattern' | WHERE condition]
//! SHOW {WARNINGS|ERRORS} [LIMIT [offset,] count]
//! SHOW COUNT(*) {WARNINGS|ERRORS}
//! SHOW {DATABASES|SCHEMAS} [LIKE 'pattern']
//! SHOW [FULL] TABLES [{FROM|IN} db] [LIKE 'pattern']
//! SHOW [FULL] {COLUMNS|FIELDS} {FROM|IN} table [{FROM|IN} db] [LIKE 'pattern']
//! SHOW {INDEX|INDEXES|KEYS} {FROM|IN} table [{FROM|IN} db]
//! SHOW TABLE STATUS [{FROM|IN} db] [LIKE 'pattern']
//! SHOW CREATE {TABLE|VIEW} table
//! SHOW CREATE {DATABASE|SCHEMA} db
//! {DESCRIBE|DESC} table [column | 'pattern']
//! EXPLAIN table
//! SHOW [STORAGE] ENGINES
//! SHOW {CHARACTER SET|CHARSET} [LIKE 'pattern' | WHERE condition]
//! SHOW COLLATION [LIKE 'pattern' | WHERE condition]
//! SHOW [FULL] PROCESSLIST
//! SHOW {SLAVE|REPLICA} STATUS [FOR CHANNEL name] | SHOW ALL SLAVES STATUS
//! SHOW {MASTER|BINARY LOG} STATUS
//! ```
//!
//! sqlparser's MySQL dialect reads several of these wrongly (`SHOW LOCAL STATUS LIKE 'x'` and
//! `SHOW WARNINGS` become a variable name; `SHOW CREATE DATABASE` is refused), so they are
//! tlsql's grammar. Any other `SHOW` is left to sqlparser, and storage refuses it.

use std::io;

use sqlparser::tokenizer::Token;

use super::parser::Parser;
use super::query;
use crate::error::SqlError;
use crate::lex::like;
use crate::protocol::value::{Column, Value};
use crate::sql::exchange::{Exchange, Reply};
use crate::storage::{Filter, Show, TableName};

/// A parsed `SHOW`, `DESCRIBE` or `EXPLAIN` of one of the forms above.
#[derive(Clone, Debug)]
pub enum ShowStatement {
    /// `SHOW VARIABLES|STATUS`.
    Variables(ShowVariables),
    /// `SHOW WARNINGS|ERRORS`, `SHOW COUNT(*) WARNINGS|ERRORS`.
    Warnings(ShowWarnings),
    /// One that storage answers.
    Storage(Show),
    /// One the server answers from its own state ([`super::catalog`], [`super::process`]).
    Server(ServerShow),
}

/// A `SHOW` of the server's own state.
#[derive(Clone, Debug)]
pub enum ServerShow {
    /// `SHOW [STORAGE] ENGINES`.
    Engines,
    /// `SHOW CHARACTER SET`.
    Charsets(Option<Filter>),
    /// `SHOW COLLATION`.
    Collations(Option<Filter>),
    /// `SHOW [FULL] PROCESSLIST`.
    ProcessList {
        /// `FULL`: the whole statement, not its first 100 characters.
        full: bool,
    },
    /// `SHOW SLAVE STATUS`, `SHOW REPLICA STATUS` (`replica`: the MySQL 8.0.22 column names),
    /// MariaDB's `SHOW ALL SLAVES STATUS`.
    ReplicaStatus {
        /// Whether `REPLICA` named it.
        replica: bool,
    },
    /// `SHOW MASTER STATUS`, `SHOW BINARY LOG STATUS`.
    MasterStatus,
}

/// `SHOW [GLOBAL] VARIABLES|STATUS`.
#[derive(Clone, Debug)]
pub struct ShowVariables {
    /// `STATUS` rather than `VARIABLES`.
    pub status: bool,
    /// `GLOBAL` was given.
    pub global: bool,
    /// `LIKE` or `WHERE`.
    pub filter: Option<Filter>,
}

/// `SHOW WARNINGS|ERRORS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShowWarnings {
    /// The previous statement's warnings and notes.
    List {
        /// `LIMIT [offset,] count`: the offset and the count.
        limit: Option<(u64, u64)>,
    },
    /// `SHOW COUNT(*) WARNINGS`: how many there are.
    Count,
}

/// Parses a `SHOW`, `DESCRIBE` or `EXPLAIN`; `None` when it is not one of the forms above
/// (sqlparser then parses it).
pub(super) fn parse(p: &mut Parser<'_>) -> Result<Option<ShowStatement>, SqlError> {
    let start = p.pos;
    let statement = if p.keyword("DESCRIBE") || p.keyword("DESC") {
        Some(describe(p)?)
    } else if p.keyword("EXPLAIN") {
        // `EXPLAIN t` describes a table; `EXPLAIN SELECT …` is a plan, which sqlparser parses.
        match p.peek() {
            Some(Token::Word(w)) if w.quote_style.is_none() && !is_statement_keyword(&w.value) => {
                Some(describe(p)?)
            }
            _ => None,
        }
    } else {
        p.expect_keyword("SHOW")?;
        show(p)?
    };
    if statement.is_none() {
        p.pos = start;
    }
    Ok(statement)
}

fn show(p: &mut Parser<'_>) -> Result<Option<ShowStatement>, SqlError> {
    let full = p.keyword("FULL");
    if p.keyword("PROCESSLIST") {
        p.end()?;
        return Ok(Some(ShowStatement::Server(ServerShow::ProcessList {
            full,
        })));
    }
    if !full {
        if let Some(show) = server_show(p)? {
            return Ok(Some(ShowStatement::Server(show)));
        }
        let global = p.keyword("GLOBAL");
        let scoped = global || p.keyword("SESSION") || p.keyword("LOCAL");
        let status = p.keyword("STATUS");
        if status || p.keyword("VARIABLES") {
            let filter = filter(p)?;
            p.end()?;
            return Ok(Some(ShowStatement::Variables(ShowVariables {
                status,
                global,
                filter,
            })));
        }
        if scoped {
            return Ok(None);
        }
        if p.keyword("WARNINGS") || p.keyword("ERRORS") {
            let limit = if p.keyword("LIMIT") {
                let first = number(p)?;
                if p.token(&Token::Comma) {
                    Some((first, number(p)?))
                } else {
                    Some((0, first))
                }
            } else {
                None
            };
            p.end()?;
            return Ok(Some(ShowStatement::Warnings(ShowWarnings::List { limit })));
        }
        if p.keyword("COUNT") {
            p.expect_token(&Token::LParen, "(")?;
            p.expect_token(&Token::Mul, "*")?;
            p.expect_token(&Token::RParen, ")")?;
            if !(p.keyword("WARNINGS") || p.keyword("ERRORS")) {
                return Err(p.error("expected WARNINGS or ERRORS"));
            }
            p.end()?;
            return Ok(Some(ShowStatement::Warnings(ShowWarnings::Count)));
        }
        if p.keyword("DATABASES") || p.keyword("SCHEMAS") {
            let filter = filter(p)?;
            p.end()?;
            return Ok(Some(ShowStatement::Storage(Show::Databases { filter })));
        }
        if p.keyword("CREATE") {
            let show = if p.keyword("TABLE") {
                Show::CreateTable(table_name(p)?)
            } else if p.keyword("VIEW") {
                Show::CreateView(table_name(p)?)
            } else if p.keyword("DATABASE") || p.keyword("SCHEMA") {
                Show::CreateDatabase(p.name("a database name")?)
            } else {
                return Ok(None);
            };
            p.end()?;
            return Ok(Some(ShowStatement::Storage(show)));
        }
    }
    if p.keyword("TABLES") {
        let db = if p.keyword("FROM") || p.keyword("IN") {
            Some(p.name("a database name")?)
        } else {
            None
        };
        let filter = filter(p)?;
        p.end()?;
        return Ok(Some(ShowStatement::Storage(Show::Tables {
            db,
            full,
            filter,
        })));
    }
    if p.keyword("COLUMNS") || p.keyword("FIELDS") {
        if !(p.keyword("FROM") || p.keyword("IN")) {
            return Err(p.error("expected FROM and a table"));
        }
        let mut table = table_name(p)?;
        if p.keyword("FROM") || p.keyword("IN") {
            table.db = Some(p.name("a database name")?);
        }
        let filter = filter(p)?;
        p.end()?;
        return Ok(Some(ShowStatement::Storage(Show::Columns {
            table,
            full,
            filter,
        })));
    }
    if !full && (p.keyword("INDEX") || p.keyword("INDEXES") || p.keyword("KEYS")) {
        if !(p.keyword("FROM") || p.keyword("IN")) {
            return Err(p.error("expected FROM and a table"));
        }
        let mut table = table_name(p)?;
        if p.keyword("FROM") || p.keyword("IN") {
            table.db = Some(p.name("a database name")?);
        }
        p.end()?;
        return Ok(Some(ShowStatement::Storage(Show::Index(table))));
    }
    if !full && p.keywords(&["TABLE", "STATUS"]) {
        let db = if p.keyword("FROM") || p.keyword("IN") {
            Some(p.name("a database name")?)
        } else {
            None
        };
        let filter = filter(p)?;
        p.end()?;
        return Ok(Some(ShowStatement::Storage(Show::TableStatus {
            db,
            filter,
        })));
    }
    Ok(None)
}

/// The `SHOW`s of the server's own state but `PROCESSLIST`; `None` (nothing consumed) for
/// others.
fn server_show(p: &mut Parser<'_>) -> Result<Option<ServerShow>, SqlError> {
    let show = if p.keyword("ENGINES") || p.keywords(&["STORAGE", "ENGINES"]) {
        ServerShow::Engines
    } else if p.keywords(&["CHARACTER", "SET"]) || p.keyword("CHARSET") {
        ServerShow::Charsets(filter(p)?)
    } else if p.keyword("COLLATION") {
        ServerShow::Collations(filter(p)?)
    } else if p.keywords(&["SLAVE", "STATUS"]) || p.keywords(&["ALL", "SLAVES", "STATUS"]) {
        channel(p)?;
        ServerShow::ReplicaStatus { replica: false }
    } else if p.keywords(&["REPLICA", "STATUS"]) {
        channel(p)?;
        ServerShow::ReplicaStatus { replica: true }
    } else if p.keywords(&["MASTER", "STATUS"]) || p.keywords(&["BINARY", "LOG", "STATUS"]) {
        ServerShow::MasterStatus
    } else {
        return Ok(None);
    };
    p.end()?;
    Ok(Some(show))
}

/// An optional `FOR CHANNEL name`: there is no channel to show, whichever is named.
fn channel(p: &mut Parser<'_>) -> Result<(), SqlError> {
    if p.keywords(&["FOR", "CHANNEL"]) {
        match p.peek() {
            Some(Token::SingleQuotedString(_) | Token::DoubleQuotedString(_)) => {
                p.advance();
            }
            _ => {
                p.name("a channel name")?;
            }
        }
    }
    Ok(())
}

/// An optional `LIKE 'pattern'` or `WHERE condition`.
fn filter(p: &mut Parser<'_>) -> Result<Option<Filter>, SqlError> {
    Ok(if p.keyword("LIKE") {
        Some(Filter::Like(p.string("the LIKE pattern")?))
    } else if p.keyword("WHERE") {
        Some(Filter::Where(Box::new(p.expr()?)))
    } else {
        None
    })
}

/// The table of `DESCRIBE`/`EXPLAIN`, and the optional column name or pattern after it.
fn describe(p: &mut Parser<'_>) -> Result<ShowStatement, SqlError> {
    let table = table_name(p)?;
    let pattern = match p.peek() {
        Some(Token::SingleQuotedString(s) | Token::DoubleQuotedString(s)) => {
            let s = s.clone();
            p.advance();
            Some(s)
        }
        Some(Token::Word(_)) => Some(p.name("a column name")?),
        _ => None,
    };
    p.end()?;
    Ok(ShowStatement::Storage(Show::Columns {
        table,
        full: false,
        filter: pattern.map(Filter::Like),
    }))
}

/// Words after `EXPLAIN` that start a statement (whose plan is asked for), not a table.
fn is_statement_keyword(word: &str) -> bool {
    [
        "SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE", "WITH", "FORMAT", "ANALYZE", "TABLE",
    ]
    .iter()
    .any(|k| k.eq_ignore_ascii_case(word))
}

/// `t` or `db.t`.
fn table_name(p: &mut Parser<'_>) -> Result<TableName, SqlError> {
    let first = p.name("a table name")?;
    if p.token(&Token::Period) {
        let table = p.name("a table name")?;
        return Ok(TableName {
            db: Some(first),
            table,
        });
    }
    Ok(TableName {
        db: None,
        table: first,
    })
}

/// A non-negative whole number.
fn number(p: &mut Parser<'_>) -> Result<u64, SqlError> {
    match p.peek() {
        Some(Token::Number(n, _)) => {
            let n = n.parse().map_err(|_| p.error("expected a whole number"))?;
            p.advance();
            Ok(n)
        }
        _ => Err(p.error("expected a whole number")),
    }
}

impl ShowVariables {
    /// Sends the variables or status rows the filter keeps.
    pub(crate) fn execute(self, ex: &mut Exchange<'_>) -> io::Result<()> {
        let rows = if self.status {
            ex.state.status_rows(self.global)
        } else {
            ex.state.variable_rows(self.global)
        };
        let keep: Box<dyn Fn(&str) -> bool> = match self.filter {
            None => Box::new(|_| true),
            Some(Filter::Like(pattern)) => Box::new(move |name| like(&pattern, name)),
            Some(Filter::Where(condition)) => {
                // The condition can be any expression over the two columns: storage evaluates
                // it over the same rows, served as a virtual table.
                let table = match (self.status, self.global) {
                    (true, true) => "global_status",
                    (true, false) => "session_status",
                    (false, true) => "global_variables",
                    (false, false) => "session_variables",
                };
                let statement = query::show_where(
                    "performance_schema",
                    table,
                    &[
                        ("VARIABLE_NAME", "Variable_name"),
                        ("VARIABLE_VALUE", "Value"),
                    ],
                    *condition,
                );
                return ex.in_storage(|engine, ctx, sink| engine.execute(statement, ctx, sink));
            }
        };
        let rows: Vec<Vec<Value>> = rows
            .into_iter()
            .filter(|(name, _)| keep(name))
            .map(|(name, value)| vec![Value::Text(name), value])
            .collect();
        ex.send_rows(
            &[Column::text("Variable_name"), Column::text("Value")],
            &rows,
        )
    }
}

impl ShowWarnings {
    /// Lists or counts the previous statement's warnings.
    pub(crate) fn execute(self, ex: &mut Exchange<'_>) -> Result<Reply, SqlError> {
        let warnings = &ex.state.warnings;
        let (columns, rows) = match self {
            ShowWarnings::Count => (
                vec![Column::int("@@session.warning_count")],
                vec![vec![Value::Int(
                    i64::try_from(warnings.len()).unwrap_or(i64::MAX),
                )]],
            ),
            ShowWarnings::List { limit } => {
                let (offset, count) = limit.unwrap_or((0, u64::MAX));
                let offset = usize::try_from(offset).unwrap_or(usize::MAX);
                let count = usize::try_from(count).unwrap_or(usize::MAX);
                (
                    vec![
                        Column::text("Level"),
                        Column::int("Code"),
                        Column::text("Message"),
                    ],
                    warnings
                        .iter()
                        .skip(offset)
                        .take(count)
                        .map(|w| {
                            vec![
                                Value::Text("Warning".into()),
                                Value::Int(i64::from(w.code())),
                                Value::Text(w.message.clone()),
                            ]
                        })
                        .collect(),
                )
            }
        };
        Ok(Reply::Rows { columns, rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::tokenize;

    fn parsed(sql: &str) -> Option<ShowStatement> {
        let source = tokenize(sql).unwrap();
        parse(&mut Parser::new(&source)).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    fn storage_show(sql: &str) -> Show {
        match parsed(sql) {
            Some(ShowStatement::Storage(show)) => show,
            other => panic!("{sql}: {other:?}"),
        }
    }

    fn name(db: Option<&str>, table: &str) -> TableName {
        TableName {
            db: db.map(str::to_string),
            table: table.into(),
        }
    }

    #[test]
    fn storage_shows() {
        assert_eq!(
            storage_show("SHOW SCHEMAS LIKE 'a%'"),
            Show::Databases {
                filter: Some(Filter::Like("a%".into()))
            }
        );
        assert_eq!(
            storage_show("show full tables in shop like \"i%\";"),
            Show::Tables {
                db: Some("shop".into()),
                full: true,
                filter: Some(Filter::Like("i%".into()))
            }
        );
        match storage_show("SHOW FULL TABLES WHERE Table_type = 'VIEW'") {
            Show::Tables {
                db: None,
                full: true,
                filter: Some(Filter::Where(e)),
            } => assert_eq!(e.to_string(), "Table_type = 'VIEW'"),
            other => panic!("{other:?}"),
        }
        match storage_show("SHOW FULL COLUMNS FROM t WHERE `Key` = 'PRI'") {
            Show::Columns {
                full: true,
                filter: Some(Filter::Where(e)),
                ..
            } => assert_eq!(e.to_string(), "`Key` = 'PRI'"),
            other => panic!("{other:?}"),
        }
        match storage_show("SHOW TABLE STATUS FROM shop WHERE Rows > 0") {
            Show::TableStatus {
                db: Some(db),
                filter: Some(Filter::Where(e)),
            } => assert_eq!((db.as_str(), e.to_string().as_str()), ("shop", "Rows > 0")),
            other => panic!("{other:?}"),
        }
        match storage_show("SHOW DATABASES WHERE `Database` LIKE 'a%'") {
            Show::Databases {
                filter: Some(Filter::Where(e)),
            } => assert_eq!(e.to_string(), "`Database` LIKE 'a%'"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            storage_show("SHOW FIELDS FROM t FROM `my db` LIKE 'p'"),
            Show::Columns {
                table: name(Some("my db"), "t"),
                full: false,
                filter: Some(Filter::Like("p".into()))
            }
        );
        assert_eq!(
            storage_show("DESC shop.items"),
            Show::Columns {
                table: name(Some("shop"), "items"),
                full: false,
                filter: None
            }
        );
        assert_eq!(
            storage_show("EXPLAIN items name"),
            Show::Columns {
                table: name(None, "items"),
                full: false,
                filter: Some(Filter::Like("name".into()))
            }
        );
        assert_eq!(
            storage_show("SHOW CREATE SCHEMA shop"),
            Show::CreateDatabase("shop".into())
        );
        assert_eq!(
            storage_show("SHOW CREATE TABLE shop.items"),
            Show::CreateTable(name(Some("shop"), "items"))
        );
        assert_eq!(
            storage_show("SHOW FULL COLUMNS FROM t"),
            Show::Columns {
                table: name(None, "t"),
                full: true,
                filter: None
            }
        );
        assert_eq!(
            storage_show("SHOW KEYS IN t FROM shop"),
            Show::Index(name(Some("shop"), "t"))
        );
        assert_eq!(
            storage_show("SHOW TABLE STATUS LIKE 'i%'"),
            Show::TableStatus {
                db: None,
                filter: Some(Filter::Like("i%".into()))
            }
        );
        assert_eq!(
            storage_show("SHOW CREATE VIEW v"),
            Show::CreateView(name(None, "v"))
        );
    }

    #[test]
    fn server_shows() {
        match parsed("SHOW LOCAL STATUS LIKE 'Ssl%'") {
            Some(ShowStatement::Variables(ShowVariables {
                status: true,
                global: false,
                filter: Some(Filter::Like(p)),
            })) => assert_eq!(p, "Ssl%"),
            other => panic!("{other:?}"),
        }
        match parsed("SHOW GLOBAL VARIABLES WHERE Variable_name IN ('a', 'b')") {
            Some(ShowStatement::Variables(ShowVariables {
                status: false,
                global: true,
                filter: Some(Filter::Where(e)),
            })) => assert_eq!(e.to_string(), "Variable_name IN ('a', 'b')"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parsed("SHOW WARNINGS LIMIT 2, 5"),
            Some(ShowStatement::Warnings(ShowWarnings::List {
                limit: Some((2, 5))
            }))
        ));
        assert!(matches!(
            parsed("SHOW COUNT( * ) ERRORS"),
            Some(ShowStatement::Warnings(ShowWarnings::Count))
        ));
    }

    #[test]
    fn server_state_shows() {
        let server = |sql: &str| match parsed(sql) {
            Some(ShowStatement::Server(show)) => show,
            other => panic!("{sql}: {other:?}"),
        };
        assert!(matches!(server("SHOW ENGINES"), ServerShow::Engines));
        assert!(matches!(
            server("show storage engines;"),
            ServerShow::Engines
        ));
        assert!(matches!(
            server("SHOW CHARSET LIKE 'utf8%'"),
            ServerShow::Charsets(Some(Filter::Like(p))) if p == "utf8%"
        ));
        assert!(matches!(
            server("SHOW CHARACTER SET WHERE Maxlen > 1"),
            ServerShow::Charsets(Some(Filter::Where(_)))
        ));
        assert!(matches!(
            server("SHOW COLLATION"),
            ServerShow::Collations(None)
        ));
        assert!(matches!(
            server("SHOW PROCESSLIST"),
            ServerShow::ProcessList { full: false }
        ));
        assert!(matches!(
            server("SHOW FULL PROCESSLIST"),
            ServerShow::ProcessList { full: true }
        ));
        for (sql, replica) in [
            ("SHOW SLAVE STATUS", false),
            ("SHOW ALL SLAVES STATUS", false),
            ("SHOW REPLICA STATUS FOR CHANNEL ''", true),
        ] {
            assert!(
                matches!(server(sql), ServerShow::ReplicaStatus { replica: r } if r == replica),
                "{sql}"
            );
        }
        assert!(matches!(
            server("SHOW BINARY LOG STATUS"),
            ServerShow::MasterStatus
        ));
    }

    #[test]
    fn other_shows_are_left_to_sqlparser() {
        for sql in ["SHOW GLOBAL PRIVILEGES", "EXPLAIN SELECT 1", "EXPLAIN `t`"] {
            assert!(parsed(sql).is_none(), "{sql}");
        }
    }

    #[test]
    fn malformed_shows_are_syntax_errors() {
        for sql in [
            "SHOW VARIABLES LIKE x",
            "SHOW TABLES LIKE 'a' extra",
            "SHOW COLUMNS t",
            "SHOW DATABASES WHERE",
            "SHOW TABLES WHERE 1 extra",
            "DESCRIBE",
            "SHOW WARNINGS LIMIT x",
        ] {
            let source = tokenize(sql).unwrap();
            let e = parse(&mut Parser::new(&source)).unwrap_err();
            assert_eq!(e.code(), 1064, "{sql}: {e}");
        }
    }
}
