//! Durations as users write them in scenario files: `90s`, `5m`, `1h 30m`, `24h`.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration written the way humans do (`humantime` syntax: `30s`, `5m`, `1h 30m`, `2d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub fn secs(self) -> i64 {
        i64::try_from(self.0.as_secs()).unwrap_or(i64::MAX)
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(text.trim())
            .map(HumanDuration)
            .map_err(|error| {
                serde::de::Error::custom(format!(
                    "invalid duration {text:?}: {error} (write e.g. 30s, 5m, 1h 30m, 2d)"
                ))
            })
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl JsonSchema for HumanDuration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A duration: a number and a unit (s, m, h, d), several allowed: `30s`, `5m`, `1h 30m`.",
            "pattern": r"^\s*(\d+\s*(ns|us|ms|s|sec|m|min|h|hr|d|days?|w)\s*)+$",
            "examples": ["30s", "5m", "1h"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_combinations() {
        let d: HumanDuration = serde_norway::from_str("1h 30m").unwrap();
        assert_eq!(d.0, Duration::from_secs(5400));
    }

    #[test]
    fn bad_duration_names_the_text_and_the_syntax() {
        let error = serde_norway::from_str::<HumanDuration>("an hour").unwrap_err();
        assert!(
            error.to_string().contains("invalid duration \"an hour\""),
            "{error}"
        );
    }
}
