//! What a failed evaluation means, said in the check's terms.
//!
//! The `cel` crate's errors speak of its own types (`No such key: mode`, `Int(3)`, overload
//! signatures); a report reader needs to know which declared property was missing, or what
//! kind of mistake the rule made. The raw error goes to the debug log, never to a finding.

use cel::ExecutionError;
use serde_json::Value;

use crate::catalogue::spec::ReadSpec;

/// Why the rule could not be evaluated on this resource, as a phrase to follow
/// "cannot evaluate rule `…`: ".
pub fn explain(err: &ExecutionError, reads: &[ReadSpec], projected: &Value) -> String {
    match err {
        ExecutionError::NoSuchKey(key) => missing_property(key, reads, projected),
        ExecutionError::UndeclaredReference(name) => format!(
            "it refers to `{name}`, which is not defined (rules see `resource`, `params` and \
             the variables of their macros)"
        ),
        ExecutionError::NoSuchOverload(overload) => {
            let types = overload.argument_types().join(" and ");
            match overload.function() {
                "_._" => format!(
                    "it selects a field of {}, which has no fields",
                    a(overload.argument_types().first().map_or("value", |t| t))
                ),
                f => match operator(f) {
                    Some((symbol, true)) => format!(
                        "values of incompatible types were compared (`{symbol}` on {types})"
                    ),
                    Some((symbol, false)) => format!(
                        "values of incompatible types were combined (`{symbol}` on {types})"
                    ),
                    None => format!("`{f}()` was applied to values of the wrong type ({types})"),
                },
            }
        }
        ExecutionError::ValuesNotComparable(a, b) => format!(
            "values of incompatible types were compared ({} and {})",
            type_name(a),
            type_name(b)
        ),
        ExecutionError::UnsupportedBinaryOperator(op, a, b) => format!(
            "values of incompatible types were combined (`{}` on {} and {})",
            match *op {
                "add" => "+",
                "sub" => "-",
                "mul" => "*",
                "div" => "/",
                "rem" => "%",
                other => other,
            },
            type_name(a),
            type_name(b)
        ),
        ExecutionError::UnexpectedType { got, want } => match want.as_str() {
            "bool" => format!("a condition in it is {}, not true or false", a(got)),
            "iterable" => format!(
                "a macro such as `exists` or `all` was applied to {}, not to a list or map",
                a(got)
            ),
            want => format!("{} was used where {} is needed", a(got), a(want)),
        },
        ExecutionError::DivisionByZero(_) => "division by zero".into(),
        ExecutionError::RemainderByZero(_) => "remainder by zero (`%` with 0)".into(),
        ExecutionError::Overflow(..) => "an arithmetic operation overflowed".into(),
        ExecutionError::IndexOutOfBounds(_) => {
            "a list index is out of range (the list is shorter than the rule expects)".into()
        }
        ExecutionError::FunctionError { function, .. } => match function.as_str() {
            "matches" => "a regular expression in the rule is invalid".into(),
            f @ ("int" | "uint" | "double" | "bool" | "bytes" | "string") => {
                format!("a value could not be converted with `{f}()`")
            }
            f => format!("`{f}()` failed on this resource's values"),
        },
        ExecutionError::InvalidArgumentCount { .. } => {
            "a function in it was called with the wrong number of arguments".into()
        }
        ExecutionError::UnsupportedKeyType(v) => {
            format!("{} cannot be a map key", a(type_name(v)))
        }
        ExecutionError::UnsupportedIndex(index, target) => format!(
            "{} cannot index {}",
            a(type_name(index)),
            a(type_name(target))
        ),
        ExecutionError::DuplicateKey(_) => "a map literal in it repeats a key".into(),
        ExecutionError::UnsupportedTargetType { .. }
        | ExecutionError::NotSupportedAsMethod { .. }
        | ExecutionError::MissingArgumentOrTarget => {
            "a function in it was applied to a value of the wrong type".into()
        }
        _ => "the CEL engine could not evaluate it on this resource's values".into(),
    }
}

/// The comparison or arithmetic symbol of an operator's internal name, and whether it compares.
fn operator(function: &str) -> Option<(&'static str, bool)> {
    Some(match function {
        "_==_" => ("==", true),
        "_!=_" => ("!=", true),
        "_<_" => ("<", true),
        "_<=_" => ("<=", true),
        "_>_" => (">", true),
        "_>=_" => (">=", true),
        "@in" => ("in", true),
        "_+_" => ("+", false),
        "_-_" => ("-", false),
        "_*_" => ("*", false),
        "_/_" => ("/", false),
        "_%_" => ("%", false),
        "-_" => ("-", false),
        "!_" => ("!", false),
        "_&&_" => ("&&", false),
        "_||_" => ("||", false),
        "_[_]" => ("[…]", false),
        "_?_:_" => ("? :", false),
        _ => return None,
    })
}

/// The type of a value, with its article: "a list", "an int".
pub fn kind(value: &cel::Value) -> String {
    a(type_name(value))
}

/// A type name with its indefinite article ("an int", "a list").
fn a(type_name: &str) -> String {
    let article = if type_name.starts_with(['a', 'e', 'i', 'o']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {type_name}")
}

fn type_name(value: &cel::Value) -> &'static str {
    match value {
        cel::Value::List(_) => "list",
        cel::Value::Map(_) => "map",
        cel::Value::Int(_) => "int",
        cel::Value::UInt(_) => "uint",
        cel::Value::Float(_) => "double",
        cel::Value::String(_) => "string",
        cel::Value::Bytes(_) => "bytes",
        cel::Value::Bool(_) => "bool",
        cel::Value::Null => "null",
        _ => "value",
    }
}

/// Names the declared read that a `NoSuchKey` error comes from: a read whose path has `key`
/// as a segment and that is absent (somewhere, for a path through a list) from the payload.
fn missing_property(key: &str, reads: &[ReadSpec], projected: &Value) -> String {
    let matching: Vec<&ReadSpec> = reads
        .iter()
        .filter(|r| {
            r.path
                .split('.')
                .any(|s| s.trim_end_matches("[]").eq_ignore_ascii_case(key))
        })
        .filter(|r| {
            let segments: Vec<&str> = r.path.split('.').collect();
            absent(Some(projected), &segments)
        })
        .collect();
    let Some(first) = matching.first() else {
        return format!(
            "it reads `{key}`, which is not among the properties the check declares in \
             `reads` (a rule sees only those) or its parameters"
        );
    };
    let paths = matching
        .iter()
        .map(|r| format!("`{}`", r.path))
        .collect::<Vec<_>>()
        .join(" or ");
    let property = if matching.len() == 1 {
        "the property"
    } else {
        "one of the properties"
    };
    if first.default.is_some() && matching.len() == 1 {
        format!(
            "{property} {paths} is absent from the ARM payload, and its declared default \
             cannot apply because part of its path is missing"
        )
    } else {
        format!(
            "{property} {paths} is absent from the ARM payload and the check declares no \
             default for it"
        )
    }
}

/// Whether the path is missing from `value` (in any element, for a `[]` segment).
fn absent(value: Option<&Value>, segments: &[&str]) -> bool {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return true;
    };
    let Some((first, rest)) = segments.split_first() else {
        return false;
    };
    match first.strip_suffix("[]") {
        Some(name) => match value.get(name).and_then(Value::as_array) {
            Some(items) => items.iter().any(|i| absent(Some(i), rest)),
            None => true,
        },
        None => absent(value.get(*first), rest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(path: &str, default: Option<toml::Value>) -> ReadSpec {
        ReadSpec {
            path: path.into(),
            default,
            default_reason: None,
            expected: "x".into(),
            kind: None,
        }
    }

    fn error_of(source: &str, resource: Value) -> ExecutionError {
        let program = cel::Program::compile(source).unwrap();
        let mut context = cel::Context::with_env(crate::eval::cel::standard_env());
        context.add_variable_from_value("resource", cel::to_value(resource).unwrap());
        program.execute(&context).unwrap_err()
    }

    #[test]
    fn a_missing_key_names_the_declared_read() {
        let reads = [
            read("properties.agentPoolProfiles[].name", None),
            read("properties.agentPoolProfiles[].mode", None),
            read("properties.securityProfile.defender.enabled", None),
        ];
        let payload = json!({"properties": {"agentPoolProfiles": [{"name": "a", "mode": "User"}, {"name": "b"}]}});
        let err = error_of(
            "resource.properties.agentPoolProfiles.all(p, p.mode == 'User')",
            payload.clone(),
        );
        let message = explain(&err, &reads, &payload);
        assert_eq!(
            message,
            "the property `properties.agentPoolProfiles[].mode` is absent from the ARM payload \
             and the check declares no default for it"
        );
        let err = error_of(
            "resource.properties.securityProfile.defender.enabled",
            payload.clone(),
        );
        let message = explain(&err, &reads, &payload);
        assert!(
            message.contains("`properties.securityProfile.defender.enabled`"),
            "{message}"
        );
        let err = error_of("resource.properties.undeclared == 1", payload.clone());
        let message = explain(&err, &reads, &payload);
        assert!(
            message.contains("not among the properties the check declares"),
            "{message}"
        );
    }

    #[test]
    fn other_errors_say_what_went_wrong_without_the_crate_text() {
        for (source, expected) in [
            ("1u / resource.zero == 1u", "division by zero"),
            ("1u % resource.zero == 1u", "remainder by zero"),
            (
                "resource.s > 1",
                "incompatible types were compared (`>` on string and int)",
            ),
            (
                "resource.s + 1 == 1",
                "incompatible types were combined (`+` on string and int)",
            ),
            (
                "resource.s.matches(resource.s)",
                "regular expression in the rule is invalid",
            ),
            ("resource.l[5] == 1", "list index is out of range"),
            (
                "resource.s.exists(x, true)",
                "applied to a string, not to a list or map",
            ),
            ("resource.zero ? 1 : 2", "a condition in it is a uint"),
            (
                "int(resource.s) == 1",
                "could not be converted with `int()`",
            ),
            ("nothing == 1", "refers to `nothing`"),
            ("resource.l.mode == 1", "selects a field of a list"),
        ] {
            let payload = json!({"zero": 0, "s": "(", "l": [1]});
            let err = error_of(source, payload.clone());
            let message = explain(&err, &[], &payload);
            assert!(message.contains(expected), "{source}: {message} ({err})");
            for raw in [
                "No such",
                "Unexpected type",
                "no matching overload",
                "Int(",
                "Value::",
            ] {
                assert!(!message.contains(raw), "{source}: {message}");
            }
        }
    }
}
