//! The inventory's JSON: ARM resources held read-only, at a fraction of `serde_json`'s size.
//!
//! A thousand-subscription tenant is 1.4 million object entries and a million strings. As
//! `serde_json::Value` trees (with `preserve_order`) each entry cost about 160 bytes: an
//! 80-byte value, a hash, an owned key and an index slot, so the inventory took 245 MB for
//! 69 MB of JSON, and the audit could not stay within 300 MB. Here a value is 24 bytes, an
//! object a boxed slice of (key, value) pairs in their original order, and every string (key
//! or value) a shared [`Text`]: equal strings parsed in one [`interning`] scope share one
//! allocation (the tenant above has 141,000 distinct strings among its million). The trees
//! are never changed after they are built, so they need no spare capacity and no hash index:
//! ARM objects have a few dozen keys at most, and a scan of them is as fast as a hash.
//!
//! The API follows `serde_json::Value` (`get`, `as_str`, `as_array`, indexing, `Display` as
//! compact JSON), so reading code looks the same; a tree serialises to exactly the bytes its
//! `serde_json` twin would, which keeps snapshots and reports unchanged.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
pub use serde_json::Number;

pub use crate::interned::Text;

/// `serde_json::json!`, built as an inventory [`Value`]: for fixtures and tests.
#[macro_export]
macro_rules! tree {
    ($($json:tt)+) => {
        $crate::json::Value::from(::serde_json::json!($($json)+))
    };
}

/// A JSON value of the inventory (see the module's documentation).
#[derive(Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    String(Text),
    Array(Box<[Value]>),
    Object(Object),
}

/// A JSON object: its entries in document order. A key that appeared twice holds its last
/// value at its first position, as in `serde_json` with `preserve_order`; and as there, two
/// objects are equal when they hold the same entries in any order.
#[derive(Clone, Default)]
pub struct Object(Box<[(Text, Value)]>);

impl PartialEq for Object {
    fn eq(&self, other: &Object) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .all(|(k, v)| other.get(k).is_some_and(|w| v == w))
    }
}

static NULL: Value = Value::Null;

impl Value {
    /// The value under `key`, if this is an object that has it (exact spelling).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object()?.get(key)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn is_object(&self) -> bool {
        matches!(self, Value::Object(_))
    }

    pub fn is_array(&self) -> bool {
        matches!(self, Value::Array(_))
    }

    pub fn is_string(&self) -> bool {
        matches!(self, Value::String(_))
    }

    /// The same tree as a `serde_json::Value`: what evidence and CEL, which build values of
    /// their own, work with.
    pub fn to_serde(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Value::Number(n.clone()),
            Value::String(s) => serde_json::Value::String(s.to_string()),
            Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(Value::to_serde).collect())
            }
            Value::Object(map) => serde_json::Value::Object(
                map.iter()
                    .map(|(k, v)| (k.to_string(), v.to_serde()))
                    .collect(),
            ),
        }
    }

    /// Changes the tree as a `serde_json::Value` (a copy, written back): for fixtures that
    /// remove or reshape properties. The inventory itself never changes a tree once built.
    pub fn edit(&mut self, f: impl FnOnce(&mut serde_json::Value)) {
        let mut copy = self.to_serde();
        f(&mut copy);
        *self = one(copy);
    }
}

impl Object {
    /// The value under `key` (exact spelling).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0
            .iter()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&Text, &Value)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl ExactSizeIterator<Item = &Text> {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl ExactSizeIterator<Item = &Value> {
        self.0.iter().map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn from_entries(mut entries: Vec<(Text, Value)>) -> Object {
        dedupe_keys(&mut entries);
        Object(entries.into_boxed_slice())
    }
}

impl<'a> IntoIterator for &'a Object {
    type Item = (&'a Text, &'a Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Text, Value)>,
        fn(&'a (Text, Value)) -> (&'a Text, &'a Value),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

/// Folds repeated keys the way `serde_json` does: the first position, the last value. JSON
/// from ARM has none, so the common case is one pass that finds nothing.
fn dedupe_keys(entries: &mut Vec<(Text, Value)>) {
    let repeated = if entries.len() <= 16 {
        (1..entries.len()).any(|i| entries[..i].iter().any(|(k, _)| *k == entries[i].0))
    } else {
        let mut seen = HashSet::with_capacity(entries.len());
        !entries.iter().all(|(k, _)| seen.insert(k.as_str()))
    };
    if !repeated {
        return;
    }
    let mut first: HashMap<Text, usize> = HashMap::new();
    let mut out: Vec<(Text, Value)> = Vec::with_capacity(entries.len());
    for (k, v) in entries.drain(..) {
        match first.get(&k) {
            Some(&i) => out[i].1 = v,
            None => {
                first.insert(k.clone(), out.len());
                out.push((k, v));
            }
        }
    }
    *entries = out;
}

impl<K: AsRef<str> + ?Sized> std::ops::Index<&K> for Value {
    type Output = Value;
    /// The value under `key`, or `null` (as `serde_json`).
    fn index(&self, key: &K) -> &Value {
        self.get(key.as_ref()).unwrap_or(&NULL)
    }
}

impl std::ops::Index<usize> for Value {
    type Output = Value;
    /// The item at `index`, or `null` (as `serde_json`).
    fn index(&self, index: usize) -> &Value {
        self.as_array().and_then(|a| a.get(index)).unwrap_or(&NULL)
    }
}

// Writing through an index, as `serde_json` allows, is for building test fixtures: the
// inventory never changes a tree once built, and an insert reallocates the object.

impl<K: AsRef<str> + ?Sized> std::ops::IndexMut<&K> for Value {
    /// The value under `key`, inserted as `null` if absent; `null` itself becomes an object.
    /// Panics on anything else, as `serde_json` does.
    fn index_mut(&mut self, key: &K) -> &mut Value {
        let key = key.as_ref();
        if self.is_null() {
            *self = Value::Object(Object::default());
        }
        let Value::Object(Object(entries)) = self else {
            panic!("cannot index into a non-object JSON value with {key:?}");
        };
        let i = match entries.iter().position(|(k, _)| k.as_str() == key) {
            Some(i) => i,
            None => {
                let mut grown = std::mem::take(entries).into_vec();
                grown.push((intern(key), Value::Null));
                *entries = grown.into_boxed_slice();
                entries.len() - 1
            }
        };
        &mut entries[i].1
    }
}

impl std::ops::IndexMut<usize> for Value {
    /// The item at `index`; panics when there is none, as `serde_json` does.
    fn index_mut(&mut self, index: usize) -> &mut Value {
        match self {
            Value::Array(items) => &mut items[index],
            _ => panic!("cannot index into a non-array JSON value with {index}"),
        }
    }
}

impl PartialEq<str> for Value {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == Some(other)
    }
}

impl PartialEq<&str> for Value {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

impl PartialEq<bool> for Value {
    fn eq(&self, other: &bool) -> bool {
        self.as_bool() == Some(*other)
    }
}

macro_rules! eq_number {
    ($($t:ty => $as:ident: $wide:ty),*) => {$(
        impl PartialEq<$t> for Value {
            fn eq(&self, other: &$t) -> bool {
                self.$as().is_some_and(|n| n == *other as $wide)
            }
        }
    )*};
}

eq_number!(i32 => as_i64: i64, i64 => as_i64: i64, u32 => as_u64: u64, u64 => as_u64: u64,
    usize => as_u64: u64, f64 => as_f64: f64);

impl PartialEq<serde_json::Value> for Value {
    fn eq(&self, other: &serde_json::Value) -> bool {
        use serde_json::Value as J;
        match (self, other) {
            (Value::Null, J::Null) => true,
            (Value::Bool(a), J::Bool(b)) => a == b,
            (Value::Number(a), J::Number(b)) => a == b,
            (Value::String(a), J::String(b)) => a == b,
            (Value::Array(a), J::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
            }
            (Value::Object(a), J::Object(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| b.get(k.as_str()).is_some_and(|w| v == w))
            }
            _ => false,
        }
    }
}

impl PartialEq<Value> for serde_json::Value {
    fn eq(&self, other: &Value) -> bool {
        other == self
    }
}

impl fmt::Display for Value {
    /// Compact JSON, byte for byte what `serde_json` writes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_string(self).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Debug for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl From<serde_json::Value> for Value {
    /// Converts, sharing strings within the current [`interning`] scope.
    fn from(value: serde_json::Value) -> Value {
        use serde_json::Value as J;
        match value {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(b),
            J::Number(n) => Value::Number(n),
            J::String(s) => Value::String(intern(&s)),
            J::Array(items) => Value::Array(items.into_iter().map(Value::from).collect()),
            J::Object(map) => Value::Object(Object(
                map.into_iter()
                    .map(|(k, v)| (intern(&k), Value::from(v)))
                    .collect(),
            )),
        }
    }
}

impl From<&serde_json::Value> for Value {
    /// Copies, sharing strings within the current [`interning`] scope.
    fn from(value: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        match value {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => Value::Number(n.clone()),
            J::String(s) => Value::String(intern(s)),
            J::Array(items) => Value::Array(items.iter().map(Value::from).collect()),
            J::Object(map) => Value::Object(Object(
                map.iter()
                    .map(|(k, v)| (intern(k), Value::from(v)))
                    .collect(),
            )),
        }
    }
}

impl From<&Value> for serde_json::Value {
    fn from(value: &Value) -> serde_json::Value {
        value.to_serde()
    }
}

impl From<Value> for serde_json::Value {
    fn from(value: Value) -> serde_json::Value {
        value.to_serde()
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(intern(s))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

/// Converts a list of `serde_json` values (collection's pages) into inventory values, sharing
/// strings within the current scope.
pub fn list(items: Vec<serde_json::Value>) -> Vec<Value> {
    interning(|| items.into_iter().map(Value::from).collect())
}

/// Copies `serde_json` values (that collection goes on reading) into inventory values,
/// sharing strings within the current scope.
pub fn copies<'a>(items: impl IntoIterator<Item = &'a serde_json::Value>) -> Vec<Value> {
    interning(|| items.into_iter().map(Value::from).collect())
}

/// Copies one `serde_json` value, sharing strings within the current scope.
pub fn copy(value: &serde_json::Value) -> Value {
    interning(|| Value::from(value))
}

/// Converts one `serde_json` value, sharing strings within the current scope.
pub fn one(value: serde_json::Value) -> Value {
    interning(|| Value::from(value))
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Number(n) => n.serialize(serializer),
            Value::String(s) => serializer.serialize_str(s),
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items.iter() {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Object(map) => {
                let mut out = serializer.serialize_map(Some(map.len()))?;
                for (k, v) in map.iter() {
                    out.serialize_entry(k.as_str(), v)?;
                }
                out.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    /// Parses at exact size, sharing strings within the current [`interning`] scope.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // As serde_json: a non-finite float has no JSON form and reads as null.
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(intern(v)))
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Value::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items.into_boxed_slice()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            entries.push((key, map.next_value()?));
        }
        Ok(Value::Object(Object::from_entries(entries)))
    }
}

/// Reads an object key straight into a shared [`Text`], without an owned `String` first.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Text;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Text, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Text;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
        Ok(intern(v))
    }
}

// Interning. A parse (or a conversion) runs in an `interning` scope: equal strings in it share
// one allocation. Within a `Sharing` guard (a live collection, which parses thousands of small
// pages on several threads) the scopes share one pool, taken under a lock for each page; with
// none, a scope's pool is its own and is dropped when it ends. Either way no pool outlives the
// work that filled it, so freeing the inventory frees its strings.

type Pool = HashSet<Arc<str>>;

struct Shared {
    guards: usize,
    pool: Option<Pool>,
}

static SHARED: Mutex<Shared> = Mutex::new(Shared {
    guards: 0,
    pool: None,
});

thread_local! {
    static LOCAL: RefCell<Option<Pool>> = const { RefCell::new(None) };
}

/// While one lives, every [`interning`] scope on any thread shares one pool of strings.
pub struct Sharing(());

impl Sharing {
    pub fn begin() -> Sharing {
        SHARED.lock().unwrap_or_else(PoisonError::into_inner).guards += 1;
        Sharing(())
    }
}

impl Drop for Sharing {
    fn drop(&mut self) {
        let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
        shared.guards -= 1;
        if shared.guards == 0 {
            shared.pool = None;
        }
    }
}

/// Runs `f` with string interning on (see above). Nested scopes join the outer one.
pub fn interning<R>(f: impl FnOnce() -> R) -> R {
    if LOCAL.with_borrow(Option::is_some) {
        return f();
    }
    // Puts the pool back (or drops it) even if `f` unwinds.
    struct Restore<'a>(Option<std::sync::MutexGuard<'a, Shared>>);
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            let pool = LOCAL.take();
            if let (Some(shared), Some(pool)) = (self.0.as_mut(), pool) {
                shared.pool = Some(pool);
            }
        }
    }
    let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
    let restore = if shared.guards > 0 {
        LOCAL.set(Some(shared.pool.take().unwrap_or_default()));
        Restore(Some(shared))
    } else {
        drop(shared);
        LOCAL.set(Some(Pool::default()));
        Restore(None)
    };
    let out = f();
    drop(restore);
    out
}

fn intern(s: &str) -> Text {
    LOCAL.with_borrow_mut(|pool| match pool {
        Some(pool) => match pool.get(s) {
            Some(found) => Text::from_shared(found.clone()),
            None => {
                let new: Arc<str> = Arc::from(s);
                pool.insert(new.clone());
                Text::from_shared(new)
            }
        },
        None => Text::from_shared(Arc::from(s)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Parses as a snapshot is parsed: one document, one interning scope.
    fn from_slice(bytes: &[u8]) -> serde_json::Result<Value> {
        interning(|| serde_json::from_slice(bytes))
    }

    #[test]
    fn trees_equal_serde_json_trees_and_serialise_identically() {
        let text = r#"{"id":"/subscriptions/s","n":[1,-2,3.5,18446744073709551615,null,true],
            "s":"esc\"aped\u00e9","o":{"b":1,"a":{"x":[]},"b":2},"e":{}}"#;
        let ours = from_slice(text.as_bytes()).unwrap();
        let theirs: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(ours, theirs);
        assert_eq!(ours.to_serde(), theirs);
        assert_eq!(ours.to_string(), theirs.to_string());
        assert_eq!(ours["s"], "esc\"apedé");
        assert_eq!(ours["o"], json!({"b": 2, "a": {"x": []}}));
        // Key order is kept, and a repeated key keeps its first place and last value, as
        // with serde_json's `preserve_order`.
        let keys: Vec<_> = ours.as_object().unwrap().keys().map(Text::as_str).collect();
        assert_eq!(keys, ["id", "n", "s", "o", "e"]);
        assert_eq!(ours["o"].to_string(), r#"{"b":2,"a":{"x":[]}}"#);
        assert_eq!(ours["e"], json!({}));
        assert_eq!(
            ours["o"],
            crate::tree!({"a": {"x": []}, "b": 2}),
            "order-blind, as serde_json"
        );
        assert_ne!(ours["o"], crate::tree!({"a": {"x": []}, "b": 1}));
        assert!(ours["missing"].is_null());
        assert!(ours["n"][9].is_null());
        assert_eq!(ours["n"][3].as_u64(), Some(u64::MAX));
        assert_eq!(Value::from(theirs.clone()), ours);
    }

    #[test]
    fn many_repeated_keys_fold_like_serde_json() {
        let mut text = String::from("{");
        for i in 0..40 {
            text.push_str(&format!("\"k{}\":{i},", i % 20));
        }
        text.push_str("\"end\":true}");
        let ours = from_slice(text.as_bytes()).unwrap();
        let theirs: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(ours.to_string(), theirs.to_string());
        assert_eq!(ours.as_object().unwrap().len(), 21);
    }

    #[test]
    fn equal_strings_of_one_document_share_one_allocation() {
        let v = from_slice(br#"[{"tier":"Standard"},{"tier":"Standard"}]"#).unwrap();
        let (Value::String(a), Value::String(b)) = (&v[0]["tier"], &v[1]["tier"]) else {
            panic!("strings expected");
        };
        assert!(a.shares_with(b));
        let (ka, kb) = (
            v[0].as_object().unwrap().keys().next().unwrap(),
            v[1].as_object().unwrap().keys().next().unwrap(),
        );
        assert!(ka.shares_with(kb));
    }

    #[test]
    fn a_sharing_scope_shares_across_documents_and_threads() {
        let _guard = Sharing::begin();
        let first = from_slice(br#""lzaudit-shared""#).unwrap();
        let second = std::thread::spawn(|| from_slice(br#""lzaudit-shared""#).unwrap())
            .join()
            .unwrap();
        let (Value::String(c), Value::String(d)) = (&first, &second) else {
            panic!("strings expected");
        };
        assert!(c.shares_with(d), "one pool across documents and threads");
    }

    #[test]
    fn errors_keep_their_json_path() {
        #[derive(serde::Deserialize, Debug)]
        struct Holder {
            #[allow(dead_code)]
            items: Vec<Value>,
        }
        let text = r#"{"items":[{"a":1},{"a":[1,2}]}"#;
        let mut de = serde_json::Deserializer::from_str(text);
        let err = serde_path_to_error::deserialize::<_, Holder>(&mut de).unwrap_err();
        assert_eq!(err.path().to_string(), "items[1].a");
    }

    #[test]
    fn fixtures_are_written_through_an_index_or_an_edit() {
        let mut v = crate::tree!({"properties": {"a": 1}});
        v["properties"]["b"] = Value::from("x");
        v["tags"]["env"] = Value::from(true);
        assert_eq!(
            v,
            json!({"properties": {"a": 1, "b": "x"}, "tags": {"env": true}})
        );
        v.edit(|j| {
            j["properties"].as_object_mut().unwrap().remove("a");
        });
        assert_eq!(
            v.to_string(),
            r#"{"properties":{"b":"x"},"tags":{"env":true}}"#
        );
        assert_eq!(v["properties"]["b"], "x");
        assert!(v["properties"]["b"] != 1);
    }

    #[test]
    fn a_value_is_small() {
        assert_eq!(std::mem::size_of::<Value>(), 24);
    }
}
