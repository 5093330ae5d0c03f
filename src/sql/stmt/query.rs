//! Queries the server builds to have storage evaluate something for it: a `SET` value, a
//! `SHOW … WHERE` condition. They are built as sqlparser's AST around the expression the client
//! sent, already parsed, so no SQL text is made and parsed again.

use sqlparser::ast::helpers::attached_token::AttachedToken;
use sqlparser::ast::{
    Expr, GroupByExpr, Ident, ObjectName, Query, Select, SelectFlavor, SelectItem, SetExpr,
    Statement, TableAlias, TableFactor, TableWithJoins,
};

/// `SELECT <expr>`.
pub(super) fn select_value(expr: Expr) -> Statement {
    Statement::Query(Box::new(query(select(
        vec![SelectItem::UnnamedExpr(expr)],
        None,
        None,
    ))))
}

/// `SELECT 1 FROM <db>.<table> WHERE FALSE`: whether the table exists (storage's 1146
/// if not), reading nothing.
pub(super) fn select_nothing_from(db: &str, table: &str) -> Statement {
    Statement::Query(Box::new(query(select(
        vec![SelectItem::UnnamedExpr(Expr::value(
            sqlparser::ast::Value::Number("1".into(), false),
        ))],
        Some(named_table(db, table)),
        Some(Expr::value(sqlparser::ast::Value::Boolean(false))),
    ))))
}

/// `SELECT <shown>… FROM (SELECT <column> AS <shown>, … FROM <schema>.<table>) AS v WHERE
/// <condition>`: a `SHOW … WHERE` (`VARIABLES`, `STATUS`, `CHARACTER SET`, `COLLATION`) over
/// the server-computed table storage knows as `<schema>.<table>`, whose `columns` are shown
/// under other names.
pub(super) fn show_where(
    schema: &str,
    table: &str,
    columns: &[(&str, &str)],
    condition: Expr,
) -> Statement {
    let column = |name: &str| Expr::Identifier(Ident::new(name));
    // Shown names may hold spaces (`Default collation`).
    let shown = |name: &str| Ident::with_quote('`', name);
    let renamed = |from: &str, to: &str| SelectItem::ExprWithAlias {
        expr: column(from),
        alias: shown(to),
    };
    let inner = select(
        columns.iter().map(|(from, to)| renamed(from, to)).collect(),
        Some(named_table(schema, table)),
        None,
    );
    let outer = select(
        columns
            .iter()
            .map(|(_, name)| SelectItem::UnnamedExpr(Expr::Identifier(shown(name))))
            .collect(),
        Some(table_factor(TableFactor::Derived {
            lateral: false,
            subquery: Box::new(query(inner)),
            alias: Some(TableAlias {
                explicit: true,
                name: Ident::new("v"),
                columns: Vec::new(),
                at: None,
            }),
            sample: None,
        })),
        Some(condition),
    );
    Statement::Query(Box::new(query(outer)))
}

/// For a `SELECT SQL_CALC_FOUND_ROWS …`: `SELECT COUNT(*) FROM (<the query without its
/// modifiers, ORDER BY and LIMIT>) AS found`, the rows `FOUND_ROWS()` then reports.
pub(super) fn found_rows_count(statement: &Statement) -> Option<Statement> {
    let Statement::Query(q) = statement else {
        return None;
    };
    let SetExpr::Select(body) = q.body.as_ref() else {
        return None;
    };
    if !body
        .select_modifiers
        .as_ref()
        .is_some_and(|m| m.sql_calc_found_rows)
    {
        return None;
    }
    let mut inner = Query::clone(q);
    inner.limit_clause = None;
    inner.order_by = None;
    if let SetExpr::Select(s) = inner.body.as_mut() {
        s.select_modifiers = None;
    }
    let count = Expr::Function(sqlparser::ast::Function {
        name: ObjectName::from(vec![Ident::new("COUNT")]),
        uses_odbc_syntax: false,
        parameters: sqlparser::ast::FunctionArguments::None,
        args: sqlparser::ast::FunctionArguments::List(sqlparser::ast::FunctionArgumentList {
            duplicate_treatment: None,
            args: vec![sqlparser::ast::FunctionArg::Unnamed(
                sqlparser::ast::FunctionArgExpr::Wildcard,
            )],
            clauses: Vec::new(),
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: Vec::new(),
    });
    let outer = select(
        vec![SelectItem::UnnamedExpr(count)],
        Some(table_factor(TableFactor::Derived {
            lateral: false,
            subquery: Box::new(inner),
            alias: Some(TableAlias {
                explicit: true,
                name: Ident::new("found"),
                columns: Vec::new(),
                at: None,
            }),
            sample: None,
        })),
        None,
    );
    Some(Statement::Query(Box::new(query(outer))))
}

/// `<schema>.<table>` in a `FROM`.
fn named_table(schema: &str, table: &str) -> TableWithJoins {
    table_factor(TableFactor::Table {
        name: ObjectName::from(vec![Ident::new(schema), Ident::new(table)]),
        alias: None,
        args: None,
        with_hints: Vec::new(),
        version: None,
        with_ordinality: false,
        partitions: Vec::new(),
        json_path: None,
        sample: None,
        index_directives: Vec::new(),
        inheritance: None,
    })
}

fn table_factor(relation: TableFactor) -> TableWithJoins {
    TableWithJoins {
        relation,
        joins: Vec::new(),
    }
}

fn select(
    projection: Vec<SelectItem>,
    from: Option<TableWithJoins>,
    selection: Option<Expr>,
) -> Select {
    Select {
        select_token: AttachedToken::empty(),
        optimizer_hints: Vec::new(),
        distinct: None,
        select_modifiers: None,
        top: None,
        top_before_distinct: false,
        projection,
        exclude: None,
        into: None,
        from: from.into_iter().collect(),
        lateral_views: Vec::new(),
        prewhere: None,
        selection,
        connect_by: Vec::new(),
        group_by: GroupByExpr::Expressions(Vec::new(), Vec::new()),
        cluster_by: Vec::new(),
        distribute_by: Vec::new(),
        sort_by: Vec::new(),
        having: None,
        named_window: Vec::new(),
        qualify: None,
        window_before_qualify: false,
        value_table_mode: None,
        flavor: SelectFlavor::Standard,
    }
}

fn query(select: Select) -> Query {
    Query {
        with: None,
        body: Box::new(SetExpr::Select(Box::new(select))),
        order_by: None,
        limit_clause: None,
        fetch: None,
        locks: Vec::new(),
        for_clause: None,
        settings: None,
        format_clause: None,
        pipe_operators: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::tokenize;
    use crate::sql::stmt::parser::Parser;

    fn expr(sql: &str) -> Expr {
        let source = tokenize(sql).unwrap();
        Parser::new(&source).expr().unwrap()
    }

    #[test]
    fn built_queries_read_as_the_sql_they_stand_for() {
        assert_eq!(select_value(expr("1 + @x")).to_string(), "SELECT 1 + @x");
        assert_eq!(
            show_where(
                "performance_schema",
                "session_variables",
                &[
                    ("VARIABLE_NAME", "Variable_name"),
                    ("VARIABLE_VALUE", "Value")
                ],
                expr("Variable_name IN ('a', 'b')")
            )
            .to_string(),
            "SELECT `Variable_name`, `Value` FROM (SELECT VARIABLE_NAME AS `Variable_name`, VARIABLE_VALUE AS `Value` \
             FROM performance_schema.session_variables) AS v WHERE Variable_name IN ('a', 'b')"
        );
    }
}
