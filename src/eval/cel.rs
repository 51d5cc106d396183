//! The CEL runner for single-resource checks.
//!
//! A CEL check sees only what it declares: `resource` holds the resource's `id`, `name`, `type`
//! and `location` plus each declared read, found case-insensitively in the ARM JSON and stored
//! under the spelling the check file uses, with the declared default filled in where ARM omitted
//! the property. A read without a default that ARM omitted stays absent, so `has()` tests it and
//! any other use of it fails evaluation, which yields `unknown` naming the check's rule and the
//! missing property: data that is missing is never read as compliant. `params` holds the
//! check's parameters. An evaluation error is explained in the check's terms (`errors`); the
//! `cel` crate's own text goes to the debug log only.
//!
//! # Limits and budget
//!
//! Check files may come from users, and the `cel` crate recurses over a rule both when parsing
//! and when evaluating it, with neither a depth limit that covers every construct nor a step
//! counter: a 24 KB chain of `+` overflows the stack and aborts the process, and nested
//! `all()`/`map()` over long lists can run for hours. So:
//!
//! - **At load** (`compile`), a rule longer than [`limits::MAX_EXPR_BYTES`] or nesting brackets
//!   and conditionals deeper than [`limits::MAX_NESTING`] is rejected by a flat scan of its
//!   source, before the parser runs; the parser runs on a thread with a [`limits::STACK_BYTES`]
//!   stack, which those two limits keep it well inside; and a parsed tree deeper than
//!   [`limits::MAX_AST_DEPTH`] (long operator chains) is rejected there too. Unknown functions
//!   and invalid literal regular expressions are load errors. Every rejection is a
//!   `SpecError` naming the file, line, column, `logic.rules[i].when` and the limit.
//! - **Before evaluating a rule on a resource** (`cost`), its worst-case cost on that resource
//!   is computed from the tree and the shape of the actual input: the lengths of the lists it
//!   iterates, the sizes of the values it copies or compares, the compiled size of each
//!   pattern. If the rules evaluated for one finding would exceed [`limits::FINDING_BUDGET`],
//!   or one rule's values could hold more than [`limits::MEMORY_BUDGET`] at once, the finding
//!   is `unknown` ("rule `…` exceeded the evaluation budget …") and the rule is not run;
//!   once a check's rules have used [`limits::RUN_BUDGET`] over a run, its remaining
//!   resources are `unknown` without being evaluated. Because the bound is computed first,
//!   nothing ever has to be stopped: no evaluation runs past its budget, and no thread is left
//!   behind. The price is that the bound is a worst case: a rule that would stop early is
//!   priced as if it did not. A wall-clock budget was rejected: the evaluator cannot be
//!   interrupted, and a verdict that depends on machine load would make reports of the same
//!   snapshot differ.
//! - Evaluation runs on a scoped thread with the same large stack, joined before `run`
//!   returns, so the depth limits hold whatever the caller's stack (test threads have 2 MiB).

mod compile;
mod cost;
mod errors;
pub mod limits;

use serde_json::{Map, Value};

use crate::json::Value as Json;

pub use compile::{CompileError, Compiled, compile, nesting};

use super::{EvalContext, Evidence, Finding, Status, targets};
use crate::catalogue::spec::{ReadSpec, toml_to_json};
use crate::catalogue::{CelRule, Check};
use crate::inventory::arm;
use cost::Bound;
pub use cost::Cost;

/// Runs a CEL check over every resource of its target type.
pub fn run(
    check: &Check,
    rules: &[CelRule],
    otherwise: &CelRule,
    ctx: &EvalContext,
) -> Vec<Finding> {
    let mut budget = Budget::new(limits::FINDING_BUDGET, limits::RUN_BUDGET);
    let evaluated = on_big_stack(|| {
        let (resources, mut findings) =
            targets::resources(check.id(), ctx.inventory, check.file.target);
        let params = Value::Object(
            ctx.params
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        );
        let params_bound = Bound::of_json(&params);
        let params = cel::to_value(params);
        for resource in resources {
            let (projected, evidence, untyped) = project_checked(resource, &check.file.reads);
            let (status, message) = match (&params, cel::to_value(&projected)) {
                _ if !untyped.is_empty() => not_boolean(&untyped),
                (Ok(params), Ok(value)) => {
                    let input = Input {
                        projected: &projected,
                        value,
                        params: params.clone(),
                        params_bound: &params_bound,
                        reads: &check.file.reads,
                    };
                    decide(check.id(), rules, otherwise, input, &mut budget)
                }
                (Err(e), _) => unconvertible(check.id(), e),
                (_, Err(e)) => unconvertible(check.id(), &e),
            };
            findings.push(
                Finding::new(check.id(), arm::id(resource), status, message)
                    .with_evidence(evidence),
            );
        }
        findings
    });
    evaluated.unwrap_or_else(|reason| {
        let (resources, mut findings) =
            targets::resources(check.id(), ctx.inventory, check.file.target);
        for resource in resources {
            let (_, evidence) = project(resource, &check.file.reads);
            findings.push(
                Finding::new(
                    check.id(),
                    arm::id(resource),
                    Status::Unknown,
                    format!("the CEL evaluation of this check could not run: {reason}"),
                )
                .with_evidence(evidence),
            );
        }
        findings
    })
}

/// The worst case, in budget units, of evaluating every rule of a CEL check on one resource
/// with these parameters (the steps of all rules, the memory of the largest); `None` for a
/// Rust check. What the budgets are measured against.
pub fn worst_case(check: &Check, resource: &Json, params: &Value) -> Option<Cost> {
    let crate::catalogue::Logic::Cel { rules, .. } = &check.logic else {
        return None;
    };
    let (projected, _) = project(resource, &check.file.reads);
    let (resource, params) = (Bound::of_json(&projected), Bound::of_json(params));
    let costs = rules
        .iter()
        .filter_map(|r| r.when.as_ref())
        .map(|rule| cost::cost(rule, &resource, &params));
    Some(costs.fold(
        Cost {
            steps: 0,
            memory: 0,
        },
        |a, b| Cost {
            steps: a.steps.saturating_add(b.steps),
            memory: a.memory.max(b.memory),
        },
    ))
}

/// The verdict on a resource where a boolean read holds something else: no rule can read it
/// (`"yes" == true` is simply false), so nothing is decided from it.
fn not_boolean(untyped: &[(String, Value)]) -> (Status, String) {
    let list: Vec<String> = untyped
        .iter()
        .map(|(path, value)| format!("`{path}` is {value}"))
        .collect();
    (
        Status::Unknown,
        format!(
            "{}, not a boolean (true or false, or the strings \"true\"/\"false\"), so the check cannot read it",
            list.join(" and ")
        ),
    )
}

fn unconvertible(check: &str, err: &cel::SerializationError) -> (Status, String) {
    tracing::debug!(check, error = %err, "cannot convert to CEL");
    (
        Status::Unknown,
        "cannot pass this resource or the check's parameters to CEL".into(),
    )
}

/// Runs `f` on a thread with [`limits::STACK_BYTES`] of stack and waits for it, so that the
/// depth the limits allow never depends on the caller's stack.
pub(crate) fn on_big_stack<T: Send>(f: impl FnOnce() -> T + Send) -> Result<T, String> {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("lzaudit-cel".into())
            .stack_size(limits::STACK_BYTES)
            .spawn_scoped(scope, f)
            .map_err(|e| format!("cannot start its thread ({e})"))?;
        handle
            .join()
            .map_err(|_| "the CEL engine failed (it panicked)".to_string())
    })
}

/// What the rules of one check may spend, in cost units, and what they have spent.
#[derive(Debug)]
struct Budget {
    memory: u64,
    finding: u64,
    run: u64,
    run_spent: u64,
    run_exhausted: bool,
}

impl Budget {
    fn new(finding: u64, run: u64) -> Self {
        Budget {
            memory: limits::MEMORY_BUDGET,
            finding,
            run,
            run_spent: 0,
            run_exhausted: false,
        }
    }

    fn run_spent_message(&self) -> String {
        format!(
            "not evaluated: this check used up its evaluation budget for the run ({} units) \
             on earlier resources",
            self.run
        )
    }
}

/// One resource as the rules see it.
struct Input<'a> {
    projected: &'a Value,
    value: cel::Value,
    params: cel::Value,
    params_bound: &'a Bound,
    reads: &'a [ReadSpec],
}

/// The rule as messages name it: its expression, shortened if long.
fn rule_name(rule: &CelRule) -> String {
    const SHOWN: usize = 100;
    match rule.source.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("`{}…`", &rule.source[..end]),
        None => format!("`{}`", rule.source),
    }
}

fn decide(
    check: &str,
    rules: &[CelRule],
    otherwise: &CelRule,
    input: Input,
    budget: &mut Budget,
) -> (Status, String) {
    if budget.run_exhausted {
        return (Status::Unknown, budget.run_spent_message());
    }
    let resource_bound = Bound::of_json(input.projected);
    let mut context = cel::Context::with_env(standard_env());
    context.add_variable_from_value("resource", input.value);
    context.add_variable_from_value("params", input.params);
    let mut spent = 0u64;
    for rule in rules {
        let Some(compiled) = &rule.when else { continue };
        let name = rule_name(rule);
        let cost = cost::cost(compiled, &resource_bound, input.params_bound);
        if cost.memory > budget.memory {
            return (
                Status::Unknown,
                format!(
                    "rule {name} exceeded the evaluation budget (on this resource the values it \
                     builds may hold up to {} units of memory, and a rule may hold {}), so it \
                     was not evaluated",
                    cost.memory, budget.memory
                ),
            );
        }
        if spent.saturating_add(cost.steps) > budget.finding {
            return (
                Status::Unknown,
                format!(
                    "rule {name} exceeded the evaluation budget (on this resource it may cost up \
                     to {} units, and a finding may spend {}), so it was not evaluated",
                    cost.steps, budget.finding
                ),
            );
        }
        if budget.run_spent.saturating_add(cost.steps) > budget.run {
            budget.run_exhausted = true;
            return (Status::Unknown, budget.run_spent_message());
        }
        spent += cost.steps;
        budget.run_spent += cost.steps;
        match cel::Value::resolve(&compiled.expr, &context) {
            Ok(cel::Value::Bool(true)) => return (rule.status, rule.message.clone()),
            Ok(cel::Value::Bool(false)) => {}
            Ok(other) => {
                return (
                    Status::Unknown,
                    format!(
                        "cannot evaluate rule {name}: it yields {}, not true or false",
                        errors::kind(&other)
                    ),
                );
            }
            Err(err) => {
                tracing::debug!(check, rule = %rule.source, error = %err, "CEL evaluation error");
                return (
                    Status::Unknown,
                    format!(
                        "cannot evaluate rule {name}: {}",
                        errors::explain(&err, input.reads, input.projected)
                    ),
                );
            }
        }
    }
    (otherwise.status, otherwise.message.clone())
}

/// CEL's standard environment, built once: `Context::default()` builds it anew (every standard
/// function and macro registered again) for each context, which cost more than evaluating the
/// rules themselves, once per resource per check. Its `matches` is lzaudit's: the same as the
/// standard one, with compiled patterns cached (see `matches`).
pub(crate) fn standard_env() -> std::sync::Arc<cel::Env> {
    static ENV: std::sync::OnceLock<std::sync::Arc<cel::Env>> = std::sync::OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = cel::Env::stdlib();
        cel::add_overload!(env, fn matches: (CelString, CelString) -> Result<CelBool>, id = "matches")
            .expect("lzaudit's matches is the only one registered");
        cel::add_member_overload!(env, fn matches: (CelString, CelString) -> Result<CelBool>)
            .expect("lzaudit's matches is the only one registered");
        std::sync::Arc::new(env)
    })
    .clone()
}

use cel::common::types::{CelBool, CelString};

/// `string.matches(pattern)` (RE2 syntax, as CEL specifies, through the `regex` crate). The
/// crate's own version compiles the pattern on every call — per pool, per taint, per
/// resource — which dominated evaluation at tenant scale; the compiled patterns are kept here.
/// Patterns come from check files, so there are few of them; the cache is bounded anyway.
fn matches(this: &CelString<'_>, pattern: &CelString<'_>) -> Result<CelBool, cel::ExecutionError> {
    use std::collections::HashMap;
    use std::sync::Mutex;
    const MAX_PATTERNS: usize = 1024;
    static CACHE: std::sync::OnceLock<Mutex<HashMap<String, regex::Regex>>> =
        std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if !cache.contains_key(pattern.inner()) {
        let compiled = regex::Regex::new(pattern.inner()).map_err(|err| {
            cel::ExecutionError::FunctionError {
                function: "matches".to_string(),
                message: format!("'{}' not a valid regex:\n{err}", pattern.inner()),
            }
        })?;
        if cache.len() >= MAX_PATTERNS {
            cache.clear();
        }
        cache.insert(pattern.inner().to_string(), compiled);
    }
    let compiled = &cache[pattern.inner()];
    Ok(CelBool::from(compiled.is_match(this.inner())))
}

/// Builds the `resource` value CEL sees, and the evidence of every read.
pub fn project(resource: &Json, reads: &[ReadSpec]) -> (Value, Vec<Evidence>) {
    let (projected, evidence, _) = project_checked(resource, reads);
    (projected, evidence)
}

/// How a boolean read's values were read.
#[derive(Default)]
struct Booleans {
    /// Some were the strings `"true"`/`"false"`, read as booleans.
    from_strings: bool,
    /// Values that are neither booleans nor those strings.
    untyped: Vec<Value>,
}

/// [`project`], plus the boolean reads (path, values) holding something that is not a boolean.
fn project_checked(
    resource: &Json,
    reads: &[ReadSpec],
) -> (Value, Vec<Evidence>, Vec<(String, Value)>) {
    let mut out = Map::new();
    for key in ["id", "name", "type", "location"] {
        if let Some(v) = arm::key(resource, key) {
            out.insert(key.to_string(), v.to_serde());
        }
    }
    let mut out = Value::Object(out);
    let mut evidence = Vec::new();
    let mut untyped = Vec::new();
    for read in reads {
        let default = read.default.as_ref().map(toml_to_json);
        let segments: Vec<&str> = read.path.split('.').collect();
        let mut used_default = false;
        let mut booleans = read.is_bool().then(Booleans::default);
        let projected = project_path(
            Some(resource),
            &segments,
            default.as_ref(),
            &mut used_default,
            booleans.as_mut(),
        );
        let observed = leaf_values(Some(resource), &segments);
        let mut item = Evidence::new(read.path.clone(), observed.clone(), read.expected.clone());
        let mut notes = Vec::new();
        if used_default {
            let default = default.as_ref().map(Value::to_string).unwrap_or_default();
            notes.push(match &read.default_reason {
                Some(reason) => format!("absent in the ARM payload; {default} applies: {reason}"),
                None => format!("absent in the ARM payload; ARM's default {default} applies"),
            });
        } else if observed.is_null() {
            notes.push("absent in the ARM payload".to_string());
        }
        if let Some(booleans) = booleans {
            if booleans.from_strings {
                notes.push("a boolean sent as a string; read as that boolean".to_string());
            }
            if !booleans.untyped.is_empty() {
                notes.push("not a boolean".to_string());
                let value = match booleans.untyped.as_slice() {
                    [one] => one.clone(),
                    many => Value::Array(many.to_vec()),
                };
                untyped.push((read.path.clone(), value));
            }
        }
        if !notes.is_empty() {
            item = item.note(notes.join("; "));
        }
        evidence.push(item);
        if let Some(projected) = projected {
            merge(&mut out, projected);
        }
    }
    (out, evidence, untyped)
}

/// A value of a boolean read: a boolean as it is, the strings `"true"`/`"false"` (any casing)
/// as booleans; anything else is kept, and recorded.
fn as_boolean(value: &Json, booleans: &mut Booleans) -> Value {
    match value {
        Json::Bool(b) => Value::Bool(*b),
        Json::String(s) if s.trim().eq_ignore_ascii_case("true") => {
            booleans.from_strings = true;
            Value::Bool(true)
        }
        Json::String(s) if s.trim().eq_ignore_ascii_case("false") => {
            booleans.from_strings = true;
            Value::Bool(false)
        }
        other => {
            let other = other.to_serde();
            booleans.untyped.push(other.clone());
            other
        }
    }
}

/// The subtree of `source` along `segments`, keyed by the check's spelling, defaults applied,
/// and leaves read as booleans when `booleans` is given.
fn project_path(
    source: Option<&Json>,
    segments: &[&str],
    default: Option<&Value>,
    used_default: &mut bool,
    mut booleans: Option<&mut Booleans>,
) -> Option<Value> {
    let Some((first, rest)) = segments.split_first() else {
        return match source {
            Some(v) if !v.is_null() => Some(match booleans {
                Some(booleans) => as_boolean(v, booleans),
                None => v.to_serde(),
            }),
            _ => default.map(|d| {
                *used_default = true;
                d.clone()
            }),
        };
    };
    let (name, is_array) = match first.strip_suffix("[]") {
        Some(name) => (name, true),
        None => (*first, false),
    };
    let child = source
        .and_then(|s| arm::key(s, name))
        .filter(|v| !v.is_null());
    let value = if is_array {
        let items = child?.as_array()?;
        Value::Array(
            items
                .iter()
                .map(|item| {
                    project_path(
                        Some(item),
                        rest,
                        default,
                        used_default,
                        booleans.as_deref_mut(),
                    )
                    .unwrap_or(Value::Object(Map::new()))
                })
                .collect(),
        )
    } else {
        project_path(child, rest, default, used_default, booleans)?
    };
    let mut map = Map::new();
    map.insert(name.to_string(), value);
    Some(Value::Object(map))
}

/// The raw values at a path (arrays mapped), `null` where absent: what evidence reports as seen.
fn leaf_values(source: Option<&Json>, segments: &[&str]) -> Value {
    let Some(source) = source.filter(|v| !v.is_null()) else {
        return Value::Null;
    };
    let Some((first, rest)) = segments.split_first() else {
        return source.to_serde();
    };
    match first.strip_suffix("[]") {
        Some(name) => match arm::key(source, name).and_then(Json::as_array) {
            Some(items) => Value::Array(items.iter().map(|i| leaf_values(Some(i), rest)).collect()),
            None => Value::Null,
        },
        None => leaf_values(arm::key(source, first), rest),
    }
}

/// Deep-merges `from` into `into`: objects by key, arrays element by element.
fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, v) in b.into_iter().enumerate() {
                match a.get_mut(i) {
                    Some(existing) => merge(existing, v),
                    None => a.push(v),
                }
            }
        }
        (slot, v) => *slot = v,
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

    #[test]
    fn projection_applies_defaults_case_insensitively_and_maps_arrays() {
        let cluster = json!({"id": "/subscriptions/s/x", "name": "c", "properties": {
            "addonProfiles": {"azurePolicy": {"enabled": true}},
            "agentPoolProfiles": [{"name": "sys", "enableNodePublicIP": true}, {"name": "user"}]}});
        let reads = vec![
            read(
                "properties.addonProfiles.azurepolicy.enabled",
                Some(toml::Value::Boolean(false)),
            ),
            read(
                "properties.disableLocalAccounts",
                Some(toml::Value::Boolean(false)),
            ),
            read(
                "properties.agentPoolProfiles[].enableNodePublicIP",
                Some(toml::Value::Boolean(false)),
            ),
            read("properties.agentPoolProfiles[].name", None),
            read("properties.aadProfile.managed", None),
        ];
        let (projected, evidence) = project(&Json::from(cluster.clone()), &reads);
        assert_eq!(
            projected["properties"]["addonProfiles"]["azurepolicy"]["enabled"],
            json!(true)
        );
        assert_eq!(
            projected["properties"]["disableLocalAccounts"],
            json!(false)
        );
        assert_eq!(
            projected["properties"]["agentPoolProfiles"],
            json!([{"enableNodePublicIP": true, "name": "sys"}, {"enableNodePublicIP": false, "name": "user"}])
        );
        assert!(projected["properties"].get("aadProfile").is_none());
        assert_eq!(*evidence[1].observed, Value::Null);
        assert!(
            evidence[1]
                .note
                .as_deref()
                .unwrap()
                .contains("default false")
        );
        assert_eq!(*evidence[2].observed, json!([true, null]));
        assert_eq!(
            evidence[4].note.as_deref(),
            Some("absent in the ARM payload")
        );
    }

    #[test]
    fn boolean_reads_take_string_booleans_and_flag_other_values() {
        let cluster = json!({"properties": {
            "enableRBAC": "False",
            "podIdentityProfile": {"enabled": "yes"},
            "agentPoolProfiles": [{"enableNodePublicIP": "True"}, {"enableNodePublicIP": null},
                                  {"enableNodePublicIP": false}],
            "addonProfiles": {"x": {"config": {"rotation": "true"}}}}});
        let mut rbac = read("properties.enableRBAC", None);
        rbac.kind = Some(crate::catalogue::spec::ReadKind::Bool);
        let reads = vec![
            rbac,
            read(
                "properties.agentPoolProfiles[].enableNodePublicIP",
                Some(toml::Value::Boolean(false)),
            ),
            read(
                "properties.podIdentityProfile.enabled",
                Some(toml::Value::Boolean(false)),
            ),
            // Not declared boolean: a string stays a string.
            read("properties.addonProfiles.x.config.rotation", None),
        ];
        let (projected, evidence, untyped) = project_checked(&Json::from(cluster.clone()), &reads);
        assert_eq!(projected["properties"]["enableRBAC"], json!(false));
        assert_eq!(
            projected["properties"]["agentPoolProfiles"],
            json!([{"enableNodePublicIP": true}, {"enableNodePublicIP": false},
                   {"enableNodePublicIP": false}])
        );
        assert_eq!(
            projected["properties"]["addonProfiles"]["x"]["config"]["rotation"],
            json!("true")
        );
        assert_eq!(*evidence[0].observed, json!("False"));
        assert!(
            evidence[0]
                .note
                .as_deref()
                .unwrap()
                .contains("sent as a string"),
            "{:?}",
            evidence[0].note
        );
        assert_eq!(
            untyped,
            vec![(
                "properties.podIdentityProfile.enabled".to_string(),
                json!("yes")
            )]
        );
        let (status, message) = not_boolean(&untyped);
        assert_eq!(status, Status::Unknown);
        assert!(
            message
                .starts_with("`properties.podIdentityProfile.enabled` is \"yes\", not a boolean"),
            "{message}"
        );
    }

    fn rule(source: &str, status: Status) -> CelRule {
        CelRule {
            when: Some(std::sync::Arc::new(compile(source).unwrap())),
            source: source.into(),
            status,
            message: status.to_string(),
        }
    }

    fn decide_on(rules: &[CelRule], resource: Value, budget: &mut Budget) -> (Status, String) {
        let otherwise = CelRule {
            when: None,
            source: String::new(),
            status: Status::Pass,
            message: "ok".into(),
        };
        let params = json!({});
        let params_bound = Bound::of_json(&params);
        let reads = [read("properties.aadProfile.managed", None)];
        let input = Input {
            projected: &resource,
            value: cel::to_value(&resource).unwrap(),
            params: cel::to_value(&params).unwrap(),
            params_bound: &params_bound,
            reads: &reads,
        };
        decide("CUS-001", rules, &otherwise, input, budget)
    }

    fn budget() -> Budget {
        Budget::new(limits::FINDING_BUDGET, limits::RUN_BUDGET)
    }

    #[test]
    fn missing_property_without_default_is_unknown_not_pass() {
        let rules = [rule(
            "resource.properties.aadProfile.managed != true",
            Status::Fail,
        )];
        let (status, message) = decide_on(&rules, json!({"properties": {}}), &mut budget());
        assert_eq!(status, Status::Unknown, "{message}");
        assert_eq!(
            message,
            "cannot evaluate rule `resource.properties.aadProfile.managed != true`: the property \
             `properties.aadProfile.managed` is absent from the ARM payload and the check \
             declares no default for it"
        );
    }

    #[test]
    fn nested_comprehensions_over_large_lists_end_unknown_without_running() {
        let list: Vec<i64> = (0..50_000).collect();
        for source in [
            "resource.l.all(a, resource.l.all(b, resource.l.exists(c, a + b == c)))",
            "resource.l.map(a, resource.l.map(b, a + b)).all(x, x.exists(y, y == 7))",
            "resource.l.exists(a, resource.l.filter(b, b > a).exists(c, c == a))",
        ] {
            let started = std::time::Instant::now();
            let (status, message) = decide_on(
                &[rule(source, Status::Fail)],
                json!({"l": list}),
                &mut budget(),
            );
            assert_eq!(status, Status::Unknown, "{source}: {message}");
            assert!(
                message.starts_with(&format!("rule `{}", &source[..40]))
                    && message.contains("exceeded the evaluation budget"),
                "{message}"
            );
            assert!(
                started.elapsed().as_secs() < 2,
                "{source}: {:?}",
                started.elapsed()
            );
        }
    }

    #[test]
    fn a_rule_whose_values_would_not_fit_in_memory_is_not_run() {
        // 25 million values kept by nested maps: within the step budget, not the memory one.
        let list: Vec<i64> = (0..5000).collect();
        let source = "resource.l.map(a, resource.l.map(b, b)).size() > 0";
        let (status, message) = decide_on(
            &[rule(source, Status::Fail)],
            json!({"l": list}),
            &mut budget(),
        );
        assert_eq!(status, Status::Unknown, "{message}");
        assert!(
            message.contains("exceeded the evaluation budget")
                && message.contains("units of memory"),
            "{message}"
        );
    }

    #[test]
    fn the_same_rules_run_when_the_lists_are_small() {
        let source = "resource.l.all(a, resource.l.all(b, resource.l.exists(c, a + b >= c)))";
        let (status, message) = decide_on(
            &[rule(source, Status::Fail)],
            json!({"l": [1, 2, 3]}),
            &mut budget(),
        );
        assert_eq!(status, Status::Fail, "{message}");
    }

    #[test]
    fn once_the_run_budget_is_spent_the_remaining_resources_are_not_evaluated() {
        let rules = [rule("resource.l.exists(x, x == 3)", Status::Fail)];
        let one = cost::cost(
            rules[0].when.as_ref().unwrap(),
            &Bound::of_json(&json!({"l": [1, 2, 3]})),
            &Bound::of_json(&json!({})),
        )
        .steps;
        let mut budget = Budget::new(limits::FINDING_BUDGET, one * 2);
        for _ in 0..2 {
            let (status, message) = decide_on(&rules, json!({"l": [1, 2, 3]}), &mut budget);
            assert_eq!(status, Status::Fail, "{message}");
        }
        // The third would fail evaluation (no `l`); it is not evaluated at all.
        let (status, message) = decide_on(&rules, json!({}), &mut budget);
        assert_eq!(status, Status::Unknown);
        assert!(
            message.contains("used up its evaluation budget"),
            "{message}"
        );
        let (_, message) = decide_on(&rules, json!({"l": []}), &mut budget);
        assert!(
            message.contains("used up its evaluation budget"),
            "{message}"
        );
    }

    #[test]
    fn a_non_boolean_result_is_named_by_its_type() {
        let (status, message) = decide_on(
            &[rule("resource.s + 'x'", Status::Fail)],
            json!({"s": "a"}),
            &mut budget(),
        );
        assert_eq!(status, Status::Unknown);
        assert_eq!(
            message,
            "cannot evaluate rule `resource.s + 'x'`: it yields a string, not true or false"
        );
    }
}
