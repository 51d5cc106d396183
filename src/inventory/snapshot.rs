//! Snapshots: the inventory as schema-versioned JSON on disk.
//!
//! `lzaudit collect --out FILE` writes one, `lzaudit audit --snapshot FILE` replays an audit from
//! it. Loading names the JSON path of any shape error and refuses other schema versions outright,
//! because silently reading a snapshot of another shape could turn missing data into a pass.
//! Secrets never reach a snapshot: collectors pass every ARM object through `redact_secrets`.
//!
//! A tenant of a thousand subscriptions makes a snapshot of a few hundred MB, so both ways are
//! streamed: writing serialises straight into the (staged) file, and reading parses the text
//! once into the inventory, never through an intermediate JSON tree. The extension chooses a
//! compression: `.json.zst` (zstd) or `.json.gz` (gzip), plain JSON otherwise. The snapshot size
//! limit applies to the decompressed text, so a small compressed file cannot expand without
//! bound.

use std::io::{Read, Write};
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;
use thiserror::Error;

use super::{Inventory, SCHEMA};
use crate::input::{self, InputError};

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
    /// The `schema` field alone: checked before the rest is given a meaning. The other fields
    /// are skipped by serde without being built.
    #[derive(Deserialize)]
    struct Header {
        #[serde(default)]
        schema: Option<Value>,
    }
    let header: Header = serde_json::from_str(text).map_err(|reason| SnapshotError::NotJson {
        path: path.to_string(),
        reason,
    })?;
    match header.schema.as_ref().and_then(Value::as_str) {
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
    let mut deserializer = serde_json::Deserializer::from_str(text);
    // One pool of strings for the whole document, dropped once it is parsed.
    let inventory: Inventory =
        crate::json::interning(|| serde_path_to_error::deserialize(&mut deserializer)).map_err(
            |err| SnapshotError::Shape {
                path: path.to_string(),
                json_path: err.path().to_string(),
                message: err.inner().to_string(),
            },
        )?;
    deserializer
        .end()
        .map_err(|reason| SnapshotError::NotJson {
            path: path.to_string(),
            reason,
        })?;
    Ok(inventory)
}

/// How a snapshot file is compressed, by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn of(path: &Path) -> Compression {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("gz") => Compression::Gzip,
            Some(e) if e.eq_ignore_ascii_case("zst") => Compression::Zstd,
            _ => Compression::None,
        }
    }
}

/// Loads a snapshot file (`.json`, `.json.gz` or `.json.zst`).
pub fn load(path: &Path) -> Result<Inventory, SnapshotError> {
    let text = read_text(path, &input::SNAPSHOT)?;
    from_str(&text, &path.display().to_string())
}

/// The JSON text of a file that may be compressed (by its extension), within `limit`
/// (decompressed).
pub fn read_text(path: &Path, limit: &input::Limit) -> Result<String, InputError> {
    let shown = path.display().to_string();
    Ok(match Compression::of(path) {
        Compression::None => input::read_text(path, limit)?,
        compression => {
            let io = |reason| InputError::Io {
                what: limit.what,
                path: shown.clone(),
                reason,
            };
            let file = std::fs::File::open(path).map_err(io)?;
            let reader: Box<dyn Read> = match compression {
                Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(
                    std::io::BufReader::new(file),
                )),
                _ => Box::new(zstd::stream::read::Decoder::new(file).map_err(io)?),
            };
            input::read_bounded(reader, None, limit, &shown)?
        }
    })
}

/// Serialises an inventory as pretty JSON with a trailing newline.
pub fn to_string(inventory: &Inventory) -> String {
    let mut text = serde_json::to_string_pretty(inventory).expect("inventory serialises");
    text.push('\n');
    text
}

/// Writes an inventory to `out` as the snapshot format of `path` says (pretty JSON, gzip or
/// zstd), streaming.
pub fn write(inventory: &Inventory, path: &Path, out: &mut dyn Write) -> std::io::Result<()> {
    fn json(inventory: &Inventory, out: &mut dyn Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, inventory).map_err(std::io::Error::other)?;
        out.write_all(b"\n")
    }
    match Compression::of(path) {
        Compression::None => json(inventory, out),
        Compression::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(out, flate2::Compression::default());
            json(inventory, &mut encoder)?;
            encoder.finish()?;
            Ok(())
        }
        Compression::Zstd => {
            let mut encoder = zstd::stream::write::Encoder::new(out, ZSTD_LEVEL)?;
            json(inventory, &mut encoder)?;
            encoder.finish()?;
            Ok(())
        }
    }
}

/// zstd's default level: a 1,000-subscription snapshot shrinks about tenfold in well under a
/// second; higher levels buy little on JSON this repetitive.
const ZSTD_LEVEL: i32 = 3;

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
    fn compressed_snapshots_round_trip_by_extension() {
        let dir = tempfile::tempdir().unwrap();
        let mut inv = Inventory::new("https://management.azure.com", "arm", Default::default());
        inv.clusters
            .push(crate::tree!({"id": "/subscriptions/s/c", "properties": {"x": [1, 2, 3]}}));
        for name in ["s.json", "s.json.gz", "s.json.zst", "S.JSON.ZST"] {
            let path = dir.path().join(name);
            let mut bytes = Vec::new();
            write(&inv, &path, &mut bytes).unwrap();
            std::fs::write(&path, &bytes).unwrap();
            let plain = to_string(&inv);
            match Compression::of(&path) {
                Compression::None => assert_eq!(bytes, plain.as_bytes()),
                _ => assert!(!bytes.starts_with(b"{"), "{name} is compressed"),
            }
            assert_eq!(load(&path).unwrap(), inv, "{name}");
        }
        // Not what the extension says: a clear error, not a panic.
        let fake = dir.path().join("fake.json.zst");
        std::fs::write(&fake, to_string(&inv)).unwrap();
        let err = load(&fake).unwrap_err().to_string();
        assert!(err.contains("fake.json.zst"), "{err}");
    }

    #[test]
    fn trailing_garbage_is_refused() {
        let inv = Inventory::new("https://management.azure.com", "arm", Default::default());
        let text = format!("{} {{}}", to_string(&inv));
        assert!(matches!(
            from_str(&text, "x"),
            Err(SnapshotError::NotJson { .. })
        ));
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
