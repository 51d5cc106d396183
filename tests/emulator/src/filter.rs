//! The `$filter` dialects of the list APIs the auditor calls: `atScope()`, `atExactScope()`
//! and `excludeExpired()` (policy and RBAC), `field eq 'value'` (`principalId`,
//! `policyDefinitionId`, `policyAssignmentId` against `properties.*`; `resourceId`,
//! `complianceState`, `isCompliant` … against the top-level fields of a PolicyInsights
//! policy-state record) and `name in (a,b)` (Defender pricings), joined by `and`. A filter the
//! emulator does not understand is a 400, not "no filter": silently ignoring it would let the
//! client's query bugs pass as test successes.

use serde_json::Value;

/// Which scopes a scoped list (assignments, exemptions) covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reach {
    /// No scope function: at, above and below the scope.
    AboveAndBelow,
    /// `atScope()`: at or above.
    AtOrAbove,
    /// `atExactScope()`: at the scope only.
    Exact,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Filter {
    pub(crate) reach: Reach,
    pub(crate) exclude_expired: bool,
    /// `(property name, value)` pairs compared case-insensitively against `properties.*`.
    pub(crate) equals: Vec<(String, String)>,
    pub(crate) names: Option<Vec<String>>,
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            reach: Reach::AboveAndBelow,
            exclude_expired: false,
            equals: Vec::new(),
            names: None,
        }
    }
}

/// Parses a `$filter` value; the error is the message for a 400.
pub(crate) fn parse(text: &str) -> Result<Filter, String> {
    let mut filter = Filter::default();
    for term in split_and(text) {
        let lower = term.to_ascii_lowercase();
        let compact: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
        match compact.as_str() {
            "" => continue,
            "atscope()" => filter.reach = Reach::AtOrAbove,
            "atexactscope()" => filter.reach = Reach::Exact,
            "excludeexpired()" => filter.exclude_expired = true,
            _ => {
                if let Some((field, value)) = split_operator(term, " eq ") {
                    filter
                        .equals
                        .push((field.to_string(), unquote(value).to_string()));
                } else if let Some((field, list)) = split_operator(term, " in ") {
                    if !field.eq_ignore_ascii_case("name") {
                        return Err(unsupported(term));
                    }
                    let list = list
                        .trim()
                        .strip_prefix('(')
                        .and_then(|l| l.strip_suffix(')'))
                        .ok_or_else(|| unsupported(term))?;
                    filter.names = Some(
                        list.split(',')
                            .map(|n| unquote(n.trim()).to_string())
                            .filter(|n| !n.is_empty())
                            .collect(),
                    );
                } else {
                    return Err(unsupported(term));
                }
            }
        }
    }
    Ok(filter)
}

impl Filter {
    /// Whether an object passes the non-scope parts of the filter. `now` is an RFC 3339 UTC
    /// timestamp; `expiresOn` values are compared as text, which is exact for the `Z` form
    /// that ARM returns.
    pub(crate) fn keeps(&self, object: &Value, now: &str) -> bool {
        let properties = object.get("properties");
        for (field, wanted) in &self.equals {
            let actual = properties
                .and_then(|p| get_ci(p, field))
                .and_then(Value::as_str);
            if !actual.is_some_and(|a| a.eq_ignore_ascii_case(wanted)) {
                return false;
            }
        }
        if let Some(names) = &self.names {
            let name = object.get("name").and_then(Value::as_str).unwrap_or("");
            if !names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                return false;
            }
        }
        if self.exclude_expired
            && let Some(expires) = properties
                .and_then(|p| get_ci(p, "expiresOn"))
                .and_then(Value::as_str)
        {
            let cut = expires.get(..19).unwrap_or(expires);
            let now_cut = now.get(..19).unwrap_or(now);
            if cut < now_cut {
                return false;
            }
        }
        true
    }
}

impl Filter {
    /// Whether the filter is only `field eq value` comparisons, the part of OData a
    /// PolicyInsights query accepts here; the error is the message for a 400.
    pub(crate) fn comparisons_only(&self) -> Result<(), String> {
        if self.reach != Reach::AboveAndBelow || self.exclude_expired || self.names.is_some() {
            return Err(
                "The $filter of a policy states query supports only 'field eq value' terms joined by 'and'."
                    .to_string(),
            );
        }
        Ok(())
    }

    /// Whether a flat record (a policy-state row has no `properties`) passes the comparisons:
    /// field names and values compare case-insensitively, and a boolean or number field
    /// matches its unquoted literal (`isCompliant eq false`).
    pub(crate) fn keeps_record(&self, record: &Value) -> bool {
        self.equals
            .iter()
            .all(|(field, wanted)| match get_ci(record, field) {
                Some(Value::String(actual)) => actual.eq_ignore_ascii_case(wanted),
                Some(Value::Bool(actual)) => actual.to_string().eq_ignore_ascii_case(wanted),
                Some(Value::Number(actual)) => actual.to_string() == *wanted,
                _ => false,
            })
    }
}

fn get_ci<'a>(object: &'a Value, key: &str) -> Option<&'a Value> {
    object
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

fn unsupported(term: &str) -> String {
    format!("The $filter term '{}' is not supported.", term.trim())
}

/// Splits on the keyword `and` (any case) outside quotes and parentheses.
fn split_and(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let bytes = text.as_bytes();
    let (mut start, mut depth, mut quoted) = (0, 0i32, false);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth -= 1,
            b' ' if !quoted
                && depth == 0
                && bytes
                    .get(i..i + 5)
                    .is_some_and(|w| w.eq_ignore_ascii_case(b" and ")) =>
            {
                parts.push(&text[start..i]);
                start = i + 5;
                i += 5;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(&text[start..]);
    parts
}

fn split_operator<'a>(term: &'a str, op: &str) -> Option<(&'a str, &'a str)> {
    let lower = term.to_ascii_lowercase();
    let at = lower.find(op)?;
    let field = term[..at].trim();
    let value = term[at + op.len()..].trim();
    let valid = !field.is_empty() && field.chars().all(|c| c.is_ascii_alphanumeric());
    valid.then_some((field, value))
}

fn unquote(value: &str) -> &str {
    value
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_scope_functions_and_comparisons() {
        assert_eq!(parse("atScope()").map(|f| f.reach), Ok(Reach::AtOrAbove));
        assert_eq!(parse("AtExactScope()").map(|f| f.reach), Ok(Reach::Exact));
        let f = parse("atScope() and principalId eq 'ABC'").expect("parses");
        assert_eq!(f.reach, Reach::AtOrAbove);
        assert_eq!(
            f.equals,
            vec![("principalId".to_string(), "ABC".to_string())]
        );
        let f = parse("name in (VirtualMachines, 'Containers')").expect("parses");
        assert_eq!(
            f.names,
            Some(vec![
                "VirtualMachines".to_string(),
                "Containers".to_string()
            ])
        );
        assert!(parse("startswith(name, 'x')").is_err());
        assert!(parse("type in (a)").is_err());
    }

    #[test]
    fn keeps_matches_case_insensitively() {
        let object = json!({"name": "Containers", "properties": {"principalId": "AbC", "expiresOn": "2000-01-01T00:00:00Z"}});
        let now = "2030-01-01T00:00:00Z";
        assert!(
            parse("principalId eq 'abc'")
                .expect("p")
                .keeps(&object, now)
        );
        assert!(
            !parse("principalId eq 'abd'")
                .expect("p")
                .keeps(&object, now)
        );
        assert!(
            parse("name in (containers)")
                .expect("p")
                .keeps(&object, now)
        );
        assert!(!parse("excludeExpired()").expect("p").keeps(&object, now));
        assert!(parse("excludeExpired()").expect("p").keeps(&json!({}), now));
    }

    #[test]
    fn flat_records_compare_top_level_fields() {
        let row = json!({"resourceId": "/subscriptions/S/x", "complianceState": "NonCompliant",
                         "isCompliant": false, "properties": {"resourceId": "/elsewhere"}});
        let f = parse("resourceId eq '/subscriptions/s/X' and complianceState eq 'noncompliant'")
            .expect("parses");
        assert!(f.comparisons_only().is_ok());
        assert!(f.keeps_record(&row));
        assert!(parse("IsCompliant eq false").expect("p").keeps_record(&row));
        assert!(!parse("isCompliant eq true").expect("p").keeps_record(&row));
        assert!(
            !parse("resourceId eq '/elsewhere'")
                .expect("p")
                .keeps_record(&row)
        );
        assert!(parse("atScope()").expect("p").comparisons_only().is_err());
        assert!(parse("name in (a)").expect("p").comparisons_only().is_err());
        assert!(parse("").expect("p").keeps_record(&row));
    }
}
