// node mysql2 as its users run it, against one endpoint (TOOLS_* environment, see
// tests/tools/run.sh): TLS verifying the server's certificate and host name (ssl.ca with
// rejectUnauthorized), plain and prepared queries, changeUser (COM_CHANGE_USER) to an account
// that REQUIRE SSL on the same TLS connection, and a prepared SHOW STATUS.
'use strict';
const fs = require('fs');
const assert = require('assert/strict');
const mysql = require('mysql2/promise');

const env = (name) => {
  const v = process.env[name];
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
};

async function main() {
  const base = {
    host: env('TOOLS_HOST'),
    port: Number(env('TOOLS_PORT')),
    ssl: { ca: fs.readFileSync(env('TOOLS_CA')), rejectUnauthorized: true },
  };
  const conn = await mysql.createConnection({ ...base, user: env('TOOLS_USER'), password: env('TOOLS_PASSWORD') });
  await conn.query('DROP DATABASE IF EXISTS tools_mysql2');
  await conn.query('DROP USER IF EXISTS tools_mysql2_b');
  await conn.query('CREATE DATABASE tools_mysql2');
  await conn.query('CREATE TABLE tools_mysql2.item (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL, qty INT)');
  await conn.query("CREATE USER tools_mysql2_b IDENTIFIED BY 'pw-b' REQUIRE SSL");
  await conn.query('GRANT SELECT ON tools_mysql2.* TO tools_mysql2_b');

  const [ins] = await conn.execute('INSERT INTO tools_mysql2.item (name, qty) VALUES (?, ?), (?, ?)', ['é ü', 3, "o'k", null]);
  assert.equal(ins.affectedRows, 2);
  const [rows] = await conn.query('SELECT id, name, qty FROM tools_mysql2.item ORDER BY id');
  assert.deepEqual(rows.map((r) => [r.id, r.name, r.qty]), [[1, 'é ü', 3], [2, "o'k", null]]);
  const [prepared] = await conn.execute('SELECT name FROM tools_mysql2.item WHERE qty = ?', [3]);
  assert.deepEqual(prepared.map((r) => r.name), ['é ü']);

  // COM_CHANGE_USER: the new account REQUIRE SSL, checked on this (TLS) connection.
  await conn.changeUser({ user: 'tools_mysql2_b', password: 'pw-b', database: 'tools_mysql2' });
  const [who] = await conn.query('SELECT CURRENT_USER() AS u, DATABASE() AS d');
  assert.equal(who[0].u.split('@')[0], 'tools_mysql2_b');
  assert.equal(who[0].d, 'tools_mysql2');
  const [count] = await conn.query('SELECT COUNT(*) AS n FROM item');
  assert.equal(Number(count[0].n), 2);

  // A prepared SHOW (COM_STMT_PREPARE of SHOW STATUS).
  const [status] = await conn.execute("SHOW SESSION STATUS LIKE 'Ssl_version'");
  assert.equal(status.length, 1);
  const version = Object.values(status[0])[1];
  assert.match(version, /^TLSv1\.[23]$/);
  await conn.end();

  const admin = await mysql.createConnection({ ...base, user: env('TOOLS_USER'), password: env('TOOLS_PASSWORD') });
  await admin.query('DROP USER tools_mysql2_b');
  await admin.query('DROP DATABASE tools_mysql2');
  await admin.end();
  console.log(`mysql2: queries, prepared statements, changeUser and prepared SHOW STATUS over ${version}`);
}

main().catch((e) => {
  console.error(`mysql2: ${e.sqlMessage ? `ERROR ${e.errno} (${e.sqlState}): ${e.sqlMessage}` : e.stack}`);
  if (e.sql) console.error(`mysql2: statement: ${e.sql}`);
  process.exit(1);
});
