"""Real MySQL clients against a running tlsql server.

Each check runs in its own process (mysql-connector-python's C extension bundles its own
OpenSSL and must load before Python's ssl module), chosen by the first argument:

    clients.py <check> --port P --socket S --ca CA --client-cert C --client-key K

Every check asserts what it reads back and exits non-zero with a message on failure.
"""

import argparse
import os
import pty
import re
import select
import subprocess
import sys
import time

USERS = {
    # user: (password, plugin)
    "sha2": ("sha2-secret", "caching_sha2_password"),
    "native": ("native-secret", "mysql_native_password"),
}


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def args():
    p = argparse.ArgumentParser()
    p.add_argument("check")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--socket", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--client-cert")
    p.add_argument("--client-key")
    p.add_argument("--tag", default="run1")
    return p.parse_args()


def pymysql_connect(a, user, **kw):
    import pymysql

    password = USERS[user][0] if user in USERS else ""
    return pymysql.connect(host="127.0.0.1", port=a.port, user=user, password=password, autocommit=True, **kw)


def setup(a):
    """As root over the unix socket (no password, 'localhost'): database and accounts."""
    import pymysql

    cnx = pymysql.connect(unix_socket=a.socket, user="root", password="", autocommit=True)
    cur = cnx.cursor()
    cur.execute("CREATE DATABASE IF NOT EXISTS clients")
    for user, (password, plugin) in USERS.items():
        cur.execute(f"CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED WITH {plugin} BY '{password}'")
        cur.execute(f"GRANT ALL PRIVILEGES ON clients.* TO '{user}'@'%'")
    cur.execute("CREATE USER IF NOT EXISTS 'x509'@'%' IDENTIFIED BY 'x509-secret' REQUIRE X509")
    cur.execute("GRANT ALL PRIVILEGES ON clients.* TO 'x509'@'%'")
    cur.execute("SELECT CURRENT_USER(), @@have_ssl")
    row = cur.fetchone()
    check(row == ("root@localhost", "YES"), f"root over the unix socket: {row}")
    print("setup ok")


def write_and_read(cur, client, user, tag):
    table = f"clients.t_{client}_{user}"
    cur.execute(f"CREATE TABLE IF NOT EXISTS {table} (id INT AUTO_INCREMENT PRIMARY KEY, tag VARCHAR(40), note TEXT)")
    cur.execute(f"INSERT INTO {table} (tag, note) VALUES (%s, %s)", (tag, "it's \"quoted\" \\ and ünïcode"))
    cur.execute(f"SELECT tag, note FROM {table} WHERE tag = %s", (tag,))
    rows = cur.fetchall()
    check(len(rows) == 1 and rows[0][1] == "it's \"quoted\" \\ and ünïcode", f"{client}/{user} read back {rows}")


def read_back(cur, client, user, tags):
    cur.execute(f"SELECT tag FROM clients.t_{client}_{user} ORDER BY id")
    got = [r[0] for r in cur.fetchall()]
    check(got == tags, f"{client}/{user}: persisted rows {got}, expected {tags}")


def status(cur, name):
    cur.execute(f"SHOW SESSION STATUS LIKE '{name}'")
    row = cur.fetchone()
    return row[1] if row else None


def pymysql_check(a):
    """PyMySQL: verified TLS (CA + host name) for both plugins, a client certificate for the
    REQUIRE X509 account, and the RSA key exchange over plain TCP."""
    for user in USERS:
        cnx = pymysql_connect(a, user, ssl_ca=a.ca, ssl_verify_cert=True, ssl_verify_identity=True)
        cur = cnx.cursor()
        cipher = status(cur, "Ssl_cipher")
        check(cipher, f"pymysql/{user}: Ssl_cipher empty over TLS")
        check(status(cur, "Ssl_version") in ("TLSv1.2", "TLSv1.3"), "pymysql: Ssl_version")
        write_and_read(cur, "pymysql", user, a.tag)
        cnx.close()
    # Several statements in one query when the client asks for CLIENT_MULTI_STATEMENTS.
    import pymysql
    from pymysql.constants import CLIENT

    cnx = pymysql_connect(a, "sha2", ssl_ca=a.ca, client_flag=CLIENT.MULTI_STATEMENTS)
    cur = cnx.cursor()
    cur.execute("SELECT 'a;b'; SELECT 2 + 2; SELECT CURRENT_USER()")
    results = [cur.fetchall()]
    while cur.nextset():
        results.append(cur.fetchall())
    check(results == [(("a;b",),), ((4,),), (("sha2@%",),)], f"pymysql multi-statement results: {results}")
    cnx.close()
    # A client certificate issued by the auto-tls CA logs in a REQUIRE X509 account ...

    cnx = pymysql.connect(host="127.0.0.1", port=a.port, user="x509", password="x509-secret",
                          ssl_ca=a.ca, ssl_cert=a.client_cert, ssl_key=a.client_key, ssl_verify_identity=True)
    cur = cnx.cursor()
    cur.execute("SELECT CURRENT_USER()")
    check(cur.fetchone()[0] == "x509@%", "x509 account with client certificate")
    check(status(cur, "Ssl_verify_mode") == "5", "Ssl_verify_mode is 5 with a CA")
    cnx.close()
    # ... and without one it is refused exactly like a wrong password.
    try:
        pymysql.connect(host="127.0.0.1", port=a.port, user="x509", password="x509-secret", ssl_ca=a.ca)
        fail("x509 account logged in without a certificate")
    except pymysql.err.OperationalError as e:
        check(e.args[0] == 1045 and "Access denied for user 'x509'@'127.0.0.1' (using password: YES)" in e.args[1],
              f"x509 without certificate: {e.args}")
    print("pymysql ok")


def pymysql_rsa(a):
    """caching_sha2 full authentication over plain TCP: PyMySQL asks for the RSA key."""
    cnx = pymysql_connect(a, "sha2", ssl_disabled=True)
    cur = cnx.cursor()
    check(status(cur, "Ssl_cipher") == "", "plain connection reports no cipher")
    cur.execute("SELECT CURRENT_USER()")
    check(cur.fetchone()[0] == "sha2@%", "RSA login")
    print("pymysql rsa ok")


def connector_check(a, pure):
    import mysql.connector

    client = "connector_pure" if pure else "connector_c"
    if not pure:
        from mysql.connector import HAVE_CEXT

        check(HAVE_CEXT, "mysql-connector-python C extension not available")
    for user, (password, plugin) in USERS.items():
        # The C extension (libmysqlclient 9.x) fails client-side when mysql_native_password
        # is named up front, but follows the server's AuthSwitch to it; the pure-Python
        # driver is told the plugin, so it answers the greeting with it directly.
        hint = {"auth_plugin": plugin} if pure else {}
        cnx = mysql.connector.connect(host="127.0.0.1", port=a.port, user=user, password=password,
                                      use_pure=pure, ssl_ca=a.ca, ssl_verify_cert=True,
                                      ssl_verify_identity=True, autocommit=True, **hint)
        check(type(cnx).__name__ == ("MySQLConnection" if pure else "CMySQLConnection"), f"{client}: {type(cnx)}")
        cur = cnx.cursor()
        check(status(cur, "Ssl_cipher"), f"{client}/{user}: no cipher")
        write_and_read(cur, client, user, a.tag)
        cur.close()
        cnx.close()
    print(f"{client} ok")


def mariadb_cli(a, user, *extra, sql):
    password = USERS[user][0]
    cmd = ["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{a.port}", f"-u{user}", f"-p{password}",
           "--ssl-verify-server-cert", f"--ssl-ca={a.ca}", *extra, "-e", sql]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, f"mariadb {user}: exit {r.returncode}: {r.stderr}")
    return r.stdout


def mariadb_check(a):
    for user in USERS:
        out = mariadb_cli(a, user, "--batch", sql=(
            f"CREATE TABLE IF NOT EXISTS clients.t_cli_{user} (id INT AUTO_INCREMENT PRIMARY KEY, tag VARCHAR(40));"
            f"INSERT INTO clients.t_cli_{user} (tag) VALUES ('{a.tag}');"
            f"SELECT tag FROM clients.t_cli_{user} WHERE tag = '{a.tag}';"
            "SHOW STATUS LIKE 'Ssl_cipher';"))
        check(f"\n{a.tag}\n" in out, f"mariadb {user}: row not read back: {out!r}")
        check(re.search(r"Ssl_cipher\t\S+", out), f"mariadb {user}: Ssl_cipher empty: {out!r}")
        out = mariadb_cli(a, user, sql="status")
        check(re.search(r"SSL:\t+Cipher in use is \S+", out), f"mariadb {user} status: {out!r}")
    print("mariadb -e ok")


def mariadb_interactive(a):
    """The CLI in interactive mode through a pseudo-terminal: login query, \\s, a query."""
    password = USERS["sha2"][0]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("mariadb", ["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{a.port}", "-usha2",
                              f"-p{password}", "--ssl-verify-server-cert", f"--ssl-ca={a.ca}"])
    out = b""

    def expect(pattern, timeout=20):
        nonlocal out
        deadline = time.time() + timeout
        while time.time() < deadline:
            if re.search(pattern, out):
                return
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    break
        fail(f"interactive mariadb: {pattern!r} not seen in {out.decode(errors='replace')!r}")

    expect(rb"(MariaDB|MySQL) \[\(none\)\]> ")
    os.write(fd, b"\\s\n")
    expect(rb"SSL:\s+Cipher in use is \S+")
    expect(rb"Uptime:")
    os.write(fd, b"SELECT CONCAT('sum=', 40 + 2);\n")
    expect(rb"sum=42")
    os.write(fd, b"quit\n")
    os.waitpid(pid, 0)
    check(b"tlsql" in out, "interactive banner shows the server version")
    print("mariadb interactive ok")


def persisted(a):
    """After a restart every client's rows are still there (tags: run1 then run2 if present)."""
    import pymysql

    tags = a.tag.split(",")
    cnx = pymysql.connect(unix_socket=a.socket, user="root", password="")
    cur = cnx.cursor()
    for client in ("pymysql", "connector_c", "connector_pure"):
        for user in USERS:
            read_back(cur, client, user, tags)
    for user in USERS:
        read_back(cur, "cli", user, tags)
    print("persistence ok")


def insert_committed(a):
    """Commits one row and prints only after the commit returned (then the caller kills -9)."""
    import pymysql

    cnx = pymysql.connect(unix_socket=a.socket, user="root", password="")
    cur = cnx.cursor()
    cur.execute("CREATE TABLE IF NOT EXISTS clients.durable (id INT PRIMARY KEY, v VARCHAR(20))")
    cnx.begin()
    cur.execute("INSERT INTO clients.durable VALUES (1, 'committed')")
    cnx.commit()
    cnx.begin()
    cur.execute("INSERT INTO clients.durable VALUES (2, 'uncommitted')")
    print("committed", flush=True)
    time.sleep(60)


def durable(a):
    import pymysql

    cnx = pymysql.connect(unix_socket=a.socket, user="root", password="")
    cur = cnx.cursor()
    cur.execute("SELECT id, v FROM clients.durable ORDER BY id")
    rows = cur.fetchall()
    check(rows == ((1, "committed"),), f"after kill -9: {rows}")
    print("kill -9 durability ok")


def main():
    a = args()
    checks = {
        "setup": setup,
        "pymysql": pymysql_check,
        "pymysql-rsa": pymysql_rsa,
        "connector-c": lambda a: connector_check(a, pure=False),
        "connector-pure": lambda a: connector_check(a, pure=True),
        "mariadb": mariadb_check,
        "mariadb-interactive": mariadb_interactive,
        "persisted": persisted,
        "insert-committed": insert_committed,
        "durable": durable,
    }
    if a.check not in checks:
        fail(f"unknown check {a.check}")
    checks[a.check](a)


if __name__ == "__main__":
    main()
