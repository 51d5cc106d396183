//! The JSON report (`lzaudit.report/v1`): the contract other tools read.
//!
//! Also the JSON writer every JSON output shares (this report, SARIF, the diff, the data inside
//! the HTML page). A JSON parser gives back the exact strings, but the text is printed too (a
//! pipeline step `cat`s it, or it goes to stdout in a job), so characters that mean something to
//! whatever displays it are written as `\uXXXX` escapes: every `#` (no agent command such as
//! `##vso[` can appear in the text), DEL and the C1 controls, bidi overrides and isolates, and
//! the Unicode line separators (serde_json already escapes the C0 controls, CR and LF included).
//! Inside HTML, `<`, `>` and `&` too, so the data cannot close its `<script>` element.

use std::io;

use serde::Serialize;
use serde_json::ser::{Formatter, PrettyFormatter};

use super::Report;

pub fn render(report: &Report) -> String {
    to_string_pretty(report)
}

/// The report written straight into `out`: a tenant of a thousand subscriptions makes a report
/// of hundreds of megabytes, which need not be held in memory whole on its way to a file.
pub fn render_to(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    write_pretty_to(report, out)
}

/// `value` as [`to_string_pretty`] writes it, into `out`.
pub fn write_pretty_to<T: Serialize + ?Sized>(
    value: &T,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(
        &mut *out,
        Escaping {
            inner: PrettyFormatter::new(),
            html: false,
        },
    );
    value.serialize(&mut serializer).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

/// `value` as pretty JSON (two-space indent, a final newline), escaped for printing.
pub fn to_string_pretty<T: Serialize + ?Sized>(value: &T) -> String {
    let mut out = write(
        value,
        Escaping {
            inner: PrettyFormatter::new(),
            html: false,
        },
    );
    out.push('\n');
    out
}

/// [`to_html_data`], written into `out`.
pub fn write_html_data_to<T: Serialize + ?Sized>(
    value: &T,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(
        out,
        Escaping {
            inner: serde_json::ser::CompactFormatter,
            html: true,
        },
    );
    value.serialize(&mut serializer).map_err(io::Error::from)
}

/// `value` as compact JSON for a `<script type="application/json">` element: escaped for
/// printing, and `<`, `>`, `&` as `\u003c`, `\u003e`, `\u0026`.
pub fn to_html_data<T: Serialize + ?Sized>(value: &T) -> String {
    write(
        value,
        Escaping {
            inner: serde_json::ser::CompactFormatter,
            html: true,
        },
    )
}

fn write<T: Serialize + ?Sized, F: Formatter>(value: &T, formatter: Escaping<F>) -> String {
    let mut bytes = Vec::with_capacity(4096);
    let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, formatter);
    value
        .serialize(&mut serializer)
        .expect("serialising to memory cannot fail");
    String::from_utf8(bytes).expect("serde_json writes UTF-8")
}

/// Whether a character inside a JSON string is written as `\uXXXX`.
fn escaped(c: char, html: bool) -> bool {
    matches!(c, '#' | '\u{7f}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
        || (html && matches!(c, '<' | '>' | '&'))
}

/// A formatter that lays out like `inner` and escapes string contents as the module describes.
struct Escaping<F> {
    inner: F,
    html: bool,
}

impl<F: Formatter> Formatter for Escaping<F> {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // Fast path: none of the bytes that start an escaped character (`#`, DEL, the lead byte
        // of U+0080–U+009F and of the U+20xx punctuation block, and markup for HTML).
        let html = self.html;
        if !fragment.bytes().any(|b| {
            matches!(b, b'#' | 0x7f | 0xc2 | 0xe2) || (html && matches!(b, b'<' | b'>' | b'&'))
        }) {
            return writer.write_all(fragment.as_bytes());
        }
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if escaped(c, self.html) {
                writer.write_all(&fragment.as_bytes()[start..i])?;
                // Every escaped character is in the Basic Multilingual Plane: one `\uXXXX`.
                write!(writer, "\\u{:04x}", c as u32)?;
                start = i + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.inner.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.inner.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_object_value(w)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn strings_round_trip_and_print_safely() {
        let hostile = "\r\n##vso[task.setvariable variable=x]1 \u{1b}[31m ##[error] \u{9b}\u{202e} </script><!--";
        let value = json!({ "name": hostile, hostile: [hostile, 1, null] });
        let pretty = to_string_pretty(&value);
        let html = to_html_data(&value);
        for text in [&pretty, &html] {
            assert_eq!(serde_json::from_str::<Value>(text).unwrap(), value);
            assert!(crate::text::is_pipeline_safe(text), "{text}");
            assert!(!text.contains('#'), "{text}");
            assert!(
                !text.contains('\u{1b}') && !text.contains('\u{9b}') && !text.contains('\u{202e}')
            );
        }
        // Pretty keeps serde_json's layout; only string contents change.
        assert!(
            pretty.starts_with("{\n  \"name\": \"\\r\\n\\u0023\\u0023vso[task"),
            "{pretty}"
        );
        assert!(pretty.ends_with("}\n"));
        assert!(!html.contains('<') && !html.contains('\n'), "{html}");
        assert!(
            pretty.contains("</script>"),
            "the report itself keeps markup readable"
        );
    }
}
