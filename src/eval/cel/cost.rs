//! A worst-case cost of evaluating a rule on one resource, computed before evaluating it.
//!
//! The `cel` crate has no step counter and no way to stop an evaluation from outside, so the
//! budget is enforced up front: this module walks the rule's tree once, with an upper bound of
//! every value in hand instead of the value, and returns an upper bound of the work the
//! evaluator can do. The bounds start from the actual input — the projected resource and the
//! parameters, summarised by shape (the longest list at each path, the heaviest value) — so a
//! rule costs what it could cost on *this* resource, and a cluster with 3 node pools is not
//! priced like one with 100.
//!
//! A bound has a weight (the deep size: one per value plus one per byte of a string), a
//! length (elements, entries or bytes at the top) and, where known, the bounds of its fields or
//! elements. The cost counts one unit per node evaluated plus the weight of every value an
//! operation copies, compares or scans; a comprehension costs its range's length times its
//! step; `matches` costs the compiled size of its pattern on every call, because the runtime
//! compiles it on every call. Every rule errs upwards: a bound is never below what it bounds,
//! so a rule under budget cannot run past it.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::Arc;

use cel::IdedExpr;
use cel::common::ast::{CallExpr, ComprehensionExpr, EntryExpr, Expr, LiteralValue, operators};
use serde_json::Value;

use super::compile::{Compiled, call_name, literal_pattern};
use super::limits::MAX_REGEX_BYTES;

/// An upper bound of every value an expression can produce.
#[derive(Clone, Debug, PartialEq)]
pub struct Bound {
    /// Deep size: one per value, plus one per byte of a string or bytes value.
    pub weight: u64,
    /// Top-level length: elements of a list, entries of a map, bytes of a string.
    pub len: u64,
    pub shape: Shape,
}

/// What is known of a value's parts.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// No part can be selected: a scalar or a string (or no value at all).
    Leaf,
    /// A map with these fields.
    Map(Arc<BTreeMap<String, Bound>>),
    /// A list whose every element is within this bound.
    List(Arc<Bound>),
    /// Unknown: every part is within the whole's weight.
    Any,
}

impl Bound {
    /// No value: what an expression that can only fail produces.
    const NONE: Bound = Bound {
        weight: 0,
        len: 0,
        shape: Shape::Leaf,
    };
    /// A number, boolean, null or type.
    const SCALAR: Bound = Bound {
        weight: 1,
        len: 0,
        shape: Shape::Leaf,
    };

    fn string(bytes: u64) -> Bound {
        Bound {
            weight: bytes.saturating_add(1),
            len: bytes,
            shape: Shape::Leaf,
        }
    }

    /// Anything no heavier than `weight`.
    fn any(weight: u64) -> Bound {
        Bound {
            weight,
            len: weight,
            shape: Shape::Any,
        }
    }

    /// The bound of a JSON value as the rule sees it.
    pub fn of_json(value: &Value) -> Bound {
        match value {
            Value::String(s) => Bound::string(s.len() as u64),
            Value::Array(items) => {
                let mut item = Bound::NONE;
                let mut weight = 1u64;
                for v in items {
                    let b = Bound::of_json(v);
                    weight = weight.saturating_add(b.weight);
                    item = item.join(&b);
                }
                Bound {
                    weight,
                    len: items.len() as u64,
                    shape: Shape::List(Arc::new(item)),
                }
            }
            Value::Object(map) => {
                let mut weight = 1u64;
                let mut fields = BTreeMap::new();
                for (k, v) in map {
                    let b = Bound::of_json(v);
                    weight = weight
                        .saturating_add(Bound::string(k.len() as u64).weight)
                        .saturating_add(b.weight);
                    fields.insert(k.clone(), b);
                }
                Bound {
                    weight,
                    len: map.len() as u64,
                    shape: Shape::Map(Arc::new(fields)),
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => Bound::SCALAR,
        }
    }

    /// The least bound above both.
    fn join(&self, other: &Bound) -> Bound {
        let shape = match (&self.shape, &other.shape) {
            (Shape::Leaf, s) | (s, Shape::Leaf) => s.clone(),
            (Shape::Map(a), Shape::Map(b)) => {
                let mut fields = (**a).clone();
                for (k, v) in b.iter() {
                    let joined = fields.get(k).map_or_else(|| v.clone(), |f| f.join(v));
                    fields.insert(k.clone(), joined);
                }
                Shape::Map(Arc::new(fields))
            }
            (Shape::List(a), Shape::List(b)) => Shape::List(Arc::new(a.join(b))),
            _ => Shape::Any,
        };
        Bound {
            weight: self.weight.max(other.weight),
            len: self.len.max(other.len),
            shape,
        }
    }

    /// Whether every value within `self` is within `other`.
    fn within(&self, other: &Bound) -> bool {
        self.weight <= other.weight
            && self.len <= other.len
            && match (&self.shape, &other.shape) {
                (Shape::Leaf, _) | (_, Shape::Any) => true,
                (Shape::List(a), Shape::List(b)) => a.within(b),
                (Shape::Map(a), Shape::Map(b)) => {
                    a.iter().all(|(k, v)| b.get(k).is_some_and(|w| v.within(w)))
                }
                _ => false,
            }
    }

    /// The field `name` of a map.
    fn field(&self, name: &str) -> Bound {
        match &self.shape {
            Shape::Map(fields) => fields.get(name).cloned().unwrap_or(Bound::NONE),
            Shape::Any => Bound::any(self.weight),
            Shape::Leaf | Shape::List(_) => Bound::NONE,
        }
    }

    /// Any element of a list, any value of a map.
    fn part(&self) -> Bound {
        match &self.shape {
            Shape::List(item) => (**item).clone(),
            Shape::Map(fields) => fields.values().fold(Bound::NONE, |a, b| a.join(b)),
            Shape::Any => Bound::any(self.weight),
            Shape::Leaf => Bound::NONE,
        }
    }

    /// What iterating yields: the elements of a list, the keys of a map.
    fn iterated(&self) -> Bound {
        match &self.shape {
            Shape::Map(fields) => fields
                .keys()
                .fold(Bound::NONE, |a, k| a.join(&Bound::string(k.len() as u64))),
            _ => self.part(),
        }
    }

    /// How many times iterating can run.
    fn iterations(&self) -> u64 {
        match self.shape {
            Shape::Leaf => 0,
            _ => self.len,
        }
    }
}

/// The worst case of evaluating one rule on one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cost {
    /// Work, in units of about one value or byte touched.
    pub steps: u64,
    /// Values alive at once, in units of one value or one byte of a string.
    pub memory: u64,
}

/// The worst-case cost of evaluating `rule` with these bounds of `resource` and `params`.
///
/// Memory is bounded by the sum, over the tree's nodes, of the bound of each node's value
/// (and of each loop's current element): evaluation holds at most one value per node at a
/// time, since a loop drops a step's values before the next, and a loop's accumulator is
/// bounded by its final value.
pub fn cost(rule: &Compiled, resource: &Bound, params: &Bound) -> Cost {
    let mut scope = vec![
        ("resource".to_string(), resource.clone()),
        ("params".to_string(), params.clone()),
    ];
    let walker = Walker {
        rule,
        memory: Cell::new(0),
    };
    let steps = walker.walk(&rule.expr, &mut scope).1;
    Cost {
        steps,
        memory: walker.memory.get(),
    }
}

type Scope = Vec<(String, Bound)>;

struct Walker<'a> {
    rule: &'a Compiled,
    memory: Cell<u64>,
}

fn add(a: u64, b: u64) -> u64 {
    a.saturating_add(b)
}

impl Walker<'_> {
    /// The bound of `expr`'s value and the cost of evaluating it.
    fn walk(&self, expr: &IdedExpr, scope: &mut Scope) -> (Bound, u64) {
        let (bound, steps) = self.node(expr, scope);
        self.hold(bound.weight);
        (bound, steps)
    }

    fn hold(&self, weight: u64) {
        self.memory.set(add(self.memory.get(), weight));
    }

    fn node(&self, expr: &IdedExpr, scope: &mut Scope) -> (Bound, u64) {
        match &expr.expr {
            Expr::Literal(LiteralValue::String(s)) => {
                let b = Bound::string(s.inner().len() as u64);
                let c = b.weight;
                (b, c)
            }
            Expr::Literal(LiteralValue::Bytes(b)) => {
                let b = Bound::string(b.inner().len() as u64);
                let c = b.weight;
                (b, c)
            }
            Expr::Literal(_) => (Bound::SCALAR, 1),
            Expr::Ident(name) => {
                let bound = scope
                    .iter()
                    .rev()
                    .find(|(n, _)| n == name)
                    .map_or(Bound::SCALAR, |(_, b)| b.clone());
                (bound, 1)
            }
            Expr::Select(select) => {
                let (operand, c) = self.walk(&select.operand, scope);
                let field = select.field.len() as u64;
                if select.test {
                    (Bound::SCALAR, add(c, add(1, field)))
                } else {
                    let value = operand.field(&select.field);
                    let c = add(c, add(1, add(field, value.weight)));
                    (value, c)
                }
            }
            Expr::Call(call) => self.call(call, scope),
            Expr::List(list) => {
                let mut item = Bound::NONE;
                let (mut weight, mut c) = (1u64, 1u64);
                for e in &list.elements {
                    let (b, ec) = self.walk(e, scope);
                    weight = add(weight, b.weight);
                    c = add(c, add(ec, b.weight));
                    item = item.join(&b);
                }
                let bound = Bound {
                    weight,
                    len: list.elements.len() as u64,
                    shape: Shape::List(Arc::new(item)),
                };
                (bound, c)
            }
            Expr::Map(map) => {
                let (mut weight, mut c) = (1u64, 1u64);
                let mut fields: Option<BTreeMap<String, Bound>> = Some(BTreeMap::new());
                for entry in &map.entries {
                    let (key, value) = match &entry.expr {
                        EntryExpr::MapEntry(e) => (Some(&e.key), &e.value),
                        EntryExpr::StructField(f) => (None, &f.value),
                    };
                    let (kb, kc) = key.map_or((Bound::NONE, 0), |k| self.walk(k, scope));
                    let (vb, vc) = self.walk(value, scope);
                    weight = add(weight, add(kb.weight, vb.weight));
                    c = add(c, add(add(kc, vc), add(kb.weight, vb.weight)));
                    match (key.map(|k| &k.expr), fields.as_mut()) {
                        (Some(Expr::Literal(LiteralValue::String(s))), Some(f)) => {
                            let joined = f.get(s.inner()).map_or(vb.clone(), |b| b.join(&vb));
                            f.insert(s.inner().to_string(), joined);
                        }
                        _ => fields = None,
                    }
                }
                let bound = Bound {
                    weight,
                    len: map.entries.len() as u64,
                    shape: fields.map_or(Shape::Any, |f| Shape::Map(Arc::new(f))),
                };
                (bound, c)
            }
            Expr::Struct(_) => {
                // No struct type is registered, so this fails; its fields are priced anyway.
                let mut c = 1u64;
                for child in super::compile::children(expr) {
                    let (b, cc) = self.walk(child, scope);
                    c = add(c, add(cc, b.weight));
                }
                (Bound::NONE, c)
            }
            Expr::Comprehension(c) => self.comprehension(c, scope),
            Expr::Unspecified => (Bound::NONE, 1),
        }
    }

    fn call(&self, call: &CallExpr, scope: &mut Scope) -> (Bound, u64) {
        let (name, member) = call_name(call);
        let target = match (&call.target, member) {
            (Some(t), true) => Some(self.walk(t, scope)),
            _ => None,
        };
        let args: Vec<(Bound, u64)> = call.args.iter().map(|a| self.walk(a, scope)).collect();
        let mut c = add(1, target.as_ref().map_or(0, |t| t.1));
        for (_, ac) in &args {
            c = add(c, *ac);
        }
        // The receiver of a member call comes first, as in the runtime's overloads.
        let operands: Vec<&Bound> = target.iter().chain(&args).map(|(b, _)| b).collect();
        let none = Bound::NONE;
        let operand = |i: usize| operands.get(i).copied().unwrap_or(&none);
        let w = |i: usize| operand(i).weight;
        let scanned = operands.iter().fold(0u64, |a, b| add(a, b.weight));
        let (bound, op) = match name.as_str() {
            operators::LOGICAL_AND
            | operators::LOGICAL_OR
            | operators::LOGICAL_NOT
            | operators::NEGATE
            | operators::NOT_STRICTLY_FALSE
            | operators::SUBSTRACT
            | operators::MULTIPLY
            | operators::DIVIDE
            | operators::MODULO
            | "type"
            | "hasValue"
            | "optional.none" => (Bound::SCALAR, 0),
            operators::CONDITIONAL => (operand(1).join(operand(2)), 0),
            operators::EQUALS
            | operators::NOT_EQUALS
            | operators::LESS
            | operators::LESS_EQUALS
            | operators::GREATER
            | operators::GREATER_EQUALS
            | "size"
            | "contains"
            | "startsWith"
            | "endsWith"
            | "int"
            | "uint"
            | "double"
            | "bool" => (Bound::SCALAR, scanned),
            operators::ADD => (concat(operand(0), operand(1)), scanned),
            operators::IN => (
                Bound::SCALAR,
                add(w(1), operand(1).len.saturating_mul(w(0))),
            ),
            operators::INDEX | operators::OPT_INDEX => {
                let part = match call.args.get(1).map(|a| &a.expr) {
                    Some(Expr::Literal(LiteralValue::String(key))) => operand(0).field(key.inner()),
                    _ => operand(0).part(),
                };
                let copied = add(w(1), part.weight);
                (wrap(part, name == operators::OPT_INDEX), copied)
            }
            operators::OPT_SELECT => {
                let part = match call.args.get(1).map(|a| &a.expr) {
                    Some(Expr::Literal(LiteralValue::String(key))) => operand(0).field(key.inner()),
                    _ => operand(0).part(),
                };
                let copied = part.weight;
                (wrap(part, true), copied)
            }
            "matches" => (
                Bound::SCALAR,
                add(scanned, self.regex_cost(call, &operands)),
            ),
            "string" | "bytes" => {
                // A number prints without an exponent: up to 326 characters for a double.
                const NUMBER_TEXT: u64 = 340;
                let b = operand(0);
                let converted = Bound {
                    weight: b.weight.max(NUMBER_TEXT + 1),
                    len: b.len.max(NUMBER_TEXT),
                    shape: Shape::Leaf,
                };
                (converted, scanned)
            }
            "dyn" | "value" => (operand(0).clone(), w(0)),
            "optional.of" | "optional.ofNonZeroValue" => (wrap(operand(0).clone(), true), w(0)),
            "or" | "orValue" => (operand(0).join(operand(1)), scanned),
            // Unreachable for a compiled rule (unknown calls are load errors); priced so
            // that it can never pass as cheap.
            _ => (Bound::any(u64::MAX), u64::MAX),
        };
        (bound, add(c, op))
    }

    /// Compiling the pattern (the runtime does it on every call) plus scanning the text.
    fn regex_cost(&self, call: &CallExpr, operands: &[&Bound]) -> u64 {
        let program = literal_pattern(call)
            .and_then(|p| self.rule.regex_bytes.get(p).copied())
            .unwrap_or(MAX_REGEX_BYTES as u64);
        let text = operands.first().map_or(0, |b| b.weight);
        add(program, text.saturating_mul(program / 64 + 1))
    }

    fn comprehension(&self, c: &ComprehensionExpr, scope: &mut Scope) -> (Bound, u64) {
        let (range, range_cost) = self.walk(&c.iter_range, scope);
        let (init, init_cost) = self.walk(&c.accu_init, scope);
        let n = range.iterations();
        let element = range.iterated();
        let depth = scope.len();
        match &c.iter_var2 {
            None => scope.push((c.iter_var.clone(), element.clone())),
            Some(second) => {
                // (index or key, element or value)
                scope.push((c.iter_var.clone(), Bound::SCALAR.join(&element)));
                scope.push((second.clone(), element.join(&range.part())));
            }
        }
        let per_element = element.weight;
        self.hold(per_element);
        let (accu, per_iteration, result_cost) = match append_items(c, &init) {
            Some((guard, items)) => {
                let guard_cost = guard.map_or(0, |g| self.walk(g, scope).1);
                let cond_cost = self.walk(&c.loop_cond, scope).1;
                let mut item = Bound::NONE;
                let (mut weight, mut item_cost) = (0u64, 0u64);
                for e in items {
                    let (b, ec) = self.walk(e, scope);
                    weight = add(weight, b.weight);
                    item_cost = add(item_cost, add(ec, b.weight));
                    item = item.join(&b);
                }
                let accu = Bound {
                    weight: add(1, n.saturating_mul(weight)),
                    len: n.saturating_mul(items.len() as u64),
                    shape: Shape::List(Arc::new(item)),
                };
                (accu, add(guard_cost, add(cond_cost, item_cost)), 1)
            }
            None => {
                scope.push((c.accu_var.clone(), init.clone()));
                let (step, _) = self.walk(&c.loop_step, scope);
                scope.pop();
                let accu = if step.within(&init) {
                    init.clone()
                } else {
                    self.grown_accumulator(c, &init, n, scope)
                };
                scope.push((c.accu_var.clone(), accu.clone()));
                let step_cost = self.walk(&c.loop_step, scope).1;
                let cond_cost = self.walk(&c.loop_cond, scope).1;
                let (_, result_cost) = self.walk(&c.result, scope);
                scope.pop();
                // The accumulator is moved into the scope on every iteration.
                (
                    accu.clone(),
                    add(add(step_cost, cond_cost), accu.weight),
                    result_cost,
                )
            }
        };
        scope.truncate(depth);
        let per_iteration = add(add(per_iteration, per_element), 1);
        let c = add(
            add(range_cost, init_cost),
            add(n.saturating_mul(per_iteration), add(result_cost, 1)),
        );
        (accu, c)
    }

    /// The accumulator after `n` steps when one step can grow it: each step adds at most
    /// `k` times the accumulator (its occurrences in the step) plus what the step adds on its
    /// own. Only reachable by comprehensions the standard macros do not build.
    fn grown_accumulator(
        &self,
        c: &ComprehensionExpr,
        init: &Bound,
        n: u64,
        scope: &mut Scope,
    ) -> Bound {
        let k = occurrences(&c.loop_step, &c.accu_var);
        scope.push((c.accu_var.clone(), Bound::NONE));
        let (own, _) = self.walk(&c.loop_step, scope);
        scope.pop();
        let mut weight = init.weight.max(init.len);
        for _ in 0..n {
            let next = add(weight.saturating_mul(k.max(1)), own.weight.max(own.len));
            if next == weight || next == u64::MAX {
                weight = next;
                break;
            }
            weight = next;
        }
        Bound::any(weight)
    }
}

/// `a + b`: numbers stay scalars; strings and lists concatenate.
fn concat(a: &Bound, b: &Bound) -> Bound {
    let scalar = |x: &Bound| x.len == 0 && x.shape == Shape::Leaf;
    if scalar(a) && scalar(b) {
        return Bound::SCALAR;
    }
    Bound {
        weight: add(a.weight, b.weight),
        len: add(a.len, b.len),
        shape: match (&a.shape, &b.shape) {
            (Shape::Leaf, Shape::Leaf) => Shape::Leaf,
            (Shape::List(x), Shape::List(y)) => Shape::List(Arc::new(x.join(y))),
            _ => Shape::Any,
        },
    }
}

/// An optional wrapping `b`, or `b` itself.
fn wrap(b: Bound, optional: bool) -> Bound {
    if optional {
        Bound {
            weight: add(b.weight, 1),
            ..b
        }
    } else {
        b
    }
}

/// The appended items (and guard) of a `map`/`filter` step the runtime runs in place: the
/// step is `@result + [items]`, possibly as `guard ? @result + [items] : @result`, starting
/// from an empty list with a literal loop condition. Mirrors the `cel` crate's `AppendStep`,
/// which appends without copying the accumulator; any other comprehension is priced as a
/// copy per step.
fn append_items<'e>(
    c: &'e ComprehensionExpr,
    init: &Bound,
) -> Option<(Option<&'e IdedExpr>, &'e [IdedExpr])> {
    let is_accu = |e: &IdedExpr| matches!(&e.expr, Expr::Ident(n) if *n == c.accu_var);
    let items_of = |e: &'e IdedExpr| match &e.expr {
        Expr::Call(call) if call.func_name == operators::ADD && call.target.is_none() => {
            match call.args.as_slice() {
                [lhs, rhs] if is_accu(lhs) => match &rhs.expr {
                    Expr::List(list) => Some(list.elements.as_slice()),
                    _ => None,
                },
                _ => None,
            }
        }
        _ => None,
    };
    let starts_empty =
        matches!(&c.accu_init.expr, Expr::List(l) if l.elements.is_empty()) && init.len == 0;
    if !starts_empty || !is_accu(&c.result) || !matches!(c.loop_cond.expr, Expr::Literal(_)) {
        return None;
    }
    match &c.loop_step.expr {
        Expr::Call(call) if call.func_name == operators::CONDITIONAL && call.target.is_none() => {
            match call.args.as_slice() {
                [guard, step, otherwise] if is_accu(otherwise) => {
                    Some((Some(guard), items_of(step)?))
                }
                _ => None,
            }
        }
        _ => Some((None, items_of(&c.loop_step)?)),
    }
}

fn occurrences(expr: &IdedExpr, name: &str) -> u64 {
    let own = u64::from(matches!(&expr.expr, Expr::Ident(n) if n == name));
    super::compile::children(expr)
        .into_iter()
        .fold(own, |a, c| add(a, occurrences(c, name)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::cel::compile::compile;
    use serde_json::json;

    fn cost_of(source: &str, resource: Value) -> u64 {
        full_cost(source, resource).steps
    }

    fn full_cost(source: &str, resource: Value) -> Cost {
        let rule = compile(source).unwrap();
        cost(
            &rule,
            &Bound::of_json(&resource),
            &Bound::of_json(&json!({})),
        )
    }

    fn pools(n: usize) -> Value {
        let pool = json!({"name": "np", "mode": "User", "nodeTaints": ["a=b:NoSchedule"]});
        json!({"properties": {"agentPoolProfiles": vec![pool; n]}})
    }

    #[test]
    fn cost_grows_with_the_input_and_the_nesting() {
        let flat = "resource.properties.agentPoolProfiles.exists(p, p.mode == 'User')";
        let nested = "resource.properties.agentPoolProfiles.exists(p, \
                      resource.properties.agentPoolProfiles.exists(q, q.mode == p.mode))";
        assert!(cost_of(flat, pools(10)) < cost_of(flat, pools(100)));
        let (f, n) = (cost_of(flat, pools(100)), cost_of(nested, pools(100)));
        assert!(n > 50 * f, "flat {f}, nested {n}");
    }

    #[test]
    fn the_cost_is_at_least_the_iterations_actually_run() {
        // Three nested loops over 50 elements run 125 000 steps.
        let source = "resource.l.all(a, resource.l.all(b, resource.l.all(c, a == c)))";
        let c = cost_of(source, json!({"l": (0..50).collect::<Vec<_>>()}));
        assert!(c >= 125_000, "{c}");
    }

    #[test]
    fn values_that_double_per_step_are_priced_exponentially() {
        // Each map doubles every element: 2^40 bytes by the end.
        let mut source = String::from("resource.l");
        for _ in 0..40 {
            source = format!("{source}.map(x, x + x)");
        }
        let c = cost_of(&format!("size({source}) > 0"), json!({"l": ["a"]}));
        assert!(c > 1 << 40, "{c}");
    }

    #[test]
    fn a_literal_pattern_costs_its_compiled_size_per_call() {
        let rule = "resource.properties.agentPoolProfiles.exists(p, p.mode.matches('(?i)^user$'))";
        let by_size = cost_of(rule, pools(100));
        let dynamic = cost_of(
            "resource.properties.agentPoolProfiles.exists(p, p.mode.matches(p.name))",
            pools(100),
        );
        assert!(by_size >= 100 * 1024, "{by_size}");
        assert!(dynamic >= 100 * MAX_REGEX_BYTES as u64, "{dynamic}");
    }

    #[test]
    fn memory_counts_what_is_built_not_how_often() {
        let list = json!({"l": (0..1000).collect::<Vec<_>>()});
        // A loop that builds and drops a small list per step holds one at a time...
        let small = full_cost("resource.l.all(x, [x, x].size() == 2)", list.clone());
        // ...while nested maps keep every inner list: a million values.
        let big = full_cost(
            "resource.l.map(a, resource.l.map(b, b)).size() > 0",
            list.clone(),
        );
        assert!(small.memory < 100_000, "{small:?}");
        assert!(big.memory >= 1_000_000, "{big:?}");
        assert!(small.steps > 1000, "{small:?}");
    }

    #[test]
    fn a_number_printed_as_text_is_bounded_by_its_longest_form() {
        let longest = [f64::MAX, -f64::MIN_POSITIVE, -5e-324]
            .iter()
            .map(|d| {
                let program = cel::Program::compile("string(d)").unwrap();
                let mut context = cel::Context::with_env(crate::eval::cel::standard_env());
                context.add_variable_from_value("d", *d);
                match program.execute(&context).unwrap() {
                    cel::Value::String(s) => s.len(),
                    other => panic!("{other:?}"),
                }
            })
            .max()
            .unwrap();
        let rule = compile("string(resource.d).size() > 0").unwrap();
        let mut scope = vec![("resource".to_string(), Bound::of_json(&json!({"d": 1.5})))];
        let walker = Walker {
            rule: &rule,
            memory: Cell::new(0),
        };
        let Expr::Call(gt) = &rule.expr.expr else {
            panic!()
        };
        let Expr::Call(size) = &gt.args[0].expr else {
            panic!()
        };
        let (bound, _) = walker.walk(size.target.as_deref().unwrap(), &mut scope);
        assert!(bound.len >= longest as u64, "{} < {longest}", bound.len);
    }
}
