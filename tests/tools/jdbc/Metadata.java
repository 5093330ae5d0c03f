// MariaDB Connector/J (Debian libmariadb-java, 2.7) as its users and GUI tools run it, against
// one endpoint (TOOLS_* environment, see tests/tools/run.sh): TLS verifying the server's
// certificate (serverSslCert = the CA file) and host name (host name verification is on by
// default), then DatabaseMetaData getTables, getColumns, getPrimaryKeys and getIndexInfo on a
// known table. Run with Java's source launcher: java -cp mariadb-java-client.jar Metadata.java
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

public class Metadata {
    static String env(String name) {
        String v = System.getenv(name);
        if (v == null) throw new IllegalStateException(name + " is not set");
        return v;
    }

    static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
    }

    public static void main(String[] args) throws Exception {
        String url = "jdbc:mariadb://" + env("TOOLS_HOST") + ":" + env("TOOLS_PORT") + "/?useSsl=true&serverSslCert="
            + env("TOOLS_CA");
        try (Connection c = DriverManager.getConnection(url, env("TOOLS_USER"), env("TOOLS_PASSWORD"));
             Statement s = c.createStatement()) {
            try (ResultSet r = s.executeQuery("SHOW SESSION STATUS LIKE 'Ssl_version'")) {
                check(r.next() && r.getString(2).startsWith("TLSv1."), "not a TLS connection");
            }
            s.execute("DROP DATABASE IF EXISTS tools_jdbc");
            s.execute("CREATE DATABASE tools_jdbc");
            s.execute("CREATE TABLE tools_jdbc.item (id INT NOT NULL AUTO_INCREMENT, code VARCHAR(20) NOT NULL, "
                + "name VARCHAR(100), qty INT, PRIMARY KEY (id), UNIQUE KEY uq_code (code), KEY k_qty (qty))");
            DatabaseMetaData md = c.getMetaData();

            List<String> tables = new ArrayList<>();
            try (ResultSet r = md.getTables("tools_jdbc", null, "%", new String[] {"TABLE"})) {
                while (r.next()) tables.add(r.getString("TABLE_NAME"));
            }
            check(tables.equals(List.of("item")), "getTables: " + tables);

            Map<Integer, String> columns = new TreeMap<>();
            try (ResultSet r = md.getColumns("tools_jdbc", null, "item", "%")) {
                while (r.next()) {
                    columns.put(r.getInt("ORDINAL_POSITION"), r.getString("COLUMN_NAME") + " " + r.getString("TYPE_NAME") + "("
                        + r.getInt("COLUMN_SIZE") + ") " + (r.getInt("NULLABLE") == DatabaseMetaData.columnNullable ? "null" : "not null")
                        + " " + r.getString("IS_AUTOINCREMENT"));
                }
            }
            check(columns.toString().equals(
                "{1=id INT(10) not null YES, 2=code VARCHAR(20) not null NO, 3=name VARCHAR(100) null NO, 4=qty INT(10) null NO}"),
                "getColumns: " + columns);

            List<String> pk = new ArrayList<>();
            try (ResultSet r = md.getPrimaryKeys("tools_jdbc", null, "item")) {
                while (r.next()) pk.add(r.getString("COLUMN_NAME") + "#" + r.getShort("KEY_SEQ"));
            }
            check(pk.equals(List.of("id#1")), "getPrimaryKeys: " + pk);

            Map<String, String> indexes = new TreeMap<>();
            try (ResultSet r = md.getIndexInfo("tools_jdbc", null, "item", false, false)) {
                while (r.next()) {
                    indexes.put(r.getString("INDEX_NAME"), r.getString("COLUMN_NAME") + (r.getBoolean("NON_UNIQUE") ? " non-unique" : " unique"));
                }
            }
            check(indexes.toString().equals("{PRIMARY=id unique, k_qty=qty non-unique, uq_code=code unique}"), "getIndexInfo: " + indexes);

            s.execute("DROP DATABASE tools_jdbc");
            System.out.println("Connector/J " + md.getDriverVersion() + ": getTables, getColumns, getPrimaryKeys, getIndexInfo as declared");
        }
    }
}
