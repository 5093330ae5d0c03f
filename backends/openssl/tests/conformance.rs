//! The shared conformance suite (`tlsql-tls-test`) on the openssl backend.

tlsql_tls_test::suite!(tlsql_tls_openssl);
