//! The report formats on the example tenant (`examples/contoso/`), the way a pipeline produces
//! them: `lzaudit audit --snapshot … --format X` and `--report X=PATH`. Each format is pinned
//! with insta and proven readable by a consumer of that format: SARIF validates against the
//! OASIS schema, JUnit parses back, CSV parses back, Markdown and HTML keep ARM data from
//! opening markup, and headless Chromium loads the HTML without script errors.
//!
//! Regenerate the snapshots after a change to the example's findings with
//! `INSTA_UPDATE=always cargo test --test it reports::` (then review the diff).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use lzaudit::text::{defuse_commands, is_pipeline_safe, is_unprintable};

use crate::support::bin::{
    HOSTILE, command, hostile_snapshot, lzaudit, run, small_snapshot, write,
};
use crate::support::fixture::repo;

const SNAPSHOT: &str = "examples/contoso/snapshot.json";
const FORMATS: [&str; 7] = ["table", "json", "sarif", "junit", "markdown", "html", "csv"];

/// The example tenant's report in one format, with the version number made stable.
fn example(format: &str) -> String {
    let out = lzaudit(&["audit", "--snapshot", SNAPSHOT, "--format", format]).code(1);
    out.stdout.replace(env!("CARGO_PKG_VERSION"), "[version]")
}

fn example_json() -> Value {
    serde_json::from_str(&example("json")).unwrap()
}

fn sarif_validator() -> (boon::Schemas, boon::SchemaIndex) {
    let path = repo().join("tests/fixtures/schemas/sarif-2.1.0.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    let url = "file:///lzaudit/tests/fixtures/schemas/sarif-2.1.0.json";
    compiler.add_resource(url, schema).unwrap();
    let index = compiler.compile(url, &mut schemas).unwrap();
    (schemas, index)
}

fn assert_valid_sarif(sarif: &Value) {
    let (schemas, index) = sarif_validator();
    if let Err(e) = schemas.validate(sarif, index) {
        panic!("the SARIF log does not match the OASIS schema:\n{e:#}");
    }
}

#[test]
fn sarif_of_the_example_tenant() {
    let sarif: Value = serde_json::from_str(&example("sarif")).unwrap();
    insta::assert_json_snapshot!("contoso_report_sarif", sarif);
}

/// The example tenant denies three reads. Each finding they leave `unknown` names its read
/// briefly (API, scope, `403 AuthorizationFailed`); ARM's own text, which names the client and
/// the action, is in the coverage section only, once per read, in the JSON and in the table.
#[test]
fn arm_error_text_is_in_the_coverage_section_once_and_in_no_finding() {
    let report = example_json();
    let messages: Vec<String> = report["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|gap| gap["message"].as_str().map(str::to_string))
        .collect();
    assert!(!messages.is_empty(), "the example has no failed read");
    let findings = report["findings"].as_array().unwrap();
    let mut naming = 0;
    for finding in findings {
        let text = finding.to_string();
        for message in &messages {
            // The first sentence is enough to recognise ARM's text, wrapped or escaped.
            let head = &message[..message.find(" over scope").unwrap_or(message.len())];
            assert!(
                !text.contains(head),
                "{} {} repeats ARM's message: {}",
                finding["check"],
                finding["resource"],
                finding["message"]
            );
        }
        let message = finding["message"].as_str().unwrap();
        if message.contains("denied (HTTP 403 AuthorizationFailed)") {
            naming += 1;
        }
    }
    assert!(naming > 0, "no finding names a denied read");
    let table = example("table");
    let flat: String = table.split_whitespace().collect::<Vec<_>>().join(" ");
    for message in &messages {
        assert_eq!(
            flat.matches(message.as_str()).count(),
            1,
            "the table should carry `{message}` once, in its coverage section"
        );
    }
}

/// A change that makes a valid SARIF log invalid.
type Breakage = fn(&mut Value);

#[test]
fn the_example_sarif_validates_against_the_oasis_schema_and_a_broken_one_does_not() {
    let sarif: Value = serde_json::from_str(&example("sarif")).unwrap();
    assert_valid_sarif(&sarif);

    // The validator really validates: each of these breaks one rule of the schema.
    let (schemas, index) = sarif_validator();
    let breakages: [(&str, Breakage); 4] = [
        ("level outside the enum", |s| {
            s["runs"][0]["results"][0]["level"] = json!("critical")
        }),
        ("no version", |s| {
            s.as_object_mut().unwrap().remove("version");
        }),
        ("negative ruleIndex", |s| {
            s["runs"][0]["results"][0]["ruleIndex"] = json!(-2)
        }),
        ("helpUri that is not a URI", |s| {
            s["runs"][0]["tool"]["driver"]["rules"][0]["helpUri"] = json!("not a uri")
        }),
    ];
    for (what, break_it) in breakages {
        let mut broken = sarif.clone();
        break_it(&mut broken);
        assert!(
            schemas.validate(&broken, index).is_err(),
            "a SARIF log with {what} passed validation"
        );
    }
}

#[test]
fn the_example_sarif_has_a_result_per_warn_or_fail_and_a_rule_per_check() {
    let report = example_json();
    let sarif: Value = serde_json::from_str(&example("sarif")).unwrap();
    let run = &sarif["runs"][0];
    let findings = report["findings"].as_array().unwrap();
    let failing = findings
        .iter()
        .filter(|f| f["status"] == "fail" || f["waiver"]["original_status"] == "fail")
        .count();
    let warning = findings
        .iter()
        .filter(|f| f["status"] == "warn" || f["waiver"]["original_status"] == "warn")
        .count();
    let results = run["results"].as_array().unwrap();
    let level = |l: &str| results.iter().filter(|r| r["level"] == l).count();
    assert_eq!((level("error"), level("warning")), (failing, warning));
    let checks: BTreeSet<&str> = findings
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(rules, checks.into_iter().collect::<Vec<_>>());
    for r in results {
        let location = &r["locations"][0]["logicalLocations"][0];
        assert_eq!(location["kind"], "resource");
        assert!(
            location["fullyQualifiedName"]
                .as_str()
                .unwrap()
                .starts_with("/subscriptions/")
        );
    }
    // The example denies reads on purpose: the run says it was incomplete, and why.
    let invocation = &run["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let gaps = invocation["toolExecutionNotifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["descriptor"]["id"] == "coverage-gap")
        .count();
    assert_eq!(gaps, report["coverage"].as_array().unwrap().len());
}

#[test]
fn junit_of_the_example_tenant_parses_back_with_the_right_counts() {
    let xml = example("junit");
    insta::assert_snapshot!("contoso_report_junit", xml);
    let report = example_json();
    let parsed = quick_junit::Report::deserialize_from_str(&xml)
        .unwrap_or_else(|e| panic!("the JUnit XML does not parse: {e}"));
    let s = &report["summary"];
    let n = |k: &str| s[k].as_u64().unwrap() as usize;
    let gaps = report["coverage"].as_array().unwrap().len();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(parsed.tests, findings.len() + gaps);
    assert_eq!(parsed.failures, n("fail"));
    assert_eq!(parsed.errors, n("unknown") + gaps);
    assert_eq!(parsed.skipped, n("not_applicable") + n("waived"));
    let mut cases: Vec<(&str, &str)> = parsed
        .test_suites
        .iter()
        .flat_map(|s| &s.test_cases)
        .filter(|c| {
            !c.classname
                .as_ref()
                .unwrap()
                .as_str()
                .starts_with("coverage.")
        })
        .map(|c| (c.classname.as_ref().unwrap().as_str(), c.name.as_str()))
        .collect();
    let mut expected: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap(),
                f["resource"].as_str().unwrap(),
            )
        })
        .collect();
    cases.sort();
    expected.sort();
    assert_eq!(cases, expected);
}

#[test]
fn markdown_of_the_example_tenant_has_a_checklist_line_per_check_per_subscription() {
    let md = example("markdown");
    insta::assert_snapshot!("contoso_report_markdown", md);
    let report = example_json();
    let mut pairs: std::collections::BTreeMap<(String, String), bool> = Default::default();
    for f in report["findings"].as_array().unwrap() {
        let settled = ["pass", "not_applicable", "waived"].contains(&f["status"].as_str().unwrap());
        let key = (
            f["subscription"].as_str().unwrap().to_string(),
            f["check"].as_str().unwrap().to_string(),
        );
        *pairs.entry(key).or_insert(true) &= settled;
    }
    let ticked = md.lines().filter(|l| l.starts_with("- [x] ")).count();
    let open = md.lines().filter(|l| l.starts_with("- [ ] ")).count();
    assert_eq!(ticked, pairs.values().filter(|done| **done).count());
    assert_eq!(open, pairs.values().filter(|done| !**done).count());
    // CommonMark + GFM tables only: no HTML tags of its own.
    for tag in ["<br", "<div", "<details", "<table", "<p>", "<span"] {
        assert!(!md.contains(tag), "raw HTML {tag} in the Markdown");
    }
}

/// The page's data block (`<script type="application/json" id="lz-data">`), parsed.
fn page_data(html: &str) -> Value {
    let open = r#"<script type="application/json" id="lz-data">"#;
    let start = html.find(open).expect("a data block") + open.len();
    let end = start + html[start..].find("</script>").expect("closed");
    serde_json::from_str(&html[start..end]).expect("the data block is JSON")
}

#[test]
fn html_of_the_example_tenant_is_self_contained_and_charts_every_subscription() {
    let html = example("html");
    insta::assert_snapshot!("contoso_report_html", html);
    for external in [
        "<link", " src=\"", "@import", "url(", "<iframe", "<object", "<embed",
    ] {
        assert!(
            !html.contains(external),
            "{external} in a self-contained page"
        );
    }
    assert_eq!(
        html.matches("<script>").count(),
        1,
        "one inline script only"
    );
    assert_eq!(html.matches("<script").count(), 2, "and its data");
    // The data the script draws the grid and the findings from: every subscription, every check,
    // every finding.
    let report = example_json();
    let data = page_data(&html);
    let subs: Vec<&str> = data["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s[0].as_str().unwrap())
        .collect();
    for sub in report["scope"]["subscriptions"].as_array().unwrap() {
        assert!(subs.contains(&sub["id"].as_str().unwrap()), "{sub}");
    }
    let checks: BTreeSet<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    let in_data: BTreeSet<&str> = data["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c[0].as_str().unwrap())
        .collect();
    assert_eq!(in_data, checks);
    assert_eq!(
        data["findings"].as_array().unwrap().len(),
        report["findings"].as_array().unwrap().len()
    );
}

#[test]
fn csv_of_the_example_tenant_has_one_row_per_finding() {
    let text = example("csv");
    insta::assert_snapshot!("contoso_report_csv", text.replace("\r\n", "\n"));
    let report = example_json();
    let findings = report["findings"].as_array().unwrap();
    // RFC 4180: records end in CRLF (a line break inside a quoted field stays a bare LF).
    assert_eq!(text.matches("\r\n").count(), findings.len() + 1);
    assert!(text.ends_with("\r\n"));
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
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
            "remediation"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), findings.len());
    for (row, f) in rows.iter().zip(findings) {
        assert_eq!(&row[0], f["check"].as_str().unwrap());
        assert_eq!(&row[3], f["status"].as_str().unwrap());
        assert_eq!(&row[7], f["resource"].as_str().unwrap());
        assert_eq!(&row[8], f["message"].as_str().unwrap());
        let evidence: Value = serde_json::from_str(&row[9]).unwrap();
        assert_eq!(evidence, f["evidence"]);
    }
}

#[test]
fn one_run_writes_every_format_with_report_flags_and_keeps_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["audit", "--snapshot", SNAPSHOT, "--format", "table"];
    let paths: Vec<(String, PathBuf)> = FORMATS
        .iter()
        .map(|f| (f.to_string(), dir.path().join(format!("report.{f}"))))
        .collect();
    let flags: Vec<String> = paths
        .iter()
        .map(|(f, p)| format!("{f}={}", p.display()))
        .collect();
    for flag in &flags {
        args.extend(["--report", flag.as_str()]);
    }
    let out = lzaudit(&args).code(1);
    assert!(
        out.stdout.contains("Summary:"),
        "the table still goes to stdout"
    );
    for (format, path) in &paths {
        let written = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("--report {format} wrote nothing: {e}"))
            .replace(env!("CARGO_PKG_VERSION"), "[version]");
        assert_eq!(
            written,
            example(format),
            "--report {format}=FILE differs from --format {format}"
        );
    }
    // Only the reports: no temporary file is left behind.
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        FORMATS.len()
    );
}

#[test]
fn report_flags_are_checked_before_auditing() {
    let dir = tempfile::tempdir().unwrap();
    let same = dir.path().join("same.out");
    let same = same.to_str().unwrap();
    let cases: [(Vec<String>, &str); 4] = [
        (
            vec!["--report".into(), "pdf=x.pdf".into()],
            "unknown format `pdf`",
        ),
        (
            vec!["--report".into(), "sarif".into()],
            "expected FORMAT=PATH",
        ),
        (
            vec![
                "--report".into(),
                format!("sarif={same}"),
                "--report".into(),
                format!("junit={same}"),
            ],
            "named twice",
        ),
        (
            vec![
                "--report".into(),
                format!("md={same}"),
                "--output".into(),
                same.into(),
            ],
            "named twice",
        ),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["audit", "--snapshot", SNAPSHOT];
        args.extend(extra.iter().map(String::as_str));
        let out = lzaudit(&args).code(2);
        assert!(out.stderr.contains(expected), "{extra:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{extra:?} audited anyway");
    }
    assert!(!Path::new(same).exists());
    let missing = dir.path().join("no/such/dir/report.html");
    let out = lzaudit(&[
        "audit",
        "--snapshot",
        SNAPSHOT,
        "--report",
        &format!("html={}", missing.display()),
    ])
    .code(2);
    assert!(out.stderr.contains("report.html"), "{}", out.stderr);
}

/// A custom check whose message carries markup, over a cluster whose tag carries a script:
/// what ARM (or a check author) could put in front of the report's reader.
#[test]
fn markup_from_arm_and_check_files_is_inert_in_every_format() {
    let checks = tempfile::tempdir().unwrap();
    write(
        checks.path(),
        "CUS-900.toml",
        r#"id = "CUS-900"
slug = "owner-tag"
title = "Clusters carry an owner tag <b>bold</b>"
severity = "high"
area = "cluster"
target = "cluster"
caf = "ownership"
data = ["Microsoft.ContainerService/managedClusters"]
references = ["javascript:alert(1)"]
[docs]
what = "Reads the owner tag <img src=x onerror=alert(1)>."
why = "Someone must own it."
fix = "az aks update -g <rg> -n <aks> --tags owner=<team>"
[[reads]]
path = "tags.owner"
default = ""
expected = "a team </td></tr> name"
[logic]
kind = "cel"
[[logic.rules]]
when = "resource.tags.owner != ''"
status = "fail"
message = "<script>alert(\"msg\")</script> | the owner tag is set"
[logic.otherwise]
status = "pass"
message = "no owner tag"
"#,
    );
    let work = tempfile::tempdir().unwrap();
    let snap = small_snapshot(
        work.path(),
        json!({"tags": {"owner": "<script>alert('tag')</script>"}}),
    );
    let profile = write(work.path(), "p.toml", "[checks]\nselect = [\"CUS-900\"]\n");
    let path = |f: &str| work.path().join(format!("out.{f}"));
    let mut args: Vec<String> = [
        "audit",
        "--snapshot",
        snap.to_str().unwrap(),
        "--checks",
        checks.path().to_str().unwrap(),
        "--profile",
        profile.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec();
    for f in ["html", "markdown", "junit", "sarif", "csv"] {
        args.push("--report".into());
        args.push(format!("{f}={}", path(f).display()));
    }
    lzaudit(&args.iter().map(String::as_str).collect::<Vec<_>>()).code(1);
    let read = |f: &str| std::fs::read_to_string(path(f)).unwrap();

    let html = read("html");
    assert_eq!(
        html.matches("<script>").count(),
        1,
        "only the report's own script"
    );
    assert_eq!(html.matches("<script").count(), 2, "and its inert data");
    // The markup is data: exact in the page's data block, which cannot be closed by it.
    let data = page_data(&html);
    let message = "<script>alert(\"msg\")</script> | the owner tag is set";
    assert!(
        data["messages"]
            .as_array()
            .unwrap()
            .contains(&json!(message))
    );
    assert!(
        data["evidence"]
            .to_string()
            .contains("<script>alert('tag')</script>")
    );
    for raw in [
        "<script>alert",
        "<b>bold",
        "<img src=x",
        "</td></tr> name",
        "href=\"javascript",
    ] {
        assert!(!html.contains(raw), "{raw} reached the HTML unescaped");
    }

    let md = read("markdown");
    for (at, _) in md.match_indices("<script>alert(\"msg\")") {
        assert_eq!(
            &md[at - 1..at],
            "\\",
            "an unescaped <script> in the Markdown"
        );
    }
    assert!(md.contains("\\<script\\>alert(\"msg\")\\</script\\> \\| the owner tag"));
    assert!(!md.contains("<b>bold"));

    let junit = quick_junit::Report::deserialize_from_str(&read("junit")).unwrap();
    assert_eq!(junit.failures, 1);

    let sarif: Value = serde_json::from_str(&read("sarif")).unwrap();
    assert_valid_sarif(&sarif);
    let rule = &sarif["runs"][0]["tool"]["driver"]["rules"][0];
    assert_ne!(rule["helpUri"], "javascript:alert(1)");

    let csv_text = read("csv");
    let row = csv::Reader::from_reader(csv_text.as_bytes())
        .records()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(
        &row[8],
        "<script>alert(\"msg\")</script> | the owner tag is set"
    );
}

/// Asserts that no line of `text` holds something the Azure Pipelines agent would act on: no
/// `##vso[` anywhere, no line starting with `##[`. With `ours`, the logging commands lzaudit
/// itself writes (issues and the summary upload) are allowed, once per line, at its start. Lines
/// end at LF or CR, as the agent reads them.
fn assert_no_injected_command(label: &str, text: &str, ours: bool) {
    for line in text.split(['\n', '\r']) {
        let rest = match line.strip_prefix("##vso[") {
            Some(_)
                if ours
                    && (line.starts_with("##vso[task.logissue type=")
                        || line.starts_with("##vso[task.uploadsummary]")) =>
            {
                &line[line.find(']').unwrap() + 1..]
            }
            _ => line,
        };
        assert!(
            is_pipeline_safe(rest),
            "{label}: a line the agent would act on: {line:?}"
        );
    }
}

/// The text content of an HTML fragment as a browser reads it: character references decoded.
fn html_decode(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest.find(';').and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                e => match e.strip_prefix("#x").or_else(|| e.strip_prefix("#X")) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok().and_then(char::from_u32),
                    None => e
                        .strip_prefix('#')
                        .and_then(|d| d.parse().ok())
                        .and_then(char::from_u32),
                },
            }?;
            Some((c, end + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A JUnit test case as a strict XML 1.0 parser reads it: its `name` and `classname` attributes
/// (normalised as the spec says) and the text of its outcome or system-out.
struct JunitCase {
    name: String,
    body: String,
}

fn junit_cases(xml: &str) -> Vec<JunitCase> {
    use quick_xml::XmlVersion;
    use quick_xml::events::Event;
    let attribute = |e: &quick_xml::events::BytesStart, key: &str| -> String {
        e.try_get_attribute(key)
            .unwrap()
            .unwrap_or_else(|| panic!("no {key}"))
            .normalized_value(XmlVersion::Explicit1_0)
            .unwrap()
            .into_owned()
    };
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut cases = Vec::new();
    let mut current: Option<JunitCase> = None;
    let mut in_body = false;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) if e.name().as_ref() == b"testcase" => {
                current = Some(JunitCase {
                    name: attribute(&e, "name"),
                    body: String::new(),
                });
            }
            Event::Start(e)
                if matches!(
                    e.name().as_ref(),
                    b"failure" | b"error" | b"skipped" | b"system-out"
                ) =>
            {
                in_body = true
            }
            Event::End(e) if e.name().as_ref() == b"testcase" => {
                cases.push(current.take().expect("an open test case"));
            }
            Event::End(_) => in_body = false,
            Event::Text(t) if in_body => {
                let body = &mut current.as_mut().unwrap().body;
                body.push_str(&t.xml10_content().unwrap());
            }
            Event::GeneralRef(r) if in_body => {
                let body = &mut current.as_mut().unwrap().body;
                match r.resolve_char_ref().expect("a legal character reference") {
                    Some(c) => body.push(c),
                    None => body.push_str(match &r[..] {
                        b"amp" => "&",
                        b"lt" => "<",
                        b"gt" => ">",
                        b"quot" => "\"",
                        b"apos" => "'",
                        other => panic!("unknown entity {other:?}"),
                    }),
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    cases
}

/// A subscription, a cluster, a skipped subscription and a failed read whose names carry line
/// breaks, `##vso[` and `##[error]` commands, a colour escape and a bidi override, audited in a
/// pipeline (`TF_BUILD`) into every format at once: (a) no output holds a command the agent
/// would run, other than lzaudit's own; (b) the human formats (table, Markdown, log lines) hold
/// no raw control character; (c) the machine formats still parse and give the names back.
#[test]
fn arm_text_cannot_command_a_pipeline_or_a_terminal_in_any_format() {
    let dir = tempfile::tempdir().unwrap();
    let (snapshot, cluster) = hostile_snapshot(dir.path());
    let agent = tempfile::tempdir().unwrap();
    let path = |f: &str| dir.path().join(format!("out.{f}"));
    let mut args: Vec<String> = ["-v", "audit", "--snapshot", snapshot.to_str().unwrap()]
        .map(String::from)
        .to_vec();
    for f in &FORMATS[1..] {
        args.push("--report".into());
        args.push(format!("{f}={}", path(f).display()));
    }
    let mut cmd = command();
    cmd.env("TF_BUILD", "True")
        .env("AGENT_TEMPDIRECTORY", agent.path());
    let out = run(cmd, &args.iter().map(String::as_str).collect::<Vec<_>>()).code(1);
    let read = |f: &str| std::fs::read_to_string(path(f)).unwrap();
    let summary = std::fs::read_to_string(agent.path().join("lzaudit-summary.md")).unwrap();
    // The names reached the outputs (else this test proves nothing), and lzaudit's own commands
    // are there.
    assert!(
        out.stdout
            .contains("\\u{23}#vso[task.setvariable variable=x]1"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("##vso[task.logissue type=error;"));
    assert!(out.stdout.contains("##vso[task.uploadsummary]"));

    // (a)
    assert_no_injected_command("stdout", &out.stdout, true);
    assert_no_injected_command("stderr", &out.stderr, true);
    assert_no_injected_command("summary", &summary, false);
    for f in &FORMATS[1..] {
        assert_no_injected_command(f, &read(f), false);
    }

    // (b)
    for (label, text) in [
        ("table and issue lines", &out.stdout),
        ("log lines", &out.stderr),
        ("markdown", &read("markdown")),
        ("summary", &summary),
    ] {
        let raw: Vec<char> = text
            .chars()
            .filter(|c| is_unprintable(*c) && *c != '\n')
            .collect();
        assert!(
            raw.is_empty(),
            "{label} holds raw control characters {raw:?}"
        );
    }

    // (c) JSON: the exact strings.
    let json: Value = serde_json::from_str(&read("json")).unwrap();
    let names: Vec<&Value> = json["scope"]["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["name"])
        .collect();
    assert!(names.contains(&&json!(HOSTILE)), "{names:?}");
    assert_eq!(json["skipped_subscriptions"][0]["display_name"], HOSTILE);
    assert!(
        json["coverage"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["message"] == HOSTILE)
    );
    let resource = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["resource"].as_str().unwrap())
        .find(|r| r.ends_with(&format!("/{cluster}")))
        .expect("a finding on the hostile cluster")
        .to_string();
    assert!(
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["subscription_name"] == HOSTILE)
    );

    // SARIF: valid, and the exact strings.
    let sarif: Value = serde_json::from_str(&read("sarif")).unwrap();
    assert_valid_sarif(&sarif);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(
        results
            .iter()
            .any(|r| r["properties"]["subscriptionName"] == HOSTILE)
    );
    assert!(results.iter().any(
        |r| r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == resource.as_str()
    ));

    // JUnit: strict XML 1.0 (every character allowed), and the strings back — but for ESC,
    // which XML 1.0 cannot carry: it is written as the visible `\u{1b}`.
    let xml = read("junit");
    assert!(
        xml.chars().all(|c| matches!(c, '\t' | '\n' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)),
        "a character XML 1.0 does not allow"
    );
    // (quick-junit's reader does not resolve character references, so the strict reader here.)
    let in_xml = |s: &str| s.replace('\u{1b}', "\\u{1b}");
    let cases = junit_cases(&xml);
    let case = cases
        .iter()
        .find(|c| c.name == in_xml(&resource))
        .unwrap_or_else(|| panic!("no test case named {:?}", in_xml(&resource)));
    assert!(
        case.body
            .contains(&format!("subscription: {} (", in_xml(HOSTILE))),
        "{:?}",
        case.body
    );

    // HTML: what the browser reads back, in the markup and in the page's data.
    let html = read("html");
    assert!(html_decode(&html).contains(HOSTILE));
    let data = page_data(&html);
    assert!(
        data["subscriptions"]
            .to_string()
            .contains(&json!(HOSTILE).to_string())
    );
    assert!(
        data["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|row| row[5].as_str().unwrap().ends_with(&format!("/{cluster}"))),
        "the hostile cluster's findings are in the page's data"
    );
    // And a browser shows the names as they are, without running anything.
    if let Some(browser) = browser() {
        let page = dir.path().join("hostile.html");
        std::fs::write(&page, &html).unwrap();
        let dom = chromium(
            &browser,
            &["--dump-dom", &format!("file://{}#q=aks-x", page.display())],
        );
        assert_ready(&dom);
        assert!(
            dom.contains(&cluster),
            "the DOM shows the cluster's exact name"
        );
        assert!(!articles(&dom).is_empty());
    }

    // CSV: only the commands are defused; the rest (line breaks, ESC) is the data.
    let csv_text = read("csv");
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(csv_text.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    assert!(rows.iter().any(|r| r[6] == *defuse_commands(HOSTILE)));
    assert!(rows.iter().any(|r| r[7] == *defuse_commands(&resource)));
}

/// Runs Chromium headless with the machine's documented flags, killing it after a minute.
fn chromium(chromium: &Path, args: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let user_data = format!("--user-data-dir={}", profile.path().display());
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &user_data,
        ])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromium.display()));
    let started = Instant::now();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let stderr = child.stderr.take().unwrap();
    let err_reader =
        std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium {args:?} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = reader.join().unwrap();
    let err = err_reader.join().unwrap();
    assert!(
        status.success(),
        "chromium {args:?} failed: {status}\n{err}"
    );
    out
}

/// The Chromium binary, or `None` (with a notice) where it is not installed; CI must have it.
fn browser() -> Option<PathBuf> {
    let browser = std::env::var_os("LZAUDIT_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if browser.exists() {
        return Some(browser);
    }
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(
        !ci,
        "{} is missing: CI must install chromium (.ci/run does)",
        browser.display()
    );
    eprintln!(
        "notice: {} not found; skipping the headless-browser test (apt-get install chromium)",
        browser.display()
    );
    None
}

/// The `<body>` tag of a dumped DOM, after asserting the page's script initialised cleanly.
fn assert_ready(dom: &str) {
    let body = &dom[dom.find("<body").expect("a body")..];
    let body_tag = &body[..body.find('>').unwrap()];
    assert!(
        !body_tag.contains("data-errors"),
        "the page's script failed: {body_tag}"
    );
    assert!(
        body_tag.contains(r#"data-ready="true""#),
        "the page's script did not finish initialising: {body_tag}"
    );
}

/// The opening tags of the finding articles in a dumped DOM.
fn articles(dom: &str) -> Vec<&str> {
    dom.split("<article ")
        .skip(1)
        .map(|a| &a[..a.find('>').unwrap()])
        .collect()
}

/// What the findings counter says for `shown` findings on the first page of `matching` out
/// of `total`.
fn counter(matching: usize, total: usize) -> String {
    let n = |v: usize| {
        let digits = v.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    };
    let shown = matching.min(100);
    if matching == total {
        format!("Showing 1–{} of {} findings", n(shown), n(total))
    } else {
        format!(
            "Showing 1–{} of {} matching findings ({} in total)",
            n(shown),
            n(matching),
            n(total)
        )
    }
}

/// Headless Chromium renders the example's HTML report: a screenshot for people to look at
/// (`target/lzaudit-html-report.png`), and the DOM after the page's script ran, to prove it
/// initialised without errors, drew a grid row for every subscription and the first page of
/// findings, and that its filters work.
#[test]
fn the_html_report_renders_in_headless_chromium() {
    let Some(browser) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let html = lzaudit(&["audit", "--snapshot", SNAPSHOT, "--format", "html"]).code(1);
    std::fs::write(&page, html.stdout).unwrap();
    let url = format!("file://{}", page.display());

    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .to_path_buf();
    let png = target.join("lzaudit-html-report.png");
    let _ = std::fs::remove_file(&png);
    chromium(
        &browser,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1400,2000",
            "--hide-scrollbars",
            &url,
        ],
    );
    let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("no screenshot: {e}"));
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 20_000);

    let dom = chromium(&browser, &["--dump-dom", "--window-size=1400,2000", &url]);
    assert_ready(&dom);
    let report = example_json();
    let n = report["findings"].as_array().unwrap().len();
    assert!(
        dom.contains(&format!(r#"id="f-count">{}<"#, counter(n, n))),
        "the findings counter was not filled in"
    );
    assert_eq!(articles(&dom).len(), n.min(100), "one page of findings");
    let subscriptions = report["scope"]["subscriptions"].as_array().unwrap();
    let rows = dom.matches(r#"<g class="row" data-subscription=""#).count();
    assert_eq!(rows, subscriptions.len());
    for sub in subscriptions {
        let id = sub["id"].as_str().unwrap();
        assert!(
            dom.contains(&format!(r#"<g class="row" data-subscription="{id}">"#)),
            "no grid row for subscription {id}"
        );
        assert!(
            dom.contains(&format!(r#"data-subscription="{id}" data-check=""#)),
            "no grid cell for subscription {id}"
        );
    }
    // The worst status colours a cell: a subscription and check with a failure is red.
    let failing = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["status"] == "fail")
        .unwrap();
    assert!(dom.contains(&format!(
        r#"data-subscription="{}" data-check="{}" data-status="fail""#,
        failing["subscription"].as_str().unwrap(),
        failing["check"].as_str().unwrap()
    )));

    // The filters work: a link that presets them shows exactly the matching findings.
    let (status, severity) = ("fail", "high");
    let expected = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == status && f["severity"] == severity)
        .count();
    assert!(expected > 0 && expected <= 100);
    let filtered = chromium(
        &browser,
        &[
            "--dump-dom",
            &format!("{url}#status={status}&severity={severity}&bad=%E0%A4%A"),
        ],
    );
    assert_ready(&filtered);
    let shown = articles(&filtered);
    assert_eq!(shown.len(), expected);
    assert!(
        shown
            .iter()
            .all(|a| a.contains(r#"data-status="fail""#) && a.contains(r#"data-severity="high""#))
    );
    assert!(filtered.contains(&counter(expected, n)));
    eprintln!("screenshot: {}", png.display());
}

/// A tenant of 1,000 subscriptions (≈ 147,000 findings): the page becomes interactive — its
/// script initialises, draws one page of the grid and of the findings (not 147,000 elements),
/// and its filters and text search run over every finding.
#[test]
fn a_report_of_a_thousand_subscriptions_stays_usable_in_headless_chromium() {
    let Some(browser) = browser() else { return };
    let example = crate::support::scale::Example::load();
    let (inventory, findings) = example.scaled(1000, 3);
    let report = lzaudit::report::build(
        lzaudit::report::Facts::of(&inventory),
        &example.catalogue,
        &example.profile,
        findings,
        Vec::new(),
        crate::support::scale::origin(),
    );
    let total = report.findings.len();
    assert!(total > 140_000, "{total} findings");
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("large.html");
    std::fs::write(
        &page,
        lzaudit::report::html::render(&report, &example.catalogue),
    )
    .unwrap();
    let url = format!("file://{}", page.display());

    let dom = chromium(&browser, &["--dump-dom", &url]);
    assert_ready(&dom);
    assert!(dom.contains(&counter(total, total)), "the counter");
    assert_eq!(articles(&dom).len(), 100, "one page of findings in the DOM");
    assert_eq!(
        dom.matches(r#"<g class="row" data-subscription=""#).count(),
        25,
        "one page of grid rows"
    );
    assert!(dom.contains(r#"id="g-range">Subscriptions 1–25 of 1,000<"#));

    // A subscription and a check, as a grid cell selects them, plus a text search.
    let sub = &report.subscriptions()[500];
    let expected = report
        .findings
        .iter()
        .filter(|f| f.subscription == sub.id && f.check == "AKS-021")
        .count();
    assert!(expected > 0);
    let filtered = chromium(
        &browser,
        &[
            "--dump-dom",
            &format!("{url}#subscription={}&check=AKS-021", sub.id),
        ],
    );
    assert_ready(&filtered);
    let shown = articles(&filtered);
    assert_eq!(shown.len(), expected);
    assert!(
        shown
            .iter()
            .all(|a| a.contains(&format!(r#"data-subscription="{}""#, sub.id)))
    );
    assert!(filtered.contains(&counter(expected, total)));

    // Text search runs over all 147,000 findings: a subscription's name prefix.
    let prefix = &sub.name[..8];
    let expected = report
        .findings
        .iter()
        .filter(|f| f.subscription_name.starts_with(prefix))
        .count();
    let searched = chromium(&browser, &["--dump-dom", &format!("{url}#q={prefix}")]);
    assert_ready(&searched);
    assert!(
        searched.contains(&counter(expected, total)),
        "search for {prefix}"
    );
    assert_eq!(articles(&searched).len(), expected.min(100));
}
