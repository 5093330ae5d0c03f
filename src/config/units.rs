//! Durations (`10s`, `8h`) and sizes (`64MiB`) as written in the configuration.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A duration as written: a string with a unit. A bare number is a type error, so that `10`
/// is never silently read as seconds or milliseconds.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct DurationText(pub(super) String);

impl Serialize for DurationText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurationText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string with a unit (ms, s, m, h, d), e.g. \"10s\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationText, E> {
                Ok(DurationText(v.to_string()))
            }
        }
        d.deserialize_str(V)
    }
}

/// A size as written: bytes, or a string with a unit.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum SizeText {
    Bytes(u64),
    Text(String),
}

impl Serialize for SizeText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Bytes(n) => s.serialize_u64(*n),
            Self::Text(t) => s.serialize_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for SizeText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SizeText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a size in bytes or a string with a unit (B, KiB, MiB, GiB), e.g. \"64MiB\"",
                )
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SizeText, E> {
                Ok(SizeText::Bytes(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SizeText, E> {
                u64::try_from(v)
                    .map(SizeText::Bytes)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SizeText, E> {
                Ok(SizeText::Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

const DURATION_UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1000),
    ("ms", 1),
];

/// `500ms`, `10s`, `5m`, `8h`, `30d` (a space before the unit is allowed).
pub(super) fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = split_number(text);
    if number.is_empty() {
        return Err(format!(
            "'{text}' is not a duration: expected a whole number and a unit (ms, s, m, h, d), e.g. \"10s\""
        ));
    }
    if unit.is_empty() {
        return Err(format!(
            "'{text}' has no unit: write e.g. \"{number}s\" or \"{number}ms\""
        ));
    }
    let Some((_, millis)) = DURATION_UNITS.iter().find(|(u, _)| *u == unit) else {
        return Err(format!(
            "'{text}' has an unknown unit '{unit}': expected ms, s, m, h or d"
        ));
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(*millis))
        .map(Duration::from_millis)
        .ok_or_else(|| format!("'{text}' is too large"))
}

/// The largest unit that states the duration exactly; sub-millisecond parts round up.
pub(super) fn format_duration(d: Duration) -> String {
    let millis = u64::try_from(d.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX);
    if millis == 0 {
        return "0s".into();
    }
    DURATION_UNITS
        .iter()
        .find(|(_, unit)| millis.is_multiple_of(*unit))
        .map(|(name, unit)| format!("{}{name}", millis / unit))
        .unwrap_or_else(|| format!("{millis}ms"))
}

const SIZE_UNITS: [(&str, u64); 4] = [
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
    ("B", 1),
];

/// Bytes, or `64MiB`, `16KiB`, `1GiB`, `512B`; a string of digits alone is bytes too.
pub(super) fn parse_size(size: &SizeText) -> Result<u64, String> {
    let text = match size {
        SizeText::Bytes(n) => return Ok(*n),
        SizeText::Text(t) => t,
    };
    let (number, unit) = split_number(text);
    let unit = if unit.is_empty() { "B" } else { unit };
    let Some((_, factor)) = SIZE_UNITS.iter().find(|(u, _)| *u == unit) else {
        return Err(format!(
            "'{text}' is not a size: expected bytes or a whole number with a unit (B, KiB, MiB, GiB), e.g. \"64MiB\""
        ));
    };
    number
        .parse::<u64>()
        .map_err(|_| {
            format!("'{text}' is not a size: expected a whole number with a unit, e.g. \"64MiB\"")
        })?
        .checked_mul(*factor)
        .ok_or_else(|| format!("'{text}' is too large"))
}

pub(super) fn format_size(bytes: u64) -> SizeText {
    SIZE_UNITS
        .iter()
        .find(|(name, unit)| *name != "B" && bytes != 0 && bytes.is_multiple_of(*unit))
        .map(|(name, unit)| SizeText::Text(format!("{}{name}", bytes / unit)))
        .unwrap_or(SizeText::Bytes(bytes))
}

/// Splits `"10 s"` into `("10", "s")`.
fn split_number(text: &str) -> (&str, &str) {
    let text = text.trim();
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    match text.split_at_checked(end) {
        Some((number, unit)) => (number, unit.trim_start()),
        None => ("", text),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{jail, load_err};
    use super::*;

    #[test]
    fn durations() {
        let ok = [
            ("500ms", Duration::from_millis(500)),
            ("10s", Duration::from_secs(10)),
            ("5m", Duration::from_secs(300)),
            ("8h", Duration::from_secs(8 * 3600)),
            ("30d", Duration::from_secs(30 * 86400)),
            ("10 s", Duration::from_secs(10)),
            ("0s", Duration::ZERO),
        ];
        for (text, expected) in ok {
            assert_eq!(parse_duration(text), Ok(expected), "{text}");
        }
        for bad in [
            "",
            "s",
            "10",
            "1.5s",
            "-1s",
            "10sec",
            "99999999999999999999d",
            "9999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        let printed = [
            (Duration::from_millis(1500), "1500ms"),
            (Duration::from_secs(300), "5m"),
            (Duration::from_secs(90), "90s"),
            (Duration::from_secs(8 * 3600), "8h"),
            (Duration::from_secs(30 * 86400), "30d"),
            (Duration::ZERO, "0s"),
            (Duration::from_micros(1), "1ms"),
        ];
        for (d, text) in printed {
            assert_eq!(format_duration(d), text);
        }
    }

    #[test]
    fn sizes() {
        let text = |t: &str| SizeText::Text(t.into());
        let ok = [
            (text("64MiB"), 64 << 20),
            (text("16KiB"), 16 << 10),
            (text("1GiB"), 1 << 30),
            (text("512B"), 512),
            (text("4096"), 4096),
            (text("2 MiB"), 2 << 20),
            (SizeText::Bytes(1234), 1234),
        ];
        for (size, expected) in ok {
            assert_eq!(parse_size(&size), Ok(expected), "{size:?}");
        }
        for bad in ["", "MiB", "64MB", "64M", "1.5GiB", "-1", "99999999999GiB"] {
            assert!(parse_size(&text(bad)).is_err(), "{bad}");
        }
        assert_eq!(format_size(64 << 20), text("64MiB"));
        assert_eq!(format_size(1 << 30), text("1GiB"));
        assert_eq!(format_size(3 << 10), text("3KiB"));
        assert_eq!(format_size(1536), SizeText::Bytes(1536));
        assert_eq!(format_size(1000), SizeText::Bytes(1000));
    }

    #[test]
    fn negative_size_in_toml_is_a_type_error() {
        jail(|jail| {
            jail.create_file("t.toml", "max-allowed-packet = -5\n")
                .unwrap();
            let err = load_err(&["--config", "t.toml"]);
            assert!(
                err.starts_with(
                    "invalid value for max-allowed-packet from file t.toml: invalid value"
                ),
                "{err}"
            );
        });
    }
}
