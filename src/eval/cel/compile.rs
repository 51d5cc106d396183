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
/// The source is tokenized the way the CEL lexer (`CEL.g4` in the `cel` crate) does it, so
/// that brackets inside string literals and comments do not count and nothing the parser
/// reads as code is skipped: where the lexer fails to match a literal (an unclosed quote, an
/// invalid escape) it drops only the quote and lexes on, and so does this scan. A `?` opens a
/// level that lasts to the end of its enclosing bracket or argument, as the else-branch of a
/// conditional does.
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
        if c.is_ascii_digit() || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            i = skip_number(bytes, i);
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            // `r'…'`, `b'…'` and `br'…'` are literals when the quote follows at once.
            let raw = match &bytes[start..i] {
                [b'r' | b'R'] | [b'b' | b'B', b'r' | b'R'] => Some(true),
                [b'b' | b'B'] => Some(false),
                _ => None,
            };
            if let Some(raw) = raw
                && let Some(end) = skip_string(bytes, i, raw)
            {
                i = end;
            }
            continue;
        }
        match c {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'\'' | b'"' => {
                if let Some(end) = skip_string(bytes, i, false) {
                    i = end;
                    continue;
                }
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

/// The index just past the number literal starting at `start` (`NUM_INT`, `NUM_UINT`,
/// `NUM_FLOAT`), so that a letter after it starts a new token: `1e5r'…'` is a raw string.
fn skip_number(bytes: &[u8], start: usize) -> usize {
    let digits = |mut i: usize, hex: bool| {
        while bytes
            .get(i)
            .is_some_and(|b| b.is_ascii_digit() || (hex && b.is_ascii_hexdigit()))
        {
            i += 1;
        }
        i
    };
    let unsigned = |i: usize| i + usize::from(matches!(bytes.get(i), Some(b'u' | b'U')));
    if bytes[start..].starts_with(b"0x") && bytes.get(start + 2).is_some_and(u8::is_ascii_hexdigit)
    {
        return unsigned(digits(start + 2, true));
    }
    let mut i = digits(start, false);
    let mut float = false;
    if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i = digits(i + 1, false);
        float = true;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(bytes.get(i + 1), Some(b'+' | b'-')));
        if bytes.get(i + 1 + sign).is_some_and(u8::is_ascii_digit) {
            i = digits(i + 1 + sign, false);
            float = true;
        }
    }
    if float { i } else { unsigned(i) }
}

/// The index just past the string literal whose opening quote is at `start`, or `None` where
/// the lexer would not match one. A triple-quoted literal is tried first, as the longer match.
fn skip_string(bytes: &[u8], start: usize, raw: bool) -> Option<usize> {
    let quote = *bytes.get(start).filter(|q| matches!(q, b'\'' | b'"'))?;
    if bytes.get(start + 1) == Some(&quote)
        && bytes.get(start + 2) == Some(&quote)
        && let Some(end) = skip_triple(bytes, start, quote, raw)
    {
        return Some(end);
    }
    let mut i = start + 1;
    while let Some(&c) = bytes.get(i) {
        match c {
            c if c == quote => return Some(i + 1),
            b'\n' | b'\r' => return None,
            b'\\' if !raw => i += escape_len(&bytes[i..])?,
            _ => i += 1,
        }
    }
    None
}

fn skip_triple(bytes: &[u8], start: usize, quote: u8, raw: bool) -> Option<usize> {
    let mut i = start + 3;
    while i < bytes.len() {
        if bytes[i..].starts_with(&[quote; 3]) {
            return Some(i + 3);
        }
        i += if raw || bytes[i] != b'\\' {
            1
        } else {
            escape_len(&bytes[i..])?
        };
    }
    None
}

/// The length of the escape sequence at the start of `bytes` (a backslash), if valid.
fn escape_len(bytes: &[u8]) -> Option<usize> {
    let hex = |from: usize, n: usize| {
        bytes
            .get(from..from + n)
            .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    };
    let octal = bytes
        .get(2..4)
        .is_some_and(|o| o.iter().all(|d| (b'0'..=b'7').contains(d)));
    match *bytes.get(1)? {
        b'a' | b'b' | b'f' | b'n' | b'r' | b't' | b'v' | b'"' | b'\'' | b'\\' | b'?' | b'`' => {
            Some(2)
        }
        b'x' | b'X' if hex(2, 2) => Some(4),
        b'u' if hex(2, 4) => Some(6),
        b'U' if hex(2, 8) => Some(10),
        b'0'..=b'3' if octal => Some(4),
        _ => None,
    }
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
    fn literals_the_lexer_rejects_are_read_as_code_as_the_parser_will() {
        let brackets = "(".repeat(MAX_NESTING + 1);
        // unclosed on its line, an invalid escape, an unclosed triple quote
        for source in [
            format!("'abc\n{brackets}"),
            format!(r"'\z{brackets}'"),
            format!("1 + '''{brackets}"),
        ] {
            assert!(nesting_error(&source).is_some(), "{source}");
        }
    }

    #[test]
    fn string_prefixes_follow_the_lexer() {
        // A raw string after a float: `r'\'` ends at its second quote.
        assert_eq!(nesting(r"1e5r'\' + '((((('").unwrap(), 0);
        assert_eq!(nesting(r"br'\' + '((((('").unwrap(), 0);
        // `rb` is an identifier, so the string after it is not raw: `\'` is an escape.
        assert_eq!(nesting(r"rb'\' + '((((('").unwrap(), 5);
        assert_eq!(nesting(r"0xabr'\' + '(('").unwrap(), 0);
        assert_eq!(nesting("'''a'b''' + ((1))").unwrap(), 2);
        assert_eq!(nesting(r"'\x41\u0042\101(' + (1)").unwrap(), 1);
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
            let mut context = cel::Context::with_env(crate::eval::cel::standard_env());
            assert!(
                context.add_function(name, || 1i64).is_err(),
                "`{name}` is not declared by the standard environment"
            );
        }
    }
}
