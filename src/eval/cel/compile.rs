//! Turning a rule's source into an expression tree that is safe to evaluate.
//!
//! The `cel` parser and evaluator recurse over the expression, so a rule that is long or deep
//! enough overflows the stack, and a stack overflow aborts the whole process. The checks here
//! run in an order that never lets that happen: the size and the bracket nesting are measured
//! by a flat scan of the source before the parser sees it; the parser runs on a thread with a
//! stack large enough for anything the scan lets through; and the depth of the parsed tree is
//! bounded (on that same thread, where a rejected tree is also dropped) before the evaluator
//! ever sees it. Calls are checked against the functions the cost model knows, and literal
//! regular expressions are compiled once, so that a typo or an oversized pattern is a load
//! error rather than a runtime one.

use std::collections::BTreeMap;
use std::fmt;

use cel::IdedExpr;
use cel::common::ast::{EntryExpr, Expr, LiteralValue, operators};

use super::limits::{MAX_AST_DEPTH, MAX_EXPR_BYTES, MAX_NESTING, MAX_REGEX_BYTES};
use super::on_big_stack;

/// A rule, parsed and checked.
#[derive(Debug)]
pub struct Compiled {
    pub expr: IdedExpr,
    /// Upper bound of the compiled size of each literal pattern given to `matches`, in bytes.
    pub regex_bytes: BTreeMap<String, u64>,
}

impl Compiled {
    /// Depth of the parsed tree.
    pub fn depth(&self) -> usize {
        depth(&self.expr)
    }
}

/// Why a rule was rejected. Every variant names the limit or the construct, so the message
/// tells the author what to change.
#[derive(Debug)]
pub enum CompileError {
    TooLong {
        bytes: usize,
    },
    TooDeep {
        at: usize,
    },
    Unterminated {
        at: usize,
    },
    Syntax(String),
    TreeTooDeep {
        depth: usize,
    },
    UnknownFunction {
        name: String,
        args: usize,
        member: bool,
    },
    InvalidRegex {
        pattern: String,
        error: String,
    },
    Engine(String),
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompileError::TooLong { bytes } => write!(
                f,
                "the expression is {bytes} bytes long, over the limit of {MAX_EXPR_BYTES} bytes"
            ),
            CompileError::TooDeep { at } => write!(
                f,
                "the expression nests brackets or `?` conditionals more than {MAX_NESTING} deep \
                 (at character {})",
                at + 1
            ),
            CompileError::Unterminated { at } => write!(
                f,
                "the string literal starting at character {} is not closed",
                at + 1
            ),
            CompileError::Syntax(message) => write!(f, "invalid CEL expression: {message}"),
            CompileError::TreeTooDeep { depth } => write!(
                f,
                "the expression parses to a tree {depth} levels deep, over the limit of \
                 {MAX_AST_DEPTH} (each operator of a chain such as `a + b + c` is one level)"
            ),
            CompileError::UnknownFunction { name, args, member } => write!(
                f,
                "`{}{name}` with {args} argument(s) is not a function check rules can call \
                 (they can call size, matches, contains, startsWith, endsWith, string, int, \
                 uint, double, bool, bytes, dyn, type and the optional functions, and use the \
                 macros has, all, exists, exists_one, map and filter)",
                if *member { "." } else { "" }
            ),
            CompileError::InvalidRegex { pattern, error } => {
                write!(f, "invalid regular expression '{pattern}': {error}")
            }
            CompileError::Engine(message) => f.write_str(message),
        }
    }
}

/// Parses and checks one rule.
pub fn compile(source: &str) -> Result<Compiled, CompileError> {
    if source.len() > MAX_EXPR_BYTES {
        return Err(CompileError::TooLong {
            bytes: source.len(),
        });
    }
    nesting(source)?;
    let source = source.to_string();
    on_big_stack(move || parse_and_check(&source))
        .map_err(|e| CompileError::Engine(format!("the CEL parser could not run: {e}")))?
}

fn parse_and_check(source: &str) -> Result<Compiled, CompileError> {
    let expr = cel::parser::Parser::new()
        .parse(source)
        .map_err(|e| CompileError::Syntax(e.to_string()))?;
    let depth = depth(&expr);
    if depth > MAX_AST_DEPTH {
        // Dropped here, on the large stack: dropping a deep tree recurses too.
        drop(expr);
        return Err(CompileError::TreeTooDeep { depth });
    }
    let mut regex_bytes = BTreeMap::new();
    check_calls(&expr, &mut regex_bytes)?;
    Ok(Compiled { expr, regex_bytes })
}

/// The deepest nesting of a rule's source, measured without parsing it; an error past
/// [`MAX_NESTING`].
///
/// String literals and comments are skipped the way the CEL lexer reads them, so brackets in
/// a regular expression do not count; a literal that does not close is an error of its own,
/// since the rest of the source cannot be measured reliably. A `?` opens a level that lasts to
/// the end of its enclosing bracket or argument, as the else-branch of a conditional does.
pub fn nesting(source: &str) -> Result<usize, CompileError> {
    #[derive(PartialEq)]
    enum Open {
        Bracket,
        Conditional,
    }
    let bytes = source.as_bytes();
    let mut open: Vec<Open> = Vec::new();
    let mut deepest = 0;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'\'' | b'"' => {
                i = skip_string(bytes, i, false)?;
                continue;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                let word = &bytes[start..i];
                let is_prefix = word.len() <= 2
                    && word.iter().all(|b| matches!(b, b'r' | b'R' | b'b' | b'B'))
                    && word.iter().filter(|b| matches!(b, b'r' | b'R')).count() <= 1
                    && word.iter().filter(|b| matches!(b, b'b' | b'B')).count() <= 1;
                if is_prefix && matches!(bytes.get(i), Some(b'\'' | b'"')) {
                    let raw = word.iter().any(|b| matches!(b, b'r' | b'R'));
                    i = skip_string(bytes, i, raw)?;
                }
                continue;
            }
            b'(' | b'[' | b'{' | b'?' => {
                open.push(if c == b'?' {
                    Open::Conditional
                } else {
                    Open::Bracket
                });
                if open.len() > MAX_NESTING {
                    return Err(CompileError::TooDeep { at: i });
                }
                deepest = deepest.max(open.len());
            }
            b')' | b']' | b'}' => while open.pop().is_some_and(|o| o == Open::Conditional) {},
            b',' => {
                while open.last() == Some(&Open::Conditional) {
                    open.pop();
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(deepest)
}

/// The index just past the string literal whose opening quote is at `start`.
fn skip_string(bytes: &[u8], start: usize, raw: bool) -> Result<usize, CompileError> {
    let quote = bytes[start];
    let triple = bytes.get(start + 1) == Some(&quote) && bytes.get(start + 2) == Some(&quote);
    let mut i = start + if triple { 3 } else { 1 };
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\\' && !raw {
            i += 2;
            continue;
        }
        if triple {
            if c == quote && bytes.get(i + 1) == Some(&quote) && bytes.get(i + 2) == Some(&quote) {
                return Ok(i + 3);
            }
        } else if c == quote {
            return Ok(i + 1);
        } else if c == b'\n' || c == b'\r' {
            break;
        }
        i += 1;
    }
    Err(CompileError::Unterminated { at: start })
}

/// The children of a node, in evaluation-independent order.
pub fn children(expr: &IdedExpr) -> Vec<&IdedExpr> {
    match &expr.expr {
        Expr::Call(call) => call.target.iter().map(|t| &**t).chain(&call.args).collect(),
        Expr::Comprehension(c) => vec![
            &c.iter_range,
            &c.accu_init,
            &c.loop_cond,
            &c.loop_step,
            &c.result,
        ],
        Expr::List(list) => list.elements.iter().collect(),
        Expr::Map(map) => map.entries.iter().flat_map(entry_children).collect(),
        Expr::Struct(s) => s.entries.iter().flat_map(entry_children).collect(),
        Expr::Select(select) => vec![&select.operand],
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => Vec::new(),
    }
}

fn entry_children(entry: &cel::common::ast::IdedEntryExpr) -> Vec<&IdedExpr> {
    match &entry.expr {
        EntryExpr::MapEntry(e) => vec![&e.key, &e.value],
        EntryExpr::StructField(f) => vec![&f.value],
    }
}

/// Depth of the tree, counted without recursion (the tree may be far deeper than the limit).
pub fn depth(expr: &IdedExpr) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(expr, 1)];
    while let Some((node, level)) = stack.pop() {
        deepest = deepest.max(level);
        stack.extend(children(node).into_iter().map(|c| (c, level + 1)));
    }
    deepest
}

/// The functions of the standard environment the cost model knows, by name and argument
/// count: global calls first, then member calls (`x.f(…)`, counting the arguments only).
const GLOBAL_FUNCTIONS: &[(&str, usize)] = &[
    ("size", 1),
    ("matches", 2),
    ("string", 1),
    ("int", 1),
    ("uint", 1),
    ("double", 1),
    ("bool", 1),
    ("bytes", 1),
    ("dyn", 1),
    ("type", 1),
    ("optional.none", 0),
    ("optional.of", 1),
    ("optional.ofNonZeroValue", 1),
];
const MEMBER_FUNCTIONS: &[(&str, usize)] = &[
    ("size", 0),
    ("contains", 1),
    ("startsWith", 1),
    ("endsWith", 1),
    ("matches", 1),
    ("value", 0),
    ("hasValue", 0),
    ("or", 1),
    ("orValue", 1),
];
const OPERATORS: &[&str] = &[
    operators::CONDITIONAL,
    operators::LOGICAL_AND,
    operators::LOGICAL_OR,
    operators::LOGICAL_NOT,
    operators::SUBSTRACT,
    operators::ADD,
    operators::MULTIPLY,
    operators::DIVIDE,
    operators::MODULO,
    operators::EQUALS,
    operators::NOT_EQUALS,
    operators::GREATER_EQUALS,
    operators::LESS_EQUALS,
    operators::GREATER,
    operators::LESS,
    operators::NEGATE,
    operators::INDEX,
    operators::OPT_INDEX,
    operators::OPT_SELECT,
    operators::NOT_STRICTLY_FALSE,
    operators::IN,
];

/// The name a call resolves to: `optional.of(x)` parses as a member call on `optional`, and
/// the runtime treats it as the global function `optional.of`.
pub fn call_name(call: &cel::common::ast::CallExpr) -> (String, bool) {
    if let Some(target) = &call.target
        && let Expr::Ident(ns) = &target.expr
        && ns == "optional"
    {
        let qualified = format!("optional.{}", call.func_name);
        if GLOBAL_FUNCTIONS.iter().any(|(n, _)| *n == qualified) {
            return (qualified, false);
        }
    }
    (call.func_name.clone(), call.target.is_some())
}

/// The pattern of a `matches` call, when it is a string literal.
pub fn literal_pattern(call: &cel::common::ast::CallExpr) -> Option<&str> {
    let pattern = if call.target.is_some() {
        call.args.first()
    } else {
        call.args.get(1)
    }?;
    match &pattern.expr {
        Expr::Literal(LiteralValue::String(s)) => Some(s.inner()),
        _ => None,
    }
}

fn check_calls(
    expr: &IdedExpr,
    regex_bytes: &mut BTreeMap<String, u64>,
) -> Result<(), CompileError> {
    let mut stack = vec![expr];
    while let Some(node) = stack.pop() {
        if let Expr::Call(call) = &node.expr {
            let (name, member) = call_name(call);
            let args = call.args.len();
            let known = if member {
                MEMBER_FUNCTIONS.contains(&(name.as_str(), args))
            } else {
                OPERATORS.contains(&name.as_str()) || GLOBAL_FUNCTIONS.contains(&(&*name, args))
            };
            if !known {
                return Err(CompileError::UnknownFunction { name, args, member });
            }
            if name == "matches"
                && let Some(pattern) = literal_pattern(call)
                && !regex_bytes.contains_key(pattern)
            {
                regex_bytes.insert(pattern.to_string(), regex_size(pattern)?);
            }
        }
        stack.extend(children(node));
    }
    Ok(())
}

/// An upper bound of the compiled size of `pattern`: the smallest power of two, from 1 KiB,
/// that the `regex` crate accepts as its size limit. The crate exposes no size, only a limit.
fn regex_size(pattern: &str) -> Result<u64, CompileError> {
    let mut limit = 1 << 10;
    loop {
        match regex::RegexBuilder::new(pattern).size_limit(limit).build() {
            Ok(_) => return Ok(limit as u64),
            Err(regex::Error::CompiledTooBig(_)) if limit < MAX_REGEX_BYTES => limit *= 2,
            Err(regex::Error::CompiledTooBig(_)) => {
                return Err(CompileError::InvalidRegex {
                    pattern: pattern.to_string(),
                    error: format!(
                        "it compiles to more than {MAX_REGEX_BYTES} bytes, the limit for a \
                         pattern in a rule"
                    ),
                });
            }
            Err(err) => {
                return Err(CompileError::InvalidRegex {
                    pattern: pattern.to_string(),
                    error: err.to_string(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nesting_error(source: &str) -> Option<usize> {
        match nesting(source) {
            Err(CompileError::TooDeep { at }) => Some(at),
            _ => None,
        }
    }

    #[test]
    fn scan_counts_brackets_and_conditionals_but_not_strings_or_comments() {
        let deep = |n: usize| format!("{}1{}", "(".repeat(n), ")".repeat(n));
        assert!(nesting(&deep(MAX_NESTING)).is_ok());
        assert_eq!(nesting_error(&deep(MAX_NESTING + 1)), Some(MAX_NESTING));
        let lists = format!(
            "{}1{}",
            "[".repeat(MAX_NESTING + 1),
            "]".repeat(MAX_NESTING + 1)
        );
        assert!(nesting_error(&lists).is_some());
        let conditionals = format!("{}a", "a ? a : ".repeat(MAX_NESTING + 1));
        assert!(nesting_error(&conditionals).is_some());
        // sibling conditionals end at their comma or bracket
        let siblings = format!("[{}]", vec!["a ? b : c"; MAX_NESTING * 2].join(", "));
        assert!(nesting(&siblings).is_ok());
        let in_strings = format!(
            "x.matches('{0}') || x == \"{0}\" || x == r'\\' || x == '''{0}\n''' // {0}\n",
            "(".repeat(MAX_NESTING + 1)
        );
        assert!(nesting(&in_strings).is_ok(), "{in_strings}");
        // an escaped quote does not end a string; a raw string has no escapes
        assert!(nesting(r#"'a\'(' == r'\' && b"x" == b'\''"#).is_ok());
    }

    #[test]
    fn an_unclosed_string_is_an_error_not_a_blind_spot() {
        let source = format!("'abc\n{}", "(".repeat(MAX_NESTING + 1));
        assert!(matches!(
            nesting(&source),
            Err(CompileError::Unterminated { at: 0 })
        ));
        assert!(matches!(
            nesting("1 + '''never closed"),
            Err(CompileError::Unterminated { at: 4 })
        ));
    }

    #[test]
    fn long_operator_chains_parse_safely_and_are_rejected_by_depth() {
        let mut chain = String::from("1");
        while chain.len() + 2 <= MAX_EXPR_BYTES {
            chain.push_str("+1");
        }
        let err = compile(&chain).unwrap_err();
        assert!(
            matches!(err, CompileError::TreeTooDeep { depth } if depth > MAX_AST_DEPTH),
            "{err}"
        );
        assert!(err.to_string().contains("limit of 64"), "{err}");
    }

    #[test]
    fn the_deepest_accepted_nesting_parses_within_the_stack() {
        // The bracket kinds whose parser frames are the largest, each at the nesting limit,
        // with a long operator chain at the bottom.
        let chain = vec!["a"; 600].join(" + ");
        for (open, close) in [("(", ")"), ("[", "]"), ("{1: ", "}"), ("size(", ")")] {
            let source = format!(
                "{}{chain}{}",
                open.repeat(MAX_NESTING),
                close.repeat(MAX_NESTING)
            );
            assert!(source.len() <= MAX_EXPR_BYTES);
            match compile(&source) {
                Ok(_) | Err(CompileError::TreeTooDeep { .. }) => {}
                Err(other) => panic!("{open}: {other}"),
            }
        }
        let nested = format!(
            "{}true{}",
            "[1].exists(x, ".repeat(MAX_NESTING - 1),
            ")".repeat(MAX_NESTING - 1)
        );
        assert!(compile(&nested).is_ok());
    }

    #[test]
    fn unknown_functions_and_bad_patterns_are_load_errors() {
        for (source, expected) in [
            ("lowerAscii(resource.name) == 'x'", "`lowerAscii` with 1"),
            ("resource.name.exists(x)", "`.exists` with 1"),
            (
                "resource.name.matches('(unclosed')",
                "invalid regular expression '(unclosed'",
            ),
            (
                "resource.name.matches('(a{1000}){1000}')",
                "compiles to more than",
            ),
        ] {
            let err = compile(source).unwrap_err().to_string();
            assert!(err.contains(expected), "{source}: {err}");
        }
        let ok = compile("optional.of(1).hasValue() && 'a'.matches('^a$') && matches('a', 'a')")
            .unwrap();
        assert_eq!(ok.regex_bytes.len(), 2);
    }

    #[test]
    fn every_listed_function_exists_in_the_standard_environment() {
        // A stale entry would let the cost model price a call the runtime rejects. The crate
        // refuses to add a function under a name its environment already declares, which is
        // the only way it tells whether a name is declared.
        for (name, _) in GLOBAL_FUNCTIONS.iter().chain(MEMBER_FUNCTIONS) {
            let mut context = cel::Context::default();
            assert!(
                context.add_function(name, || 1i64).is_err(),
                "`{name}` is not declared by the standard environment"
            );
        }
    }
}
