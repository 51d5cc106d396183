//! The JSON report (`lzaudit.report/v1`): the contract other tools read.

use super::Report;

pub fn render(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).expect("report serialises");
    text.push('\n');
    text
}
