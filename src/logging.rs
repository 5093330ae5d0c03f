//! What may reach the log. A client controls user names, database names and statement text,
//! so every such field is shown through [`field`]: control characters escaped (no forged
//! lines) and the length capped (one login cannot write megabytes). Secrets never reach a log
//! line at all: [`SecretFreeLogger`] drops the records of libraries that print the statements
//! they are given, account statements with their `IDENTIFIED BY` passwords among them.

use std::borrow::Cow;

/// Most characters of a client-supplied value that a log line shows.
const FIELD_MAX_CHARS: usize = 128;

/// Most bytes of an ERR packet's message (MySQL's `MYSQL_ERRMSG_SIZE`).
pub const ERROR_MESSAGE_MAX_BYTES: usize = 512;

/// Most characters of a whole message built from client input (a refused login's reason).
const LINE_MAX_CHARS: usize = 1024;

/// `value` as a log line may show it: control characters (newlines included) escaped as in
/// Rust string literals, cut after [`FIELD_MAX_CHARS`] characters with `…`.
pub fn field(value: &str) -> Cow<'_, str> {
    capped(value, FIELD_MAX_CHARS)
}

/// A whole message that quotes client input (fields inside it already went through
/// [`field`]; certificate names and other quoted parts may not have): escaped like a field,
/// cut after [`LINE_MAX_CHARS`] characters.
pub fn line(value: &str) -> Cow<'_, str> {
    capped(value, LINE_MAX_CHARS)
}

fn capped(value: &str, max_chars: usize) -> Cow<'_, str> {
    let plain = value.chars().count() <= max_chars && !value.chars().any(char::is_control);
    if plain {
        return Cow::Borrowed(value);
    }
    let mut shown = String::new();
    for (i, c) in value.chars().enumerate() {
        if i == max_chars {
            shown.push('…');
            break;
        }
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    Cow::Owned(shown)
}

/// `message` cut to at most [`ERROR_MESSAGE_MAX_BYTES`] bytes at a character boundary, the cut
/// marked with `…`.
pub fn error_message(message: &str) -> Cow<'_, str> {
    if message.len() <= ERROR_MESSAGE_MAX_BYTES {
        return Cow::Borrowed(message);
    }
    let mut end = ERROR_MESSAGE_MAX_BYTES - '…'.len_utf8();
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…", &message[..end]))
}

/// Log targets whose debug and trace records carry statement text (sqlparser logs every
/// statement it parses, `CREATE USER … IDENTIFIED BY '…'` included).
const STATEMENT_ECHOING_TARGETS: &[&str] = &["sqlparser"];

/// Wraps the real logger and drops the debug and trace records of
/// [`STATEMENT_ECHOING_TARGETS`] whatever `RUST_LOG` asks for, so no log level can print a
/// password.
pub struct SecretFreeLogger<L> {
    inner: L,
}

impl<L: log::Log> SecretFreeLogger<L> {
    /// Filters `inner`.
    pub fn new(inner: L) -> Self {
        Self { inner }
    }

    fn allowed(metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Info
            || !STATEMENT_ECHOING_TARGETS.iter().any(|t| {
                metadata.target() == *t
                    || metadata
                        .target()
                        .strip_prefix(t)
                        .is_some_and(|rest| rest.starts_with("::"))
            })
    }
}

impl<L: log::Log> log::Log for SecretFreeLogger<L> {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        Self::allowed(metadata) && self.inner.enabled(metadata)
    }

    fn log(&self, record: &log::Record<'_>) {
        if Self::allowed(record.metadata()) {
            self.inner.log(record);
        }
    }

    fn flush(&self) {
        self.inner.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn fields_are_escaped_and_capped() {
        assert_eq!(field("alice"), "alice");
        assert_eq!(field("a\nINFO forged"), "a\\nINFO forged");
        assert_eq!(field("a\u{1b}[31m"), "a\\u{1b}[31m");
        let long = "x".repeat(200_000);
        let shown = field(&long);
        assert_eq!(shown.chars().count(), FIELD_MAX_CHARS + 1);
        assert!(shown.ends_with('…'));
        let accents = "é".repeat(FIELD_MAX_CHARS);
        assert_eq!(field(&accents), accents.as_str());
        assert_eq!(line(&long).chars().count(), LINE_MAX_CHARS + 1);
    }

    #[test]
    fn error_messages_are_cut_at_512_bytes_on_a_character_boundary() {
        assert_eq!(error_message("short"), "short");
        let exact = "y".repeat(ERROR_MESSAGE_MAX_BYTES);
        assert_eq!(error_message(&exact), exact.as_str());
        let long = format!("Access denied for user '{}'", "é".repeat(1000));
        let cut = error_message(&long);
        assert!(cut.len() <= ERROR_MESSAGE_MAX_BYTES);
        assert!(cut.len() > ERROR_MESSAGE_MAX_BYTES - 4);
        assert!(cut.ends_with('…'));
    }

    struct Recorder(Mutex<Vec<String>>);

    impl log::Log for Recorder {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }
        fn log(&self, record: &log::Record<'_>) {
            self.0
                .lock()
                .unwrap()
                .push(format!("{} {}", record.target(), record.args()));
        }
        fn flush(&self) {}
    }

    #[test]
    fn statement_echoing_libraries_are_silenced_below_info() {
        let logger = SecretFreeLogger::new(Recorder(Mutex::new(Vec::new())));
        let emit = |target: &str, level: log::Level| {
            log::Log::log(
                &logger,
                &log::Record::builder()
                    .target(target)
                    .level(level)
                    .args(format_args!(
                        "Parsing sql 'CREATE USER u IDENTIFIED BY \"pw\"'"
                    ))
                    .build(),
            );
        };
        emit("sqlparser::parser", log::Level::Debug);
        emit("sqlparser", log::Level::Trace);
        emit("sqlparser::parser", log::Level::Warn);
        emit("sqlparserish", log::Level::Debug);
        emit("tlsql::session", log::Level::Debug);
        let seen = logger.inner.0.lock().unwrap();
        let targets: Vec<_> = seen.iter().map(|l| l.split(' ').next().unwrap()).collect();
        assert_eq!(
            targets,
            ["sqlparser::parser", "sqlparserish", "tlsql::session"]
        );
    }
}
