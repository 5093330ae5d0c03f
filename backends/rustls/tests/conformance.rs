//! The shared conformance suite (`tlsql-tls-test`) on the rustls backend.

tlsql_tls_test::suite!(tlsql_tls_rustls);
