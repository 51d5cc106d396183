//! Snapshots: the inventory as schema-versioned JSON on disk.
//!
//! `lzaudit collect --out FILE` writes one, `lzaudit audit --snapshot FILE` replays an audit from
//! it. Loading names the JSON path of any shape error and refuses other schema versions outright,
//! because silently reading a snapshot of another shape could turn missing data into a pass.
//! Secrets never reach a snapshot: collectors pass every ARM object through `redact_secrets`.

use std::path::Path;

use serde_json::Value;
use thiserror::Error;

use super::{Inventory, SCHEMA};

#[derive(Debug, Error)]
pub enum SnapshotError {
    // The causes are part of the message, not `source`s: `main` prints the error chain, and a
    // source would repeat them.
    #[error(transparent)]
    Read(#[from] crate::input::InputError),
    #[error("{path} is not JSON: {reason}")]
    NotJson {
        path: String,
        reason: serde_json::Error,
    },
    #[error(
        "{path} is not an lzaudit inventory snapshot: it has no \"schema\" field (expected \"{SCHEMA}\")"
    )]
    NoSchema { path: String },
    #[error(
        "{path} has schema \"{found}\", but this lzaudit reads \"{SCHEMA}\": re-collect it with `lzaudit collect --out {path}`"
    )]
    WrongSchema { path: String, found: String },
    #[error("{path}: at JSON path `{json_path}`: {message}")]
    Shape {
        path: String,
        json_path: String,
        message: String,
    },
}

/// Parses a snapshot's text; `path` only names the source in errors.
pub fn from_str(text: &str, path: &str) -> Result<Inventory, SnapshotError> {
    let value: Value = serde_json::from_str(text).map_err(|reason| SnapshotError::NotJson {
        path: path.to_string(),
        reason,
    })?;
    match value.get("schema").and_then(Value::as_str) {
        None => {
            return Err(SnapshotError::NoSchema {
                path: path.to_string(),
            });
        }
        Some(found) if found != SCHEMA => {
            return Err(SnapshotError::WrongSchema {
                path: path.to_string(),
                found: found.to_string(),
            });
        }
        Some(_) => {}
    }
    serde_path_to_error::deserialize(value).map_err(|err| SnapshotError::Shape {
        path: path.to_string(),
        json_path: err.path().to_string(),
        message: err.inner().to_string(),
    })
}

/// Loads a snapshot file, within `input::SNAPSHOT`.
pub fn load(path: &Path) -> Result<Inventory, SnapshotError> {
    let text = crate::input::read_text(path, &crate::input::SNAPSHOT)?;
    from_str(&text, &path.display().to_string())
}

/// Serialises an inventory as pretty JSON with a trailing newline.
pub fn to_string(inventory: &Inventory) -> String {
    let mut text = serde_json::to_string_pretty(inventory).expect("inventory serialises");
    text.push('\n');
    text
}

/// Property names whose values are credentials in some ARM payloads (for example the legacy
/// `aadProfile.serverAppSecret`, `servicePrincipalProfile.secret`, or kubeconfig blobs).
/// ARM normally blanks them on GET; this is the belt to that pair of braces.
const SECRET_KEYS: &[&str] = &[
    "secret",
    "serverappsecret",
    "password",
    "adminpassword",
    "clientsecret",
    "accesskey",
    "primarykey",
    "secondarykey",
    "connectionstring",
    "sastoken",
    "kubeconfig",
    "kubeconfigs",
];

/// Replaces the value of every secret-bearing key with a marker, recursively.
pub fn redact_secrets(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                let lower = key.to_ascii_lowercase();
                if SECRET_KEYS.contains(&lower.as_str()) && !inner.is_null() {
                    *inner = Value::String("[redacted]".to_string());
                } else {
                    redact_secrets(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_secrets),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wrong_schema_and_bad_shape_are_named() {
        let err = from_str(r#"{"schema":"lzaudit.inventory/v0"}"#, "s.json").unwrap_err();
        assert!(err.to_string().contains("lzaudit.inventory/v0"), "{err}");
        let err = from_str("[1,", "s.json").unwrap_err();
        assert!(err.to_string().starts_with("s.json is not JSON"), "{err}");
        let mut inv = Inventory::new("https://management.azure.com", "arm", Default::default());
        inv.collected_at = "2026-01-01T00:00:00Z".into();
        let mut value = serde_json::to_value(&inv).unwrap();
        value["subscriptions"] = json!([{"id": 5}]);
        let err = from_str(&value.to_string(), "s.json").unwrap_err();
        assert!(err.to_string().contains("subscriptions[0].id"), "{err}");
    }

    #[test]
    fn round_trip() {
        let inv = Inventory::new("https://management.azure.com", "arm", Default::default());
        assert_eq!(from_str(&to_string(&inv), "x").unwrap(), inv);
    }

    #[test]
    fn secrets_are_redacted() {
        let mut v = json!({"properties": {"aadProfile": {"serverAppSecret": "s3cr3t"},
            "servicePrincipalProfile": {"clientId": "msi", "secret": "x"}, "other": null}});
        redact_secrets(&mut v);
        let text = v.to_string();
        assert!(!text.contains("s3cr3t") && text.contains("[redacted]") && text.contains("msi"));
    }
}
