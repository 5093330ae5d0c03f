//! Protocol, SQL, accounts, limits and persistence through real clients.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use mysql::prelude::Queryable;

use crate::util::TestServer;
use crate::util::raw::RawClient;

fn server_error(e: mysql::Error) -> (u16, String) {
    match e {
        mysql::Error::MySqlError(e) => (e.code, e.message),
        other => panic!("expected a server error, got {other}"),
    }
}

#[test]
fn root_creates_writes_and_reads_back() {
    let server = TestServer::start();
    let mut c = server.root();
    c.query_drop("CREATE DATABASE shop").unwrap();
    c.query_drop("USE shop").unwrap();
    c.query_drop(
        "CREATE TABLE `items` (id INT NOT NULL AUTO_INCREMENT, name VARCHAR(40) NOT NULL, price DECIMAL(8,2), PRIMARY KEY (id), KEY by_name (name)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    )
    .unwrap();
    c.exec_drop(
        "INSERT INTO items (name, price) VALUES (?, ?), (?, ?)",
        ("tea", "3.50", "it's", "1.25"),
    )
    .unwrap();
    assert_eq!(
        c.last_insert_id(),
        1,
        "LAST_INSERT_ID is the first id of a multi-row insert"
    );
    let rows: Vec<(u32, String)> = c
        .query("SELECT id, name FROM items ORDER BY id LIMIT 0, 10")
        .unwrap();
    assert_eq!(rows, vec![(1, "tea".to_string()), (2, "it's".to_string())]);
    let names: Vec<String> = c
        .exec("SELECT name FROM items WHERE price < ?", (2,))
        .unwrap();
    assert_eq!(names, vec!["it's".to_string()]);
    // IF NOT EXISTS turns the error into a note that SHOW WARNINGS reports.
    c.query_drop("CREATE TABLE IF NOT EXISTS items (id INT)")
        .unwrap();
    assert_eq!(c.warnings(), 1);
    let warnings: Vec<(String, u16, String)> = c.query("SHOW WARNINGS").unwrap();
    assert_eq!(
        warnings,
        vec![(
            "Warning".to_string(),
            1050,
            "Table 'items' already exists".to_string()
        )]
    );
    let (db, user, current): (String, String, String) = c
        .query_first("SELECT DATABASE(), USER(), CURRENT_USER()")
        .unwrap()
        .unwrap();
    assert_eq!(
        (db.as_str(), user.as_str(), current.as_str()),
        ("shop", "root@127.0.0.1", "root@127.0.0.1")
    );
}

#[test]
fn alter_table_changes_the_table_and_its_shown_definition() {
    let server = TestServer::start();
    let mut c = server.root();
    c.query_drop("CREATE DATABASE shop").unwrap();
    c.query_drop("USE shop").unwrap();
    c.query_drop(
        "CREATE TABLE items (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL)",
    )
    .unwrap();
    c.query_drop("INSERT INTO items (name) VALUES ('tea'), ('coffee')")
        .unwrap();

    c.query_drop(
        "ALTER TABLE items ADD COLUMN price DECIMAL(8,2) NOT NULL DEFAULT 1.5, ADD stock INT",
    )
    .unwrap();
    c.query_drop("ALTER TABLE items ADD INDEX by_price (price), ADD UNIQUE KEY by_name (name)")
        .unwrap();
    assert_eq!(
        server_error(
            c.query_drop("INSERT INTO items (name) VALUES ('tea')")
                .unwrap_err()
        )
        .0,
        1062,
        "the added unique key holds"
    );
    let rows: Vec<(u32, String, String, Option<i64>)> =
        c.query("SELECT * FROM items ORDER BY id").unwrap();
    assert_eq!(
        rows,
        vec![
            (1, "tea".into(), "1.50".into(), None),
            (2, "coffee".into(), "1.50".into(), None)
        ],
        "existing rows get the new column's default"
    );
    c.query_drop("ALTER TABLE items RENAME COLUMN name TO title, DROP COLUMN stock")
        .unwrap();
    let columns: Vec<String> = c
        .query_map("SHOW COLUMNS FROM items", |row: mysql::Row| {
            row.get::<String, _>(0).unwrap()
        })
        .unwrap();
    assert_eq!(columns, vec!["id", "title", "price"]);
    let (_, create): (String, String) = c.query_first("SHOW CREATE TABLE items").unwrap().unwrap();
    assert!(create.contains("`title` VARCHAR(40) NOT NULL"), "{create}");
    assert!(create.contains("`price` DECIMAL(8,2)"), "{create}");
    assert!(create.contains("INDEX by_price (price)"), "{create}");
    assert!(create.contains("UNIQUE KEY by_name (title)"), "{create}");
    assert!(!create.contains("stock"), "{create}");

    // Refusals leave the table as it was: nothing of a failing statement is applied.
    for (sql, code, text) in [
        (
            "ALTER TABLE items ADD price INT",
            1060,
            "Duplicate column name 'price'",
        ),
        (
            "ALTER TABLE items DROP COLUMN nope",
            1091,
            "Can't DROP 'nope'; check that column/key exists",
        ),
        (
            "ALTER TABLE items ADD INDEX by_price (title)",
            1061,
            "Duplicate key name 'by_price'",
        ),
        (
            "ALTER TABLE items RENAME COLUMN nope TO x",
            1054,
            "Unknown column 'nope' in 'items'",
        ),
        (
            "ALTER TABLE nope ADD c INT",
            1146,
            "Table 'shop.nope' doesn't exist",
        ),
        (
            "ALTER TABLE items ADD c INT, MODIFY title TEXT",
            1235,
            "This version of tlsql doesn't yet support 'ALTER TABLE … MODIFY COLUMN title TEXT'",
        ),
        (
            "ALTER TABLE items ADD c INT NOT NULL",
            1235,
            "This version of tlsql doesn't yet support 'ALTER TABLE … ADD COLUMN … NOT NULL without DEFAULT (existing rows need a value: give a DEFAULT)'",
        ),
        (
            "ALTER TABLE items DROP COLUMN price",
            1235,
            "This version of tlsql doesn't yet support 'ALTER TABLE … DROP COLUMN of `price`, which a key or index uses (drop the index first)'",
        ),
    ] {
        let (got_code, got_text) = server_error(c.query_drop(sql).unwrap_err());
        assert_eq!((got_code, got_text.as_str()), (code, text), "{sql}");
    }
    let columns: Vec<String> = c
        .query_map("SHOW COLUMNS FROM items", |row: mysql::Row| {
            row.get::<String, _>(0).unwrap()
        })
        .unwrap();
    assert_eq!(
        columns,
        vec!["id", "title", "price"],
        "no refused statement changed the table"
    );

    c.query_drop("ALTER TABLE items DROP INDEX by_price, DROP INDEX by_name, DROP COLUMN price")
        .unwrap();
    c.query_drop("ALTER TABLE items RENAME TO goods").unwrap();
    let titles: Vec<String> = c.query("SELECT title FROM goods ORDER BY id").unwrap();
    assert_eq!(titles, vec!["tea", "coffee"]);
    let (_, create): (String, String) = c.query_first("SHOW CREATE TABLE goods").unwrap().unwrap();
    assert!(create.starts_with("CREATE TABLE `goods`"), "{create}");
    assert!(!create.contains("price"), "{create}");
    assert_eq!(
        server_error(c.query_drop("SELECT * FROM items").unwrap_err()).0,
        1146
    );
}

#[test]
fn multi_statement_queries_return_every_result_and_stop_at_the_first_error() {
    let server = TestServer::start();
    let mut c = server.root();
    let mut sets: Vec<Vec<String>> = Vec::new();
    let mut affected = Vec::new();
    {
        let mut result = c
            .query_iter(
                "CREATE DATABASE m; USE m; CREATE TABLE t (a VARCHAR(10)); \
                 INSERT INTO t VALUES ('x;y'), ('z'); SELECT a FROM t ORDER BY a; \
                 SELECT COUNT(*) FROM t; -- a trailing comment",
            )
            .unwrap();
        while let Some(set) = result.iter() {
            affected.push(set.affected_rows());
            let rows: Vec<String> = set
                .map(|row| mysql::from_row::<String>(row.unwrap()))
                .collect();
            sets.push(rows);
        }
    }
    assert_eq!(
        affected,
        vec![1, 0, 0, 2, 0, 0],
        "one response per statement"
    );
    assert_eq!(sets[4], vec!["x;y", "z"], "a semicolon in a string is data");
    assert_eq!(sets[5], vec!["2"]);

    // The failing statement's error ends the query: the statement after it does not run.
    let err = {
        let mut result = c
            .query_iter("INSERT INTO t VALUES ('before'); SELECT * FROM nope; INSERT INTO t VALUES ('after')")
            .unwrap();
        let mut err = None;
        while let Some(set) = result.iter() {
            for row in set {
                if let Err(e) = row {
                    err = Some(e);
                }
            }
        }
        err
    };
    let (code, _) = server_error(err.expect("the missing table is reported within the query"));
    assert_eq!(code, 1146);
    let rows: Vec<String> = c.query("SELECT a FROM t ORDER BY a").unwrap();
    assert_eq!(
        rows,
        vec!["before", "x;y", "z"],
        "nothing ran after the error"
    );
}

#[test]
fn character_columns_compare_without_case_unless_binary() {
    let server = TestServer::start();
    let mut c = server.root();
    c.query_drop("CREATE DATABASE people").unwrap();
    c.query_drop("USE people").unwrap();
    c.query_drop(
        "CREATE TABLE p (name VARCHAR(20) UNIQUE, code VARCHAR(20) COLLATE utf8mb4_bin, raw VARBINARY(20))",
    )
    .unwrap();
    c.query_drop("INSERT INTO p VALUES ('Alice', 'Ab', 'Ab'), ('bob', 'ab', 'ab')")
        .unwrap();
    let found: Vec<String> = c.query("SELECT name FROM p WHERE name = 'ALICE'").unwrap();
    assert_eq!(found, vec!["Alice"], "as MySQL's default _ci collations");
    let ordered: Vec<String> = c.query("SELECT name FROM p ORDER BY name").unwrap();
    assert_eq!(ordered, vec!["Alice", "bob"]);
    let (code, _) = server_error(
        c.query_drop("INSERT INTO p VALUES ('alice', 'x', 'x')")
            .unwrap_err(),
    );
    assert_eq!(code, 1062, "a unique key ignores case too");
    let binary: Vec<String> = c.query("SELECT code FROM p WHERE code = 'AB'").unwrap();
    assert!(binary.is_empty(), "a _bin collation keeps case: {binary:?}");
    let raw: Vec<String> = c.query("SELECT name FROM p WHERE raw = 'ab'").unwrap();
    assert_eq!(raw, vec!["bob"], "binary strings keep case");
}

#[test]
fn information_schema_describes_what_the_session_may_see() {
    let server = TestServer::start();
    let mut root = server.root();
    root.query_drop("CREATE DATABASE shop").unwrap();
    root.query_drop("CREATE DATABASE secret").unwrap();
    root.query_drop(
        "CREATE TABLE shop.items (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL DEFAULT 'x', price DECIMAL(8,2), sku VARCHAR(10) UNIQUE, KEY by_price (price))",
    )
    .unwrap();
    root.query_drop("CREATE TABLE secret.keys (k TEXT)")
        .unwrap();
    root.query_drop("CREATE USER clerk IDENTIFIED BY 'pw'")
        .unwrap();
    root.query_drop("GRANT SELECT ON shop.* TO clerk").unwrap();

    let columns: Vec<Vec<Option<String>>> = root
        .query_map(
            "SELECT COLUMN_NAME, ORDINAL_POSITION, COLUMN_DEFAULT, IS_NULLABLE, DATA_TYPE, COLUMN_TYPE, COLUMN_KEY, EXTRA \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = 'items' ORDER BY ORDINAL_POSITION",
            |row: mysql::Row| {
                row.unwrap()
                    .into_iter()
                    .map(mysql::from_value::<Option<String>>)
                    .collect()
            },
        )
        .unwrap();
    let expected = [
        [
            Some("id"),
            Some("1"),
            None,
            Some("NO"),
            Some("int"),
            Some("int"),
            Some("PRI"),
            Some("auto_increment"),
        ],
        [
            Some("name"),
            Some("2"),
            Some("x"),
            Some("NO"),
            Some("varchar"),
            Some("varchar(40)"),
            Some(""),
            Some(""),
        ],
        [
            Some("price"),
            Some("3"),
            None,
            Some("YES"),
            Some("decimal"),
            Some("decimal(8,2)"),
            Some("MUL"),
            Some(""),
        ],
        [
            Some("sku"),
            Some("4"),
            None,
            Some("YES"),
            Some("varchar"),
            Some("varchar(10)"),
            Some("UNI"),
            Some(""),
        ],
    ]
    .map(|r| r.map(|v| v.map(str::to_string)).to_vec())
    .to_vec();
    assert_eq!(columns, expected);

    let opts = server.opts("clerk", "pw");
    let mut clerk = mysql::Conn::new(opts).unwrap();
    let schemata: Vec<String> = clerk
        .query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME")
        .unwrap();
    assert_eq!(schemata, vec!["shop"], "only databases with a privilege");
    let tables: Vec<(String, String, String)> = clerk
        .query("SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES")
        .unwrap();
    assert_eq!(
        tables,
        vec![("shop".into(), "items".into(), "BASE TABLE".into())]
    );
    let all: Vec<String> = root
        .query("SELECT TABLE_NAME FROM information_schema.TABLES ORDER BY TABLE_NAME")
        .unwrap();
    assert_eq!(all, vec!["items", "keys"]);
    // A join with a real table works: the virtual table does not detach the statement's database.
    let joined: Vec<String> = clerk
        .query("SELECT c.COLUMN_NAME FROM information_schema.COLUMNS c JOIN shop.items i ON 1 = 0")
        .unwrap();
    assert!(joined.is_empty());
}

#[test]
fn variables_and_status_answer_like_mysql() {
    let server = TestServer::start();
    let mut c = server.root();
    let comment: String = c
        .query_first("select @@version_comment limit 1")
        .unwrap()
        .unwrap();
    assert!(comment.contains("tlsql"));
    let row: mysql::Row = c.query_first("SELECT @@session.auto_increment_increment AS auto_increment_increment, @@max_allowed_packet AS max_allowed_packet").unwrap().unwrap();
    assert_eq!(row.columns()[0].name_str(), "auto_increment_increment");
    assert_eq!(row.get::<u64, _>(1).unwrap(), 64 << 20);
    c.query_drop("SET @@session.autocommit = OFF").unwrap();
    let ac: i64 = c.query_first("SELECT @@autocommit").unwrap().unwrap();
    assert_eq!(ac, 0);
    c.query_drop("SET NAMES 'utf8mb4' COLLATE 'utf8mb4_0900_ai_ci'")
        .unwrap();
    let coll: String = c
        .query_first("SELECT @@collation_connection")
        .unwrap()
        .unwrap();
    assert_eq!(coll, "utf8mb4_0900_ai_ci");
    let (code, msg) = server_error(c.query_drop("SELECT @@no_such_thing").unwrap_err());
    assert_eq!(
        (code, msg.as_str()),
        (1193, "Unknown system variable 'no_such_thing'")
    );
    let (code, _) = server_error(c.query_drop("SET SESSION have_ssl = 'NO'").unwrap_err());
    assert_eq!(code, 1238);
    let (code, msg) = server_error(
        c.query_drop("SET SESSION require_secure_transport = ON")
            .unwrap_err(),
    );
    assert_eq!(code, 1229, "{msg}");
    let rows: Vec<(String, String)> = c.query("SHOW GLOBAL STATUS LIKE 'Threads_%'").unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "Threads_cached",
            "Threads_connected",
            "Threads_created",
            "Threads_running"
        ]
    );
    let connections: String = c
        .query_first("SELECT VARIABLE_VALUE FROM performance_schema.global_status WHERE VARIABLE_NAME = 'Connections'")
        .unwrap()
        .unwrap();
    assert!(connections.parse::<u64>().unwrap() >= 1);
    let rows: Vec<(String, String)> = c
        .query("SHOW VARIABLES WHERE Variable_name IN ('have_ssl', 'port')")
        .unwrap();
    assert_eq!(rows[0], ("have_ssl".to_string(), "YES".to_string()));
}

#[test]
fn accounts_log_in_with_both_plugins() {
    let server = TestServer::start();
    let mut root = server.root();
    root.query_drop("CREATE USER 'sha'@'%' IDENTIFIED WITH caching_sha2_password BY 'pw-sha'")
        .unwrap();
    root.query_drop("CREATE USER 'nat'@'%' IDENTIFIED WITH mysql_native_password BY 'pw-nat'")
        .unwrap();
    // native: scramble only.
    let mut nat = mysql::Conn::new(server.opts("nat", "pw-nat")).unwrap();
    let who: String = nat.query_first("SELECT CURRENT_USER()").unwrap().unwrap();
    assert_eq!(who, "nat@%");
    // caching_sha2 over plain TCP: the first login needs full authentication, which without
    // TLS must go through the RSA key exchange; the raw client refuses to send the password
    // in the clear, so it sees the server ask for it.
    let mut raw = RawClient::connect(server.addr).unwrap();
    let err = raw.login("sha", "pw-sha", None).unwrap_err();
    assert_eq!(err.code, 2061);
    // Over TLS the full authentication fills the cache ...
    let mut raw = RawClient::connect(server.addr).unwrap();
    raw.start_tls(&Default::default()).unwrap();
    raw.login("sha", "pw-sha", None).unwrap();
    // ... so a plain connection now takes the fast path.
    let mut raw = RawClient::connect(server.addr).unwrap();
    raw.login("sha", "pw-sha", None).unwrap();
    assert_eq!(
        raw.query("SELECT CURRENT_USER()").unwrap()[0][0].as_deref(),
        Some("sha@%")
    );
    // A password change empties the cache entry: back to full authentication.
    root.query_drop("ALTER USER 'sha'@'%' IDENTIFIED BY 'pw-new'")
        .unwrap();
    let mut raw = RawClient::connect(server.addr).unwrap();
    assert_eq!(raw.login("sha", "pw-new", None).unwrap_err().code, 2061);
    // Wrong passwords and unknown users look the same.
    let mut raw = RawClient::connect(server.addr).unwrap();
    let e = raw.login("nat", "wrong", None).unwrap_err();
    assert_eq!((e.code, e.state.as_str()), (1045, "28000"));
    assert_eq!(
        e.message,
        "Access denied for user 'nat'@'127.0.0.1' (using password: YES)"
    );
    let mut raw = RawClient::connect(server.addr).unwrap();
    raw.start_tls(&Default::default()).unwrap();
    let e = raw.login("ghost", "x", None).unwrap_err();
    assert_eq!(
        e.message,
        "Access denied for user 'ghost'@'127.0.0.1' (using password: YES)"
    );
    // The mysql crate itself, over TLS, with the new password.
    let opts = server.opts("sha", "pw-new").ssl_opts(Some(
        mysql::SslOpts::default().with_danger_accept_invalid_certs(true),
    ));
    let mut c = mysql::Conn::new(opts).unwrap();
    let cipher: Option<(String, String)> = c.query_first("SHOW STATUS LIKE 'Ssl_cipher'").unwrap();
    assert!(!cipher.unwrap().1.is_empty());
}

#[test]
fn root_is_refused_from_other_hosts_and_with_a_password() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(server.addr).unwrap();
    let e = raw.login("root", "guess", None).unwrap_err();
    assert_eq!(e.code, 1045);
}

#[test]
fn unknown_database_at_login_and_use() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(server.addr).unwrap();
    let e = raw.login("root", "", Some("nope")).unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (1049, "Unknown database 'nope'")
    );
    let mut c = server.root();
    let (code, _) = server_error(c.query_drop("USE nope").unwrap_err());
    assert_eq!(code, 1049);
}

#[test]
fn max_connections_refuses_with_1040_and_recovers() {
    let server = TestServer::start_with(|c, _| c.max_connections = 2);
    let a = server.root();
    let b = server.root();
    // root has SUPER: the third connection is the reserved one, the fourth is refused.
    let reserved = server.root();
    match mysql::Conn::new(server.opts("root", "")) {
        Err(e) => assert_eq!(server_error(e).0, 1040),
        Ok(_) => panic!("fourth connection admitted"),
    }
    drop(a);
    // The slot frees when the session ends; wait for the worker to notice the close.
    let mut admitted = None;
    for _ in 0..100 {
        if let Ok(c) = mysql::Conn::new(server.opts("root", "")) {
            admitted = Some(c);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        admitted.is_some(),
        "a slot freed by a closed connection is reused"
    );
    drop((b, reserved));
}

#[test]
fn a_silent_client_is_dropped_after_connect_timeout() {
    let server = TestServer::start_with(|c, _| c.connect_timeout = Duration::from_millis(500));
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut greeting = [0u8; 4];
    s.read_exact(&mut greeting).unwrap();
    let len = usize::from(greeting[0]) | usize::from(greeting[1]) << 8;
    let mut rest = vec![0u8; len];
    s.read_exact(&mut rest).unwrap();
    // Send nothing: the server must close the connection on its own.
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "server closed the idle pre-auth connection");
    assert!(server.root().ping().is_ok(), "server keeps serving others");
}

#[test]
fn ssl_request_without_tls_is_bad_handshake_never_a_login() {
    let server = TestServer::start_with(|c, _| c.security.auto_tls = false);
    let mut raw = RawClient::connect(server.addr).unwrap();
    assert!(
        !raw.offers_tls(),
        "CLIENT_SSL must not be advertised without a context"
    );
    let mut p = Vec::new();
    p.extend_from_slice(&(0x200u32 | 0x800 | 0x8000 | (1 << 19)).to_le_bytes());
    p.extend_from_slice(&[0; 28]);
    raw.write_packet(&p).unwrap();
    let reply = raw.read_packet().unwrap();
    let e = crate::util::raw::parse_err(&reply);
    assert_eq!((e.code, e.message.as_str()), (1043, "Bad handshake"));
}

#[test]
fn oversized_packets_get_1153_and_the_server_survives() {
    let server = TestServer::start_with(|c, _| c.max_allowed_packet = 64 * 1024);
    let mut raw = RawClient::connect(server.addr).unwrap();
    raw.login("root", "", None).unwrap();
    raw.seq = 0;
    let mut big = vec![0x03];
    big.extend(std::iter::repeat_n(b'x', 100 * 1024));
    let _ = raw.write_packet(&big);
    let reply = raw.read_packet().unwrap();
    let e = crate::util::raw::parse_err(&reply);
    assert_eq!(e.code, 1153);
    assert!(server.root().ping().is_ok());
}

#[test]
fn malformed_packets_do_not_hurt_other_sessions() {
    let server = TestServer::start();
    for junk in [
        &b"\x01\x00\x00\x01\xff"[..],
        b"\xff\xff\xff\x00garbage",
        b"\x05\x00\x00\x07abcde",
        b"\x00\x00\x00\x01",
    ] {
        let mut s = TcpStream::connect(server.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut greeting = vec![0u8; 512];
        let _ = s.read(&mut greeting).unwrap();
        s.write_all(junk).unwrap();
        let _ = s.read(&mut greeting);
    }
    let mut c = server.root();
    assert_eq!(c.query_first::<i64, _>("SELECT 1 + 1").unwrap(), Some(2));
}

#[test]
fn large_results_cross_the_16_mib_packet_boundary() {
    let server = TestServer::start();
    let mut c = server.root();
    c.query_drop("CREATE DATABASE big").unwrap();
    c.query_drop("CREATE TABLE big.blobs (id INT PRIMARY KEY, b LONGBLOB)")
        .unwrap();
    let payload: Vec<u8> = (0..(16 * 1024 * 1024 + 5))
        .map(|i| (i % 253) as u8)
        .collect();
    c.exec_drop("INSERT INTO big.blobs VALUES (1, ?)", (payload.clone(),))
        .unwrap();
    let back: Vec<u8> = c
        .query_first("SELECT b FROM big.blobs WHERE id = 1")
        .unwrap()
        .unwrap();
    assert_eq!(back.len(), payload.len());
    assert!(back == payload);
}

#[test]
fn data_survives_a_restart() {
    let server = TestServer::start();
    {
        let mut c = server.root();
        c.query_drop("CREATE DATABASE keep").unwrap();
        c.query_drop("CREATE TABLE keep.t (id INT PRIMARY KEY, v TEXT)")
            .unwrap();
        c.query_drop("INSERT INTO keep.t VALUES (1, 'one')")
            .unwrap();
        c.query_drop("CREATE USER 'kept'@'%' IDENTIFIED BY 'pw'")
            .unwrap();
    }
    let (dir, config) = server.stop();
    let server = TestServer::start_in(dir, config);
    let mut c = server.root();
    let v: String = c
        .query_first("SELECT v FROM keep.t WHERE id = 1")
        .unwrap()
        .unwrap();
    assert_eq!(v, "one");
    let grants: Vec<String> = c.query("SHOW GRANTS FOR 'kept'@'%'").unwrap();
    assert_eq!(grants, vec!["GRANT USAGE ON *.* TO `kept`@`%`".to_string()]);
}

#[test]
fn com_statistics_ping_and_field_list() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(server.addr).unwrap();
    raw.login("root", "", None).unwrap();
    raw.seq = 0;
    raw.write_packet(&[0x09]).unwrap();
    let stats = String::from_utf8(raw.read_packet().unwrap()).unwrap();
    assert!(stats.starts_with("Uptime: "), "{stats}");
    raw.seq = 0;
    raw.write_packet(&[0x0e]).unwrap();
    assert_eq!(raw.read_packet().unwrap()[0], 0x00);
}

#[test]
fn simultaneous_connections_are_all_greeted_while_sessions_stay_open() {
    // Every connection must get a worker: the pool may never queue one for a worker that is
    // not coming (as it once could, for a worker that had just taken another connection).
    let server = TestServer::start();
    let _held = server.root();
    let addr = server.addr;
    let clients: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                for _ in 0..150 {
                    let result = RawClient::connect(addr)
                        .map_err(|e| e.to_string())
                        .and_then(|mut c| c.login("root", "", None).map_err(|e| e.message));
                    if let Err(e) = result {
                        failures.push(e);
                    }
                }
                failures
            })
        })
        .collect();
    let failures: Vec<String> = clients
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of 600 connections failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
}

#[test]
fn question_marks_in_strings_and_comments_are_not_parameters() {
    let server = TestServer::start();
    let mut c = server.root();
    c.query_drop("CREATE DATABASE what").unwrap();
    // Counted from the text, the `?`s here were two parameters, and a statement other than
    // SELECT/INSERT/UPDATE/DELETE with parameters is refused (1235).
    let stmt = c.prep("SHOW DATABASES /* which? */ LIKE 'wh?t%' ").unwrap();
    assert_eq!(stmt.num_params(), 0);
    let none: Vec<String> = c.exec(&stmt, ()).unwrap();
    assert!(none.is_empty(), "'?' in a LIKE pattern is a character");
    let stmt = c.prep("SHOW DATABASES LIKE 'w%' -- which?").unwrap();
    let dbs: Vec<String> = c.exec(&stmt, ()).unwrap();
    assert_eq!(dbs, vec!["what"]);
    let stmt = c.prep("SELECT ?, '?'").unwrap();
    assert_eq!(stmt.num_params(), 1);
}
