//! Benchmark: building and rendering the report of a tenant at scale.
//!
//! Run with `cargo bench --bench render` (1,000 subscriptions), or pass a size:
//! `cargo bench --bench render -- --subscriptions 2000 --rounds 1`. The report is the bundled
//! example tenant's (`examples/contoso/`) scaled up: each synthetic subscription copies the
//! findings of one of the example's subscriptions, and every resource-level finding is repeated
//! for three clusters, so messages, evidence and statuses are the real ones, only many more
//! (≈ 150,000 findings at 1,000 subscriptions). It times `report::build` and every renderer and
//! prints the wall time (min / median over the rounds), the least CPU time of a round (what the
//! renderer cost, whatever else ran on the machine) and the output size: a renderer that is
//! linear in findings doubles its time when the tenant doubles. `--only FORMAT` times one
//! renderer, for a profiler.

use std::time::{Duration, Instant};

use lzaudit::report::{self, Report};

#[path = "../tests/it/support/scale.rs"]
mod scale;

/// Copies of every resource-level finding per synthetic subscription: the clusters (and
/// registries) of a landing-zone subscription.
const RESOURCES_PER_SUBSCRIPTION: usize = 3;

struct Args {
    subscriptions: usize,
    rounds: usize,
    /// `--only FORMAT`: time that renderer alone (for a profiler).
    only: Option<String>,
}

fn args() -> Args {
    let mut out = Args {
        subscriptions: 1000,
        rounds: 3,
        only: None,
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
            "--only" => out.only = it.next(),
            // `cargo bench` passes `--bench`; anything else is a filter we do not use.
            _ => {}
        }
    }
    out
}

/// The CPU time this thread has run, from Linux's `/proc/thread-self/schedstat` (nanoseconds on
/// a CPU): on a shared machine, wall time also counts the time other processes held the CPU.
fn cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Wall and CPU time of each round, sorted, and the last round's output.
fn time<T>(rounds: usize, mut run: impl FnMut() -> T) -> (Vec<(Duration, Option<Duration>)>, T) {
    let mut times = Vec::with_capacity(rounds);
    let mut last = None;
    for _ in 0..rounds {
        let cpu = cpu_time();
        let started = Instant::now();
        let out = run();
        let wall = started.elapsed();
        let cpu = cpu.zip(cpu_time()).map(|(before, after)| after - before);
        times.push((wall, cpu));
        last = Some(out);
    }
    times.sort();
    (times, last.expect("at least one round"))
}

/// A format's renderer.
type Renderer<'a> = dyn Fn(&Report) -> String + 'a;

fn print(label: &str, times: &[(Duration, Option<Duration>)], bytes: Option<usize>) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let size = bytes
        .map(|b| format!(", {:>6.1} MB", b as f64 / 1e6))
        .unwrap_or_default();
    let cpu = times
        .iter()
        .filter_map(|t| t.1)
        .min()
        .map(|c| format!(" (CPU {:>7.1} ms)", ms(c)))
        .unwrap_or_default();
    println!(
        "  {label:<10} wall min {:>7.1} ms / median {:>7.1} ms{cpu}{size}",
        ms(times[0].0),
        ms(times[times.len() / 2].0)
    );
}

fn main() {
    let args = args();
    let example = scale::Example::load();
    let catalogue = &example.catalogue;
    let (inv, findings) = example.scaled(args.subscriptions, RESOURCES_PER_SUBSCRIPTION);
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
            report::Facts::of(&inv),
            catalogue,
            &example.profile,
            findings.clone(),
            Vec::new(),
            scale::origin(),
        )
    });
    print("build", &times, None);
    let renderers: [(&str, &Renderer); 9] = [
        ("table", &|r| {
            report::table::render(r, false, 160, report::table::Show::Issues)
        }),
        ("table all", &|r| {
            report::table::render(r, false, 160, report::table::Show::All)
        }),
        ("json", &report::json::render),
        ("sarif", &|r| report::sarif::render(r, catalogue)),
        ("junit", &report::junit::render),
        ("markdown", &report::markdown::render),
        ("html", &|r| report::html::render(r, catalogue)),
        ("csv", &report::csv::render),
        ("pipelines", &|r| {
            report::azure_devops::issues(r, report::azure_devops::ISSUE_CAP).join("\n")
        }),
    ];
    for (label, render) in renderers {
        if args.only.as_deref().is_some_and(|only| only != label) {
            continue;
        }
        let (times, text) = time(args.rounds, || render(&report));
        print(label, &times, Some(text.len()));
    }
}
