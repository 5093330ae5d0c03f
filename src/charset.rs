//! The character sets and collations tlsql knows: what `SET NAMES`, the `character_set_*` and
//! `collation_*` variables, `SHOW CHARACTER SET`, `SHOW COLLATION` and the collation number a
//! client sends at login (or with COM_CHANGE_USER) are checked against.
//!
//! Storage keeps text as UTF-8 and the server exchanges it as UTF-8 whatever the session's
//! character set says: `latin1` and `ascii` are accepted because clients announce them, not
//! converted to. The collation numbers are MySQL 8's (`SHOW COLLATION`'s `Id`), which is what
//! clients send in the handshake.

/// One character set.
#[derive(Debug)]
pub struct Charset {
    /// Its name (`utf8mb4`).
    pub name: &'static str,
    /// `SHOW CHARACTER SET`'s description.
    pub description: &'static str,
    /// The collation a `SET NAMES` without `COLLATE` gives it.
    pub default_collation: &'static str,
    /// Bytes per character at most.
    pub max_len: u8,
}

/// One collation.
#[derive(Debug)]
pub struct Collation {
    /// Its name (`utf8mb4_general_ci`).
    pub name: &'static str,
    /// Its character set.
    pub charset: &'static str,
    /// MySQL's number for it.
    pub id: u16,
    /// Whether trailing spaces are ignored in comparisons (`PAD SPACE`) or not (`NO PAD`).
    pub pad_space: bool,
}

/// Every character set, in `SHOW CHARACTER SET` order (by name).
pub static CHARSETS: &[Charset] = &[
    Charset {
        name: "ascii",
        description: "US ASCII",
        default_collation: "ascii_general_ci",
        max_len: 1,
    },
    Charset {
        name: "binary",
        description: "Binary pseudo charset",
        default_collation: "binary",
        max_len: 1,
    },
    Charset {
        name: "latin1",
        description: "cp1252 West European",
        default_collation: "latin1_swedish_ci",
        max_len: 1,
    },
    Charset {
        name: "utf8mb3",
        description: "UTF-8 Unicode",
        default_collation: "utf8mb3_general_ci",
        max_len: 3,
    },
    Charset {
        name: "utf8mb4",
        description: "UTF-8 Unicode",
        default_collation: "utf8mb4_general_ci",
        max_len: 4,
    },
];

const fn collation(
    name: &'static str,
    charset: &'static str,
    id: u16,
    pad_space: bool,
) -> Collation {
    Collation {
        name,
        charset,
        id,
        pad_space,
    }
}

/// Every collation, in `SHOW COLLATION` order (by name).
pub static COLLATIONS: &[Collation] = &[
    collation("ascii_bin", "ascii", 65, true),
    collation("ascii_general_ci", "ascii", 11, true),
    collation("binary", "binary", 63, false),
    collation("latin1_bin", "latin1", 47, true),
    collation("latin1_general_ci", "latin1", 48, true),
    collation("latin1_swedish_ci", "latin1", 8, true),
    collation("utf8mb3_bin", "utf8mb3", 83, true),
    collation("utf8mb3_general_ci", "utf8mb3", 33, true),
    collation("utf8mb3_unicode_ci", "utf8mb3", 192, true),
    collation("utf8mb4_0900_ai_ci", "utf8mb4", 255, false),
    collation("utf8mb4_0900_as_cs", "utf8mb4", 278, false),
    collation("utf8mb4_0900_bin", "utf8mb4", 309, false),
    collation("utf8mb4_bin", "utf8mb4", 46, true),
    collation("utf8mb4_general_ci", "utf8mb4", 45, true),
    collation("utf8mb4_unicode_520_ci", "utf8mb4", 246, true),
    collation("utf8mb4_unicode_ci", "utf8mb4", 224, true),
];

/// The character set called `name` (case-insensitive); `utf8` is `utf8mb3`, as in MySQL 8.
pub fn charset(name: &str) -> Option<&'static Charset> {
    let name = if name.eq_ignore_ascii_case("utf8") {
        "utf8mb3"
    } else {
        name
    };
    CHARSETS.iter().find(|c| c.name.eq_ignore_ascii_case(name))
}

/// The collation called `name` (case-insensitive); `utf8_…` names are `utf8mb3_…`.
pub fn collation_named(name: &str) -> Option<&'static Collation> {
    let lower = name.to_ascii_lowercase();
    let name = match lower.strip_prefix("utf8_") {
        Some(rest) => format!("utf8mb3_{rest}"),
        None => lower,
    };
    COLLATIONS.iter().find(|c| c.name == name)
}

/// The collation with MySQL's number `id`.
pub fn collation_by_id(id: u16) -> Option<&'static Collation> {
    COLLATIONS.iter().find(|c| c.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_and_consistent() {
        assert!(CHARSETS.windows(2).all(|w| w[0].name < w[1].name));
        assert!(COLLATIONS.windows(2).all(|w| w[0].name < w[1].name));
        for cs in CHARSETS {
            let default = collation_named(cs.default_collation).unwrap();
            assert_eq!(default.charset, cs.name);
        }
        for c in COLLATIONS {
            assert!(charset(c.charset).is_some(), "{}", c.name);
            assert_eq!(collation_by_id(c.id).unwrap().name, c.name);
        }
    }

    #[test]
    fn names_resolve_as_mysql_8_does() {
        assert_eq!(charset("UTF8").unwrap().name, "utf8mb3");
        assert_eq!(charset("utf8MB4").unwrap().max_len, 4);
        assert!(charset("klingon").is_none());
        assert_eq!(collation_named("utf8_bin").unwrap().name, "utf8mb3_bin");
        assert_eq!(collation_by_id(255).unwrap().name, "utf8mb4_0900_ai_ci");
        assert!(collation_by_id(2).is_none());
    }
}
