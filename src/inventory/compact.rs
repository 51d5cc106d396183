//! JSON parsed into `serde_json::Value` trees sized exactly to their content: ARM answers as
//! collection reads them (paging, follow-up reads) before they become the inventory's
//! compact `json` trees.
//!
//! serde_json builds an object by inserting into an empty map and an array by pushing onto an
//! empty vector, so both grow by doubling and keep the slack. Pages are parsed here instead:
//! each object and array is gathered first and then stored at its final size, so the many
//! pages in flight during a large collection take no more than they must.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A `Value` deserialised at its exact size (see the module's documentation).
#[repr(transparent)]
pub struct Compact(pub Value);

impl<'de> Deserialize<'de> for Compact {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CompactVisitor).map(Compact)
    }
}

struct CompactVisitor;

impl<'de> Visitor<'de> for CompactVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // As serde_json: a non-finite float has no JSON form and reads as null.
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, mut v: String) -> Result<Value, E> {
        v.shrink_to_fit();
        Ok(Value::String(v))
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Compact::deserialize(deserializer).map(|c| c.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Compact(item)) = seq.next_element()? {
            items.push(item);
        }
        items.shrink_to_fit();
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries: Vec<(String, Value)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let Compact(value) = map.next_value()?;
            entries.push((key, value));
        }
        Ok(object(entries))
    }
}

/// An object of exactly these entries. A map collected from a filtered iterator grows by
/// doubling like one built by inserts (the filter's length is unknown): gathering the entries
/// first gives `collect` their count. A repeated key keeps its last value, as in serde_json.
pub fn object(entries: impl IntoIterator<Item = (String, Value)>) -> Value {
    let entries: Vec<(String, Value)> = entries.into_iter().collect();
    Value::Object(entries.into_iter().collect::<Map<String, Value>>())
}

/// `serde_json::from_slice`, at exact size.
pub fn from_slice(bytes: &[u8]) -> serde_json::Result<Value> {
    serde_json::from_slice::<Compact>(bytes).map(|c| c.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compact_trees_equal_serde_json_trees() {
        let text = r#"{"id":"/subscriptions/s","n":[1,-2,3.5,18446744073709551615,null,true],
            "s":"esc\"aped\u00e9","o":{"b":1,"a":{"x":[]},"b":2},"e":{}}"#;
        let ours = from_slice(text.as_bytes()).unwrap();
        let theirs: Value = serde_json::from_str(text).unwrap();
        assert_eq!(ours, theirs);
        assert_eq!(ours["s"], "esc\"apedé");
        assert_eq!(ours["o"], json!({"b": 2, "a": {"x": []}}));
        // Key order is kept, as with serde_json's `preserve_order`.
        let keys: Vec<_> = ours.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["id", "n", "s", "o", "e"]);
        assert_eq!(ours["e"], json!({}));
    }
}
