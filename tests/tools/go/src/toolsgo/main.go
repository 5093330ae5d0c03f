// go-sql-driver/mysql (Debian golang-github-go-sql-driver-mysql-dev, 1.5) as its users run it,
// against one endpoint (TOOLS_* environment, see tests/tools/run.sh): a registered TLS config
// verifying the server's certificate and host name, interpolateParams=true (the driver writes
// parameters into the statement text itself), and a []byte parameter holding \0 and quote
// bytes, read back byte for byte.
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"fmt"
	"os"

	"github.com/go-sql-driver/mysql"
)

func env(name string) string {
	v, ok := os.LookupEnv(name)
	if !ok {
		fail(fmt.Errorf("%s is not set", name))
	}
	return v
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "go-sql-driver:", err)
	os.Exit(1)
}

func main() {
	ca, err := os.ReadFile(env("TOOLS_CA"))
	if err != nil {
		fail(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		fail(fmt.Errorf("no certificate in %s", env("TOOLS_CA")))
	}
	host := env("TOOLS_HOST")
	if err := mysql.RegisterTLSConfig("verify", &tls.Config{RootCAs: pool, ServerName: host}); err != nil {
		fail(err)
	}
	cfg := mysql.NewConfig()
	cfg.User = env("TOOLS_USER")
	cfg.Passwd = env("TOOLS_PASSWORD")
	cfg.Net = "tcp"
	cfg.Addr = host + ":" + env("TOOLS_PORT")
	cfg.TLSConfig = "verify"
	cfg.InterpolateParams = true
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		fail(err)
	}
	defer db.Close()
	// One connection, so that every statement below runs in the same session.
	db.SetMaxOpenConns(1)

	var name, version string
	if err := db.QueryRow("SHOW SESSION STATUS LIKE 'Ssl_version'").Scan(&name, &version); err != nil {
		fail(err)
	}
	if len(version) < 6 || version[:5] != "TLSv1" {
		fail(fmt.Errorf("not a TLS connection: Ssl_version %q", version))
	}
	for _, stmt := range []string{
		"DROP DATABASE IF EXISTS tools_go",
		"CREATE DATABASE tools_go",
		"CREATE TABLE tools_go.item (id INT PRIMARY KEY, name VARCHAR(40), data BLOB)",
	} {
		if _, err := db.Exec(stmt); err != nil {
			fail(fmt.Errorf("%s: %w", stmt, err))
		}
	}
	data := []byte{'a', 0, 'b', '\'', '\\', '"', 0x1a, 0xff, 0}
	names := []string{"it's \"quoted\" \\ é", "plain"}
	for i, n := range names {
		res, err := db.Exec("INSERT INTO tools_go.item (id, name, data) VALUES (?, ?, ?)", i+1, n, data)
		if err != nil {
			fail(fmt.Errorf("INSERT with interpolated []byte: %w", err))
		}
		if affected, _ := res.RowsAffected(); affected != 1 {
			fail(fmt.Errorf("INSERT affected %d rows", affected))
		}
	}
	rows, err := db.Query("SELECT id, name, data FROM tools_go.item WHERE data = ? ORDER BY id", data)
	if err != nil {
		fail(fmt.Errorf("SELECT with interpolated []byte: %w", err))
	}
	got := 0
	for rows.Next() {
		var id int
		var n string
		var d []byte
		if err := rows.Scan(&id, &n, &d); err != nil {
			fail(err)
		}
		if n != names[got] || id != got+1 || !bytes.Equal(d, data) {
			fail(fmt.Errorf("row %d: got (%d, %q, %x), want (%d, %q, %x)", got+1, id, n, d, got+1, names[got], data))
		}
		got++
	}
	if err := rows.Err(); err != nil {
		fail(err)
	}
	if got != len(names) {
		fail(fmt.Errorf("%d rows matched the []byte parameter, want %d", got, len(names)))
	}
	if _, err := db.Exec("DROP DATABASE tools_go"); err != nil {
		fail(err)
	}
	fmt.Printf("go-sql-driver: interpolateParams with a []byte holding \\0 written and matched over %s\n", version)
}
