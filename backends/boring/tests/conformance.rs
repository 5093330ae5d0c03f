//! The shared conformance suite (`tlsql-tls-test`) on the boring backend.

tlsql_tls_test::suite!(tlsql_tls_boring);
