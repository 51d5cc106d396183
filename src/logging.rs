//! Log lines on stderr: `tracing` events, one line each. Their messages and fields carry ARM
//! text (subscription names, error messages from ARM), so fields are formatted by
//! [`PrintableFields`], which passes every value through [`crate::text::printable`]: a value
//! cannot end the line early, drive the terminal, or hold a command the Azure Pipelines agent
//! would run. The event's own trailing newline, level and colours are the formatter's, not data.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::Writer;

use crate::text::push_printable;

/// Sets up the global subscriber: the level from `-v`/`-q` (or `LZAUDIT_LOG`), colour only on a
/// terminal and never with NO_COLOR (https://no-color.org), no timestamps or targets.
pub fn init(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("LZAUDIT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("lzaudit={level},warn")));
    let color = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(color)
        .fmt_fields(PrintableFields)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}

/// Formats an event's fields like `tracing-subscriber`'s default (`message name=value …`), with
/// every value made printable.
#[derive(Debug, Clone, Copy, Default)]
pub struct PrintableFields;

impl<'writer> FormatFields<'writer> for PrintableFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let italic = writer.has_ansi_escapes();
        let mut visitor = Visitor {
            writer: &mut writer,
            italic,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct Visitor<'a, 'writer> {
    writer: &'a mut Writer<'writer>,
    italic: bool,
    first: bool,
    result: fmt::Result,
}

impl Visitor<'_, '_> {
    fn write(&mut self, name: &str, value: fmt::Arguments) {
        if self.result.is_err() || name.starts_with("log.") {
            return;
        }
        let mut text = String::new();
        if !self.first {
            text.push(' ');
        }
        self.first = false;
        if name != "message" {
            let name = name.strip_prefix("r#").unwrap_or(name);
            if self.italic {
                let italic = anstyle::Style::new().italic();
                let _ = write!(text, "{italic}{name}{italic:#}=");
            } else {
                let _ = write!(text, "{name}=");
            }
        }
        push_printable(&mut text, &value.to_string());
        self.result = self.writer.write_str(&text);
    }
}

impl Visit for Visitor<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.write(field.name(), format_args!("{value}"));
        } else {
            self.write(field.name(), format_args!("{value:?}"));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            let _ = write!(text, ": {cause}");
            source = cause.source();
        }
        self.write(field.name(), format_args!("{text}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.write(field.name(), format_args!("{value:?}"));
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    const HOSTILE: &str =
        "sub\r\n##vso[task.setvariable variable=x]1 \u{1b}[31mred\u{202e}\n##[error]x";

    fn log(ansi: bool, emit: impl FnOnce()) -> String {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(ansi)
            .fmt_fields(PrintableFields)
            .with_writer(captured.clone())
            .with_target(false)
            .without_time()
            .finish();
        tracing::subscriber::with_default(subscriber, emit);
        String::from_utf8(captured.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn a_hostile_message_or_field_stays_on_one_printable_line() {
        for ansi in [false, true] {
            let text = log(ansi, || {
                tracing::warn!(name = HOSTILE, other = ?HOSTILE, "collected subscription {HOSTILE}");
                let err = io::Error::other(HOSTILE.to_string());
                tracing::warn!(error = &err as &(dyn std::error::Error + 'static), "failed");
            });
            assert_eq!(
                text.matches('\n').count(),
                2,
                "two events, two lines: {text:?}"
            );
            assert!(text.ends_with('\n'));
            assert!(crate::text::is_pipeline_safe(&text), "{text}");
            assert!(
                !text.contains('\r') && !text.contains('\u{202e}'),
                "{text:?}"
            );
            let first = text.lines().next().unwrap();
            assert!(
                first.contains("collected subscription sub\\r\\n\\u{23}#vso[task.setvariable"),
                "{first}"
            );
            if ansi {
                // Our own colours remain (the level, italic field names); the data's are escaped.
                assert!(first.contains('\u{1b}'), "{first:?}");
                assert!(!text.contains("\u{1b}[31m"), "{text:?}");
            } else {
                assert!(!text.contains('\u{1b}'), "{text:?}");
                assert!(first.contains(" name=\"sub\\r\\n\\u{23}#vso["), "{first}");
            }
        }
    }

    #[test]
    fn ordinary_fields_read_as_before() {
        let text = log(false, || {
            tracing::info!(method = %"env", retry = 2, "signed in with --auth {}", "env");
        });
        assert_eq!(text, " INFO signed in with --auth env method=env retry=2\n");
    }
}
