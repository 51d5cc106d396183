//! Shared strings and values for findings.
//!
//! A thousand-subscription audit produces about 110,000 findings with 290,000 pieces of
//! evidence, yet only a few thousand distinct property labels, expectations, notes, messages
//! and observed values: the same `expected` sentence stands in every finding of a check, the
//! same policy-coverage object in every finding of a management group. Held as owned `String`s
//! and `serde_json::Value` trees they took about 270 MB; held once each and shared, about a
//! fifth of that. Interning happens where a finding is built, so no evaluator has to think
//! about it.
//!
//! [`Text`] is also the string of the inventory's JSON (`crate::json`), which interns into pools
//! of its own: these pools live as long as an evaluation's threads, the inventory's as long as
//! the parse or the collection that fills it.

use std::borrow::Borrow;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// An immutable, shared string: cloning it is a reference count, equal texts built anywhere
/// in one evaluation share one allocation. Reads as a `str` everywhere.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Text(Arc<str>);

impl Text {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A text of a string another pool interned (the inventory's, see `json`).
    pub(crate) fn from_shared(s: Arc<str>) -> Text {
        Text(s)
    }

    /// Whether both are one allocation.
    pub fn shares_with(&self, other: &Text) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text(text(s))
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Self {
        Text::from(s.as_str())
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text::from(s.as_str())
    }
}

impl From<&Text> for Text {
    fn from(s: &Text) -> Self {
        s.clone()
    }
}

impl From<Text> for String {
    fn from(s: Text) -> Self {
        s.0.to_string()
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        &*self.0 == other.as_str()
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self == &*other.0
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == &*other.0
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == &*other.0
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Ok(Text::from(&*s))
    }
}

/// An observed value, shared like [`Text`]: equal values (compared as their JSON text) share
/// one tree.
pub fn value(v: Value) -> Arc<Value> {
    // Absent, true and false are a third of all evidence: one of each per thread.
    match v {
        Value::Null => return SCALARS.with(|s| s[0].clone()),
        Value::Bool(false) => return SCALARS.with(|s| s[1].clone()),
        Value::Bool(true) => return SCALARS.with(|s| s[2].clone()),
        // Numbers are rare and cheaper to hold than to look up.
        Value::Number(_) => return Arc::new(v),
        _ => {}
    }
    let key = v.to_string();
    VALUES.with_borrow_mut(|pool| {
        if let Some(found) = pool.get(key.as_str()) {
            return found.clone();
        }
        let shared = Arc::new(v);
        pool.insert(key.into_boxed_str(), shared.clone());
        shared
    })
}

// One pool per thread: evaluation runs on scoped worker threads, so a pool lives exactly as
// long as the evaluation that filled it (what it handed out lives on in the findings), and no
// lock is taken. Two workers hold at most two copies of a text.
thread_local! {
    static TEXTS: RefCell<HashSet<Arc<str>>> = RefCell::new(HashSet::new());
    static VALUES: RefCell<HashMap<Box<str>, Arc<Value>>> = RefCell::new(HashMap::new());
    static SCALARS: [Arc<Value>; 3] =
        [Arc::new(Value::Null), Arc::new(Value::Bool(false)), Arc::new(Value::Bool(true))];
}

fn text(s: &str) -> Arc<str> {
    TEXTS.with_borrow_mut(|pool| {
        if let Some(found) = pool.get(s) {
            return found.clone();
        }
        let new: Arc<str> = Arc::from(s);
        pool.insert(new.clone());
        new
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equal_texts_share_one_allocation() {
        let a = Text::from("properties.disableLocalAccounts");
        let b = Text::from(String::from("properties.disableLocalAccounts"));
        assert_eq!(a, b);
        assert!(Arc::ptr_eq(&a.0, &b.0));
        assert_eq!(a, "properties.disableLocalAccounts");
        assert_eq!("properties.disableLocalAccounts", a);
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            "\"properties.disableLocalAccounts\""
        );
        let back: Text = serde_json::from_str("\"properties.disableLocalAccounts\"").unwrap();
        assert!(Arc::ptr_eq(&a.0, &back.0));
    }

    #[test]
    fn equal_values_share_one_tree() {
        let a = value(json!({"assignment": "Deny-Privileged-AKS", "effect": "Deny"}));
        let b = value(json!({"assignment": "Deny-Privileged-AKS", "effect": "Deny"}));
        assert!(Arc::ptr_eq(&a, &b));
        let c = value(json!({"assignment": "Deny-Privileged-AKS", "effect": "Audit"}));
        assert!(!Arc::ptr_eq(&a, &c));
        assert!(Arc::ptr_eq(&value(Value::Null), &value(Value::Null)));
        assert!(Arc::ptr_eq(&value(json!(true)), &value(json!(true))));
        assert_eq!(*value(json!(false)), json!(false));
        assert_eq!(*value(json!(7)), json!(7));
        assert_eq!(a["effect"], "Deny");
    }
}
