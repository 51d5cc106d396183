//! CSV: one row per finding, for spreadsheets and ad-hoc analysis. RFC 4180 (CRLF line ends,
//! fields quoted when they hold a comma, quote or line break), written by the `csv` crate.
//!
//! Columns: check, title, severity, status, original_status (set when waived), subscription,
//! subscription_name, resource, message, evidence (compact JSON), remediation. The JSON report is
//! the exact machine contract; CSV is meant to be opened by people, so a cell that a spreadsheet
//! would run as a formula (it starts with `=`, `+`, `-`, `@`, tab or carriage return — ARM data
//! is untrusted) is prefixed with `'`, as OWASP recommends against CSV injection.
//!
//! A pipeline can also print the file, and a quoted field can hold line breaks, so a field could
//! put `##[error]` at the start of a line or `##vso[task.setvariable …]` anywhere in one, which
//! the Azure Pipelines agent would obey. CSV has no escape syntax to hide a character behind, so
//! the first `#` of such a command is written `\u{23}` — the spelling the terminal table uses —
//! and nothing else changes: the text reads the same, control characters and line breaks stay
//! (quoted, per RFC 4180), and the JSON report keeps the exact string.

use super::Report;

pub const HEADER: [&str; 11] = [
    "check",
    "title",
    "severity",
    "status",
    "original_status",
    "subscription",
    "subscription_name",
    "resource",
    "message",
    "evidence",
    "remediation",
];

/// Neutralises a cell a spreadsheet would evaluate, and agent commands.
fn cell(text: &str) -> String {
    let text = crate::text::defuse_commands(text);
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.into_owned()
    }
}

/// Renders the report as CSV.
pub fn render(report: &Report) -> String {
    super::in_memory(|out| render_to(report, out))
}

/// Writes the report as CSV to `out` as it goes (at a thousand subscriptions it is 200 MB,
/// not to be held in memory whole).
pub fn render_to(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut writer = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(out);
    let write = |writer: &mut ::csv::Writer<&mut dyn std::io::Write>, record: &[String]| {
        writer.write_record(record).map_err(std::io::Error::from)
    };
    write(&mut writer, &HEADER.map(String::from))?;
    for f in &report.findings {
        let original = f
            .waiver
            .as_ref()
            .map(|w| w.original_status.as_str())
            .unwrap_or_default();
        let evidence = serde_json::to_string(&f.evidence).expect("evidence serialises");
        let record = [
            f.check.as_str(),
            &f.title,
            f.severity.as_str(),
            f.status.as_str(),
            original,
            &f.subscription,
            &f.subscription_name,
            &f.resource,
            &f.message,
            &evidence,
            &f.remediation,
        ]
        .map(cell);
        write(&mut writer, &record)?;
    }
    writer.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    fn rows(text: &str) -> Vec<::csv::StringRecord> {
        ::csv::Reader::from_reader(text.as_bytes())
            .records()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn one_row_per_finding_and_fields_round_trip() {
        let report = sample::report();
        let text = render(&report);
        assert!(text.starts_with("check,title,severity,status,original_status,"));
        assert!(text.ends_with("\r\n"));
        let rows = rows(&text);
        assert_eq!(rows.len(), report.findings.len());
        for (row, f) in rows.iter().zip(&report.findings) {
            assert_eq!(row.len(), HEADER.len());
            assert_eq!(&row[0], f.check);
            assert_eq!(&row[7], f.resource);
            assert_eq!(&row[8], f.message, "commas, quotes and newlines survive");
            let evidence: Vec<crate::eval::Evidence> = serde_json::from_str(&row[9]).unwrap();
            assert_eq!(evidence, f.evidence);
        }
        assert_eq!(&rows[2][3], "waived");
        assert_eq!(&rows[2][4], "fail");
        assert_eq!(&rows[0][4], "");
    }

    #[test]
    fn cells_a_spreadsheet_would_evaluate_are_neutralised() {
        let mut report = sample::report();
        report.findings[0].message = "=HYPERLINK(\"https://evil\")".into();
        report.findings[1].message = "@SUM(1)".into();
        let rows = rows(&render(&report));
        assert_eq!(&rows[0][8], "'=HYPERLINK(\"https://evil\")");
        assert_eq!(&rows[1][8], "'@SUM(1)");
        assert_eq!(&rows[2][8], "local accounts are enabled");
    }
}
