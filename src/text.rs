//! Untrusted text made printable. Names, messages and IDs come from ARM (or a snapshot file),
//! and whoever can name a subscription or tag a resource chooses them: a carriage return or line
//! feed would start a new line of our output, an escape sequence would drive the terminal, a bidi
//! override would make a name read backwards, and the Azure Pipelines agent acts on a logging
//! command it finds in any line a job prints — `##vso[` anywhere in the line, `##[` at its
//! start. Every human-readable output (the table, Markdown, log lines, the progress display, the
//! issue lines) passes ARM text through [`printable`]; the machine formats escape the same
//! characters in their own syntax instead (see each renderer), so their data stays exact.

use std::borrow::Cow;

/// Whether a character is shown as an escape rather than printed: the C0 controls (CR, LF, TAB,
/// ESC, NUL, …), DEL and the C1 controls (U+0080–U+009F, which some terminals obey as escape
/// sequence introducers), the bidi embeddings, overrides and isolates (U+202A–U+202E,
/// U+2066–U+2069), and the Unicode line and paragraph separators.
pub fn is_unprintable(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// Appends the visible escape of an unprintable character: `\t`, `\n`, `\r`, or `\u{1b}` (the
/// spelling of Rust's `escape_debug`, so a reader can tell what the byte was).
pub fn push_escape(out: &mut String, c: char) {
    match c {
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        c => {
            use std::fmt::Write;
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// Whether `s` starts with something the Azure Pipelines agent takes for a command: `##vso[`
/// (its parser matches it anywhere in a line; compared here in any case, to be safe) or `##[`
/// (a formatting command, at the start of a line).
pub fn starts_command(s: &str) -> bool {
    let b = s.as_bytes();
    b.starts_with(b"##[")
        || (b.len() >= 6
            && b.starts_with(b"##")
            && b[2..5].eq_ignore_ascii_case(b"vso")
            && b[5] == b'[')
}

/// Whether `s` holds an agent command anywhere.
pub fn has_command(s: &str) -> bool {
    s.match_indices('#').any(|(i, _)| starts_command(&s[i..]))
}

/// The escape of the `#` that would open an agent command: `##vso[x]` prints as `\u{23}#vso[x]`,
/// which reads the same and which no agent acts on.
pub const HASH_ESCAPE: &str = "\\u{23}";

/// `s` for a terminal or a log: unprintable characters as visible escapes, and the first `#` of
/// every `##vso[` or `##[` as [`HASH_ESCAPE`]. Everything else is kept, backslashes included
/// (an escape cannot be told from the same characters typed literally; the JSON report has the
/// exact string). Idempotent, and borrowed when there is nothing to change, which is nearly
/// always.
pub fn printable(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unprintable) && !has_command(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    push_printable(&mut out, s);
    Cow::Owned(out)
}

/// Appends [`printable`]`(s)`.
pub fn push_printable(out: &mut String, s: &str) {
    for (i, c) in s.char_indices() {
        if is_unprintable(c) {
            push_escape(out, c);
        } else if c == '#' && starts_command(&s[i..]) {
            out.push_str(HASH_ESCAPE);
        } else {
            out.push(c);
        }
    }
}

/// `s` with only its unprintable characters escaped, for a caller that handles agent commands in
/// its own syntax (a Markdown code span).
pub fn printable_controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unprintable) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if is_unprintable(c) {
            push_escape(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `s` with only its agent commands defused (`##vso[` → `\u{23}#vso[`), for formats that must
/// otherwise keep the data as it is (CSV).
pub fn defuse_commands(s: &str) -> Cow<'_, str> {
    if !has_command(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for (i, c) in s.char_indices() {
        if c == '#' && starts_command(&s[i..]) {
            out.push_str(HASH_ESCAPE);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Whether text that reaches a pipeline log is free of anything the agent would act on: no
/// `##vso[` anywhere, and no line that starts with `##[`. What the tests of every output assert.
pub fn is_pipeline_safe(text: &str) -> bool {
    !text.to_ascii_lowercase().contains("##vso[")
        && text
            .split(['\n', '\r'])
            .all(|line| !line.starts_with("##["))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_become_visible_escapes() {
        assert_eq!(
            printable("a\r\nb\tc\u{1b}[31m\u{0}\u{7f}\u{9b}"),
            "a\\r\\nb\\tc\\u{1b}[31m\\u{0}\\u{7f}\\u{9b}"
        );
        assert_eq!(
            printable("abc\u{202e}fed\u{2066}x\u{2069}"),
            "abc\\u{202e}fed\\u{2066}x\\u{2069}"
        );
        assert_eq!(printable("line\u{2028}sep"), "line\\u{2028}sep");
        // Ordinary text, non-Latin scripts and marks stay as they are, without a copy.
        for plain in [
            "aks-prod-01",
            "Zürich · 東京 · مرحبا",
            "C:\\path",
            "issue #42",
            "#[x]",
        ] {
            assert!(matches!(printable(plain), Cow::Borrowed(_)), "{plain}");
        }
    }

    #[test]
    fn agent_commands_are_defused_anywhere_in_any_case() {
        assert_eq!(
            printable("x ##vso[task.setvariable variable=x]1"),
            "x \\u{23}#vso[task.setvariable variable=x]1"
        );
        assert_eq!(printable("##[error]boom"), "\\u{23}#[error]boom");
        assert_eq!(printable("###VsO[x]"), "#\\u{23}#VsO[x]");
        assert_eq!(
            printable("\r\n##vso[task.complete]"),
            "\\r\\n\\u{23}#vso[task.complete]"
        );
        for s in ["##vso[", "x\n###vso[", "a##vSo[b##[c", "\n##[section]x"] {
            assert!(is_pipeline_safe(&printable(s)), "{s}");
            assert!(is_pipeline_safe(&defuse_commands(s)), "{s}");
            assert!(!is_pipeline_safe(s), "{s}");
        }
        // CSV keeps control characters; only the command is defused.
        assert_eq!(defuse_commands("a\n##[error]"), "a\n\\u{23}#[error]");
    }

    #[test]
    fn printable_is_idempotent() {
        for s in ["\u{1b}##vso[x]", "##[", "a\\u{23}#vso[", "#\n#vso["] {
            let once = printable(s).into_owned();
            assert_eq!(printable(&once), once, "{s:?}");
            assert!(is_pipeline_safe(&once));
            assert!(!once.chars().any(is_unprintable));
        }
    }
}
