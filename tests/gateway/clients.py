"""Python drivers against any MySQL endpoint, for tests/gateway/clients.sh.

Each driver runs in its own process (mysql-connector-python's C extension bundles its own
OpenSSL and must load before Python's ssl module), chosen by the first argument:

    clients.py setup --socket S                 accounts and database, as root over a backend's socket
    clients.py <driver> --port P --ca CA --cert C --key K --tag T
        driver: pymysql | connector-c | connector-pure

A driver prints one line per check, `<driver> <check>: <observed>`, where the observed part is
the same for the same server behaviour wherever the endpoint is (no ports, ids or cipher names:
a gateway's client leg may negotiate another cipher than the backend). A check whose observation
is not the expected one also prints `FAIL` on stderr and makes the exit status 1.
"""

import argparse
import sys

# user: (password, REQUIRE clause). REQUIRE SSL makes a connection that silently fell back to
# plain TCP fail instead of passing unnoticed.
ACCOUNTS = {
    "c_native": ("c-native-pw", "SSL"),
    "c_x509": ("c-x509-pw", "X509"),
}
DB = "clients_gw"
failed = False


def report(driver, check, observed, expected):
    global failed
    print(f"{driver} {check}: {observed}", flush=True)
    if observed != expected:
        failed = True
        print(f"FAIL {driver} {check}: expected {expected!r}, got {observed!r}", file=sys.stderr)


def args():
    p = argparse.ArgumentParser()
    p.add_argument("check")
    p.add_argument("--socket")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int)
    p.add_argument("--ca")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--tag", default="t")
    return p.parse_args()


def setup(a):
    import pymysql

    cnx = pymysql.connect(unix_socket=a.socket, user="root", password="", autocommit=True)
    cur = cnx.cursor()
    cur.execute(f"CREATE DATABASE IF NOT EXISTS {DB}")
    cur.execute("CREATE DATABASE IF NOT EXISTS clients_sb")
    for user, (password, require) in ACCOUNTS.items():
        cur.execute(f"CREATE OR REPLACE USER '{user}'@'%' IDENTIFIED VIA mysql_native_password "
                    f"USING PASSWORD('{password}') REQUIRE {require}")
        cur.execute(f"GRANT ALL PRIVILEGES ON {DB}.* TO '{user}'@'%'")
        cur.execute(f"GRANT ALL PRIVILEGES ON clients_sb.* TO '{user}'@'%'")
    cur.execute(f"CREATE TABLE IF NOT EXISTS {DB}.rows (id INT AUTO_INCREMENT PRIMARY KEY, "
                "driver VARCHAR(40), tag VARCHAR(100), note TEXT)")
    print("setup ok")


NOTE = "it's \"quoted\" \\ and ünïcode"


def session(cur, driver, tag):
    """CURRENT_USER(), whether a cipher is in use, and a row written and read back."""
    cur.execute("SELECT CURRENT_USER()")
    user = cur.fetchone()[0]
    cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
    row = cur.fetchone()
    cipher = "yes" if row and row[1] else "no"
    cur.execute(f"INSERT INTO {DB}.rows (driver, tag, note) VALUES (%s, %s, %s)", (driver, tag, NOTE))
    cur.execute(f"SELECT note FROM {DB}.rows WHERE driver = %s AND tag = %s", (driver, tag))
    rows = cur.fetchall()
    back = "ok" if [r[0] for r in rows] == [NOTE] else f"wrong {rows!r}"
    return f"ok user={user} cipher={cipher} row={back}"


def ok(user):
    return f"ok user={user}@% cipher=yes row=ok"


def pymysql_check(a):
    import pymysql

    d = "pymysql"

    def connect(user, **kw):
        return pymysql.connect(host=a.host, port=a.port, user=user, password=ACCOUNTS[user][0],
                               autocommit=True, **kw)

    def attempt(check, expected, user, **kw):
        try:
            cnx = connect(user, **kw)
            observed = session(cnx.cursor(), d, f"{a.tag}-{check}")
            cnx.close()
        except pymysql.err.MySQLError as e:
            observed = f"error {e.args[0]} {e.args[1]}"
        report(d, check, observed, expected)

    # ssl_ca with ssl_verify_cert and ssl_verify_identity: the CA and the host name are checked
    # (passing ssl={...} beside ssl_verify_cert would drop the CA: build-notes).
    verified = dict(ssl_ca=a.ca, ssl_verify_cert=True, ssl_verify_identity=True)
    attempt("native verified-tls", ok("c_native"), "c_native", **verified)
    attempt("x509 client-cert", ok("c_x509"), "c_x509", ssl_cert=a.cert, ssl_key=a.key, **verified)
    attempt("x509 no-cert", "error 1045 Access denied for user 'c_x509'@'127.0.0.1' (using password: YES)",
            "c_x509", **verified)
    attempt("native plain", "error 1045 Access denied for user 'c_native'@'127.0.0.1' (using password: YES)",
            "c_native", ssl_disabled=True)


def connector_check(a, pure):
    import mysql.connector

    d = "connector-pure" if pure else "connector-c"
    if not pure:
        from mysql.connector import HAVE_CEXT

        report(d, "c-extension", "yes" if HAVE_CEXT else "no", "yes")

    def attempt(check, expected, user, **kw):
        try:
            cnx = mysql.connector.connect(host=a.host, port=a.port, user=user, password=ACCOUNTS[user][0],
                                          use_pure=pure, autocommit=True, **kw)
            want = "MySQLConnection" if pure else "CMySQLConnection"
            if type(cnx).__name__ != want:
                observed = f"wrong implementation {type(cnx).__name__}"
            else:
                observed = session(cnx.cursor(), d, f"{a.tag}-{check}")
            cnx.close()
        except mysql.connector.Error as e:
            observed = f"error {e.errno} {e.msg}"
        report(d, check, observed, expected)

    verified = dict(ssl_ca=a.ca, ssl_verify_cert=True, ssl_verify_identity=True)
    attempt("native verified-tls", ok("c_native"), "c_native", **verified)
    attempt("x509 client-cert", ok("c_x509"), "c_x509", ssl_cert=a.cert, ssl_key=a.key, **verified)
    attempt("x509 no-cert", "error 1045 Access denied for user 'c_x509'@'127.0.0.1' (using password: YES)",
            "c_x509", **verified)


def main():
    a = args()
    checks = {
        "setup": setup,
        "pymysql": pymysql_check,
        "connector-c": lambda a: connector_check(a, pure=False),
        "connector-pure": lambda a: connector_check(a, pure=True),
    }
    if a.check not in checks:
        print(f"unknown check {a.check}", file=sys.stderr)
        sys.exit(2)
    checks[a.check](a)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
