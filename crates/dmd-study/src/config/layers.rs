//! Config layering: a TOML file, then its `[profile.<name>]` overrides, then `--set key=value`
//! pairs from the command line, merged as TOML tables before the typed deserialisation, so
//! every layer is checked by the same `deny_unknown_fields` structs.

use std::path::Path;
use toml::{Table, Value};

use super::ConfigError;

/// Reads `path`, applies the profile's overrides and the `--set` pairs, and returns the merged
/// table (without the `profile` and `extends` keys).
///
/// A config may start from another with `extends = "other.toml"` (a path relative to the
/// file): the parent is resolved first (its own base, then its profile), then this file's base
/// and profile are merged over it. Experiments that share a teacher extend one file, so their
/// teacher settings cannot drift apart.
pub fn load_layers(path: &Path, profile: &str, sets: &[String]) -> Result<Table, ConfigError> {
    let mut table = load_file(path, profile, 0)?;
    for set in sets {
        apply_set(&mut table, set).map_err(|message| ConfigError::Set {
            set: set.clone(),
            message,
        })?;
    }
    Ok(table)
}

/// One file with its parents and its profile applied.
fn load_file(path: &Path, profile: &str, depth: usize) -> Result<Table, ConfigError> {
    let key_err = |key: &str, message: String| ConfigError::Key {
        file: path.to_path_buf(),
        key: key.into(),
        message,
    };
    if depth > 8 {
        return Err(key_err(
            "extends",
            "more than 8 levels of `extends` (a cycle?)".into(),
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io {
        file: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut own: Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::Syntax {
            file: path.to_path_buf(),
            message: one_line(&e.to_string()),
        })?;
    let mut table = match own.remove("extends") {
        None => Table::new(),
        Some(Value::String(parent)) => {
            let parent_path = path.parent().unwrap_or(Path::new(".")).join(parent);
            load_file(&parent_path, profile, depth + 1)?
        }
        Some(_) => return Err(key_err("extends", "must be a file name string".into())),
    };
    let profiles = own.remove("profile");
    merge(&mut table, own);
    if let Some(profiles) = profiles {
        let Value::Table(mut profiles) = profiles else {
            return Err(key_err(
                "profile",
                "must be a table of profiles, e.g. [profile.smoke]".into(),
            ));
        };
        if let Some(unknown) = profiles
            .keys()
            .find(|k| !super::PROFILES.contains(&k.as_str()))
        {
            return Err(key_err(
                &format!("profile.{unknown}"),
                format!("unknown profile; expected one of {:?}", super::PROFILES),
            ));
        }
        if let Some(over) = profiles.remove(profile) {
            let Value::Table(over) = over else {
                return Err(key_err(
                    &format!("profile.{profile}"),
                    "must be a table of overrides".into(),
                ));
            };
            merge(&mut table, over);
        }
    }
    Ok(table)
}

/// Deep-merges `over` into `base`: tables merge key by key, any other value replaces.
/// Dotted keys in the override (`teacher.lr = 1e-4`) are already nested tables after parsing.
/// A table that names a different variant of a tagged enum (its `name` or `kind` differs, e.g.
/// `[data] name = "mlp_manifold"` over `name = "mnist"`) replaces the old table instead, so
/// the old variant's keys do not leak into the new one.
pub fn merge(base: &mut Table, over: Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(Value::Table(b)), Value::Table(o)) if !switches_variant(b, &o) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

fn switches_variant(base: &Table, over: &Table) -> bool {
    ["name", "kind"]
        .iter()
        .any(|tag| matches!((base.get(*tag), over.get(*tag)), (Some(a), Some(b)) if a != b))
}

/// Applies one `key.path=value` override. The value is parsed as a TOML value
/// (`3`, `1e-4`, `true`, `[1, 2]`, `"text"`); anything that does not parse is a string.
pub fn apply_set(table: &mut Table, set: &str) -> Result<(), String> {
    let Some((key, raw)) = set.split_once('=') else {
        return Err("expected KEY=VALUE, e.g. --set teacher.iterations=2000".into());
    };
    let key = key.trim();
    if key.is_empty() || key.split('.').any(|p| p.trim().is_empty()) {
        return Err(format!("`{key}` is not a valid dotted key"));
    }
    let raw = raw.trim();
    let value = format!("v = {raw}")
        .parse::<Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(raw.to_string()));
    let parts: Vec<&str> = key.split('.').map(str::trim).collect();
    let (last, parents) = parts.split_last().expect("non-empty key");
    let mut cur = table;
    for (i, p) in parents.iter().enumerate() {
        let entry = cur
            .entry(p.to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        match entry {
            Value::Table(t) => cur = t,
            _ => return Err(format!("`{}` is not a table", parts[..=i].join("."))),
        }
    }
    cur.insert(last.to_string(), value);
    Ok(())
}

/// Collapses a multi-line message (toml's errors quote the source) into one line.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_parses_toml_values_and_creates_tables() {
        let mut t = Table::new();
        apply_set(&mut t, "teacher.lr=1e-4").unwrap();
        apply_set(&mut t, "teacher.snapshots=[1, 2]").unwrap();
        apply_set(&mut t, "data.name=moons").unwrap();
        assert_eq!(t["teacher"]["lr"].as_float(), Some(1e-4));
        assert_eq!(t["teacher"]["snapshots"].as_array().unwrap().len(), 2);
        assert_eq!(t["data"]["name"].as_str(), Some("moons"));
        assert!(apply_set(&mut t, "teacher.lr.x=1").is_err());
        assert!(apply_set(&mut t, "novalue").is_err());
        assert!(apply_set(&mut t, "a..b=1").is_err());
    }

    #[test]
    fn merge_is_deep_and_overrides_leaves() {
        let mut base: Table = "[a]\nx = 1\ny = 2\n".parse().unwrap();
        let over: Table = "a.y = 3\nb = true\n".parse().unwrap();
        merge(&mut base, over);
        assert_eq!(base["a"]["x"].as_integer(), Some(1));
        assert_eq!(base["a"]["y"].as_integer(), Some(3));
        assert_eq!(base["b"].as_bool(), Some(true));
        let over: Table = "[a]\nname = \"other\"\nz = 1\n".parse().unwrap();
        let mut base: Table = "[a]\nname = \"one\"\nx = 1\n".parse().unwrap();
        merge(&mut base, over);
        assert!(
            base["a"].get("x").is_none(),
            "a different variant replaces the table"
        );
        assert_eq!(base["a"]["z"].as_integer(), Some(1));
    }
}
