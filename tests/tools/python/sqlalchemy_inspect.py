"""SQLAlchemy 2 with PyMySQL as its users run it, against one endpoint (TOOLS_* environment, see
tests/tools/run.sh): TLS verifying the server's certificate and host name, create_all of a
declared schema, then inspect() must give back the declared types, keys and indexes."""

import os
import sys

from sqlalchemy import (
    DateTime, ForeignKey, Index, Integer, LargeBinary, MetaData, Numeric, String, Table, Column,
    UniqueConstraint, create_engine, inspect, insert, select, text,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import URL

env = os.environ
url = URL.create("mysql+pymysql", username=env["TOOLS_USER"], password=env["TOOLS_PASSWORD"],
                 host=env["TOOLS_HOST"], port=int(env["TOOLS_PORT"]))
tls = {"ssl_ca": env["TOOLS_CA"], "ssl_verify_cert": True, "ssl_verify_identity": True}

with create_engine(url, connect_args=tls).connect() as conn:
    conn.execute(text("DROP DATABASE IF EXISTS tools_sqlalchemy"))
    conn.execute(text("CREATE DATABASE tools_sqlalchemy"))

engine = create_engine(url.set(database="tools_sqlalchemy"), connect_args=tls)
meta = MetaData()
parent = Table("parent", meta, Column("id", Integer, primary_key=True), Column("name", String(200), nullable=False, unique=True))
child = Table(
    "child", meta,
    Column("id", Integer, primary_key=True),
    Column("parent_id", Integer, ForeignKey("parent.id"), nullable=False),
    Column("code", String(20), nullable=False),
    Column("price", Numeric(10, 2)),
    Column("created", DateTime),
    Column("data", LargeBinary),
    UniqueConstraint("parent_id", "code", name="uq_child_parent_code"),
    Index("ix_child_created", "created"),
)
meta.create_all(engine)

with engine.begin() as conn:
    version = conn.execute(text("SHOW SESSION STATUS LIKE 'Ssl_version'")).one()[1]
    assert version.startswith("TLSv1."), f"not a TLS connection: {version!r}"
    pid = conn.execute(insert(parent).values(name="é ü")).inserted_primary_key[0]
    conn.execute(insert(child).values(parent_id=pid, code="a", price="1.50", data=b"\0x\0"))
    assert conn.execute(select(child.c.data)).scalar_one() == b"\0x\0"

insp = inspect(engine)
assert sorted(insp.get_table_names()) == ["child", "parent"], insp.get_table_names()
cols = {c["name"]: c for c in insp.get_columns("child")}
declared = {
    "id": (mysql.INTEGER, {}),
    "parent_id": (mysql.INTEGER, {}),
    "code": (mysql.VARCHAR, {"length": 20}),
    "price": (mysql.DECIMAL, {"precision": 10, "scale": 2}),
    "created": (mysql.DATETIME, {}),
    "data": (mysql.BLOB, {}),
}
for name, (cls, attrs) in declared.items():
    got = cols[name]["type"]
    assert type(got) is cls, f"column {name}: reflected {type(got).__name__} {got!r}, declared {cls.__name__}"
    for attr, value in attrs.items():
        assert getattr(got, attr) == value, f"column {name}: {attr} {getattr(got, attr)!r}, declared {value!r}"
assert cols["parent_id"]["nullable"] is False and cols["price"]["nullable"] is True
assert cols["id"]["autoincrement"] is True, cols["id"]
assert insp.get_pk_constraint("child")["constrained_columns"] == ["id"]
fks = insp.get_foreign_keys("child")
assert [(f["constrained_columns"], f["referred_table"], f["referred_columns"]) for f in fks] == [(["parent_id"], "parent", ["id"])], fks
uniques = {u["name"]: u["column_names"] for u in insp.get_unique_constraints("child")}
assert uniques == {"uq_child_parent_code": ["parent_id", "code"]}, uniques
indexes = {i["name"]: (i["column_names"], bool(i["unique"])) for i in insp.get_indexes("child")}
assert indexes.get("ix_child_created") == (["created"], False), indexes
parent_uniques = [u["column_names"] for u in insp.get_unique_constraints("parent")]
parent_unique_indexes = [i["column_names"] for i in insp.get_indexes("parent") if i["unique"]]
assert [["name"]] in (parent_uniques, parent_unique_indexes), (parent_uniques, parent_unique_indexes)

meta.drop_all(engine)
with engine.connect() as conn:
    conn.execute(text("DROP DATABASE tools_sqlalchemy"))
print(f"SQLAlchemy + PyMySQL: inspect() gives the declared types, keys and indexes over {version}")
