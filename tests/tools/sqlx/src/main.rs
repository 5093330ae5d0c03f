//! sqlx 0.8 with its default connect options against one endpoint (TOOLS_* environment, see
//! tests/tools/run.sh): connect with `ssl-mode=VERIFY_IDENTITY`, write and read back through
//! bound parameters, and check that the session setup sqlx sends at connect was applied in
//! full (`time_zone` and the `sql_mode` additions), not only accepted.

use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
use sqlx::{ConnectOptions, Connection, Row};

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = env("TOOLS_PORT")?.parse()?;
    let options = MySqlConnectOptions::new()
        .host(&env("TOOLS_HOST")?)
        .port(port)
        .username(&env("TOOLS_USER")?)
        .password(&env("TOOLS_PASSWORD")?)
        .ssl_mode(MySqlSslMode::VerifyIdentity)
        .ssl_ca(env("TOOLS_CA")?);
    let mut conn = options.connect().await?;

    let tls: (String, String) = sqlx::query_as("SHOW SESSION STATUS LIKE 'Ssl_version'")
        .fetch_one(&mut conn)
        .await?;
    assert!(tls.1.starts_with("TLSv1."), "not TLS: {tls:?}");

    // What sqlx's connect set: the time zone it asked for, and PIPES_AS_CONCAT.
    let row = sqlx::query("SELECT @@time_zone, @@sql_mode").fetch_one(&mut conn).await?;
    let time_zone: String = row.try_get(0)?;
    let sql_mode: String = row.try_get(1)?;
    assert_eq!(time_zone, "+00:00", "time_zone set at connect was not applied");
    assert!(sql_mode.contains("PIPES_AS_CONCAT"), "sql_mode set at connect was not applied: {sql_mode}");

    sqlx::query("DROP DATABASE IF EXISTS tools_sqlx").execute(&mut conn).await?;
    sqlx::query("CREATE DATABASE tools_sqlx").execute(&mut conn).await?;
    sqlx::query(
        "CREATE TABLE tools_sqlx.item (id INT AUTO_INCREMENT PRIMARY KEY, \
         name VARCHAR(50) NOT NULL, data BLOB, price DECIMAL(10,2))",
    )
    .execute(&mut conn)
    .await?;
    let mut tx = conn.begin().await?;
    for (name, data) in [("é ü 日本", &b"a\0b"[..]), ("plain", &b"\xff\x00\x27"[..])] {
        let done = sqlx::query("INSERT INTO tools_sqlx.item (name, data, price) VALUES (?, ?, ?)")
            .bind(name)
            .bind(data)
            .bind("12.50")
            .execute(&mut *tx)
            .await?;
        assert_eq!(done.rows_affected(), 1);
    }
    tx.commit().await?;
    let rows: Vec<(i32, String, Vec<u8>)> =
        sqlx::query_as("SELECT id, name, data FROM tools_sqlx.item WHERE price > ? ORDER BY id")
            .bind(10)
            .fetch_all(&mut conn)
            .await?;
    assert_eq!(
        rows,
        vec![
            (1, "é ü 日本".to_string(), b"a\0b".to_vec()),
            (2, "plain".to_string(), b"\xff\x00\x27".to_vec()),
        ]
    );
    sqlx::query("DROP DATABASE tools_sqlx").execute(&mut conn).await?;
    conn.close().await?;
    println!("sqlx: connected ({}), time_zone {time_zone}, 2 rows written and read back", tls.1);
    Ok(())
}
