"""PyMySQL as applications use it for upserts, against one endpoint (TOOLS_* environment, see
tests/tools/run.sh): `cursor.rowcount` and `cursor.lastrowid` after INSERT … ON DUPLICATE KEY
UPDATE, with and without CLIENT_FOUND_ROWS. MySQL documents the counts: 1 for an inserted row,
2 for an updated one, 0 for a row left as it was (1 with CLIENT_FOUND_ROWS); a statement that
only updated reports the updated row's AUTO_INCREMENT value as its insert id, and a table
without AUTO_INCREMENT reports none."""

import os
import sys

import pymysql
from pymysql.constants import CLIENT

env = os.environ
tls = {"ca": env["TOOLS_CA"], "check_hostname": True}


def connect(flags):
    return pymysql.connect(host=env["TOOLS_HOST"], port=int(env["TOOLS_PORT"]), user=env["TOOLS_USER"],
                           password=env["TOOLS_PASSWORD"], ssl=tls, client_flag=flags, autocommit=True)


failures = []


def check(cursor, sql, rowcount, lastrowid):
    """`lastrowid` is a number, or the key of the row whose id it must be (read afterwards)."""
    cursor.execute(sql)
    got = (cursor.rowcount, cursor.lastrowid)
    if isinstance(lastrowid, str):
        lastrowid = id_of(lastrowid)
    if got != (rowcount, lastrowid):
        failures.append(f"{sql}: rowcount, lastrowid {got}, expected {(rowcount, lastrowid)}")


setup = connect(0)
with setup.cursor() as c:
    c.execute("DROP DATABASE IF EXISTS tools_upsert")
    c.execute("CREATE DATABASE tools_upsert")
    c.execute("CREATE TABLE tools_upsert.t (id INT AUTO_INCREMENT PRIMARY KEY, k VARCHAR(10) UNIQUE, n INT)")
    c.execute("CREATE TABLE tools_upsert.kv (k VARCHAR(10) PRIMARY KEY, v INT)")


def id_of(k):
    with setup.cursor() as c:
        c.execute("SELECT id FROM tools_upsert.t WHERE k = %s", (k,))
        return c.fetchone()[0]


for flags, found in ((0, 0), (CLIENT.FOUND_ROWS, 1)):
    with connect(flags).cursor() as c:
        c.execute("USE tools_upsert")
        c.execute("DELETE FROM t")
        check(c, "INSERT INTO t (k, n) VALUES ('a', 1) ON DUPLICATE KEY UPDATE n = n + 1", 1, "a")
        check(c, "INSERT INTO t (k, n) VALUES ('a', 1) ON DUPLICATE KEY UPDATE n = n + 1", 2, "a")
        check(c, "INSERT INTO t (k, n) VALUES ('a', 9) ON DUPLICATE KEY UPDATE n = n", found, 0)
        c.execute("INSERT INTO t (k, n) VALUES ('a', 2), ('b', 3), ('c', 4) ON DUPLICATE KEY UPDATE n = VALUES(n)")
        if c.rowcount != 2 + found:
            failures.append(f"an unchanged row and two new ones: rowcount {c.rowcount}, expected {2 + found}")
        check(c, "INSERT INTO t (k, n) VALUES ('a', 5), ('b', 3), ('d', 4) ON DUPLICATE KEY UPDATE n = VALUES(n)",
              3 + found, "d")
        check(c, "INSERT INTO t (k, n) SELECT k, n + 10 FROM t WHERE k IN ('a', 'b') "
                 "ON DUPLICATE KEY UPDATE n = VALUES(n)", 4, 0)
        check(c, "INSERT INTO t (k, n) VALUES ('c', 0) ON DUPLICATE KEY UPDATE n = NULL", 2, "c")
        check(c, "INSERT INTO t (k, n) VALUES ('c', 0) ON DUPLICATE KEY UPDATE n = NULL", found, 0)
        c.execute("DELETE FROM kv")
        check(c, "INSERT INTO kv VALUES ('x', 1) ON DUPLICATE KEY UPDATE v = v + 1", 1, 0)
        check(c, "INSERT INTO kv VALUES ('x', 1) ON DUPLICATE KEY UPDATE v = v + 1", 2, 0)
        c.execute("SELECT k, n FROM t ORDER BY k")
        rows = c.fetchall()
        if rows != (("a", 15), ("b", 13), ("c", None), ("d", 4)):
            failures.append(f"rows {rows}")

with setup.cursor() as c:
    c.execute("DROP DATABASE tools_upsert")

if failures:
    print("\n".join(failures))
    sys.exit(1)
print(f"PyMySQL {pymysql.__version__}: rowcount 1/2/0 (1 with CLIENT_FOUND_ROWS) and lastrowid "
      "after INSERT … ON DUPLICATE KEY UPDATE, from VALUES and from SELECT, as MySQL documents")
