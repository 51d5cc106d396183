//! The subset of KQL (Kusto Query Language) the emulator's Resource Graph understands: a
//! lexer, a recursive-descent parser, a compile step that resolves column names against the
//! table's schema, and an interpreter over rows of JSON cells.
//!
//! The subset is exactly what lzaudit sends plus its obvious neighbours; everything else is
//! refused with a [`QueryError`] naming the construct, which the server turns into ARG's 400
//! `InvalidQuery`. Refusing loudly is the point: a query that would silently mean something
//! else here than in Azure must fail in tests, not pass with the wrong rows. The grammar:
//!
//! ```text
//! query     := [table] ('|' stage)*              table: resources, resourcecontainers,
//!                                                policyresources, authorizationresources,
//!                                                securityresources (any case; none = resources)
//! stage     := 'where' expr
//!            | 'extend' column (',' column)*
//!            | 'project' column (',' column)*
//!            | 'summarize' aggregate (',' aggregate)* ['by' group (',' group)*]
//!            | ('order' | 'sort') 'by' key (',' key)*
//!            | ('limit' | 'take') integer
//! column    := name '=' expr | path              (`a.b['c']` unnamed is named `a_b_c`)
//! group     := column | ('tostring' | 'tolower' | 'toupper') '(' path ')'   (named as the path)
//! aggregate := [name '='] ('make_list' '(' expr ')' | 'count' '(' ')')
//!                                                (unnamed: `list_<path name>`, `count`)
//! key       := expr ['asc' | 'desc'] ['nulls' ('first' | 'last')]
//! expr      := conj ('or' conj)*
//! conj      := test ('and' test)*
//! test      := value [cmp value | ['!'] ('in' | 'in~') '(' value (',' value)* ')']
//! cmp       := '==' | '!=' | '=~' | '!~' | ['!'] ('contains' | 'has' | 'startswith')
//! value     := literal | path | '(' expr ')' | 'not' '(' expr ')'
//!            | ('tolower' | 'toupper' | 'tostring' | 'isempty' | 'isnotempty' | 'isnull'
//!               | 'isnotnull') '(' expr ')'
//!            | ('bag_pack' | 'pack') '(' expr ',' expr (',' expr ',' expr)* ')'
//! path      := name ('.' name | '[' string ']' | '[' ['-'] integer ']')*
//! literal   := 'single' | "double" (backslash escapes) | @'verbatim' | ['-'] integer
//!            | ['-'] real | true | false
//! ```
//!
//! Semantics follow Kusto: `==`/`!=`/`in` compare strings case-sensitively, `=~`/`!~`/`in~`,
//! `contains`, `has` (whole terms) and `startswith` case-insensitively; a comparison with a
//! null operand is null and `where` keeps only true rows (three-valued `and`/`or`/`not`);
//! `order by` defaults to descending, nulls first when ascending and last when descending,
//! strings ordinally; `make_list` skips nulls; `count()` is named `count` (as ARG's own
//! example names it). Identifiers, keywords and functions are case-sensitive; table names
//! are not.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value};

/// Why a query is refused: `code` is the detail code ARG would put beside `InvalidQuery`
/// (`ParserFailure` for text that is not KQL, `UnsupportedConstruct` for KQL the emulator
/// does not implement, `FailedToResolveColumn` for unknown names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct QueryError {
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

fn parser_failure(at: usize, message: impl Into<String>) -> QueryError {
    QueryError {
        code: "ParserFailure",
        message: format!("{} (at character {})", message.into(), at + 1),
    }
}

fn unsupported(message: impl Into<String>) -> QueryError {
    QueryError {
        code: "UnsupportedConstruct",
        message: format!(
            "{}; the emulator's Resource Graph implements only the KQL subset lzaudit uses",
            message.into()
        ),
    }
}

/// The five tables served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Table {
    Resources,
    ResourceContainers,
    PolicyResources,
    AuthorizationResources,
    SecurityResources,
}

impl Table {
    pub(crate) const ALL: [Table; 5] = [
        Table::Resources,
        Table::ResourceContainers,
        Table::PolicyResources,
        Table::AuthorizationResources,
        Table::SecurityResources,
    ];

    fn from_name(name: &str) -> Option<Table> {
        Table::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(name))
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Table::Resources => "resources",
            Table::ResourceContainers => "resourcecontainers",
            Table::PolicyResources => "policyresources",
            Table::AuthorizationResources => "authorizationresources",
            Table::SecurityResources => "securityresources",
        }
    }
}

/// The columns every table has, in this order (ARG's common row envelope).
pub(crate) const COLUMNS: [&str; 16] = [
    "id",
    "name",
    "type",
    "tenantId",
    "kind",
    "location",
    "resourceGroup",
    "subscriptionId",
    "managedBy",
    "sku",
    "plan",
    "properties",
    "tags",
    "identity",
    "zones",
    "extendedLocation",
];

/// How many of [`COLUMNS`] are strings (the rest are dynamic): an unset string column is
/// `""`, an unset dynamic one null, as in ARG.
pub(crate) const STRING_COLUMNS: usize = 9;

// ---------------------------------------------------------------------------------------
// Lexer

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Int(i64),
    Real(f64),
    Sym(&'static str),
    End,
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    at: usize,
}

const SYMBOLS: [&str; 17] = [
    "==", "=~", "!=", "!~", "<=", ">=", "|", "(", ")", ",", ".", "[", "]", "=", "!", "~", "<",
];
const MORE_SYMBOLS: [&str; 4] = [">", "-", ";", "*"];

fn lex(text: &str) -> Result<Vec<Token>, QueryError> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let at = |i: usize| chars.get(i).map_or(text.len(), |c| c.0);
    while i < chars.len() {
        let (pos, c) = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '/' && chars.get(i + 1).map(|c| c.1) == Some('/') {
            while i < chars.len() && chars[i].1 != '\n' {
                i += 1;
            }
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].1.is_ascii_alphanumeric() || chars[i].1 == '_') {
                i += 1;
            }
            // Hyphenated operator names (`mv-expand`, `project-away`) lex as one word so that
            // the refusal can name them.
            while i + 1 < chars.len() && chars[i].1 == '-' && chars[i + 1].1.is_ascii_alphabetic() {
                i += 1;
                while i < chars.len() && (chars[i].1.is_ascii_alphanumeric() || chars[i].1 == '_') {
                    i += 1;
                }
            }
            out.push(Token {
                tok: Tok::Ident(text[pos..at(i)].to_string()),
                at: pos,
            });
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].1.is_ascii_digit() {
                i += 1;
            }
            let mut real = false;
            if i + 1 < chars.len() && chars[i].1 == '.' && chars[i + 1].1.is_ascii_digit() {
                real = true;
                i += 1;
                while i < chars.len() && chars[i].1.is_ascii_digit() {
                    i += 1;
                }
            }
            let digits = &text[chars[start].0..at(i)];
            let tok = if real {
                Tok::Real(
                    digits
                        .parse()
                        .map_err(|_| parser_failure(pos, format!("bad number '{digits}'")))?,
                )
            } else {
                Tok::Int(
                    digits
                        .parse()
                        .map_err(|_| parser_failure(pos, format!("number '{digits}' too large")))?,
                )
            };
            out.push(Token { tok, at: pos });
            continue;
        }
        if c == '\'' || c == '"' || (c == '@' && matches!(chars.get(i + 1), Some((_, '\'' | '"'))))
        {
            let verbatim = c == '@';
            if verbatim {
                i += 1;
            }
            let quote = chars[i].1;
            i += 1;
            let mut value = String::new();
            loop {
                let Some(&(_, ch)) = chars.get(i) else {
                    return Err(parser_failure(pos, "unterminated string literal"));
                };
                i += 1;
                if ch == quote {
                    if verbatim && chars.get(i).map(|c| c.1) == Some(quote) {
                        value.push(quote);
                        i += 1;
                        continue;
                    }
                    break;
                }
                if ch == '\\' && !verbatim {
                    let Some(&(_, escaped)) = chars.get(i) else {
                        return Err(parser_failure(pos, "unterminated string literal"));
                    };
                    i += 1;
                    value.push(match escaped {
                        '\\' => '\\',
                        '\'' => '\'',
                        '"' => '"',
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        other => {
                            return Err(parser_failure(
                                at(i - 2),
                                format!("unknown escape '\\{other}' in a string literal"),
                            ));
                        }
                    });
                    continue;
                }
                value.push(ch);
            }
            out.push(Token {
                tok: Tok::Str(value),
                at: pos,
            });
            continue;
        }
        let rest = &text[pos..];
        match SYMBOLS
            .iter()
            .chain(MORE_SYMBOLS.iter())
            .find(|s| rest.starts_with(**s))
        {
            Some(symbol) => {
                out.push(Token {
                    tok: Tok::Sym(symbol),
                    at: pos,
                });
                i += symbol.chars().count();
            }
            None => return Err(parser_failure(pos, format!("unexpected character '{c}'"))),
        }
    }
    out.push(Token {
        tok: Tok::End,
        at: text.len(),
    });
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Syntax

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Key {
    Name(String),
    Index(i64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Func {
    ToLower,
    ToUpper,
    ToString,
    IsEmpty,
    IsNotEmpty,
    IsNull,
    IsNotNull,
    BagPack,
}

impl Func {
    fn from_name(name: &str) -> Option<Func> {
        Some(match name {
            "tolower" => Func::ToLower,
            "toupper" => Func::ToUpper,
            "tostring" => Func::ToString,
            "isempty" => Func::IsEmpty,
            "isnotempty" => Func::IsNotEmpty,
            "isnull" => Func::IsNull,
            "isnotnull" => Func::IsNotNull,
            "bag_pack" | "pack" => Func::BagPack,
            _ => return None,
        })
    }

    fn is_bool(self) -> bool {
        matches!(
            self,
            Func::IsEmpty | Func::IsNotEmpty | Func::IsNull | Func::IsNotNull
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmp {
    Eq,
    Ne,
    EqCi,
    NeCi,
    Contains,
    Has,
    StartsWith,
}

#[derive(Clone, Debug, PartialEq)]
enum Expr {
    Lit(Value),
    /// A column by name, before compiling.
    Name(String),
    /// A column by position, after compiling.
    Col(usize),
    Member(Box<Expr>, Key),
    Call(Func, Vec<Expr>),
    Compare {
        op: Cmp,
        negated: bool,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    In {
        negated: bool,
        caseless: bool,
        needle: Box<Expr>,
        set: Vec<Expr>,
    },
    /// `a and b and …`, flat: a long chain must not become a deep tree.
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
}

#[derive(Clone, Debug, PartialEq)]
enum Aggregate {
    MakeList(Expr),
    Count,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Direction {
    descending: bool,
    nulls_first: bool,
}

/// One `extend` column: `target` is the position it replaces, or the row's width when it is
/// new (set when compiling).
#[derive(Clone, Debug, PartialEq)]
struct Extended {
    name: String,
    expr: Expr,
    target: usize,
}

#[derive(Clone, Debug, PartialEq)]
enum Stage {
    Where(Expr),
    Extend(Vec<Extended>),
    Project(Vec<(String, Expr)>),
    Summarize {
        aggregates: Vec<(String, Aggregate)>,
        by: Vec<(String, Expr)>,
    },
    Order(Vec<(Expr, Direction)>),
    Limit(usize),
}

/// A parsed and compiled query, ready to run over a table's rows.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Query {
    pub(crate) table: Table,
    stages: Vec<Stage>,
    /// The output columns, in order.
    pub(crate) columns: Vec<String>,
    /// Whether a `limit`/`take` caps the result (ARG then answers one page, without a skip
    /// token).
    pub(crate) limited: bool,
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Expressions open around the current token.
    depth: usize,
}

/// The deepest nesting of expressions (and the longest path) a query may have.
const MAX_NESTING: usize = 64;

fn is_stage_word(word: &str) -> bool {
    matches!(
        word,
        "where" | "extend" | "project" | "summarize" | "order" | "sort" | "limit" | "take"
    )
}

/// Words that end an expression rather than continue it.
const STRUCTURAL: [&str; 8] = ["and", "or", "by", "asc", "desc", "nulls", "first", "last"];

/// Operators Kusto has and the emulator refuses, with the name to refuse them by.
const KNOWN_UNSUPPORTED_OPERATORS: &[&str] = &[
    "endswith",
    "endswith_cs",
    "has_any",
    "has_all",
    "has_cs",
    "hasprefix",
    "hasprefix_cs",
    "hassuffix",
    "hassuffix_cs",
    "contains_cs",
    "startswith_cs",
    "in_cs",
    "matches",
    "between",
    "notcontains",
    "notbetween",
];

impl Parser {
    fn peek(&self) -> &Tok {
        &self.tokens[self.pos.min(self.tokens.len() - 1)].tok
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        &self.tokens[(self.pos + ahead).min(self.tokens.len() - 1)].tok
    }

    fn at(&self) -> usize {
        self.tokens[self.pos.min(self.tokens.len() - 1)].at
    }

    fn advance(&mut self) -> Tok {
        let tok = self.peek().clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        tok
    }

    fn is_sym(&self, symbol: &str) -> bool {
        matches!(self.peek(), Tok::Sym(s) if *s == symbol)
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Tok::Ident(w) if w == word)
    }

    fn describe(tok: &Tok) -> String {
        match tok {
            Tok::Ident(w) => format!("'{w}'"),
            Tok::Str(s) => format!("the string '{s}'"),
            Tok::Int(n) => format!("the number {n}"),
            Tok::Real(n) => format!("the number {n}"),
            Tok::Sym(s) => format!("'{s}'"),
            Tok::End => "the end of the query".to_string(),
        }
    }

    fn expect_sym(&mut self, symbol: &str) -> Result<(), QueryError> {
        if self.is_sym(symbol) {
            self.advance();
            Ok(())
        } else {
            Err(parser_failure(
                self.at(),
                format!(
                    "expected '{symbol}', found {}",
                    Parser::describe(self.peek())
                ),
            ))
        }
    }

    fn expect_word(&mut self, word: &str) -> Result<(), QueryError> {
        if self.is_word(word) {
            self.advance();
            Ok(())
        } else {
            Err(parser_failure(
                self.at(),
                format!("expected '{word}', found {}", Parser::describe(self.peek())),
            ))
        }
    }

    fn name(&mut self) -> Result<String, QueryError> {
        match self.advance() {
            Tok::Ident(w) => Ok(w),
            other => Err(parser_failure(
                self.tokens[self.pos.saturating_sub(1)].at,
                format!("expected a name, found {}", Parser::describe(&other)),
            )),
        }
    }

    fn query(&mut self) -> Result<(Table, Vec<Stage>), QueryError> {
        if let Tok::Ident(word) = self.peek().clone()
            && !is_stage_word(&word)
        {
            self.advance();
            let table = Table::from_name(&word).ok_or_else(|| {
                if matches!(
                    word.as_str(),
                    "let" | "union" | "datatable" | "range" | "print" | "set"
                ) {
                    unsupported(format!("'{word}' statements are not supported"))
                } else {
                    QueryError {
                        code: "UnknownTable",
                        message: format!(
                            "'{word}' is not a table the emulator serves (it serves {})",
                            Table::ALL.map(Table::name).join(", ")
                        ),
                    }
                }
            })?;
            return Ok((table, self.stages()?));
        }
        // A query that starts with an operator runs on `resources`, as in ARG.
        let mut stages = Vec::new();
        if !self.is_sym("|") {
            stages.push(self.stage()?);
        }
        stages.extend(self.stages()?);
        Ok((Table::Resources, stages))
    }

    fn stages(&mut self) -> Result<Vec<Stage>, QueryError> {
        let mut stages = Vec::new();
        loop {
            match self.peek() {
                Tok::End => return Ok(stages),
                Tok::Sym("|") => {
                    self.advance();
                    stages.push(self.stage()?);
                }
                Tok::Sym(";") => {
                    return Err(unsupported("several statements (';') are not supported"));
                }
                other => {
                    return Err(parser_failure(
                        self.at(),
                        format!("expected '|' or the end, found {}", Parser::describe(other)),
                    ));
                }
            }
        }
    }

    fn stage(&mut self) -> Result<Stage, QueryError> {
        let at = self.at();
        let word = match self.advance() {
            Tok::Ident(w) => w,
            other => {
                return Err(parser_failure(
                    at,
                    format!("expected an operator, found {}", Parser::describe(&other)),
                ));
            }
        };
        match word.as_str() {
            "where" => Ok(Stage::Where(self.expr()?)),
            "extend" => Ok(Stage::Extend(
                self.columns(false)?
                    .into_iter()
                    .map(|(name, expr)| Extended {
                        name,
                        expr,
                        target: usize::MAX,
                    })
                    .collect(),
            )),
            "project" => Ok(Stage::Project(self.columns(false)?)),
            "summarize" => self.summarize(),
            "order" | "sort" => {
                self.expect_word("by")?;
                let mut keys = Vec::new();
                loop {
                    let key = self.expr()?;
                    let mut descending = true;
                    if self.is_word("asc") {
                        self.advance();
                        descending = false;
                    } else if self.is_word("desc") {
                        self.advance();
                    }
                    let mut nulls_first = !descending;
                    if self.is_word("nulls") {
                        self.advance();
                        if self.is_word("first") {
                            nulls_first = true;
                        } else if self.is_word("last") {
                            nulls_first = false;
                        } else {
                            return Err(parser_failure(
                                self.at(),
                                "expected 'first' or 'last' after 'nulls'",
                            ));
                        }
                        self.advance();
                    }
                    keys.push((
                        key,
                        Direction {
                            descending,
                            nulls_first,
                        },
                    ));
                    if !self.is_sym(",") {
                        break;
                    }
                    self.advance();
                }
                Ok(Stage::Order(keys))
            }
            "limit" | "take" => match self.advance() {
                Tok::Int(n) if n >= 0 => Ok(Stage::Limit(usize::try_from(n).unwrap_or(usize::MAX))),
                other => Err(parser_failure(
                    at,
                    format!(
                        "'{word}' needs a non-negative integer, found {}",
                        Parser::describe(&other)
                    ),
                )),
            },
            other => Err(unsupported(format!(
                "the operator '{other}' is not supported"
            ))),
        }
    }

    fn summarize(&mut self) -> Result<Stage, QueryError> {
        let mut aggregates = Vec::new();
        loop {
            let named =
                matches!(self.peek(), Tok::Ident(_)) && matches!(self.peek_at(1), Tok::Sym("="));
            let given = if named {
                let name = self.name()?;
                self.advance();
                Some(name)
            } else {
                None
            };
            let at = self.at();
            let function = self.name()?;
            self.expect_sym("(")?;
            let aggregate = match function.as_str() {
                "make_list" => {
                    let argument = self.expr()?;
                    if self.is_sym(",") {
                        return Err(unsupported("make_list with a size limit is not supported"));
                    }
                    Aggregate::MakeList(argument)
                }
                "count" => Aggregate::Count,
                other if Func::from_name(other).is_some() => {
                    return Err(parser_failure(
                        at,
                        format!("'{other}' is not an aggregation function"),
                    ));
                }
                other => {
                    return Err(unsupported(format!(
                        "the aggregation function '{other}' is not supported (make_list and count are)"
                    )));
                }
            };
            self.expect_sym(")")?;
            let name = match (given, &aggregate) {
                (Some(name), _) => name,
                (None, Aggregate::Count) => "count".to_string(),
                (None, Aggregate::MakeList(e)) => match derived_name(e, true) {
                    Some(name) => format!("list_{name}"),
                    None => {
                        return Err(unsupported(
                            "an unnamed make_list of a computed value is not supported; name it (name = make_list(…))",
                        ));
                    }
                },
            };
            aggregates.push((name, aggregate));
            if !self.is_sym(",") {
                break;
            }
            self.advance();
        }
        let by = if self.is_word("by") {
            self.advance();
            self.columns(true)?
        } else {
            Vec::new()
        };
        Ok(Stage::Summarize { aggregates, by })
    }

    /// `name = expr` or a bare expression, comma-separated. A bare expression must be a
    /// path (or, in `summarize … by`, `tostring`/`tolower`/`toupper` of one): the emulator
    /// does not guess Kusto's `Column1` names.
    fn columns(&mut self, by: bool) -> Result<Vec<(String, Expr)>, QueryError> {
        let mut out = Vec::new();
        loop {
            let named =
                matches!(self.peek(), Tok::Ident(_)) && matches!(self.peek_at(1), Tok::Sym("="));
            if named {
                let name = self.name()?;
                self.advance();
                out.push((name, self.expr()?));
            } else {
                let expr = self.expr()?;
                let Some(name) = derived_name(&expr, by) else {
                    return Err(unsupported(
                        "an unnamed computed column is not supported; name it (name = expression)",
                    ));
                };
                out.push((name, expr));
            }
            if !self.is_sym(",") {
                return Ok(out);
            }
            self.advance();
        }
    }

    /// An expression. Nesting (parentheses, function calls) is bounded so that evaluation,
    /// which recurses, cannot exhaust a server thread's stack on a hostile query.
    fn expr(&mut self) -> Result<Expr, QueryError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(unsupported(format!(
                "expressions nested more than {MAX_NESTING} deep are not supported"
            )));
        }
        let mut terms = vec![self.conjunction()?];
        while self.is_word("or") {
            self.advance();
            terms.push(self.conjunction()?);
        }
        self.depth -= 1;
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::Or(terms)
        })
    }

    fn conjunction(&mut self) -> Result<Expr, QueryError> {
        let mut terms = vec![self.test()?];
        while self.is_word("and") {
            self.advance();
            terms.push(self.test()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::And(terms)
        })
    }

    fn test(&mut self) -> Result<Expr, QueryError> {
        let left = self.value()?;
        let at = self.at();
        let (negated, word) = match self.peek().clone() {
            Tok::Sym(symbol @ ("==" | "!=" | "=~" | "!~")) => {
                self.advance();
                let op = match symbol {
                    "==" => Cmp::Eq,
                    "!=" => Cmp::Ne,
                    "=~" => Cmp::EqCi,
                    _ => Cmp::NeCi,
                };
                let right = self.value()?;
                return Ok(Expr::Compare {
                    op,
                    negated: false,
                    left: Box::new(left),
                    right: Box::new(right),
                });
            }
            Tok::Sym(symbol @ ("<" | "<=" | ">" | ">=")) => {
                return Err(unsupported(format!(
                    "the comparison '{symbol}' is not supported"
                )));
            }
            Tok::Sym("!") => match self.peek_at(1).clone() {
                Tok::Ident(word) => {
                    self.advance();
                    self.advance();
                    (true, word)
                }
                other => {
                    return Err(parser_failure(
                        at,
                        format!("unexpected '!' before {}", Parser::describe(&other)),
                    ));
                }
            },
            Tok::Ident(word) if !STRUCTURAL.contains(&word.as_str()) => {
                self.advance();
                (false, word)
            }
            _ => return Ok(left),
        };
        let bang = if negated { "!" } else { "" };
        let op = match word.as_str() {
            "contains" => Cmp::Contains,
            "has" => Cmp::Has,
            "startswith" => Cmp::StartsWith,
            "in" => {
                let caseless = self.is_sym("~");
                if caseless {
                    self.advance();
                }
                self.expect_sym("(")?;
                let mut set = vec![self.value()?];
                while self.is_sym(",") {
                    self.advance();
                    set.push(self.value()?);
                }
                self.expect_sym(")")?;
                return Ok(Expr::In {
                    negated,
                    caseless,
                    needle: Box::new(left),
                    set,
                });
            }
            other if KNOWN_UNSUPPORTED_OPERATORS.contains(&other) => {
                return Err(unsupported(format!(
                    "the operator '{bang}{other}' is not supported"
                )));
            }
            other => {
                return Err(parser_failure(
                    at,
                    format!(
                        "unexpected '{bang}{other}' after an expression (an unknown operator?)"
                    ),
                ));
            }
        };
        let right = self.value()?;
        Ok(Expr::Compare {
            op,
            negated,
            left: Box::new(left),
            right: Box::new(right),
        })
    }

    fn value(&mut self) -> Result<Expr, QueryError> {
        let at = self.at();
        match self.advance() {
            Tok::Str(s) => Ok(Expr::Lit(Value::String(s))),
            Tok::Int(n) => Ok(Expr::Lit(Value::from(n))),
            Tok::Real(n) => Ok(Expr::Lit(Value::from(n))),
            Tok::Sym("-") => match self.advance() {
                Tok::Int(n) => Ok(Expr::Lit(Value::from(-n))),
                Tok::Real(n) => Ok(Expr::Lit(Value::from(-n))),
                _ => Err(unsupported("arithmetic is not supported")),
            },
            Tok::Sym("(") => {
                let inner = self.expr()?;
                self.expect_sym(")")?;
                self.members(inner)
            }
            Tok::Ident(word) if self.is_sym("(") => {
                self.advance();
                if word == "not" {
                    let inner = self.expr()?;
                    self.expect_sym(")")?;
                    return Ok(Expr::Not(Box::new(inner)));
                }
                let Some(func) = Func::from_name(&word) else {
                    return Err(unsupported(format!(
                        "the function '{word}' is not supported"
                    )));
                };
                let mut args = Vec::new();
                if !self.is_sym(")") {
                    args.push(self.expr()?);
                    while self.is_sym(",") {
                        self.advance();
                        args.push(self.expr()?);
                    }
                }
                self.expect_sym(")")?;
                match func {
                    Func::BagPack if args.is_empty() || args.len() % 2 != 0 => {
                        return Err(parser_failure(
                            at,
                            format!("'{word}' needs key, value pairs"),
                        ));
                    }
                    Func::BagPack => {}
                    _ if args.len() != 1 => {
                        return Err(parser_failure(
                            at,
                            format!("'{word}' takes one argument, not {}", args.len()),
                        ));
                    }
                    _ => {}
                }
                Ok(Expr::Call(func, args))
            }
            Tok::Ident(word) if word == "true" || word == "false" => {
                Ok(Expr::Lit(Value::Bool(word == "true")))
            }
            Tok::Ident(word) => self.members(Expr::Name(word)),
            Tok::Sym(s) if matches!(s, "*" | "~") => {
                Err(unsupported(format!("'{s}' is not supported here")))
            }
            other => Err(parser_failure(
                at,
                format!("expected a value, found {}", Parser::describe(&other)),
            )),
        }
    }

    /// `.name`, `['name']` and `[index]` steps after a value (at most [`MAX_NESTING`]: a
    /// path is a nested expression too).
    fn members(&mut self, mut base: Expr) -> Result<Expr, QueryError> {
        for _ in 0..=MAX_NESTING {
            if self.is_sym(".") {
                self.advance();
                let name = self.name()?;
                base = Expr::Member(Box::new(base), Key::Name(name));
            } else if self.is_sym("[") {
                self.advance();
                let key = match self.advance() {
                    Tok::Str(s) => Key::Name(s),
                    Tok::Int(n) => Key::Index(n),
                    Tok::Sym("-") => match self.advance() {
                        Tok::Int(n) => Key::Index(-n),
                        other => {
                            return Err(parser_failure(
                                self.at(),
                                format!("expected an index, found {}", Parser::describe(&other)),
                            ));
                        }
                    },
                    other => {
                        return Err(parser_failure(
                            self.at(),
                            format!(
                                "expected a string or an index in '[…]', found {}",
                                Parser::describe(&other)
                            ),
                        ));
                    }
                };
                self.expect_sym("]")?;
                base = Expr::Member(Box::new(base), key);
            } else {
                return Ok(base);
            }
        }
        Err(unsupported(format!(
            "paths longer than {MAX_NESTING} steps are not supported"
        )))
    }
}

/// The column name Kusto gives an unnamed expression: a column's own name, a path's steps
/// joined by `_` (`properties.a['b']` → `properties_a_b`), or, with `calls`, for
/// `tostring`/`tolower`/`toupper` of such a path, the path's name (ARG's own example names
/// `summarize … by tostring(properties.storageProfile.osDisk.osType)`'s column
/// `properties_storageProfile_osDisk_osType`).
fn derived_name(expr: &Expr, calls: bool) -> Option<String> {
    match expr {
        Expr::Name(name) => Some(name.clone()),
        Expr::Member(base, key) => {
            let base = derived_name(base, false)?;
            Some(match key {
                Key::Name(name) => format!("{base}_{name}"),
                Key::Index(i) => format!("{base}_{i}"),
            })
        }
        Expr::Call(Func::ToString | Func::ToLower | Func::ToUpper, args)
            if calls && args.len() == 1 =>
        {
            derived_name(&args[0], false)
        }
        _ => None,
    }
}

/// Parses and compiles `text`: every column it names must exist where it is used.
pub(crate) fn parse(text: &str) -> Result<Query, QueryError> {
    if text.trim().is_empty() {
        return Err(parser_failure(0, "the query is empty"));
    }
    let mut parser = Parser {
        tokens: lex(text)?,
        pos: 0,
        depth: 0,
    };
    let (table, stages) = parser.query()?;
    compile(table, stages)
}

// ---------------------------------------------------------------------------------------
// Compiling: names to positions, with the schema tracked through the stages.

fn compile(table: Table, stages: Vec<Stage>) -> Result<Query, QueryError> {
    let mut columns: Vec<String> = COLUMNS.iter().map(|c| c.to_string()).collect();
    let mut compiled = Vec::with_capacity(stages.len());
    let mut limited = false;
    for stage in stages {
        let stage = match stage {
            Stage::Where(expr) => {
                let expr = resolve(expr, &columns)?;
                require_bool(&expr, "where")?;
                Stage::Where(expr)
            }
            Stage::Extend(items) => {
                let mut out = Vec::new();
                // Kusto evaluates an extend's columns in order: later ones see earlier ones.
                for Extended { name, expr, .. } in items {
                    let expr = resolve(expr, &columns)?;
                    let target = match columns.iter().position(|c| *c == name) {
                        Some(i) => i,
                        None => {
                            columns.push(name.clone());
                            columns.len() - 1
                        }
                    };
                    out.push(Extended { name, expr, target });
                }
                Stage::Extend(out)
            }
            Stage::Project(items) => {
                let mut out = Vec::new();
                let mut names = Vec::new();
                for (name, expr) in items {
                    if names.contains(&name) {
                        return Err(duplicate(&name));
                    }
                    names.push(name.clone());
                    out.push((name, resolve(expr, &columns)?));
                }
                columns = names;
                Stage::Project(out)
            }
            Stage::Summarize { aggregates, by } => {
                let mut names = Vec::new();
                let mut by_out = Vec::new();
                for (name, expr) in by {
                    if names.contains(&name) {
                        return Err(duplicate(&name));
                    }
                    names.push(name.clone());
                    by_out.push((name, resolve(expr, &columns)?));
                }
                let mut aggregates_out = Vec::new();
                for (name, aggregate) in aggregates {
                    if names.contains(&name) {
                        return Err(duplicate(&name));
                    }
                    names.push(name.clone());
                    let aggregate = match aggregate {
                        Aggregate::Count => Aggregate::Count,
                        Aggregate::MakeList(e) => Aggregate::MakeList(resolve(e, &columns)?),
                    };
                    aggregates_out.push((name, aggregate));
                }
                columns = names;
                Stage::Summarize {
                    aggregates: aggregates_out,
                    by: by_out,
                }
            }
            Stage::Order(keys) => Stage::Order(
                keys.into_iter()
                    .map(|(e, d)| Ok((resolve(e, &columns)?, d)))
                    .collect::<Result<_, QueryError>>()?,
            ),
            Stage::Limit(n) => {
                limited = true;
                Stage::Limit(n)
            }
        };
        compiled.push(stage);
    }
    Ok(Query {
        table,
        stages: compiled,
        columns,
        limited,
    })
}

fn duplicate(name: &str) -> QueryError {
    QueryError {
        code: "DuplicateColumn",
        message: format!("the column '{name}' is defined twice"),
    }
}

fn resolve(expr: Expr, columns: &[String]) -> Result<Expr, QueryError> {
    let r = |e: Box<Expr>| resolve(*e, columns).map(Box::new);
    Ok(match expr {
        Expr::Name(name) => match columns.iter().position(|c| *c == name) {
            Some(i) => Expr::Col(i),
            None => {
                let hint = columns
                    .iter()
                    .find(|c| c.eq_ignore_ascii_case(&name))
                    .map(|c| format!(" (names are case-sensitive: did you mean '{c}'?)"))
                    .unwrap_or_default();
                return Err(QueryError {
                    code: "FailedToResolveColumn",
                    message: format!(
                        "failed to resolve the column or scalar expression named '{name}'{hint}"
                    ),
                });
            }
        },
        Expr::Member(base, key) => Expr::Member(r(base)?, key),
        Expr::Call(func, args) => Expr::Call(
            func,
            args.into_iter()
                .map(|a| resolve(a, columns))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Compare {
            op,
            negated,
            left,
            right,
        } => Expr::Compare {
            op,
            negated,
            left: r(left)?,
            right: r(right)?,
        },
        Expr::In {
            negated,
            caseless,
            needle,
            set,
        } => Expr::In {
            negated,
            caseless,
            needle: r(needle)?,
            set: set
                .into_iter()
                .map(|a| resolve(a, columns))
                .collect::<Result<_, _>>()?,
        },
        Expr::And(terms) => Expr::And(resolve_terms(terms, columns, "and")?),
        Expr::Or(terms) => Expr::Or(resolve_terms(terms, columns, "or")?),
        Expr::Not(a) => {
            let a = r(a)?;
            require_bool(&a, "not()")?;
            Expr::Not(a)
        }
        other @ (Expr::Lit(_) | Expr::Col(_)) => other,
    })
}

fn resolve_terms(
    terms: Vec<Expr>,
    columns: &[String],
    context: &str,
) -> Result<Vec<Expr>, QueryError> {
    terms
        .into_iter()
        .map(|t| {
            let t = resolve(t, columns)?;
            require_bool(&t, context)?;
            Ok(t)
        })
        .collect()
}

/// Kusto refuses a non-boolean predicate at compile time; so does the emulator, rather than
/// guessing a truthiness rule.
fn require_bool(expr: &Expr, context: &str) -> Result<(), QueryError> {
    let boolean = match expr {
        Expr::Compare { .. } | Expr::In { .. } | Expr::And(..) | Expr::Or(..) | Expr::Not(_) => {
            true
        }
        Expr::Call(func, _) => func.is_bool(),
        Expr::Lit(Value::Bool(_)) => true,
        _ => false,
    };
    if boolean {
        Ok(())
    } else {
        Err(QueryError {
            code: "NotABooleanPredicate",
            message: format!(
                "{context} needs a boolean expression (a comparison, in, isempty() …), not a plain value"
            ),
        })
    }
}

// ---------------------------------------------------------------------------------------
// Running

/// One cell of a working row: borrowed from the table while untouched, owned once computed.
pub(crate) type Cell<'t> = Cow<'t, Value>;

static NULL: Value = Value::Null;

/// The result of a query: rows of cells in [`Query::columns`] order.
pub(crate) struct Output<'t> {
    pub(crate) rows: Vec<Vec<Cell<'t>>>,
}

impl Query {
    /// Runs the stages over `rows` (each holding the [`COLUMNS`] cells in order).
    pub(crate) fn run<'t>(&self, rows: Vec<Vec<Cell<'t>>>) -> Output<'t> {
        let mut rows = rows;
        for stage in &self.stages {
            rows = match stage {
                Stage::Where(expr) => rows
                    .into_iter()
                    .filter(|row| truth(&eval(expr, row)) == Some(true))
                    .collect(),
                Stage::Extend(items) => {
                    for row in &mut rows {
                        for item in items {
                            let value = keep(&item.expr, row);
                            match row.get_mut(item.target) {
                                Some(cell) => *cell = value,
                                None => row.push(value),
                            }
                        }
                    }
                    rows
                }
                Stage::Project(items) => rows
                    .into_iter()
                    .map(|row| items.iter().map(|(_, e)| keep(e, &row)).collect())
                    .collect(),
                Stage::Summarize { aggregates, by } => summarize(rows, aggregates, by),
                Stage::Order(keys) => order(rows, keys),
                Stage::Limit(n) => {
                    rows.truncate(*n);
                    rows
                }
            };
        }
        Output { rows }
    }
}

/// Rows serialised as JSON objects (columns in output order) straight from their cells,
/// without copying what they borrow from the tables.
pub(crate) struct Objects<'a, 't> {
    pub(crate) columns: &'a [String],
    pub(crate) rows: &'a [Vec<Cell<'t>>],
}

impl Serialize for Objects<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.rows.len()))?;
        for row in self.rows {
            seq.serialize_element(&ObjectRef {
                columns: self.columns,
                row,
            })?;
        }
        seq.end()
    }
}

struct ObjectRef<'a, 't> {
    columns: &'a [String],
    row: &'a [Cell<'t>],
}

impl Serialize for ObjectRef<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.columns.len()))?;
        for (name, cell) in self.columns.iter().zip(self.row) {
            map.serialize_entry(name, cell.as_ref())?;
        }
        map.end()
    }
}

/// A row as a JSON object, columns in output order.
#[cfg(test)]
pub(crate) fn object(columns: &[String], row: Vec<Cell<'_>>) -> Value {
    let mut map = Map::with_capacity(columns.len());
    for (name, cell) in columns.iter().zip(row) {
        map.insert(name.clone(), cell.into_owned());
    }
    Value::Object(map)
}

fn step<'v>(value: &'v Value, key: &Key) -> &'v Value {
    match (value, key) {
        (Value::Object(map), Key::Name(name)) => map.get(name).unwrap_or(&NULL),
        (Value::Array(items), Key::Index(i)) => {
            let index = if *i < 0 {
                items.len().checked_sub(i.unsigned_abs() as usize)
            } else {
                usize::try_from(*i).ok()
            };
            index.and_then(|i| items.get(i)).unwrap_or(&NULL)
        }
        _ => &NULL,
    }
}

/// Evaluates for a cell that outlives the row's current shape: columns and paths into
/// borrowed columns stay borrowed from the table.
fn keep<'t>(expr: &Expr, row: &[Cell<'t>]) -> Cell<'t> {
    match expr {
        Expr::Col(i) => row.get(*i).cloned().unwrap_or(Cow::Borrowed(&NULL)),
        Expr::Member(base, key) => match keep(base, row) {
            Cow::Borrowed(v) => Cow::Borrowed(step(v, key)),
            Cow::Owned(v) => Cow::Owned(step(&v, key).clone()),
        },
        other => Cow::Owned(eval(other, row).into_owned()),
    }
}

/// Kusto's `tostring`: strings as they are, null as `""`, anything else as its JSON text.
fn to_text(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(s) => Cow::Borrowed(s.as_str()),
        Value::Null => Cow::Borrowed(""),
        Value::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        other => Cow::Owned(other.to_string()),
    }
}

fn truth(value: &Value) -> Option<bool> {
    value.as_bool()
}

fn boolean(value: Option<bool>) -> Value {
    value.map_or(Value::Null, Value::Bool)
}

/// Whether `needle` occurs in `haystack` as a whole term (bounded by non-alphanumerics), as
/// Kusto's `has` matches; both lower-cased by the caller.
fn has_term(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    let bytes = haystack.as_bytes();
    let mut from = 0;
    while let Some(found) = haystack[from..].find(needle) {
        let start = from + found;
        let end = start + needle.len();
        let before = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
        let after = end == bytes.len() || !bytes[end].is_ascii_alphanumeric();
        if before && after {
            return true;
        }
        from = start + 1;
        while from < haystack.len() && !haystack.is_char_boundary(from) {
            from += 1;
        }
    }
    false
}

/// Case-insensitive equality without allocating: `=~` and `in~` run once per row and
/// candidate, which at a thousand subscriptions is a lot of rows.
fn eq_caseless(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.chars()
            .flat_map(char::to_lowercase)
            .eq(b.chars().flat_map(char::to_lowercase))
    }
}

fn equal(left: &Value, right: &Value, caseless: bool) -> Option<bool> {
    if left.is_null() || right.is_null() {
        return None;
    }
    if caseless {
        return Some(eq_caseless(&to_text(left), &to_text(right)));
    }
    Some(match (left, right) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    })
}

fn eval<'a>(expr: &'a Expr, row: &'a [Cell<'_>]) -> Cow<'a, Value> {
    match expr {
        Expr::Lit(v) => Cow::Borrowed(v),
        Expr::Col(i) => Cow::Borrowed(row.get(*i).map_or(&NULL, |c| c.as_ref())),
        Expr::Name(_) => Cow::Borrowed(&NULL),
        Expr::Member(base, key) => match eval(base, row) {
            Cow::Borrowed(v) => Cow::Borrowed(step(v, key)),
            Cow::Owned(v) => Cow::Owned(step(&v, key).clone()),
        },
        Expr::Call(func, args) => Cow::Owned(call(*func, args, row)),
        Expr::Compare {
            op,
            negated,
            left,
            right,
        } => {
            let (l, r) = (eval(left, row), eval(right, row));
            let result = match op {
                Cmp::Eq => equal(&l, &r, false),
                Cmp::Ne => equal(&l, &r, false).map(|b| !b),
                Cmp::EqCi => equal(&l, &r, true),
                Cmp::NeCi => equal(&l, &r, true).map(|b| !b),
                Cmp::Contains | Cmp::Has | Cmp::StartsWith => {
                    if l.is_null() || r.is_null() {
                        None
                    } else {
                        let haystack = to_text(&l).to_lowercase();
                        let needle = to_text(&r).to_lowercase();
                        Some(match op {
                            Cmp::Contains => haystack.contains(&needle),
                            Cmp::Has => has_term(&haystack, &needle),
                            _ => haystack.starts_with(&needle),
                        })
                    }
                }
            };
            Cow::Owned(boolean(if *negated { result.map(|b| !b) } else { result }))
        }
        Expr::In {
            negated,
            caseless,
            needle,
            set,
        } => {
            let value = eval(needle, row);
            let result = if value.is_null() {
                None
            } else {
                Some(
                    set.iter()
                        .any(|item| equal(&value, &eval(item, row), *caseless) == Some(true)),
                )
            };
            Cow::Owned(boolean(if *negated { result.map(|b| !b) } else { result }))
        }
        // Kleene logic: false wins an `and` and true an `or`, whatever the nulls.
        Expr::And(terms) => {
            let mut result = Some(true);
            for term in terms {
                match truth(&eval(term, row)) {
                    Some(false) => return Cow::Owned(Value::Bool(false)),
                    None => result = None,
                    Some(true) => {}
                }
            }
            Cow::Owned(boolean(result))
        }
        Expr::Or(terms) => {
            let mut result = Some(false);
            for term in terms {
                match truth(&eval(term, row)) {
                    Some(true) => return Cow::Owned(Value::Bool(true)),
                    None => result = None,
                    Some(false) => {}
                }
            }
            Cow::Owned(boolean(result))
        }
        Expr::Not(a) => Cow::Owned(boolean(truth(&eval(a, row)).map(|b| !b))),
    }
}

fn call(func: Func, args: &[Expr], row: &[Cell<'_>]) -> Value {
    let first = || args.first().map_or(Cow::Borrowed(&NULL), |a| eval(a, row));
    match func {
        Func::ToLower => Value::String(to_text(&first()).to_lowercase()),
        Func::ToUpper => Value::String(to_text(&first()).to_uppercase()),
        Func::ToString => Value::String(to_text(&first()).into_owned()),
        Func::IsEmpty | Func::IsNotEmpty => {
            let value = first();
            let empty = value.is_null() || value.as_str() == Some("");
            Value::Bool(empty == (func == Func::IsEmpty))
        }
        Func::IsNull => Value::Bool(first().is_null()),
        Func::IsNotNull => Value::Bool(!first().is_null()),
        Func::BagPack => {
            let mut map = Map::new();
            for pair in args.chunks(2) {
                let key = to_text(&eval(&pair[0], row)).into_owned();
                let value = pair
                    .get(1)
                    .map_or(Value::Null, |v| eval(v, row).into_owned());
                map.insert(key, value);
            }
            Value::Object(map)
        }
    }
}

/// A grouping key's fingerprint: strings as themselves, anything else as its JSON text,
/// tagged so that `"1"` and `1` differ.
fn fingerprint(values: &[Cell<'_>]) -> String {
    let mut out = String::new();
    for value in values {
        match value.as_ref() {
            Value::String(s) => {
                out.push('s');
                out.push_str(s);
            }
            other => {
                out.push('j');
                out.push_str(&other.to_string());
            }
        }
        out.push('\u{0}');
    }
    out
}

enum Accumulator {
    List(Vec<Value>),
    Count(u64),
}

fn summarize<'t>(
    rows: Vec<Vec<Cell<'t>>>,
    aggregates: &[(String, Aggregate)],
    by: &[(String, Expr)],
) -> Vec<Vec<Cell<'t>>> {
    let mut groups: Vec<(Vec<Cell<'t>>, Vec<Accumulator>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for row in &rows {
        let keys: Vec<Cell<'t>> = by.iter().map(|(_, e)| keep(e, row)).collect();
        let slot = *index.entry(fingerprint(&keys)).or_insert_with(|| {
            groups.push((
                keys,
                aggregates
                    .iter()
                    .map(|(_, a)| match a {
                        Aggregate::MakeList(_) => Accumulator::List(Vec::new()),
                        Aggregate::Count => Accumulator::Count(0),
                    })
                    .collect(),
            ));
            groups.len() - 1
        });
        for ((_, aggregate), accumulator) in aggregates.iter().zip(&mut groups[slot].1) {
            match (aggregate, accumulator) {
                (Aggregate::MakeList(expr), Accumulator::List(items)) => {
                    let value = eval(expr, row);
                    if !value.is_null() {
                        items.push(value.into_owned());
                    }
                }
                (Aggregate::Count, Accumulator::Count(n)) => *n += 1,
                _ => {}
            }
        }
    }
    // Kusto's summarize without `by` answers one row even over no input.
    if by.is_empty() && groups.is_empty() {
        groups.push((
            Vec::new(),
            aggregates
                .iter()
                .map(|(_, a)| match a {
                    Aggregate::MakeList(_) => Accumulator::List(Vec::new()),
                    Aggregate::Count => Accumulator::Count(0),
                })
                .collect(),
        ));
    }
    groups
        .into_iter()
        .map(|(mut keys, accumulators)| {
            keys.extend(accumulators.into_iter().map(|a| {
                Cow::Owned(match a {
                    Accumulator::List(items) => Value::Array(items),
                    Accumulator::Count(n) => Value::from(n),
                })
            }));
            keys
        })
        .collect()
}

fn rank(value: &Value) -> u8 {
    match value {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

/// Ascending order of two values: by kind, then booleans, numbers, strings ordinally (as
/// Kusto sorts strings), and anything else by its JSON text.
fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .unwrap_or(f64::NAN)
            .total_cmp(&y.as_f64().unwrap_or(f64::NAN)),
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        _ if rank(a) != rank(b) => rank(a).cmp(&rank(b)),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

fn order<'t>(rows: Vec<Vec<Cell<'t>>>, keys: &[(Expr, Direction)]) -> Vec<Vec<Cell<'t>>> {
    let mut keyed: Vec<(Vec<Cell<'t>>, Vec<Cell<'t>>)> = rows
        .into_iter()
        .map(|row| (keys.iter().map(|(e, _)| keep(e, &row)).collect(), row))
        .collect();
    // Stable: rows with equal keys keep their table order, so pages never shuffle them.
    keyed.sort_by(|(a, _), (b, _)| {
        for ((x, y), (_, direction)) in a.iter().zip(b).zip(keys) {
            let ordering = match (x.is_null(), y.is_null()) {
                (true, true) => Ordering::Equal,
                (true, false) if direction.nulls_first => Ordering::Less,
                (true, false) => Ordering::Greater,
                (false, true) if direction.nulls_first => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => {
                    let o = compare(x, y);
                    if direction.descending { o.reverse() } else { o }
                }
            };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        Ordering::Equal
    });
    keyed.into_iter().map(|(_, row)| row).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(values: Value) -> Vec<Cell<'static>> {
        COLUMNS
            .iter()
            .enumerate()
            .map(|(i, c)| {
                Cow::Owned(values.get(*c).cloned().unwrap_or(if i < STRING_COLUMNS {
                    Value::String(String::new())
                } else {
                    Value::Null
                }))
            })
            .collect()
    }

    fn run(query: &str, rows: &[Value]) -> Vec<Value> {
        let q = parse(query).unwrap_or_else(|e| panic!("{query}: {e:?}"));
        let out = q.run(rows.iter().map(|r| row(r.clone())).collect());
        out.rows
            .into_iter()
            .map(|r| object(&q.columns, r))
            .collect()
    }

    fn refused(query: &str) -> QueryError {
        parse(query).expect_err(query)
    }

    fn sample() -> Vec<Value> {
        vec![
            json!({"id": "/s/b", "name": "b", "type": "microsoft.x/y", "properties": {"a": {"b": "Two"}, "n": 2, "list": [1, 2]}, "tags": {"k-1": "v"}}),
            json!({"id": "/s/a", "name": "a", "type": "microsoft.x/y", "properties": {"a": {"b": "one"}, "n": 1}}),
            json!({"id": "/s/C", "name": "C", "type": "microsoft.x/z", "properties": {}}),
        ]
    }

    #[test]
    fn where_project_order_and_limit() {
        let out = run(
            "resources | where type =~ 'Microsoft.X/Y' | project id, name, properties.a.b | order by id asc",
            &sample(),
        );
        assert_eq!(
            out,
            vec![
                json!({"id": "/s/a", "name": "a", "properties_a_b": "one"}),
                json!({"id": "/s/b", "name": "b", "properties_a_b": "Two"})
            ]
        );
        // Kusto orders descending by default; ordinal string order puts 'C' before 'a'.
        let names: Vec<Value> = run("Resources | order by name | project name", &sample())
            .into_iter()
            .map(|r| r["name"].clone())
            .collect();
        assert_eq!(names, [json!("b"), json!("a"), json!("C")]);
        assert_eq!(run("resources | take 1", &sample()).len(), 1);
        assert_eq!(
            run(
                "resources | project x = tags['k-1'], y = properties.list[-1]",
                &sample()
            )[0],
            json!({"x": "v", "y": 2})
        );
    }

    #[test]
    fn string_operators_follow_kusto_case_rules() {
        let count = |q: &str| run(q, &sample()).len();
        assert_eq!(count("resources | where name == 'c'"), 0);
        assert_eq!(count("resources | where name =~ 'c'"), 1);
        assert_eq!(count("resources | where name != 'a'"), 2);
        assert_eq!(count("resources | where name !~ 'C'"), 2);
        assert_eq!(count("resources | where name in ('a', 'c')"), 1);
        assert_eq!(count("resources | where name in~ ('a', 'c')"), 2);
        assert_eq!(count("resources | where name !in~ ('a', 'c')"), 1);
        assert_eq!(count("resources | where name !in ('a')"), 2);
        assert_eq!(count("resources | where id contains '/S/'"), 3);
        assert_eq!(count("resources | where id !contains 'a'"), 2);
        assert_eq!(count("resources | where id startswith '/s/c'"), 1);
        assert_eq!(count("resources | where type has 'x'"), 3);
        assert_eq!(count("resources | where type has 'micro'"), 0);
        assert_eq!(count("resources | where type !has 'z'"), 2);
        assert_eq!(
            count(
                "resources | where not(name == 'a') and (type == 'microsoft.x/y' or name == 'C')"
            ),
            2
        );
        assert_eq!(count("resources | where isnotempty(properties.a)"), 2);
        assert_eq!(count("resources | where isempty(properties.a.b)"), 1);
        assert_eq!(count("resources | where isempty(kind)"), 3);
        assert_eq!(count("resources | where properties.n == 2"), 1);
        assert_eq!(count("resources | where properties.n == 2.0"), 1);
        assert_eq!(count(r#"resources | where name == "a""#), 1);
        assert_eq!(count(r"resources | where name == @'a'"), 1);
    }

    #[test]
    fn nulls_are_neither_equal_nor_unequal() {
        let count = |q: &str| run(q, &sample()).len();
        assert_eq!(count("resources | where properties.a.b == 'one'"), 1);
        assert_eq!(count("resources | where properties.a.b != 'one'"), 1);
        assert_eq!(count("resources | where not(properties.a.b == 'one')"), 1);
        assert_eq!(
            count("resources | where properties.a.b != 'one' or isnull(properties.a.b)"),
            2
        );
        assert_eq!(
            count("resources | where tostring(properties.a.b) != 'one'"),
            2
        );
    }

    #[test]
    fn extend_summarize_and_bag_pack() {
        let out = run(
            "resources | extend t = tolower(tostring(type)) | summarize items = make_list(bag_pack('id', id, 'n', properties.n)), n = count() by t | order by t asc",
            &sample(),
        );
        assert_eq!(
            out,
            vec![
                json!({"t": "microsoft.x/y", "items": [{"id": "/s/b", "n": 2}, {"id": "/s/a", "n": 1}], "n": 2}),
                json!({"t": "microsoft.x/z", "items": [{"id": "/s/C", "n": null}], "n": 1})
            ]
        );
        let out = run(
            "resources | summarize count() by tostring(properties.a.b) | order by properties_a_b asc",
            &sample(),
        );
        assert_eq!(out[0], json!({"properties_a_b": "", "count": 1}));
        assert_eq!(
            run("resources | summarize make_list(properties.n)", &sample()),
            vec![json!({"list_properties_n": [2, 1]})]
        );
        assert_eq!(
            run(
                "resources | where name == 'none' | summarize count()",
                &sample()
            ),
            vec![json!({"count": 0})]
        );
        // extend replaces a column of the same name in place.
        let out = run(
            "resources | extend name = toupper(name) | project name | order by name asc",
            &sample(),
        );
        assert_eq!(out[0], json!({"name": "A"}));
        let out = run(
            "resources | project id | extend id2 = id, id = tolower(id) | order by id asc",
            &sample(),
        );
        assert_eq!(out[0], json!({"id": "/s/a", "id2": "/s/a"}));
        assert_eq!(out[2], json!({"id": "/s/c", "id2": "/s/C"}));
    }

    #[test]
    fn a_query_may_start_with_an_operator() {
        let q = parse("where name == 'a' | project id").expect("parses");
        assert_eq!(q.table, Table::Resources);
        assert_eq!(q.columns, ["id"]);
        let q = parse("SecurityResources").expect("parses");
        assert_eq!(q.table, Table::SecurityResources);
        assert_eq!(q.columns.len(), 16);
        assert!(parse("resources | limit 5").expect("parses").limited);
    }

    #[test]
    fn everything_else_is_refused_by_name() {
        let cases = [
            (
                "resources | join (resources) on id",
                "UnsupportedConstruct",
                "'join'",
            ),
            (
                "resources | mv-expand properties",
                "UnsupportedConstruct",
                "'mv-expand'",
            ),
            (
                "resources | project-away id",
                "UnsupportedConstruct",
                "'project-away'",
            ),
            (
                "resources | where strlen(name) == 1",
                "UnsupportedConstruct",
                "'strlen'",
            ),
            (
                "resources | where name endswith 'a'",
                "UnsupportedConstruct",
                "'endswith'",
            ),
            (
                "resources | where properties.n > 1",
                "UnsupportedConstruct",
                "'>'",
            ),
            (
                "resources | summarize max(name)",
                "UnsupportedConstruct",
                "'max'",
            ),
            (
                "resources | where Name == 'a'",
                "FailedToResolveColumn",
                "did you mean 'name'",
            ),
            (
                "resources | project id | where name == 'a'",
                "FailedToResolveColumn",
                "'name'",
            ),
            ("resources | where name", "NotABooleanPredicate", "where"),
            (
                "resources | where name == 'a' and id",
                "NotABooleanPredicate",
                "and",
            ),
            (
                "resources | where name == 'a",
                "ParserFailure",
                "unterminated",
            ),
            (
                "resources | where (name == 'a'",
                "ParserFailure",
                "expected ')'",
            ),
            ("resources | project id, id", "DuplicateColumn", "'id'"),
            (
                "resources | where name wibble 'a'",
                "ParserFailure",
                "'wibble'",
            ),
            ("computeresources", "UnknownTable", "'computeresources'"),
            ("let x = 1; resources", "UnsupportedConstruct", "'let'"),
            ("", "ParserFailure", "empty"),
            (
                "resources | where name == 'a' | ",
                "ParserFailure",
                "end of the query",
            ),
            (
                "resources | extend tolower(name)",
                "UnsupportedConstruct",
                "name = expression",
            ),
            (
                "resources | project tostring(name)",
                "UnsupportedConstruct",
                "name = expression",
            ),
            (
                "resources | summarize make_list(bag_pack('a', name))",
                "UnsupportedConstruct",
                "name it",
            ),
            (
                "resources | where bag_pack('a') == 1",
                "ParserFailure",
                "pairs",
            ),
            ("resources | where name == 'a' # 1", "ParserFailure", "'#'"),
            ("resources | limit -1", "ParserFailure", "non-negative"),
        ];
        for (query, code, needle) in cases {
            let error = refused(query);
            assert_eq!(error.code, code, "{query}: {error:?}");
            assert!(error.message.contains(needle), "{query}: {error:?}");
        }
    }

    #[test]
    fn hostile_queries_are_refused_not_overflowing() {
        let deep = format!(
            "resources | where {}name == 'a'{}",
            "(".repeat(10_000),
            ")".repeat(10_000)
        );
        assert_eq!(refused(&deep).code, "UnsupportedConstruct");
        let nots = format!(
            "resources | where {}name == 'a'{}",
            "not(".repeat(1_000),
            ")".repeat(1_000)
        );
        assert_eq!(refused(&nots).code, "UnsupportedConstruct");
        let path = format!("resources | project properties{}", ".a".repeat(1_000));
        assert_eq!(refused(&path).code, "UnsupportedConstruct");
        // A long flat chain is fine: it is one level deep.
        let chain = vec!["name == 'a'"; 20_000].join(" or ");
        let q = parse(&format!("resources | where {chain} or name == 'C'")).expect("parses");
        let out = q.run(sample().into_iter().map(row).collect());
        assert_eq!(out.rows.len(), 2);
    }

    #[test]
    fn three_valued_logic() {
        let count = |q: &str| run(q, &sample()).len();
        // properties.a.b is null on the third row: `x == 'one' or x != 'one'` is null there.
        assert_eq!(
            count("resources | where properties.a.b == 'one' or properties.a.b != 'one'"),
            2
        );
        assert_eq!(
            count("resources | where name == 'C' or properties.a.b == 'one'"),
            2
        );
        assert_eq!(
            count("resources | where name == 'C' and properties.a.b != 'x'"),
            0
        );
        assert_eq!(
            count("resources | where not(name == 'C' and properties.a.b != 'x')"),
            2
        );
    }

    #[test]
    fn has_matches_whole_terms() {
        assert!(has_term("microsoft.compute/virtualmachines", "compute"));
        assert!(has_term("a b", "b"));
        assert!(!has_term("microsoft.compute", "comp"));
        assert!(has_term("x-comp", "comp"));
        assert!(has_term("anything", ""));
    }
}
