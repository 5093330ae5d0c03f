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

/// `SELECT Variable_name, Value FROM (SELECT VARIABLE_NAME AS Variable_name, VARIABLE_VALUE
/// AS Value FROM performance_schema.<table>) AS v WHERE <condition>`: `SHOW VARIABLES|STATUS
/// WHERE` over the server-computed table storage knows as `performance_schema.<table>`.
pub(super) fn show_where(table: &str, condition: Expr) -> Statement {
    let column = |name: &str| Expr::Identifier(Ident::new(name));
    let renamed = |from: &str, to: &str| SelectItem::ExprWithAlias {
        expr: column(from),
        alias: Ident::new(to),
    };
    let inner = select(
        vec![
            renamed("VARIABLE_NAME", "Variable_name"),
            renamed("VARIABLE_VALUE", "Value"),
        ],
        Some(table_factor(TableFactor::Table {
            name: ObjectName::from(vec![Ident::new("performance_schema"), Ident::new(table)]),
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
        })),
        None,
    );
    let outer = select(
        vec![
            SelectItem::UnnamedExpr(column("Variable_name")),
            SelectItem::UnnamedExpr(column("Value")),
        ],
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
            show_where("session_variables", expr("Variable_name IN ('a', 'b')")).to_string(),
            "SELECT Variable_name, Value FROM (SELECT VARIABLE_NAME AS Variable_name, VARIABLE_VALUE AS Value \
             FROM performance_schema.session_variables) AS v WHERE Variable_name IN ('a', 'b')"
        );
    }
}
