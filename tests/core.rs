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
    assert!(create.contains("`title` varchar(40) NOT NULL"), "{create}");
    assert!(create.contains("`price` decimal(8,2)"), "{create}");
    assert!(create.contains("KEY `by_price` (`price`)"), "{create}");
    assert!(
        create.contains("UNIQUE KEY `by_name` (`title`)"),
        "{create}"
    );
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
            "ALTER TABLE items ADD c INT, MODIFY nope TEXT",
            1054,
            "Unknown column 'nope' in 'items'",
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
    // Some 100 MiB of copies in this process: tests that bound the process's memory wait.
    let _memory = crate::util::memory_lock();
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

/// Literals reach storage as MySQL reads them: backslash escapes, a NUL byte, `_binary` and
/// other introducers, bytes that are not UTF-8; SQLite's own tokenizer never sees them as text.
#[test]
fn literals_keep_every_byte_the_client_sent() {
    let server = TestServer::start();
    let mut c = server.root();
    c.query_drop("CREATE DATABASE lit").unwrap();
    c.query_drop("CREATE TABLE lit.t (id INT PRIMARY KEY, name VARCHAR(40), data BLOB)")
        .unwrap();
    c.query_drop(
        "INSERT INTO lit.t VALUES (1, 'it\\'s \\\"q\\\" \\\\ \\Z', _binary 'a\\0b\\'\\\\'), \
         (2, _utf8mb4 'é', X'00FF')",
    )
    .unwrap();
    let rows: Vec<(u32, String, Vec<u8>)> = c
        .query("SELECT id, name, data FROM lit.t ORDER BY id")
        .unwrap();
    assert_eq!(
        rows,
        vec![
            (1, "it's \"q\" \\ \u{1a}".into(), b"a\0b'\\".to_vec()),
            (2, "é".into(), vec![0, 0xff]),
        ]
    );
    let hex: String = c
        .query_first("SELECT HEX(data) FROM lit.t WHERE data = _binary 'a\\0b\\'\\\\'")
        .unwrap()
        .unwrap();
    assert_eq!(hex, "610062275C");
    // Bytes that are not UTF-8 in a string literal, as a dump without --hex-blob writes them.
    let mut raw = RawClient::connect(server.addr).unwrap();
    raw.login("root", "", None).unwrap();
    let rows = raw
        .query_bytes(b"SELECT 3, _binary '\xff\\0\xfe', HEX('\xc3\xa9\xff')")
        .unwrap();
    assert_eq!(
        rows,
        vec![vec![
            Some(b"3".to_vec()),
            Some(b"\xff\x00\xfe".to_vec()),
            Some(b"C3A9FF".to_vec())
        ]]
    );
}

/// The server keeps SELECTs it has parsed twice, and their SQLite form when it depends on
/// nothing of a session's own; a kept one still runs against the state of the session that
/// sends it: its database, its variables and functions, its privileges, its temporary tables.
#[test]
fn a_repeated_select_runs_against_each_sessions_own_state() {
    let server = TestServer::start();
    let mut root = server.root();
    for db in ["a", "b"] {
        root.query_drop(format!("CREATE DATABASE {db}")).unwrap();
        root.query_drop(format!("CREATE TABLE {db}.t (v TEXT)"))
            .unwrap();
        root.query_drop(format!("INSERT INTO {db}.t VALUES ('{db}')"))
            .unwrap();
    }
    root.query_drop("CREATE USER 'only_a'@'%' IDENTIFIED BY 'pw'")
        .unwrap();
    root.query_drop("GRANT SELECT ON a.* TO 'only_a'@'%'")
        .unwrap();
    for db in ["a", "b", "a", "b", "a"] {
        root.query_drop(format!("USE {db}")).unwrap();
        let v: Option<String> = root.query_first("SELECT v FROM t").unwrap();
        assert_eq!(v.as_deref(), Some(db));
    }
    let mut other = mysql::Conn::new(server.opts("only_a", "pw")).unwrap();
    for round in 0..3 {
        root.query_drop(format!("SET @x = {round}")).unwrap();
        other
            .query_drop(format!("SET @x = {}", round + 10))
            .unwrap();
        let mine: Option<i64> = root.query_first("SELECT @x").unwrap();
        let theirs: Option<i64> = other.query_first("SELECT @x").unwrap();
        assert_eq!((mine, theirs), (Some(round), Some(round + 10)));
        let denied = other.query_drop("SELECT v FROM b.t").unwrap_err();
        assert!(denied.to_string().contains("1142"), "{denied}");
        let allowed: Option<String> = other.query_first("SELECT v FROM a.t").unwrap();
        assert_eq!(allowed.as_deref(), Some("a"));
    }
    let missing = root.query_drop("SELECT v FROM nowhere.t").unwrap_err();
    assert!(missing.to_string().contains("1146"), "{missing}");
    let again = root.query_drop("SELECT v FROM nowhere.t").unwrap_err();
    assert!(again.to_string().contains("1146"), "{again}");

    // Session functions are each session's own, however often the text repeats.
    for _ in 0..3 {
        let mine: Option<String> = root.query_first("SELECT CURRENT_USER()").unwrap();
        let theirs: Option<String> = other.query_first("SELECT CURRENT_USER()").unwrap();
        assert_eq!(mine.as_deref(), Some("root@127.0.0.1"));
        assert_eq!(theirs.as_deref(), Some("only_a@%"));
    }
    // A temporary table hides the base table of its name in its own session only, also once
    // the text's SQLite form is kept.
    let mut shadowing = server.root();
    shadowing.query_drop("USE a").unwrap();
    root.query_drop("USE a").unwrap();
    for round in 0..3 {
        let base: Option<String> = root.query_first("SELECT v FROM t").unwrap();
        assert_eq!(base.as_deref(), Some("a"));
        if round == 1 {
            shadowing
                .query_drop("CREATE TEMPORARY TABLE t (v TEXT)")
                .unwrap();
            shadowing
                .query_drop("INSERT INTO t VALUES ('temporary')")
                .unwrap();
        }
        let seen: Option<String> = shadowing.query_first("SELECT v FROM t").unwrap();
        assert_eq!(
            seen.as_deref(),
            Some(if round == 0 { "a" } else { "temporary" })
        );
    }
    // A database dropped after its query's form was kept is missing as any other.
    for _ in 0..3 {
        let v: Option<String> = root.query_first("SELECT v FROM b.t").unwrap();
        assert_eq!(v.as_deref(), Some("b"));
    }
    root.query_drop("DROP DATABASE b").unwrap();
    let dropped = root.query_drop("SELECT v FROM b.t").unwrap_err();
    assert!(dropped.to_string().contains("1146"), "{dropped}");
}

/// SQL's PREPARE / EXECUTE / DEALLOCATE PREPARE, as MariaDB answers them (the README has the
/// comparison): parameters from user variables, names without case, a name prepared again
/// replaced, and MySQL's error for each misuse.
#[test]
fn prepared_statements_by_name_in_sql() {
    let server = TestServer::start();
    let mut c = server.root();
    c.query_drop("CREATE DATABASE ps").unwrap();
    c.query_drop("CREATE TABLE ps.t (id INT PRIMARY KEY, v TEXT)")
        .unwrap();
    c.query_drop("PREPARE ins FROM 'INSERT INTO ps.t VALUES (?, ?)'")
        .unwrap();
    for (id, v) in [(1, "one"), (2, "two")] {
        c.query_drop(format!("SET @id = {id}, @v = '{v}'")).unwrap();
        c.query_drop("EXECUTE ins USING @id, @v").unwrap();
        assert_eq!(c.affected_rows(), 1);
    }
    c.query_drop("SET @q = 'SELECT v FROM ps.t WHERE id > ? ORDER BY id'")
        .unwrap();
    c.query_drop("PREPARE Sel FROM @q").unwrap();
    c.query_drop("SET @min = 0").unwrap();
    let rows: Vec<String> = c.query("EXECUTE sel USING @min").unwrap();
    assert_eq!(rows, ["one", "two"]);
    // An unset variable is NULL: no row is greater than NULL.
    let rows: Vec<String> = c.query("EXECUTE SEL USING @unset").unwrap();
    assert!(rows.is_empty());
    // Preparing a name again replaces its statement.
    c.query_drop("PREPARE sel FROM 'SELECT COUNT(*) FROM ps.t'")
        .unwrap();
    assert_eq!(c.query_first::<i64, _>("EXECUTE sel").unwrap(), Some(2));

    let code = |c: &mut mysql::Conn, sql: &str| match c.query_drop(sql).unwrap_err() {
        mysql::Error::MySqlError(e) => (e.code, e.message),
        other => panic!("{sql}: {other}"),
    };
    let (n, message) = code(&mut c, "EXECUTE sel USING @min");
    assert_eq!(
        (n, message.as_str()),
        (1210, "Incorrect arguments to EXECUTE")
    );
    let (n, message) = code(&mut c, "EXECUTE nothing");
    assert_eq!(
        (n, message.as_str()),
        (
            1243,
            "Unknown prepared statement handler (nothing) given to EXECUTE"
        )
    );
    assert_eq!(code(&mut c, "PREPARE bad FROM 'SELEC 1'").0, 1064);
    // A failed PREPARE leaves its name unprepared, even one that was prepared before.
    assert_eq!(code(&mut c, "PREPARE sel FROM 'SELEC 1'").0, 1064);
    assert_eq!(code(&mut c, "EXECUTE sel").0, 1243);
    c.query_drop("DEALLOCATE PREPARE ins").unwrap();
    let (n, message) = code(&mut c, "DROP PREPARE ins");
    assert_eq!(
        (n, message.as_str()),
        (
            1243,
            "Unknown prepared statement handler (ins) given to DEALLOCATE PREPARE"
        )
    );
    // The statements themselves cannot be prepared with COM_STMT_PREPARE.
    match c.prep("PREPARE x FROM 'SELECT 1'").unwrap_err() {
        mysql::Error::MySqlError(e) => assert_eq!(e.code, 1295, "{}", e.message),
        other => panic!("{other}"),
    }
    // COM_RESET_CONNECTION forgets them.
    c.query_drop("PREPARE one FROM 'SELECT 1'").unwrap();
    c.reset().unwrap();
    assert_eq!(code(&mut c, "EXECUTE one").0, 1243);
}

/// `SHOW DATABASES LIKE` and `SHOW TABLES LIKE` name their first column with the pattern, as
/// MySQL and MariaDB do (`Database (p%)`, `Tables_in_db (t%)`); without a pattern, not.
#[test]
fn show_like_names_its_column_with_the_pattern() {
    let server = TestServer::start();
    let mut c = server.root();
    c.query_drop("CREATE DATABASE pat").unwrap();
    c.query_drop("CREATE TABLE pat.t (id INT)").unwrap();
    let mut first_column = |sql: &str| -> String {
        let result = c.query_iter(sql).unwrap();
        result.columns().as_ref()[0].name_str().into_owned()
    };
    assert_eq!(first_column("SHOW DATABASES LIKE 'pa%'"), "Database (pa%)");
    assert_eq!(first_column("SHOW DATABASES"), "Database");
    assert_eq!(
        first_column("SHOW TABLES FROM pat LIKE 't%'"),
        "Tables_in_pat (t%)"
    );
    assert_eq!(
        first_column("SHOW FULL TABLES FROM pat LIKE 't%'"),
        "Tables_in_pat (t%)"
    );
    assert_eq!(first_column("SHOW TABLES FROM pat"), "Tables_in_pat");
}

/// `SHOW TABLES … WHERE` (and `DATABASES`, `COLUMNS`, `TABLE STATUS`) keeps the rows its
/// condition holds for, as MariaDB does (the users'-tools `show` compares the common cases with
/// MariaDB): names that need escaping, a condition with session variables and a subquery, the
/// same checks as without a condition (1044, 1049), an unknown column in an empty database still
/// an error, and the SHOW's own column definitions.
#[test]
fn show_where_keeps_what_its_condition_holds_for() {
    let server = TestServer::start();
    let mut root = server.root();
    root.query_drop("CREATE DATABASE sw").unwrap();
    root.query_drop("CREATE DATABASE sw_empty").unwrap();
    for table in ["`it's\\x`", "plain", "Upper"] {
        root.query_drop(format!("CREATE TABLE sw.{table} (id INT)"))
            .unwrap();
    }
    let names = |c: &mut mysql::Conn, sql: &str| -> Vec<String> {
        c.query(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    };
    assert_eq!(
        names(
            &mut root,
            "SHOW TABLES FROM sw WHERE Tables_in_sw = 'it''s\\\\x'"
        ),
        ["it's\\x"]
    );
    root.query_drop("SET @pick = 'UPPER'").unwrap();
    assert_eq!(
        names(
            &mut root,
            "SHOW TABLES FROM sw WHERE Tables_in_sw = @pick OR Tables_in_sw IN (SELECT 'plain')"
        ),
        ["Upper", "plain"]
    );
    assert!(names(&mut root, "SHOW TABLES FROM sw_empty WHERE 1").is_empty());
    let code = |c: &mut mysql::Conn, sql: &str| match c.query_drop(sql).unwrap_err() {
        mysql::Error::MySqlError(e) => e.code,
        other => panic!("{sql}: {other}"),
    };
    assert_eq!(
        code(&mut root, "SHOW TABLES FROM sw_empty WHERE nosuch = 1"),
        1054
    );
    assert_eq!(code(&mut root, "SHOW TABLES FROM sw_nowhere WHERE 1"), 1049);
    root.query_drop("CREATE USER 'sw_user'@'%' IDENTIFIED BY 'pw'")
        .unwrap();
    root.query_drop("GRANT SELECT ON sw_empty.* TO 'sw_user'@'%'")
        .unwrap();
    let mut user = mysql::Conn::new(server.opts("sw_user", "pw")).unwrap();
    assert_eq!(code(&mut user, "SHOW TABLES FROM sw WHERE 1"), 1044);
    assert_eq!(
        names(&mut user, "SHOW DATABASES WHERE `Database` LIKE 'SW%'"),
        ["sw_empty"]
    );

    root.query_drop("CREATE TABLE sw.cols (id INT NOT NULL, label VARCHAR(10), note TEXT)")
        .unwrap();
    let fields: Vec<(String, String)> = root
        .query("SHOW COLUMNS FROM sw.cols WHERE Field = 'LABEL' OR `Null` = 'no'")
        .unwrap()
        .into_iter()
        .map(|row: mysql::Row| (row.get(0).unwrap(), row.get(2).unwrap()))
        .collect();
    assert_eq!(
        fields,
        [("id".into(), "NO".into()), ("label".into(), "YES".into())]
    );
    let status: Vec<String> = root
        .query_map(
            "SHOW TABLE STATUS FROM sw WHERE Name LIKE 'C%'",
            |row: mysql::Row| row.get(0).unwrap(),
        )
        .unwrap();
    assert_eq!(status, ["cols"]);
    // The filtered rows come under the SHOW's own column definitions: a column of NULLs
    // (`Default`) stays text, as without a condition.
    let types = |c: &mut mysql::Conn, sql: &str| -> Vec<mysql::consts::ColumnType> {
        let result = c.query_iter(sql).unwrap();
        result
            .columns()
            .as_ref()
            .iter()
            .map(|c| c.column_type())
            .collect()
    };
    assert_eq!(
        types(
            &mut root,
            "SHOW FULL COLUMNS FROM sw.cols WHERE Field = 'note'"
        ),
        types(&mut root, "SHOW FULL COLUMNS FROM sw.cols"),
    );
}

/// An EXECUTE by name counts as the statement it runs: `MAX_UPDATES_PER_HOUR` cannot be
/// dodged by preparing the update.
#[test]
fn executing_by_name_counts_against_the_update_limit() {
    let server = TestServer::start();
    let mut root = server.root();
    root.query_drop("CREATE DATABASE lim").unwrap();
    root.query_drop("CREATE TABLE lim.t (id INT)").unwrap();
    root.query_drop("CREATE USER 'capped'@'%' IDENTIFIED BY 'pw' WITH MAX_UPDATES_PER_HOUR 1")
        .unwrap();
    root.query_drop("GRANT ALL ON lim.* TO 'capped'@'%'")
        .unwrap();
    let mut c = mysql::Conn::new(server.opts("capped", "pw")).unwrap();
    c.query_drop("PREPARE ins FROM 'INSERT INTO lim.t VALUES (1)'")
        .unwrap();
    c.query_drop("EXECUTE ins").unwrap();
    match c.query_drop("EXECUTE ins").unwrap_err() {
        mysql::Error::MySqlError(e) => assert_eq!(e.code, 1226, "{}", e.message),
        other => panic!("{other}"),
    }
    let rows: Option<i64> = root.query_first("SELECT COUNT(*) FROM lim.t").unwrap();
    assert_eq!(rows, Some(1));
}

#[test]
fn placeholders_bind_in_the_order_the_client_sends_them() {
    let server = TestServer::start();
    let mut c = server.root();
    // RIGHT(x, n) is rewritten with x and n each used twice: still one parameter each.
    let stmt = c.prep("SELECT RIGHT(?, ?), ?, LEFT(?, 2)").unwrap();
    assert_eq!(stmt.num_params(), 4);
    let row: (String, i64, String) = c
        .exec_first(&stmt, ("hello", 3, 7, "world"))
        .unwrap()
        .unwrap();
    assert_eq!(row, ("llo".to_string(), 7, "wo".to_string()));
    c.query_drop("CREATE DATABASE ph").unwrap();
    c.query_drop("CREATE TABLE ph.t (id INT PRIMARY KEY, name VARCHAR(10))")
        .unwrap();
    c.exec_drop("INSERT INTO ph.t VALUES (?, ?), (?, ?)", (1, "a", 2, "b"))
        .unwrap();
    c.exec_drop(
        "UPDATE ph.t SET name = RIGHT(?, ?) WHERE id = ?",
        ("xyz", 1, 2),
    )
    .unwrap();
    let names: Vec<(i64, String)> = c
        .exec(
            "SELECT id, name FROM ph.t WHERE id >= ? ORDER BY id LIMIT ?",
            (1, 5),
        )
        .unwrap();
    assert_eq!(names, vec![(1, "a".to_string()), (2, "z".to_string())]);
}

#[test]
fn functions_tools_send_are_answered() {
    let server = TestServer::start();
    let mut c = server.root();
    let (unsigned, signed, converted, located, least): (i64, i64, String, i64, i64) = c
        .query_first(
            "SELECT CONVERT('42', UNSIGNED INTEGER), CAST('-7' AS SIGNED INTEGER), \
             CONVERT('x' USING utf8mb4), LOCATE('(', 'int(11)'), LEAST(3, 1, 2)",
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        (unsigned, signed, converted.as_str(), located, least),
        (42, -7, "x", 4, 1)
    );
    let (uuid, tz, null_tz): (String, String, Option<String>) = c
        .query_first(
            "SELECT UUID(), CONVERT_TZ('2021-07-01 12:00:00', '+00:00', 'Europe/Paris'), \
             CONVERT_TZ('2021-07-01 12:00:00', 'Nowhere/City', 'UTC')",
        )
        .unwrap()
        .unwrap();
    assert_eq!((uuid.len(), uuid.matches('-').count()), (36, 4));
    assert_eq!((tz.as_str(), null_tz), ("2021-07-01 14:00:00", None));
    let (now6, slept, concat_null): (String, i64, Option<String>) = c
        .query_first("SELECT NOW(6), SLEEP('0.01'), CONCAT('a', NULL)")
        .unwrap()
        .unwrap();
    assert_eq!((now6.len(), slept, concat_null), (26, 0, None));
    // Arguments that are operations keep their grouping once rewritten into SQLite operators.
    let (sum, tail, rand_ok): (String, String, i64) = c
        .query_first("SELECT CONCAT('sum=', 40 + 2), RIGHT('abcdef', 1 + 1), RAND() * 2 < 2")
        .unwrap()
        .unwrap();
    assert_eq!((sum.as_str(), tail.as_str(), rand_ok), ("sum=42", "ef", 1));
    c.query_drop("CREATE DATABASE f").unwrap();
    c.query_drop("CREATE TABLE f.t (g INT, v VARCHAR(5))")
        .unwrap();
    c.query_drop("INSERT INTO f.t VALUES (1, 'b'), (1, 'a'), (2, 'c')")
        .unwrap();
    let grouped: Vec<(i64, String)> = c
        .query(
            "SELECT g, GROUP_CONCAT(v ORDER BY v SEPARATOR '|') FROM f.t GROUP BY g ORDER BY g \
             LOCK IN SHARE MODE",
        )
        .unwrap();
    assert_eq!(grouped, vec![(1, "a|b".into()), (2, "c".into())]);
    let count: i64 = c
        .query_first("SELECT /*!40001 SQL_NO_CACHE */ COUNT(*) FROM f.t FOR UPDATE")
        .unwrap()
        .unwrap();
    assert_eq!(count, 3);
    // BINARY binds to the literal after it only (Django's `startswith`).
    let count: i64 = c
        .query_first("SELECT COUNT(*) FROM f.t WHERE v LIKE BINARY 'a%' AND g = 1")
        .unwrap()
        .unwrap();
    assert_eq!(count, 1);
    // FOUND_ROWS(): the rows the last query sent, or with SQL_CALC_FOUND_ROWS those it had
    // without its LIMIT.
    let first: Vec<i64> = c
        .query("SELECT SQL_CALC_FOUND_ROWS g FROM f.t ORDER BY g DESC LIMIT 1")
        .unwrap();
    assert_eq!(first, vec![2]);
    let found: i64 = c.query_first("SELECT FOUND_ROWS()").unwrap().unwrap();
    assert_eq!(found, 3);
    let found: i64 = c.query_first("SELECT FOUND_ROWS()").unwrap().unwrap();
    assert_eq!(found, 1, "the previous SELECT FOUND_ROWS() sent one row");
    let ones: Vec<i64> = c.exec("SELECT g FROM f.t WHERE g = ?", (1,)).unwrap();
    assert_eq!(ones.len(), 2);
    let found: i64 = c.query_first("SELECT FOUND_ROWS()").unwrap().unwrap();
    assert_eq!(found, 2);
    for (sql, code) in [
        ("CREATE TEMPORARY TABLE f.tmp (a INT) AS SELECT 1", 1235),
        ("SELECT NO_SUCH_FUNCTION(1)", 1305),
    ] {
        let (got, message) = server_error(c.query_drop(sql).unwrap_err());
        assert_eq!(got, code, "{sql}: {message}");
        assert!(
            !message.contains("sqlite") && !message.contains("_tlsql_"),
            "{message}"
        );
    }
}

/// What introspecting clients read: SHOW CREATE TABLE in MySQL's form (every index, named
/// keys, foreign keys, AUTO_INCREMENT), SHOW INDEX, SHOW FULL COLUMNS, information_schema.
#[test]
fn definitions_are_described_as_mysql_describes_them() {
    let server = TestServer::start();
    let mut c = server.root();
    c.query_drop("CREATE SCHEMA d").unwrap();
    c.query_drop("USE d").unwrap();
    c.query_drop("CREATE TABLE parent (id INTEGER NOT NULL AUTO_INCREMENT, name VARCHAR(200) NOT NULL, PRIMARY KEY (id), UNIQUE (name))")
        .unwrap();
    c.query_drop(
        "CREATE TABLE child (id INTEGER NOT NULL AUTO_INCREMENT, parent_id INTEGER NOT NULL, \
         price NUMERIC(10, 2), PRIMARY KEY (id), FOREIGN KEY(parent_id) REFERENCES parent (id)) \
         AUTO_INCREMENT=5",
    )
    .unwrap();
    c.query_drop("CREATE INDEX ix_price ON child (price)")
        .unwrap();
    let (_, create): (String, String) = c.query_first("SHOW CREATE TABLE child").unwrap().unwrap();
    assert_eq!(
        create,
        "CREATE TABLE `child` (\n  `id` int NOT NULL AUTO_INCREMENT,\n  `parent_id` int NOT NULL,\n  \
         `price` decimal(10,2) DEFAULT NULL,\n  PRIMARY KEY (`id`),\n  KEY `child_ibfk_1` (`parent_id`),\n  \
         KEY `ix_price` (`price`),\n  CONSTRAINT `child_ibfk_1` FOREIGN KEY (`parent_id`) REFERENCES `parent` (`id`)\n\
         ) ENGINE=InnoDB AUTO_INCREMENT=5 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci"
    );
    c.query_drop("INSERT INTO parent (name) VALUES ('p')")
        .unwrap();
    c.query_drop("INSERT INTO child (parent_id) VALUES (1)")
        .unwrap();
    assert_eq!(
        c.last_insert_id(),
        5,
        "CREATE TABLE … AUTO_INCREMENT=5 sets the next value"
    );
    let keys: Vec<(String, i64, String)> = c
        .query_map("SHOW INDEX FROM parent", |row: mysql::Row| {
            (
                row.get::<String, _>(2).unwrap(),
                row.get::<i64, _>(1).unwrap(),
                row.get::<String, _>(4).unwrap(),
            )
        })
        .unwrap();
    assert_eq!(
        keys,
        vec![
            ("PRIMARY".into(), 0, "id".into()),
            ("name".into(), 0, "name".into())
        ]
    );
    let full: Vec<mysql::Row> = c.query("SHOW FULL COLUMNS FROM parent").unwrap();
    assert_eq!(full[0].len(), 9);
    let stats: Vec<(String, String, i64)> = c
        .query(
            "SELECT INDEX_NAME, COLUMN_NAME, NON_UNIQUE FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = 'd' AND TABLE_NAME = 'child' ORDER BY INDEX_NAME",
        )
        .unwrap();
    assert_eq!(
        stats,
        vec![
            ("child_ibfk_1".into(), "parent_id".into(), 1),
            ("ix_price".into(), "price".into(), 1),
            ("PRIMARY".into(), "id".into(), 0),
        ]
    );
    type ColumnRow = (String, String, Option<i64>, Option<i64>, String);
    let columns: Vec<ColumnRow> = c
        .query(
            "SELECT COLUMN_NAME, COLUMN_TYPE, NUMERIC_PRECISION, NUMERIC_SCALE, EXTRA \
             FROM information_schema.columns WHERE table_schema = 'd' AND table_name = 'child' \
             AND IS_NULLABLE = 'no' ORDER BY ORDINAL_POSITION",
        )
        .unwrap();
    assert_eq!(
        columns,
        vec![
            (
                "id".into(),
                "int".into(),
                Some(10),
                Some(0),
                "auto_increment".into()
            ),
            (
                "parent_id".into(),
                "int".into(),
                Some(10),
                Some(0),
                "".into()
            ),
        ]
    );
    let references: Vec<(String, String, String)> = c
        .query(
            "SELECT k.CONSTRAINT_NAME, k.REFERENCED_TABLE_NAME, t.CONSTRAINT_TYPE \
             FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.TABLE_CONSTRAINTS t \
             USING (CONSTRAINT_NAME) WHERE k.TABLE_NAME = 'child' AND k.REFERENCED_TABLE_NAME IS NOT NULL",
        )
        .unwrap();
    assert_eq!(
        references,
        vec![("child_ibfk_1".into(), "parent".into(), "FOREIGN KEY".into())]
    );
    for table in ["FILES", "TRIGGERS", "ROUTINES", "VIEWS"] {
        let n: i64 = c
            .query_first(format!("SELECT COUNT(*) FROM information_schema.{table}"))
            .unwrap()
            .unwrap();
        assert_eq!(n, 0, "{table}");
    }
    let engine: String = c
        .query_first("SELECT engine FROM information_schema.tables WHERE table_name = 'child'")
        .unwrap()
        .unwrap();
    assert_eq!(engine, "InnoDB");
    c.query_drop("/*!40000 ALTER TABLE `child` DISABLE KEYS */")
        .unwrap();
    c.query_drop("/*!40000 ALTER TABLE `child` ENABLE KEYS */")
        .unwrap();
}

#[test]
fn alter_table_rebuilds_what_sqlite_cannot_change_in_place() {
    let server = TestServer::start();
    let mut c = server.root();
    c.query_drop("CREATE DATABASE r").unwrap();
    c.query_drop("USE r").unwrap();
    c.query_drop(
        "CREATE TABLE u (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(30) NOT NULL UNIQUE)",
    )
    .unwrap();
    c.query_drop("CREATE TABLE log (id INT AUTO_INCREMENT PRIMARY KEY, user_id INT NOT NULL)")
        .unwrap();
    c.query_drop("INSERT INTO u (name) VALUES ('a'), ('b')")
        .unwrap();
    c.query_drop("DELETE FROM u WHERE name = 'b'").unwrap();
    c.query_drop("INSERT INTO log (user_id) VALUES (1)")
        .unwrap();
    c.query_drop("ALTER TABLE u MODIFY name varchar(150) NOT NULL, ADD flag INT NOT NULL")
        .unwrap();
    c.query_drop(
        "ALTER TABLE log ADD CONSTRAINT log_user_fk FOREIGN KEY (user_id) REFERENCES u (id)",
    )
    .unwrap();
    let rows: Vec<(i64, String, i64)> = c.query("SELECT id, name, flag FROM u").unwrap();
    assert_eq!(
        rows,
        vec![(1, "a".into(), 0)],
        "rows kept, the new column at its implicit default"
    );
    c.query_drop("INSERT INTO u (name, flag) VALUES ('c', 1)")
        .unwrap();
    assert_eq!(
        c.last_insert_id(),
        3,
        "the rebuilt table keeps its AUTO_INCREMENT counter"
    );
    let (_, create): (String, String) = c.query_first("SHOW CREATE TABLE u").unwrap().unwrap();
    assert!(create.contains("`name` varchar(150) NOT NULL"), "{create}");
    assert!(create.contains("UNIQUE KEY `name` (`name`)"), "{create}");
    let (code, _) = server_error(
        c.query_drop("INSERT INTO log (user_id) VALUES (99)")
            .unwrap_err(),
    );
    assert_eq!(code, 1452, "the added foreign key is enforced");
    // Restores turn the checks off while they load tables in any order.
    c.query_drop("SET foreign_key_checks = 0").unwrap();
    c.query_drop("INSERT INTO log (user_id) VALUES (99)")
        .unwrap();
    c.query_drop("DELETE FROM log WHERE user_id = 99").unwrap();
    c.query_drop("SET foreign_key_checks = DEFAULT").unwrap();
    let (code, _) = server_error(
        c.query_drop("INSERT INTO log (user_id) VALUES (99)")
            .unwrap_err(),
    );
    assert_eq!(
        code, 1452,
        "checked again once foreign_key_checks is back on"
    );
    let (code, message) = server_error(
        c.query_drop("ALTER TABLE log ADD CONSTRAINT bad FOREIGN KEY (id) REFERENCES u (flag)")
            .unwrap_err(),
    );
    assert_eq!(code, 1822, "{message}");
    let n: i64 = c.query_first("SELECT COUNT(*) FROM log").unwrap().unwrap();
    assert_eq!(n, 1, "the refused ALTER TABLE left the table as it was");
}

#[test]
fn duplicate_keys_and_upserts_read_as_in_mysql() {
    let server = TestServer::start();
    let mut c = server.root();
    c.query_drop("CREATE DATABASE k").unwrap();
    c.query_drop("USE k").unwrap();
    c.query_drop("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20), n INT, UNIQUE KEY uq_name (name))")
        .unwrap();
    c.query_drop("INSERT INTO t (name, n) VALUES ('x', 1)")
        .unwrap();
    let (code, message) = server_error(
        c.query_drop("INSERT INTO t (name, n) VALUES ('y', 1), ('x', 2)")
            .unwrap_err(),
    );
    assert_eq!(
        (code, message.as_str()),
        (1062, "Duplicate entry 'x' for key 't.uq_name'")
    );
    let (code, message) = server_error(
        c.exec_drop("INSERT INTO t (id, name) VALUES (?, ?)", (1, "z"))
            .unwrap_err(),
    );
    assert_eq!(
        (code, message.as_str()),
        (1062, "Duplicate entry '1' for key 't.PRIMARY'")
    );
    c.query_drop(
        "INSERT INTO t (name, n) VALUES ('x', 5) ON DUPLICATE KEY UPDATE n = n + VALUES(n)",
    )
    .unwrap();
    c.query_drop(
        "INSERT INTO t (name, n) VALUES ('w', 7) AS new ON DUPLICATE KEY UPDATE n = new.n",
    )
    .unwrap();
    let rows: Vec<(String, i64)> = c.query("SELECT name, n FROM t ORDER BY name").unwrap();
    assert_eq!(rows, vec![("w".into(), 7), ("x".into(), 6)]);
}

/// More databases in one statement than SQLite's default limit on attached files (10).
#[test]
fn a_statement_may_join_a_dozen_databases() {
    let server = TestServer::start();
    let mut c = server.root();
    let mut from = Vec::new();
    for i in 0..12 {
        c.query_drop(format!("CREATE DATABASE j{i}")).unwrap();
        c.query_drop(format!("CREATE TABLE j{i}.t (id INT PRIMARY KEY, v INT)"))
            .unwrap();
        c.query_drop(format!("INSERT INTO j{i}.t VALUES (1, {i})"))
            .unwrap();
        from.push(format!("j{i}.t AS t{i}"));
    }
    let sum: i64 = c
        .query_first(format!(
            "SELECT {} FROM {} WHERE {}",
            (0..12)
                .map(|i| format!("t{i}.v"))
                .collect::<Vec<_>>()
                .join(" + "),
            from.join(" JOIN "),
            (1..12)
                .map(|i| format!("t{i}.id = t0.id"))
                .collect::<Vec<_>>()
                .join(" AND ")
        ))
        .unwrap()
        .unwrap();
    assert_eq!(sum, 66);
}

/// A database dropped by one session is gone for every other at their next statement.
#[test]
fn a_dropped_database_disappears_from_every_session() {
    let server = TestServer::start();
    let mut a = server.root();
    let mut b = server.root();
    a.query_drop("CREATE DATABASE gone").unwrap();
    a.query_drop("CREATE TABLE gone.t (id INT)").unwrap();
    a.query_drop("INSERT INTO gone.t VALUES (1)").unwrap();
    b.query_drop("USE gone").unwrap();
    let n: i64 = b.query_first("SELECT COUNT(*) FROM t").unwrap().unwrap();
    assert_eq!(n, 1);
    a.query_drop("DROP DATABASE gone").unwrap();
    assert_eq!(
        server_error(b.query_drop("SELECT * FROM t").unwrap_err()).0,
        1146
    );
    assert_eq!(
        server_error(b.query_drop("SELECT * FROM gone.t").unwrap_err()).0,
        1146
    );
    assert_eq!(
        server_error(b.query_drop("CREATE TABLE gone.u (id INT)").unwrap_err()).0,
        1049
    );
    a.query_drop("CREATE DATABASE gone").unwrap();
    a.query_drop("CREATE TABLE gone.t (id INT)").unwrap();
    let n: i64 = b
        .query_first("SELECT COUNT(*) FROM gone.t")
        .unwrap()
        .unwrap();
    assert_eq!(n, 0, "the new database, not the dropped one's rows");
}

/// The error of a statement that must fail with a server error: its number.
fn code(result: mysql::Result<()>) -> u16 {
    server_error(result.unwrap_err()).0
}

#[test]
fn set_lists_apply_every_item_as_mysql_does() {
    let server = TestServer::start();
    let mut c = server.root();
    // sqlx's statement at connect: a subquery, an offset zone and NAMES … COLLATE in one list.
    c.query_drop(
        "SET sql_mode=(SELECT CONCAT(@@sql_mode, ',PIPES_AS_CONCAT,NO_ENGINE_SUBSTITUTION')),time_zone='+00:00',NAMES utf8mb4 COLLATE utf8mb4_unicode_ci",
    )
    .unwrap();
    let got: (String, String, String, String) = c
        .query_first(
            "SELECT @@sql_mode, @@time_zone, @@collation_connection, @@character_set_results",
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        got,
        (
            "PIPES_AS_CONCAT,ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION".into(),
            "+00:00".into(),
            "utf8mb4_unicode_ci".into(),
            "utf8mb4".into()
        )
    );
    // The zone applies to NOW() (UTC_TIMESTAMP() stays UTC).
    let minutes = |c: &mut mysql::Conn| -> i64 {
        let (now, utc): (String, String) = c
            .query_first("SELECT NOW(), UTC_TIMESTAMP()")
            .unwrap()
            .unwrap();
        let of = |t: &str| -> i64 {
            let h: i64 = t[11..13].parse().unwrap();
            let m: i64 = t[14..16].parse().unwrap();
            h * 60 + m
        };
        (of(&now) - of(&utc)).rem_euclid(24 * 60)
    };
    c.query_drop("SET time_zone = '+05:30'").unwrap();
    assert!((329..=331).contains(&minutes(&mut c)));
    c.query_drop("SET time_zone = '+00:00'").unwrap();
    assert!(matches!(minutes(&mut c), 0 | 1 | 1439));
    // A dump file's save-and-restore pairs.
    c.query_drop("/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */")
        .unwrap();
    let saved: (i64, i64) = c
        .query_first("SELECT @OLD_UNIQUE_CHECKS, @@unique_checks")
        .unwrap()
        .unwrap();
    assert_eq!(saved, (1, 0));
    c.query_drop("/*!40014 SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS */")
        .unwrap();
    assert_eq!(
        c.query_first::<i64, _>("SELECT @@unique_checks").unwrap(),
        Some(1)
    );
    // Settings tools make, checked and read back.
    c.query_drop(
        "SET SQL_QUOTE_SHOW_CREATE=1, lock_wait_timeout=2, default_storage_engine=innodb, sql_notes=0, sql_auto_is_null=0",
    )
    .unwrap();
    let read: (i64, String, i64, i64) = c
        .query_first(
            "SELECT @@lock_wait_timeout, @@default_storage_engine, @@sql_notes, @@sql_quote_show_create",
        )
        .unwrap()
        .unwrap();
    assert_eq!(read, (2, "InnoDB".into(), 0, 1));
    // mariadb-dump's MariaDB comments and its optimizer setting.
    c.query_drop("/*M!100100 SET @@MAX_STATEMENT_TIME=1.500000 */")
        .unwrap();
    assert_eq!(
        c.query_first::<f64, _>("SELECT @@max_statement_time")
            .unwrap(),
        Some(1.5)
    );
    c.query_drop("set optimizer_switch='semijoin=off'").unwrap();
    let switch: String = c.query_first("SELECT @@optimizer_switch").unwrap().unwrap();
    assert!(switch.contains(",semijoin=off,"), "{switch}");
    c.query_drop("set optimizer_switch=default").unwrap();
    c.query_drop("SET SESSION character_set_results = 'binary'")
        .unwrap();
    c.query_drop("SET character_set_results = NULL").unwrap();
    assert_eq!(
        c.query_first::<Option<String>, _>("SELECT @@character_set_results")
            .unwrap(),
        Some(None)
    );
    // Django's isolation level, read back under both names.
    c.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED, READ ONLY")
        .unwrap();
    let iso: (String, String, i64) = c
        .query_first("SELECT @@transaction_isolation, @@tx_isolation, @@transaction_read_only")
        .unwrap()
        .unwrap();
    assert_eq!(iso, ("READ-COMMITTED".into(), "READ-COMMITTED".into(), 1));
    // Bad values are MySQL's errors; a list with a failing item changes nothing.
    c.query_drop("SET @a = 5").unwrap();
    for (sql, expected) in [
        ("SET sql_mode = 'NO_SUCH_MODE'", 1231),
        ("SET time_zone = 'Mars/Olympus'", 1298),
        ("SET NAMES latin1 COLLATE utf8mb4_bin", 1253),
        ("SET character_set_client = 'klingon'", 1115),
        ("SET collation_connection = 'klingon_ci'", 1273),
        ("SET default_storage_engine = MyISAM", 1286),
        ("SET @a = 1, sql_mode = 'NO_SUCH_MODE', @b = 2", 1231),
    ] {
        assert_eq!(code(c.query_drop(sql)), expected, "{sql}");
    }
    let ab: (Option<i64>, Option<i64>) = c.query_first("SELECT @a, @b").unwrap().unwrap();
    assert_eq!(ab, (Some(5), None));
    // Every value is read before any is set.
    c.query_drop("SET @a = 1, @b = @a").unwrap();
    let ab: (Option<i64>, Option<i64>) = c.query_first("SELECT @a, @b").unwrap().unwrap();
    assert_eq!(ab, (Some(1), Some(5)));
}

#[test]
fn server_catalog_shows_and_replication_status() {
    let server = TestServer::start();
    let mut c = server.root();
    let engines: Vec<(String, String, String, String, String, String)> =
        c.query("SHOW ENGINES").unwrap();
    assert_eq!(engines.len(), 1);
    assert_eq!(
        (engines[0].0.as_str(), engines[0].1.as_str()),
        ("InnoDB", "DEFAULT")
    );
    let utf8: Vec<String> = c
        .query_map("SHOW CHARACTER SET LIKE 'utf8%'", |row: mysql::Row| {
            row.get::<String, _>(0).unwrap()
        })
        .unwrap();
    assert_eq!(utf8, ["utf8mb3", "utf8mb4"]);
    let four: Vec<String> = c
        .query_map("SHOW CHARSET WHERE Maxlen = 4", |row: mysql::Row| {
            row.get::<String, _>(0).unwrap()
        })
        .unwrap();
    assert_eq!(four, ["utf8mb4"]);
    let default: Vec<(String, i64)> = c
        .query_map(
            "SHOW COLLATION WHERE Charset = 'utf8mb4' AND `Default` = 'Yes'",
            |row: mysql::Row| (row.get(0).unwrap(), row.get(2).unwrap()),
        )
        .unwrap();
    assert_eq!(default, [("utf8mb4_general_ci".to_string(), 45)]);
    // A server without replication: the statuses are empty results with MySQL's columns.
    for (sql, first_column, count) in [
        ("SHOW SLAVE STATUS", "Slave_IO_State", 60),
        ("SHOW REPLICA STATUS", "Replica_IO_State", 60),
        ("SHOW MASTER STATUS", "File", 5),
    ] {
        let result = c.query_iter(sql).unwrap();
        let columns = result.columns();
        assert_eq!(columns.as_ref().len(), count, "{sql}");
        assert_eq!(columns.as_ref()[0].name_str(), first_column, "{sql}");
        assert_eq!(result.count(), 0, "{sql}");
    }
    // Prepared SHOW statements (node mysql2's execute, sqlx).
    let prepared: Vec<(String, String)> = c
        .exec("SHOW SESSION VARIABLES LIKE 'lock_wait_timeout'", ())
        .unwrap();
    assert_eq!(
        prepared,
        [("lock_wait_timeout".to_string(), "31536000".to_string())]
    );
    // prometheus-mysqld-exporter's documented account: REPLICATION CLIENT shows the status.
    c.query_drop("CREATE USER mon IDENTIFIED BY 'pw' WITH MAX_USER_CONNECTIONS 3")
        .unwrap();
    c.query_drop("GRANT PROCESS, SELECT ON *.* TO mon").unwrap();
    let mut mon = mysql::Conn::new(server.opts("mon", "pw")).unwrap();
    let e = server_error(mon.query_drop("SHOW SLAVE STATUS").unwrap_err());
    assert_eq!(
        e,
        (
            1227,
            "Access denied; you need (at least one of) the REPLICATION CLIENT, SLAVE MONITOR, SUPER privilege(s) for this operation".into()
        )
    );
    c.query_drop("GRANT REPLICATION CLIENT ON *.* TO mon")
        .unwrap();
    mon.query_drop("SHOW SLAVE STATUS").unwrap();
    let create: String = c.query_first("SHOW CREATE USER mon").unwrap().unwrap();
    assert!(
        create.contains(" REQUIRE NONE WITH MAX_USER_CONNECTIONS 3 PASSWORD EXPIRE"),
        "{create}"
    );
}

/// Waits (bounded) until `check` holds.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn processlist_shows_sessions_and_kill_stops_them() {
    let server = TestServer::start();
    let mut root = server.root();
    root.query_drop("CREATE USER a IDENTIFIED BY 'pw'").unwrap();
    root.query_drop("CREATE USER b IDENTIFIED BY 'pw'").unwrap();
    root.query_drop("GRANT SELECT ON *.* TO a").unwrap();
    let mut a = mysql::Conn::new(server.opts("a", "pw")).unwrap();
    let mut b = mysql::Conn::new(server.opts("b", "pw")).unwrap();
    let a_id = a.connection_id();
    let info = |root: &mut mysql::Conn| -> Option<(String, String)> {
        let rows: Vec<mysql::Row> = root.query("SHOW FULL PROCESSLIST").unwrap();
        rows.into_iter()
            .find(|r| r.get::<u32, _>(0) == Some(a_id))
            .map(|r| {
                let info: Option<String> = r.get(7).unwrap();
                (r.get(4).unwrap(), info.unwrap_or_default())
            })
    };
    // A killed SLEEP ends at once and returns 1, as MySQL's does.
    std::thread::scope(|s| {
        let sleeping = s.spawn(|| {
            let started = std::time::Instant::now();
            (
                a.query_first::<i64, _>("SELECT SLEEP(60)"),
                started.elapsed(),
            )
        });
        eventually("the sleep in the processlist", || {
            info(&mut root) == Some(("Query".into(), "SELECT SLEEP(60)".into()))
        });
        // Without PROCESS a session sees only its own user's sessions, and kills only those.
        let seen: Vec<mysql::Row> = b.query("SHOW PROCESSLIST").unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].get::<String, _>(1).as_deref(), Some("b"));
        assert_eq!(
            server_error(b.query_drop(format!("KILL QUERY {a_id}")).unwrap_err()),
            (1095, format!("You are not owner of thread {a_id}"))
        );
        assert_eq!(code(b.query_drop("KILL 999999")), 1094);
        root.query_drop(format!("KILL QUERY {a_id}")).unwrap();
        let (result, took) = sleeping.join().unwrap();
        assert_eq!(result.unwrap(), Some(1));
        assert!(took < Duration::from_secs(30), "the sleep ran on: {took:?}");
    });
    // A statement SQLite runs is interrupted: 1317.
    let count = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) SELECT COUNT(*) FROM c";
    std::thread::scope(|s| {
        let counting = s.spawn(|| a.query_first::<i64, _>(count).map(drop));
        eventually("the count in the processlist", || {
            info(&mut root).is_some_and(|(_, info)| info == count)
        });
        root.query_drop(format!("KILL QUERY {a_id}")).unwrap();
        assert_eq!(
            server_error(counting.join().unwrap().unwrap_err()),
            (1317, "Query execution was interrupted".into())
        );
    });
    // KILL QUERY leaves the session; KILL ends it.
    assert_eq!(a.query_first::<i64, _>("SELECT 1").unwrap(), Some(1));
    root.query_drop(format!("KILL {a_id}")).unwrap();
    assert!(
        a.query_drop("SELECT 1").is_err(),
        "the killed session is gone"
    );
    eventually("the killed session to leave the processlist", || {
        let rows: Vec<mysql::Row> = root.query("SHOW PROCESSLIST").unwrap();
        !rows.iter().any(|r| r.get::<u32, _>(0) == Some(a_id))
    });
    // A session's KILL of itself answers 1317 and closes it.
    let mut own = server.root();
    assert_eq!(code(own.query_drop("KILL CONNECTION_ID()")), 1317);
    assert!(own.query_drop("SELECT 1").is_err());
    let listed: i64 = root
        .query_first("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'b'")
        .unwrap()
        .unwrap();
    assert_eq!(listed, 1);
}

#[test]
fn lock_tables_hold_other_sessions_off_until_unlock() {
    let server = TestServer::start();
    let mut a = server.root();
    let mut b = server.root();
    for sql in [
        "CREATE DATABASE lk",
        "CREATE TABLE lk.t (id INT PRIMARY KEY)",
        "CREATE TABLE lk.u (id INT)",
        "CREATE TABLE lk.v (id INT)",
        "INSERT INTO lk.t VALUES (1)",
    ] {
        a.query_drop(sql).unwrap();
    }
    a.query_drop("LOCK TABLES lk.t WRITE, lk.u AS alias READ /*!32311 LOCAL */")
        .unwrap();
    a.query_drop("INSERT INTO lk.t VALUES (2)").unwrap();
    a.query_drop("SELECT * FROM lk.u").unwrap();
    assert_eq!(
        server_error(a.query_drop("INSERT INTO lk.u VALUES (1)").unwrap_err()),
        (
            1099,
            "Table 'u' was locked with a READ lock and can't be updated".into()
        )
    );
    assert_eq!(code(a.query_drop("SELECT * FROM lk.v")), 1100);
    // Another session reads what is locked READ, and waits for the rest.
    b.query_drop("SET lock_wait_timeout = 1").unwrap();
    b.query_drop("SELECT * FROM lk.u").unwrap();
    assert_eq!(code(b.query_drop("SELECT * FROM lk.t")), 1205);
    assert_eq!(code(b.query_drop("INSERT INTO lk.u VALUES (1)")), 1205);
    b.query_drop("SET lock_wait_timeout = 60").unwrap();
    let b_id = b.connection_id();
    std::thread::scope(|s| {
        let waiting = s.spawn(|| b.query_first::<i64, _>("SELECT COUNT(*) FROM lk.t"));
        eventually("the read to wait for the lock", || {
            let rows: Vec<mysql::Row> = a.query("SHOW PROCESSLIST").unwrap();
            rows.iter().any(|r| {
                r.get::<u32, _>(0) == Some(b_id)
                    && r.get::<String, _>(6).as_deref() == Some("Waiting for table level lock")
            })
        });
        a.query_drop("UNLOCK TABLES").unwrap();
        assert_eq!(waiting.join().unwrap().unwrap(), Some(2));
    });
    assert_eq!(code(a.query_drop("LOCK TABLES lk.nope READ")), 1146);
    a.query_drop("CREATE USER reader IDENTIFIED BY 'pw'")
        .unwrap();
    a.query_drop("GRANT SELECT ON lk.* TO reader").unwrap();
    let mut reader = mysql::Conn::new(server.opts("reader", "pw")).unwrap();
    assert_eq!(code(reader.query_drop("LOCK TABLES lk.t READ")), 1044);
    a.query_drop("GRANT LOCK TABLES ON lk.* TO reader").unwrap();
    reader.query_drop("LOCK TABLES lk.t READ").unwrap();
    // A session's end releases its locks.
    drop(reader);
    eventually("the lock of a closed session to go", || {
        b.query_drop("INSERT INTO lk.t VALUES (3)").is_ok()
    });
}

#[test]
fn savepoints_snapshots_and_create_schema() {
    let server = TestServer::start();
    let mut a = server.root();
    let mut b = server.root();
    a.query_drop("CREATE SCHEMA IF NOT EXISTS sp DEFAULT CHARACTER SET utf8mb4")
        .unwrap();
    a.query_drop("CREATE SCHEMA IF NOT EXISTS sp").unwrap();
    assert_eq!(a.warnings(), 1);
    a.query_drop("CREATE TABLE sp.t (id INT PRIMARY KEY)")
        .unwrap();
    for sql in [
        "BEGIN",
        "INSERT INTO sp.t VALUES (1)",
        "SAVEPOINT a",
        "INSERT INTO sp.t VALUES (2)",
        "SAVEPOINT b",
        "INSERT INTO sp.t VALUES (3)",
        "ROLLBACK TO SAVEPOINT a",
        "INSERT INTO sp.t VALUES (4)",
        "RELEASE SAVEPOINT a",
    ] {
        a.query_drop(sql).unwrap();
    }
    assert_eq!(
        server_error(a.query_drop("ROLLBACK TO b").unwrap_err()),
        (1305, "SAVEPOINT b does not exist".into())
    );
    a.query_drop("COMMIT").unwrap();
    let ids: Vec<i64> = a.query("SELECT id FROM sp.t ORDER BY id").unwrap();
    assert_eq!(ids, [1, 4]);
    // Outside a transaction there is nothing to go back to.
    a.query_drop("SAVEPOINT c").unwrap();
    assert_eq!(code(a.query_drop("ROLLBACK TO SAVEPOINT c")), 1305);
    // A consistent snapshot does not hold writers up, and does not see them.
    a.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        .unwrap();
    assert_eq!(
        a.query_first::<i64, _>("SELECT COUNT(*) FROM sp.t")
            .unwrap(),
        Some(2)
    );
    b.query_drop("INSERT INTO sp.t VALUES (5)").unwrap();
    assert_eq!(
        a.query_first::<i64, _>("SELECT COUNT(*) FROM sp.t")
            .unwrap(),
        Some(2)
    );
    a.query_drop("COMMIT").unwrap();
    assert_eq!(
        a.query_first::<i64, _>("SELECT COUNT(*) FROM sp.t")
            .unwrap(),
        Some(3)
    );
}

#[test]
fn change_user_logs_in_again_on_the_same_connection() {
    let server = TestServer::start();
    let mut root = server.root();
    for sql in [
        "CREATE DATABASE cu",
        "CREATE TABLE cu.t (id INT)",
        "CREATE USER tls_only IDENTIFIED BY 'pw-t' REQUIRE SSL",
        "CREATE USER cert_only IDENTIFIED BY 'pw-c' REQUIRE X509",
        "CREATE USER one IDENTIFIED BY 'pw-1' WITH MAX_USER_CONNECTIONS 1",
        "GRANT SELECT ON cu.* TO tls_only",
    ] {
        root.query_drop(sql).unwrap();
    }
    let verified = mysql::SslOpts::default()
        .with_root_cert_path(Some(server.tls_dir().join("ca.pem")))
        .with_danger_skip_domain_validation(true);
    let mut c = mysql::Conn::new(server.opts("root", "").ssl_opts(Some(verified.clone()))).unwrap();
    let id = c.connection_id();
    c.query_drop("SET @x = 1, lock_wait_timeout = 7").unwrap();
    c.query_drop("LOCK TABLES cu.t WRITE").unwrap();
    c.change_user(
        mysql::ChangeUserOpts::default()
            .with_user(Some("tls_only".into()))
            .with_pass(Some("pw-t".into()))
            .with_db_name(Some("cu".into())),
    )
    .unwrap();
    let who: (String, String, Option<i64>, i64) = c
        .query_first("SELECT CURRENT_USER(), DATABASE(), @x, @@lock_wait_timeout")
        .unwrap()
        .unwrap();
    assert_eq!(who, ("tls_only@%".into(), "cu".into(), None, 31_536_000));
    assert_eq!(c.connection_id(), id, "the same connection");
    // The session was reset: its table lock is gone.
    root.query_drop("INSERT INTO cu.t VALUES (1)").unwrap();
    let listed: Vec<mysql::Row> = root.query("SHOW PROCESSLIST").unwrap();
    let row = listed
        .iter()
        .find(|r| r.get::<u32, _>(0) == Some(id))
        .unwrap();
    assert_eq!(row.get::<String, _>(1).as_deref(), Some("tls_only"));
    assert_eq!(row.get::<String, _>(3).as_deref(), Some("cu"));
    // REQUIRE is checked on the connection's transport: refused (1873), and closed.
    let mut plain = server.root();
    let e = server_error(
        plain
            .change_user(
                mysql::ChangeUserOpts::default()
                    .with_user(Some("tls_only".into()))
                    .with_pass(Some("pw-t".into())),
            )
            .unwrap_err(),
    );
    assert_eq!(
        e,
        (
            1873,
            "Access denied trying to change to user 'tls_only'@'127.0.0.1' (using password: YES). Disconnecting.".into()
        )
    );
    assert!(plain.query_drop("SELECT 1").is_err());
    for (user, pass) in [("cert_only", "pw-c"), ("tls_only", "wrong")] {
        let mut c =
            mysql::Conn::new(server.opts("root", "").ssl_opts(Some(verified.clone()))).unwrap();
        let e = c
            .change_user(
                mysql::ChangeUserOpts::default()
                    .with_user(Some(user.into()))
                    .with_pass(Some(pass.into())),
            )
            .unwrap_err();
        assert_eq!(server_error(e).0, 1873, "{user}");
    }
    // The new account's connection limit counts the session.
    let _one = mysql::Conn::new(server.opts("one", "pw-1")).unwrap();
    let mut c = server.root();
    let e = c
        .change_user(
            mysql::ChangeUserOpts::default()
                .with_user(Some("one".into()))
                .with_pass(Some("pw-1".into())),
        )
        .unwrap_err();
    assert_eq!(
        server_error(e),
        (
            1226,
            "User 'one' has exceeded the 'max_user_connections' resource (current value: 1)".into()
        )
    );
}

#[test]
fn resource_limits_are_enforced_as_mysql_does() {
    let server = TestServer::start();
    let mut root = server.root();
    root.query_drop("CREATE USER lim IDENTIFIED BY 'pw' WITH MAX_USER_CONNECTIONS 2 MAX_QUERIES_PER_HOUR 5 MAX_UPDATES_PER_HOUR 1")
        .unwrap();
    root.query_drop("GRANT ALL ON lim.* TO lim").unwrap();
    root.query_drop("CREATE DATABASE lim").unwrap();
    root.query_drop("CREATE TABLE lim.t (id INT)").unwrap();
    let mut first = mysql::Conn::new(server.opts("lim", "pw")).unwrap();
    let _second = mysql::Conn::new(server.opts("lim", "pw")).unwrap();
    let refused = mysql::Conn::new(server.opts("lim", "pw")).unwrap_err();
    assert_eq!(
        server_error(refused),
        (
            1226,
            "User 'lim' has exceeded the 'max_user_connections' resource (current value: 2)".into()
        )
    );
    first.query_drop("INSERT INTO lim.t VALUES (1)").unwrap();
    assert_eq!(
        server_error(
            first
                .query_drop("INSERT INTO lim.t VALUES (2)")
                .unwrap_err()
        ),
        (
            1226,
            "User 'lim' has exceeded the 'max_updates' resource (current value: 1)".into()
        )
    );
    // Queries go on until their own limit (the mysql crate's connect ran some too).
    let mut answered = 0;
    let e = loop {
        match first.query_drop("SELECT 1") {
            Ok(()) => answered += 1,
            Err(e) => break e,
        }
        assert!(answered < 10, "no query limit");
    };
    assert!(server_error(e).1.contains("'max_questions'"));
    // FLUSH USER_RESOURCES starts the hour again.
    root.query_drop("FLUSH USER_RESOURCES").unwrap();
    first.query_drop("SELECT 1").unwrap();
    // The global max_user_connections applies to accounts without their own limit.
    root.query_drop("CREATE USER free IDENTIFIED BY 'pw'")
        .unwrap();
    root.query_drop("SET GLOBAL max_user_connections = 1")
        .unwrap();
    let _f = mysql::Conn::new(server.opts("free", "pw")).unwrap();
    assert_eq!(
        server_error(mysql::Conn::new(server.opts("free", "pw")).unwrap_err()).0,
        1203
    );
}

/// A root connection whose client sets CLIENT_FOUND_ROWS: affected rows count the rows a
/// change found, not only those it changed.
fn root_with_found_rows(server: &TestServer) -> mysql::Conn {
    mysql::Conn::new(
        server
            .opts("root", "")
            .additional_capabilities(mysql::consts::CapabilityFlags::CLIENT_FOUND_ROWS),
    )
    .unwrap()
}

/// MySQL counts the rows an UPDATE changed, or with CLIENT_FOUND_ROWS those it matched (what
/// ORMs' optimistic locking counts on); SQLite counts matched rows.
#[test]
fn update_counts_changed_rows_unless_the_client_asks_for_found_rows() {
    let server = TestServer::start();
    let mut setup = server.root();
    setup
        .query_drop(
            "CREATE DATABASE u; CREATE TABLE u.t (id INT PRIMARY KEY, name VARCHAR(10), n INT); \
             INSERT INTO u.t VALUES (1, 'alice', 5), (2, 'bob', NULL), (3, 'carol', 5)",
        )
        .unwrap();
    let mut changed = server.root();
    let mut matched = root_with_found_rows(&server);

    changed.query_drop("UPDATE u.t SET n = 5").unwrap();
    assert_eq!(changed.affected_rows(), 1, "only bob's NULL became 5");
    matched.query_drop("UPDATE u.t SET n = 5").unwrap();
    assert_eq!(matched.affected_rows(), 3);
    // A case-insensitive column still changes when only the case does.
    changed
        .query_drop("UPDATE u.t SET name = 'ALICE' WHERE id = 1")
        .unwrap();
    assert_eq!(changed.affected_rows(), 1);
    changed
        .query_drop("UPDATE u.t SET name = 'ALICE', n = n WHERE id = 1")
        .unwrap();
    assert_eq!(changed.affected_rows(), 0);
    // Prepared: the SET value's parameter is also the one compared, the WHERE's stays its own.
    let update = "UPDATE u.t SET n = ? WHERE id >= ?";
    changed.exec_drop(update, (7, 2)).unwrap();
    assert_eq!(changed.affected_rows(), 2);
    changed.exec_drop(update, (7, 1)).unwrap();
    assert_eq!(changed.affected_rows(), 1, "rows 2 and 3 already hold 7");
    matched.exec_drop(update, (7, 1)).unwrap();
    assert_eq!(matched.affected_rows(), 3);
    changed
        .query_drop("UPDATE u.t SET n = NULL WHERE id = 2")
        .unwrap();
    changed.query_drop("UPDATE u.t SET n = NULL").unwrap();
    assert_eq!(changed.affected_rows(), 2, "NULL over NULL is no change");
    let rows: Vec<(i64, String, Option<i64>)> = setup
        .query("SELECT id, name, n FROM u.t ORDER BY id")
        .unwrap();
    assert_eq!(
        rows,
        vec![
            (1, "ALICE".to_string(), None),
            (2, "bob".to_string(), None),
            (3, "carol".to_string(), None)
        ]
    );
}

/// MySQL's affected rows for `INSERT … ON DUPLICATE KEY UPDATE`: 1 for each inserted row, 2 for
/// each updated one, 0 for a row the update leaves as it was (1 with CLIENT_FOUND_ROWS); a
/// statement that only updated reports the updated row's AUTO_INCREMENT value as its insert id.
/// Every figure here is what MariaDB 10.11 answers to the same statements.
#[test]
fn upserts_count_inserted_updated_and_unchanged_rows_as_mysql() {
    let server = TestServer::start();
    let mut changed = server.root();
    let mut matched = root_with_found_rows(&server);
    changed
        .query_drop(
            "CREATE DATABASE up; CREATE TABLE up.t (id INT AUTO_INCREMENT PRIMARY KEY, \
             k VARCHAR(10) UNIQUE, n INT); CREATE TABLE up.kv (k VARCHAR(10) PRIMARY KEY, v INT)",
        )
        .unwrap();
    let run = |c: &mut mysql::Conn, sql: &str| {
        c.query_drop(sql).unwrap();
        (c.affected_rows(), c.last_insert_id())
    };
    let id = |c: &mut mysql::Conn, k: &str| -> u64 {
        c.exec_first("SELECT id FROM up.t WHERE k = ?", (k,))
            .unwrap()
            .unwrap()
    };
    let bump = "INSERT INTO up.t (k, n) VALUES ('a', 1) ON DUPLICATE KEY UPDATE n = n + 1";
    let (affected, inserted) = run(&mut changed, bump);
    let a = id(&mut changed, "a");
    assert_eq!((affected, inserted), (1, a), "inserted");
    assert_eq!(run(&mut changed, bump), (2, a), "updated: the row's id");
    let same = "INSERT INTO up.t (k, n) VALUES ('a', 7) ON DUPLICATE KEY UPDATE n = n";
    assert_eq!(run(&mut changed, same), (0, 0), "left as it was");
    assert_eq!(run(&mut matched, same), (1, 0), "found");

    // 'a' already holds 2: unchanged; 'b' and 'c' are new.
    let (affected, inserted) = run(
        &mut changed,
        "INSERT INTO up.t (k, n) VALUES ('a', 2), ('b', 3), ('c', 4) \
         ON DUPLICATE KEY UPDATE n = VALUES(n)",
    );
    assert_eq!((affected, inserted), (2, id(&mut changed, "b")));
    // 'a' changes (2), 'b' stays (0, or 1 found), 'd' is new (1).
    let mixed = |a: i64, d: &str| {
        format!(
            "INSERT INTO up.t (k, n) VALUES ('a', {a}), ('b', 3), ('{d}', 4) \
             ON DUPLICATE KEY UPDATE n = VALUES(n)"
        )
    };
    let (affected, inserted) = run(&mut changed, &mixed(9, "d"));
    assert_eq!((affected, inserted), (3, id(&mut changed, "d")));
    let (affected, inserted) = run(&mut matched, &mixed(10, "e"));
    assert_eq!((affected, inserted), (4, id(&mut changed, "e")));

    // From a SELECT, a statement that only updated reports no insert id.
    let from_select = "INSERT INTO up.t (k, n) SELECT k, n + 10 FROM up.t WHERE k IN ('a', 'b') \
                       ON DUPLICATE KEY UPDATE n = VALUES(n)";
    assert_eq!(run(&mut changed, from_select), (4, 0));
    let unchanged_select = "INSERT INTO up.t (k, n) SELECT k, n FROM up.t WHERE k IN ('a', 'b') \
                            ON DUPLICATE KEY UPDATE n = VALUES(n)";
    assert_eq!(run(&mut changed, unchanged_select), (0, 0));
    assert_eq!(run(&mut matched, unchanged_select), (2, 0));

    // Prepared: the parameter in the assignment is also the one compared.
    let prepared = "INSERT INTO up.t (k, n) VALUES (?, 0) ON DUPLICATE KEY UPDATE n = ?";
    changed.exec_drop(prepared, ("c", 40)).unwrap();
    assert_eq!(changed.affected_rows(), 2);
    changed.exec_drop(prepared, ("c", 40)).unwrap();
    assert_eq!(changed.affected_rows(), 0);
    matched.exec_drop(prepared, ("c", 40)).unwrap();
    assert_eq!(matched.affected_rows(), 1);

    // NULL over NULL is no change; a change of case is one.
    let to_null = "INSERT INTO up.t (k, n) VALUES ('c', 0) ON DUPLICATE KEY UPDATE n = NULL";
    assert_eq!(run(&mut changed, to_null).0, 2);
    assert_eq!(run(&mut changed, to_null).0, 0);
    let recase = "INSERT INTO up.t (k, n) VALUES ('c', 0) ON DUPLICATE KEY UPDATE k = 'C'";
    assert_eq!(run(&mut changed, recase), (2, id(&mut changed, "C")));

    // Without an AUTO_INCREMENT column no insert reports an id: SQLite's rowid is its own.
    let kv = "INSERT INTO up.kv VALUES ('x', 1) ON DUPLICATE KEY UPDATE v = v + 1";
    assert_eq!(run(&mut changed, kv), (1, 0));
    assert_eq!(run(&mut changed, kv), (2, 0));
    assert_eq!(
        run(&mut changed, "INSERT INTO up.kv VALUES ('y', 1)"),
        (1, 0)
    );
    // A temporary table's AUTO_INCREMENT values are reported as a base table's.
    changed
        .query_drop(
            "CREATE TEMPORARY TABLE up.tmp (id INT AUTO_INCREMENT PRIMARY KEY, k INT UNIQUE)",
        )
        .unwrap();
    assert_eq!(
        run(&mut changed, "INSERT INTO up.tmp (k) VALUES (5), (6)"),
        (2, 1)
    );
    assert_eq!(
        run(
            &mut changed,
            "INSERT INTO up.tmp (k) VALUES (5) ON DUPLICATE KEY UPDATE k = 7"
        ),
        (2, 1)
    );

    let rows: Vec<(String, Option<i64>)> =
        changed.query("SELECT k, n FROM up.t ORDER BY k").unwrap();
    assert_eq!(
        rows,
        vec![
            ("a".to_string(), Some(20)),
            ("b".to_string(), Some(13)),
            ("C".to_string(), None),
            ("d".to_string(), Some(4)),
            ("e".to_string(), Some(4)),
        ]
    );
}

#[test]
fn temporary_tables_belong_to_their_session() {
    let server = TestServer::start();
    let mut c = server.root();
    let failure = |r: mysql::Result<()>| server_error(r.unwrap_err());
    assert_eq!(
        failure(c.query_drop("CREATE TEMPORARY TABLE t (a INT)")).0,
        1046
    );
    c.query_drop("CREATE DATABASE tmp").unwrap();
    c.query_drop("USE tmp").unwrap();
    c.query_drop("CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20))")
        .unwrap();
    c.query_drop("INSERT INTO items VALUES (1, 'base')")
        .unwrap();
    c.query_drop("CREATE TABLE prices (id INT PRIMARY KEY, price INT)")
        .unwrap();
    c.query_drop("INSERT INTO prices VALUES (1, 10), (2, 20)")
        .unwrap();

    // AUTO_INCREMENT, keys and NOT NULL as for a base table.
    c.query_drop(
        "CREATE TEMPORARY TABLE scratch (id INT NOT NULL AUTO_INCREMENT, item INT NOT NULL, \
         note VARCHAR(10), PRIMARY KEY (id), UNIQUE KEY by_item (item))",
    )
    .unwrap();
    c.query_drop("INSERT INTO scratch (item, note) VALUES (1, 'a'), (2, 'b')")
        .unwrap();
    assert_eq!(c.last_insert_id(), 1);
    assert_eq!(
        failure(c.query_drop("INSERT INTO scratch (item) VALUES (1)")),
        (1062, "Duplicate entry '1' for key 'scratch.by_item'".into())
    );
    assert_eq!(
        failure(c.query_drop("INSERT INTO scratch (item) VALUES (NULL)")),
        (1048, "Column 'item' cannot be null".into())
    );
    // Joined with a base table, in a subquery, qualified by its name, prepared.
    let joined: Vec<(String, i64)> = c
        .query(
            "SELECT scratch.note, p.price FROM scratch JOIN prices p ON p.id = scratch.item \
             ORDER BY scratch.id",
        )
        .unwrap();
    assert_eq!(joined, vec![("a".into(), 10), ("b".into(), 20)]);
    let priced: Vec<i64> = c
        .query(
            "SELECT price FROM prices WHERE id IN (SELECT item FROM tmp.scratch WHERE note = 'b')",
        )
        .unwrap();
    assert_eq!(priced, vec![20]);
    c.query_drop("UPDATE scratch SET note = 'c' WHERE scratch.item = 2")
        .unwrap();
    assert_eq!(c.affected_rows(), 1);
    c.query_drop("DELETE FROM scratch WHERE item = 1").unwrap();
    assert_eq!(c.affected_rows(), 1);
    let notes: Vec<String> = c
        .exec("SELECT note FROM scratch WHERE item = ?", (2,))
        .unwrap();
    assert_eq!(notes, vec!["c".to_string()]);

    // Described as a temporary table, listed nowhere.
    let (_, create): (String, String) =
        c.query_first("SHOW CREATE TABLE scratch").unwrap().unwrap();
    assert!(
        create
            .starts_with("CREATE TEMPORARY TABLE `scratch` (\n  `id` int NOT NULL AUTO_INCREMENT,"),
        "{create}"
    );
    assert!(create.contains("UNIQUE KEY `by_item` (`item`)"), "{create}");
    assert!(create.contains("AUTO_INCREMENT=3"), "{create}");
    let described: Vec<(String, String, String, String)> = c
        .query("DESCRIBE scratch")
        .unwrap()
        .into_iter()
        .map(|row: mysql::Row| {
            let (field, kind, null, key, _, _): (
                String,
                String,
                String,
                String,
                Option<String>,
                String,
            ) = mysql::from_row(row);
            (field, kind, null, key)
        })
        .collect();
    assert_eq!(
        described,
        vec![
            ("id".into(), "int".into(), "NO".into(), "PRI".into()),
            ("item".into(), "int".into(), "NO".into(), "UNI".into()),
            ("note".into(), "varchar(10)".into(), "YES".into(), "".into()),
        ]
    );
    let full: Vec<mysql::Row> = c.query("SHOW FULL COLUMNS FROM tmp.scratch").unwrap();
    assert_eq!(full.len(), 3);
    let keys: Vec<mysql::Row> = c.query("SHOW INDEX FROM scratch").unwrap();
    assert_eq!(keys.len(), 2);
    let tables: Vec<String> = c.query("SHOW TABLES").unwrap();
    assert_eq!(tables, vec!["items".to_string(), "prices".to_string()]);
    let listed: i64 = c
        .query_first("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'tmp'")
        .unwrap()
        .unwrap();
    assert_eq!(listed, 2);
    c.query_drop("CREATE TEMPORARY TABLE IF NOT EXISTS scratch (a INT)")
        .unwrap();
    assert_eq!(c.warnings(), 1);
    assert_eq!(
        failure(c.query_drop("CREATE TEMPORARY TABLE scratch (a INT)")),
        (1050, "Table 'scratch' already exists".into())
    );

    // TRUNCATE restarts AUTO_INCREMENT; ALTER TABLE and CREATE INDEX are refused by name.
    c.query_drop("TRUNCATE TABLE scratch").unwrap();
    c.query_drop("INSERT INTO scratch (item) VALUES (5)")
        .unwrap();
    assert_eq!(c.last_insert_id(), 1);
    for sql in [
        "ALTER TABLE scratch ADD COLUMN extra INT",
        "CREATE INDEX by_note ON scratch (note)",
        "DROP INDEX by_item ON scratch",
    ] {
        let (code, message) = failure(c.query_drop(sql));
        assert_eq!(code, 1235, "{sql}: {message}");
        assert!(message.contains("TEMPORARY"), "{sql}: {message}");
        assert!(
            !message.contains("_tlsql_") && !message.contains("sqlite"),
            "{message}"
        );
    }

    // A temporary table shadows the base table of its name for every statement.
    c.query_drop("CREATE TEMPORARY TABLE items (id INT, name VARCHAR(20))")
        .unwrap();
    c.query_drop("INSERT INTO items VALUES (1, 'temporary')")
        .unwrap();
    let names: Vec<String> = c.query("SELECT name FROM tmp.items").unwrap();
    assert_eq!(names, vec!["temporary".to_string()]);
    let (_, create): (String, String) = c.query_first("SHOW CREATE TABLE items").unwrap().unwrap();
    assert!(create.starts_with("CREATE TEMPORARY TABLE"), "{create}");

    // Other sessions never see it.
    let mut other = server.root();
    let names: Vec<String> = other.query("SELECT name FROM tmp.items").unwrap();
    assert_eq!(names, vec!["base".to_string()]);
    assert_eq!(
        failure(other.query_drop("SELECT * FROM tmp.scratch")),
        (1146, "Table 'tmp.scratch' doesn't exist".into())
    );
    assert_eq!(
        failure(other.query_drop("DROP TEMPORARY TABLE tmp.items")),
        (1051, "Unknown table 'tmp.items'".into())
    );

    // DROP drops the temporary table first; the base table is seen again.
    c.query_drop("DROP TABLE items").unwrap();
    let names: Vec<String> = c.query("SELECT name FROM items").unwrap();
    assert_eq!(names, vec!["base".to_string()]);
    assert_eq!(
        failure(c.query_drop("DROP TEMPORARY TABLE items")),
        (1051, "Unknown table 'tmp.items'".into())
    );
    c.query_drop("DROP TEMPORARY TABLE IF EXISTS items")
        .unwrap();
    assert_eq!(c.warnings(), 1);
    let names: Vec<String> = c.query("SELECT name FROM items").unwrap();
    assert_eq!(names, vec!["base".to_string()], "the base table is kept");

    // COM_RESET_CONNECTION drops the session's temporary tables.
    c.query_drop("CREATE TEMPORARY TABLE items (id INT)")
        .unwrap();
    c.reset().unwrap();
    assert_eq!(
        failure(c.query_drop("SELECT * FROM tmp.scratch")),
        (1146, "Table 'tmp.scratch' doesn't exist".into())
    );
    let names: Vec<String> = c.query("SELECT name FROM tmp.items").unwrap();
    assert_eq!(names, vec!["base".to_string()]);
    // So does COM_CHANGE_USER.
    c.query_drop("CREATE TEMPORARY TABLE tmp.items (id INT)")
        .unwrap();
    c.change_user(mysql::ChangeUserOpts::default()).unwrap();
    let names: Vec<String> = c.query("SELECT name FROM tmp.items").unwrap();
    assert_eq!(names, vec!["base".to_string()]);
}

#[test]
fn a_new_session_sees_nothing_of_the_session_whose_connection_it_reuses() {
    let server = TestServer::start();
    let mut root = server.root();
    root.query_drop("CREATE DATABASE pooled").unwrap();
    root.query_drop("CREATE TABLE pooled.parent (id INT PRIMARY KEY)")
        .unwrap();
    root.query_drop("CREATE TABLE pooled.child (id INT PRIMARY KEY, parent_id INT)")
        .unwrap();
    // Everything a session may leave on its storage connection, then a disconnect. Storage
    // keeps the connection for the next session, which gets the one given back last, with the
    // statements it prepared: the next session runs the same texts, and must not get what
    // they were prepared as here (without foreign key checks).
    let mut dirty = server.root();
    let dirty_id = dirty.connection_id();
    for sql in [
        "USE pooled",
        "ALTER TABLE child ADD CONSTRAINT child_fk FOREIGN KEY (parent_id) REFERENCES parent (id)",
        "SET foreign_key_checks = 0",
        "INSERT INTO pooled.child VALUES (2, 99)",
        "DELETE FROM pooled.child WHERE id = 2",
        "SELECT id FROM pooled.parent",
        "SELECT COUNT(*) FROM information_schema.TABLES",
        "INSERT INTO parent VALUES (41)",
        "CREATE TEMPORARY TABLE child (id INT)",
        "INSERT INTO child VALUES (5)",
        "SET autocommit = 0",
        "INSERT INTO parent VALUES (42)",
    ] {
        dirty.query_drop(sql).unwrap();
    }
    std::thread::scope(|s| {
        let sleeping = s.spawn(|| dirty.query_first::<i64, _>("SELECT SLEEP(60)"));
        eventually("the sleep to run", || {
            let rows: Vec<(u32, Option<String>)> = root
                .query("SELECT ID, INFO FROM information_schema.PROCESSLIST")
                .unwrap();
            rows.contains(&(dirty_id, Some("SELECT SLEEP(60)".into())))
        });
        root.query_drop(format!("KILL QUERY {dirty_id}")).unwrap();
        assert_eq!(sleeping.join().unwrap().unwrap(), Some(1));
    });
    drop(dirty);
    eventually("the session to end", || {
        let rows: Vec<u32> = root
            .query("SELECT ID FROM information_schema.PROCESSLIST")
            .unwrap();
        !rows.contains(&dirty_id)
    });
    for _ in 0..2 {
        let mut next = server.root();
        let database: Option<String> = next.query_first("SELECT DATABASE()").unwrap().unwrap();
        assert_eq!(database, None);
        let id: i64 = next
            .query_first("SELECT LAST_INSERT_ID()")
            .unwrap()
            .unwrap();
        assert_eq!(id, 0);
        let started = std::time::Instant::now();
        let slept: i64 = next.query_first("SELECT SLEEP(0.2)").unwrap().unwrap();
        assert_eq!(slept, 0, "not interrupted");
        assert!(started.elapsed() >= Duration::from_millis(200));
        let rows: Vec<i64> = next.query("SELECT id FROM pooled.parent").unwrap();
        assert_eq!(rows, vec![41], "the uncommitted row rolled back");
        // Nothing holds the database's write lock (a wait would end in 1205 after 10 s).
        root.query_drop("INSERT INTO pooled.parent VALUES (43)")
            .unwrap();
        root.query_drop("DELETE FROM pooled.parent WHERE id = 43")
            .unwrap();
        assert_eq!(
            code(next.query_drop("INSERT INTO pooled.child VALUES (2, 99)")),
            1452,
            "foreign keys enforced"
        );
        let (_, create): (String, String) = next
            .query_first("SHOW CREATE TABLE pooled.child")
            .unwrap()
            .unwrap();
        assert!(
            create.starts_with("CREATE TABLE"),
            "not the temporary table: {create}"
        );
        next.query_drop("INSERT INTO pooled.child VALUES (3, 41)")
            .unwrap();
        next.query_drop("DELETE FROM pooled.child WHERE id = 3")
            .unwrap();
        let tables: i64 = next
            .query_first(
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'pooled'",
            )
            .unwrap()
            .unwrap();
        assert_eq!(tables, 2);
    }
}

#[test]
fn views_are_read_like_tables_and_described_as_mysql_does() {
    let server = TestServer::start();
    let mut c = server.root();
    let failure = |r: mysql::Result<()>| server_error(r.unwrap_err());
    c.query_drop("CREATE DATABASE shop").unwrap();
    c.query_drop("CREATE DATABASE other").unwrap();
    c.query_drop("CREATE TABLE other.t (a INT)").unwrap();
    c.query_drop("USE shop").unwrap();
    c.query_drop("CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20), price INT)")
        .unwrap();
    c.query_drop("INSERT INTO items VALUES (1, 'pen', 3), (2, 'ink', 7), (3, 'pad', 12)")
        .unwrap();
    c.query_drop("CREATE TABLE stock (item INT, qty INT)")
        .unwrap();
    c.query_drop("INSERT INTO stock VALUES (1, 5), (2, 0), (3, 9)")
        .unwrap();

    // Made with MySQL's clauses, read with joins, WHERE, an expression's name and prepared.
    c.query_drop(
        "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW cheap AS \
         SELECT id, name, price * 2 FROM items WHERE price < 10",
    )
    .unwrap();
    let rows: Vec<(i64, String, i64)> = c.query("SELECT * FROM cheap ORDER BY id").unwrap();
    assert_eq!(rows, vec![(1, "pen".into(), 6), (2, "ink".into(), 14)]);
    let joined: Vec<(String, i64)> = c
        .query(
            "SELECT v.name, s.qty FROM cheap v JOIN stock s ON s.item = v.id \
             WHERE s.qty > 0 ORDER BY v.id",
        )
        .unwrap();
    assert_eq!(joined, vec![("pen".into(), 5)]);
    let prepared: Vec<String> = c
        .exec("SELECT name FROM shop.cheap WHERE id = ?", (2,))
        .unwrap();
    assert_eq!(prepared, vec!["ink".to_string()]);
    let described: Vec<(String, String)> = c
        .query_map("DESCRIBE cheap", |row: mysql::Row| {
            (
                row.get::<String, _>(0).unwrap(),
                row.get::<String, _>(1).unwrap(),
            )
        })
        .unwrap();
    let fields: Vec<&str> = described.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(fields, vec!["id", "name", "price * 2"]);
    let columns: Vec<String> = c
        .query_map("SHOW COLUMNS FROM cheap", |row: mysql::Row| {
            row.get::<String, _>(0).unwrap()
        })
        .unwrap();
    assert_eq!(columns.len(), 3);

    // A column list; OR REPLACE replaces a view, and a view over a view.
    c.query_drop("CREATE VIEW named (item, label) AS SELECT id, name FROM items")
        .unwrap();
    let labels: Vec<String> = c.query("SELECT label FROM named WHERE item = 3").unwrap();
    assert_eq!(labels, vec!["pad".to_string()]);
    c.query_drop("CREATE OR REPLACE VIEW named (item, label) AS SELECT id, UPPER(name) FROM cheap")
        .unwrap();
    let labels: Vec<String> = c.query("SELECT label FROM named ORDER BY item").unwrap();
    assert_eq!(labels, vec!["PEN".to_string(), "INK".to_string()]);

    // MySQL's functions in a view, read by another session (whose connection attaches the
    // database afresh).
    c.query_drop(
        "CREATE VIEW labelled AS SELECT CONCAT(name, ':', IF(price > 5, 'dear', 'cheap')) AS l \
         FROM items",
    )
    .unwrap();
    let mut other = server.root();
    let labels: Vec<String> = other
        .query("SELECT l FROM shop.labelled ORDER BY l")
        .unwrap();
    assert_eq!(labels, vec!["ink:dear", "pad:dear", "pen:cheap"]);
    other.query_drop("DROP VIEW shop.labelled").unwrap();

    // Shown as MySQL shows a view, by SHOW CREATE VIEW and SHOW CREATE TABLE.
    for show in ["SHOW CREATE VIEW cheap", "SHOW CREATE TABLE cheap"] {
        let row: mysql::Row = c.query_first(show).unwrap().unwrap();
        let names: Vec<String> = row
            .columns_ref()
            .iter()
            .map(|c| c.name_str().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "View",
                "Create View",
                "character_set_client",
                "collation_connection"
            ]
        );
        let create: String = row.get(1).unwrap();
        assert!(
            create.starts_with(
                "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW `cheap` AS SELECT"
            ),
            "{create}"
        );
    }
    // The view's own database is left out of the definition shown, so that a dump restores
    // the view into any database.
    c.query_drop("CREATE VIEW qualified AS SELECT id FROM shop.items")
        .unwrap();
    let (_, create): (String, String) = c
        .query_first("SHOW CREATE VIEW qualified")
        .unwrap()
        .map(|(v, c, _, _): (String, String, String, String)| (v, c))
        .unwrap();
    assert!(
        create.ends_with("VIEW `qualified` AS SELECT id FROM `items`"),
        "{create}"
    );
    c.query_drop("DROP VIEW qualified").unwrap();
    let (_, create): (String, String) = c
        .query_first("SHOW CREATE TABLE named")
        .unwrap()
        .map(|(v, c, _, _): (String, String, String, String)| (v, c))
        .unwrap();
    assert!(
        // The definer by default: the account creating the view.
        create.starts_with("CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`127.0.0.1` SQL SECURITY DEFINER VIEW `named` (`item`,`label`) AS SELECT"),
        "{create}"
    );
    assert_eq!(
        failure(c.query_drop("SHOW CREATE VIEW items")),
        (1347, "'shop.items' is not VIEW".into())
    );

    // Listed as views.
    let full: Vec<(String, String)> = c.query("SHOW FULL TABLES").unwrap();
    assert_eq!(
        full,
        vec![
            ("cheap".into(), "VIEW".into()),
            ("items".into(), "BASE TABLE".into()),
            ("named".into(), "VIEW".into()),
            ("stock".into(), "BASE TABLE".into()),
        ]
    );
    let status: Vec<(String, Option<String>, String)> = c
        .query_map("SHOW TABLE STATUS LIKE 'cheap'", |row: mysql::Row| {
            (
                row.get(0).unwrap(),
                row.get(1).unwrap(),
                row.get(17).unwrap(),
            )
        })
        .unwrap();
    assert_eq!(status, vec![("cheap".into(), None, "VIEW".into())]);
    let types: Vec<(String, String, Option<String>)> = c
        .query(
            "SELECT TABLE_NAME, TABLE_TYPE, ENGINE FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = 'shop' ORDER BY TABLE_NAME",
        )
        .unwrap();
    assert_eq!(
        types,
        vec![
            ("cheap".into(), "VIEW".into(), None),
            ("items".into(), "BASE TABLE".into(), Some("InnoDB".into())),
            ("named".into(), "VIEW".into(), None),
            ("stock".into(), "BASE TABLE".into(), Some("InnoDB".into())),
        ]
    );
    let views: Vec<(String, String, String, String, String)> = c
        .query(
            "SELECT TABLE_NAME, VIEW_DEFINITION, IS_UPDATABLE, DEFINER, SECURITY_TYPE \
             FROM information_schema.VIEWS WHERE TABLE_SCHEMA = 'shop' ORDER BY TABLE_NAME",
        )
        .unwrap();
    assert_eq!(views.len(), 2);
    assert_eq!(views[0].0, "cheap");
    assert!(views[0].1.starts_with("SELECT id, name"), "{}", views[0].1);
    assert_eq!(
        (
            views[0].2.as_str(),
            views[0].3.as_str(),
            views[0].4.as_str()
        ),
        ("NO", "root@localhost", "DEFINER")
    );

    // Names taken, views refused where MySQL refuses them.
    assert_eq!(
        failure(c.query_drop("CREATE VIEW cheap AS SELECT 1")),
        (1050, "Table 'cheap' already exists".into())
    );
    assert_eq!(
        failure(c.query_drop("CREATE VIEW items AS SELECT 1")),
        (1050, "Table 'items' already exists".into())
    );
    assert_eq!(
        failure(c.query_drop("CREATE TABLE cheap (a INT)")),
        (1050, "Table 'cheap' already exists".into())
    );
    assert_eq!(
        failure(c.query_drop("ALTER TABLE stock RENAME TO cheap")),
        (1050, "Table 'cheap' already exists".into())
    );
    assert_eq!(
        failure(c.query_drop("CREATE OR REPLACE VIEW items AS SELECT 1")).0,
        1347
    );
    let (number, message) = failure(c.query_drop("CREATE VIEW across AS SELECT a FROM other.t"));
    assert_eq!(number, 1235, "{message}");
    assert!(message.contains("another database"), "{message}");
    assert_eq!(
        failure(c.query_drop("CREATE VIEW missing AS SELECT * FROM nothing")).0,
        1146
    );
    assert_eq!(
        failure(c.query_drop("CREATE VIEW wrong (a, b) AS SELECT id FROM items")).0,
        1353
    );
    assert_eq!(
        failure(c.query_drop("CREATE VIEW twice AS SELECT id, id FROM items")),
        (1060, "Duplicate column name 'id'".into())
    );
    c.query_drop("CREATE TEMPORARY TABLE scratch (a INT)")
        .unwrap();
    assert_eq!(
        failure(c.query_drop("CREATE VIEW over_temporary AS SELECT a FROM scratch")).0,
        1352
    );
    assert_eq!(
        failure(c.query_drop("CREATE VIEW variable AS SELECT id FROM items WHERE id > @x")).0,
        1351
    );

    // Not updatable: MySQL's error, never SQLite's.
    for (statement, verb) in [
        ("INSERT INTO cheap (id, name) VALUES (9, 'x')", "INSERT"),
        ("UPDATE cheap SET name = 'x'", "UPDATE"),
        ("DELETE FROM cheap WHERE id = 1", "DELETE"),
    ] {
        assert_eq!(
            failure(c.query_drop(statement)),
            (
                1288,
                format!("The target table cheap of the {verb} is not updatable")
            ),
            "{statement}"
        );
    }
    // Reading a view into a table is fine.
    c.query_drop("CREATE TABLE copy (id INT, name VARCHAR(20), doubled INT)")
        .unwrap();
    c.query_drop("INSERT INTO copy SELECT * FROM cheap")
        .unwrap();
    assert_eq!(c.affected_rows(), 2);

    // Privileges: CREATE to make one, SELECT on what it reads.
    c.query_drop("CREATE USER viewer IDENTIFIED BY 'pw'")
        .unwrap();
    c.query_drop("GRANT SELECT ON shop.* TO viewer").unwrap();
    let mut viewer = mysql::Conn::new(server.opts("viewer", "pw").db_name(Some("shop"))).unwrap();
    let names: Vec<String> = viewer.query("SELECT name FROM cheap ORDER BY id").unwrap();
    assert_eq!(names, vec!["pen".to_string(), "ink".to_string()]);
    assert_eq!(
        code(viewer.query_drop("CREATE VIEW mine AS SELECT id FROM items")),
        1142
    );
    assert_eq!(code(viewer.query_drop("DROP VIEW cheap")), 1142);

    // DROP TABLE does not drop a view; DROP VIEW does not drop a table.
    assert_eq!(
        failure(c.query_drop("DROP TABLE cheap")),
        (1051, "Unknown table 'shop.cheap'".into())
    );
    assert_eq!(
        failure(c.query_drop("DROP VIEW items")),
        (1347, "'shop.items' is not VIEW".into())
    );
    assert_eq!(
        failure(c.query_drop("DROP VIEW cheap, gone")),
        (1051, "Unknown table 'shop.gone'".into())
    );
    c.query_drop("DROP VIEW IF EXISTS named, gone").unwrap();
    let notes: Vec<(String, u16, String)> = c.query("SHOW WARNINGS").unwrap();
    let notes: Vec<(u16, &str)> = notes.iter().map(|(_, n, m)| (*n, m.as_str())).collect();
    assert_eq!(notes, vec![(1051, "Unknown table 'shop.gone'")]);
    c.query_drop("DROP VIEW cheap").unwrap();
    let left: Vec<String> = c.query("SHOW TABLES").unwrap();
    assert_eq!(left, vec!["copy", "items", "stock"]);
    assert_eq!(failure(c.query_drop("SELECT * FROM cheap")).0, 1146);
    let n: i64 = c
        .query_first("SELECT COUNT(*) FROM information_schema.VIEWS")
        .unwrap()
        .unwrap();
    assert_eq!(n, 0);
}
