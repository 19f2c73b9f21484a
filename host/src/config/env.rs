//! `ALPHA_PANDA__SECTION__KEY=value` overrides, applied to the TOML table before
//! it is read: one `__` per level, librdkafka properties below `kafka.producer` and
//! `kafka.consumer` (`_` becomes `.`), values read as TOML when they parse as one.

use super::{ConfigError, ENV_PREFIX};

/// Sets `ALPHA_PANDA__A__B=value` as `a.b = value` in the table. Keys below
/// `kafka.producer` / `kafka.consumer` are librdkafka properties: `_` becomes `.`.
pub(super) fn apply(table: &mut toml::Table, var: &str, value: &str) -> Result<(), ConfigError> {
    let path: Vec<String> = var[ENV_PREFIX.len()..]
        .split("__")
        .map(|s| s.to_ascii_lowercase())
        .collect();
    if path.iter().any(|s| s.is_empty()) {
        return Err(ConfigError::Env {
            var: var.to_owned(),
            message: "empty key segment".to_owned(),
        });
    }
    let is_librdkafka =
        path.len() == 3 && path[0] == "kafka" && (path[1] == "producer" || path[1] == "consumer");
    let mut node = table;
    for (i, seg) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        if last {
            let (key, parsed) = if is_librdkafka {
                (seg.replace('_', "."), toml::Value::String(value.to_owned()))
            } else {
                (seg.clone(), parse_env_value(value))
            };
            node.insert(key, parsed);
        } else {
            let entry = node
                .entry(seg.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            node = match entry {
                toml::Value::Table(t) => t,
                _ => {
                    return Err(ConfigError::Env {
                        var: var.to_owned(),
                        message: format!("`{seg}` is a value, not a section"),
                    })
                }
            };
        }
    }
    Ok(())
}

/// An override is read as a TOML value (number, bool, array) when it parses as one,
/// else taken as a string.
fn parse_env_value(value: &str) -> toml::Value {
    let doc = format!("v = {value}");
    match toml::from_str::<toml::Table>(&doc) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(value.to_owned())),
        Err(_) => toml::Value::String(value.to_owned()),
    }
}
