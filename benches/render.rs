//! Benchmark: building and rendering the report of a tenant at scale.
//!
//! Run with `cargo bench --bench render` (1,000 subscriptions), or pass a size:
//! `cargo bench --bench render -- --subscriptions 2000 --rounds 1`. The report is the bundled
//! example tenant's (`examples/contoso/`) scaled up: each synthetic subscription copies the
//! findings of one of the example's subscriptions, and every resource-level finding is repeated
//! for three clusters, so messages, evidence and statuses are the real ones, only many more
//! (≈ 150,000 findings at 1,000 subscriptions). It times `report::build` and every renderer and
//! prints min / median over the rounds and the output size: a renderer that is linear in
//! findings doubles its time when the tenant doubles.

use std::time::{Duration, Instant};

use lzaudit::catalogue::Catalogue;
use lzaudit::eval::{Finding, Status};
use lzaudit::inventory::{Inventory, Read, Subscription, snapshot};
use lzaudit::profile::{AppliedWaiver, Profile};
use lzaudit::report::{self, Origin, Report, ReportFinding, ReportStatus};

/// Copies of every resource-level finding per synthetic subscription: the clusters (and
/// registries) of a landing-zone subscription.
const RESOURCES_PER_SUBSCRIPTION: usize = 3;

struct Args {
    subscriptions: usize,
    rounds: usize,
}

fn args() -> Args {
    let mut out = Args {
        subscriptions: 1000,
        rounds: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| -> usize {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} takes a number"))
        };
        match arg.as_str() {
            "--subscriptions" => out.subscriptions = value("--subscriptions"),
            "--rounds" => out.rounds = value("--rounds").max(1),
            // `cargo bench` passes `--bench`; anything else is a filter we do not use.
            _ => {}
        }
    }
    out
}

fn status_of(f: &ReportFinding) -> Status {
    if let Some(w) = &f.waiver {
        return w.original_status;
    }
    match f.status {
        ReportStatus::Pass => Status::Pass,
        ReportStatus::Warn => Status::Warn,
        ReportStatus::Fail | ReportStatus::Waived => Status::Fail,
        ReportStatus::NotApplicable => Status::NotApplicable,
        ReportStatus::Unknown => Status::Unknown,
    }
}

/// The example's inventory and findings, scaled to `n` subscriptions.
fn scaled(
    example: &Report,
    inventory: &Inventory,
    n: usize,
) -> (Inventory, Vec<(Finding, Option<AppliedWaiver>)>) {
    // Only subscriptions with findings on resources make good templates.
    let templates: Vec<&Subscription> = inventory
        .subscriptions
        .iter()
        .filter(|s| {
            example.findings.iter().any(|f| {
                f.subscription.eq_ignore_ascii_case(&s.subscription_id)
                    && !f.is_subscription_level()
            })
        })
        .collect();
    assert!(!templates.is_empty(), "the example has clusters");
    let mut inv = inventory.clone();
    inv.subscriptions.clear();
    inv.reads.clear();
    let mut findings = Vec::new();
    for i in 0..n {
        let template = templates[i % templates.len()];
        let guid = format!("{i:08x}-0000-4000-8000-{i:012x}");
        let rename = |s: &str| s.replace(&template.subscription_id, &guid);
        inv.subscriptions.push(Subscription {
            id: format!("/subscriptions/{guid}"),
            subscription_id: guid.clone(),
            display_name: format!("lz-{i:04}-{}", template.display_name),
            ..template.clone()
        });
        for read in &inventory.reads {
            if read.scope.contains(&template.subscription_id) {
                inv.reads.push(Read {
                    scope: rename(&read.scope),
                    message: read.message.as_deref().map(rename),
                    ..read.clone()
                });
            }
        }
        for f in example.findings.iter().filter(|f| {
            f.subscription
                .eq_ignore_ascii_case(&template.subscription_id)
        }) {
            let copies = if f.is_subscription_level() {
                1
            } else {
                RESOURCES_PER_SUBSCRIPTION
            };
            for k in 0..copies {
                let mut resource = rename(&f.resource);
                if copies > 1 {
                    resource.push_str(&format!("-{k}"));
                }
                findings.push((
                    Finding {
                        check: f.check.clone(),
                        resource,
                        subscription: guid.clone(),
                        status: status_of(f),
                        message: rename(&f.message),
                        evidence: f.evidence.clone(),
                    },
                    f.waiver.clone(),
                ));
            }
        }
    }
    // Findings arrive check by check from evaluation, not in report order.
    findings.sort_by(|a, b| a.0.check.cmp(&b.0.check));
    (inv, findings)
}

fn time<T>(rounds: usize, mut run: impl FnMut() -> T) -> (Vec<Duration>, T) {
    let mut times = Vec::with_capacity(rounds);
    let mut last = None;
    for _ in 0..rounds {
        let started = Instant::now();
        let out = run();
        times.push(started.elapsed());
        last = Some(out);
    }
    times.sort();
    (times, last.expect("at least one round"))
}

fn print(label: &str, times: &[Duration], bytes: Option<usize>) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let size = bytes
        .map(|b| format!(", {:.1} MB", b as f64 / 1e6))
        .unwrap_or_default();
    println!(
        "  {label:<12} min {:>9.1} ms / median {:>9.1} ms{size}",
        ms(times[0]),
        ms(times[times.len() / 2])
    );
}

/// A format's name and its renderer.
type Renderer<'a> = dyn Fn(&Report) -> String + 'a;

fn main() {
    let args = args();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let inventory =
        snapshot::load(&root.join("examples/contoso/snapshot.json")).expect("example snapshot");
    let catalogue = Catalogue::builtin().expect("catalogue");
    let profile = Profile::load("caf-aks", &catalogue).expect("profile");
    let origin = || Origin {
        source: "snapshot",
        fail_on: "high",
        generated_at: "2026-11-26T00:00:00Z".into(),
    };
    let example = lzaudit::audit::run(
        &inventory,
        &catalogue,
        &profile,
        time::macros::date!(2026 - 11 - 26),
        origin(),
    );
    let (inv, findings) = scaled(&example, &inventory, args.subscriptions);
    println!(
        "lzaudit render benchmark (cargo bench --bench render -- --subscriptions {} --rounds {}): {} subscriptions, {} findings, {} coverage gaps",
        args.subscriptions,
        args.rounds,
        inv.subscriptions.len(),
        findings.len(),
        inv.gaps().count()
    );
    let (times, report) = time(args.rounds, || {
        report::build(
            &inv,
            &catalogue,
            &profile,
            findings.clone(),
            Vec::new(),
            origin(),
        )
    });
    print("build", &times, None);
    let renderers: [(&str, &Renderer); 8] = [
        ("table", &|r| report::table::render(r, false, 160)),
        ("json", &report::json::render),
        ("sarif", &|r| report::sarif::render(r, &catalogue)),
        ("junit", &report::junit::render),
        ("markdown", &report::markdown::render),
        ("html", &|r| report::html::render(r, &catalogue)),
        ("csv", &report::csv::render),
        ("pipelines", &|r| {
            report::azure_devops::issues(r, report::azure_devops::ISSUE_CAP).join("\n")
        }),
    ];
    for (label, render) in renderers {
        let (times, text) = time(args.rounds, || render(&report));
        print(label, &times, Some(text.len()));
    }
}
