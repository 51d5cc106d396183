//! The scale benchmark (issue 8): lzaudit against generated tenants of N subscriptions served
//! by the emulator with a fixed latency per request, the way a platform team's nightly run
//! meets a large landing zone.
//!
//! Run with `cargo bench --bench scale` (all scenarios; about a quarter of an hour on two
//! cores), or pick: `cargo bench --bench scale -- --subscriptions 100,1000 --latency-ms 100
//! [--source auto|arm|arg|both] [--skip-shared] [--skip-sequential] [--seed S]`.
//!
//! Scenarios, each running the release `lzaudit` binary as a child process (so its peak RSS is
//! its own, read with `wait4`):
//! - **live** for each N and each `--source` (default both `auto` — Resource Graph with the
//!   ARM remainder — and `arm`): `lzaudit audit` with default flags against ARM's read
//!   buckets per subscription (250, 25/s) and Resource Graph's quota (15 queries per 5 s) —
//!   wall time, Resource Graph queries and ARM requests (by API), 429s, reads given up, peak
//!   RSS, and the lower bound the latency, `--concurrency` and the quota allow (ARM requests ×
//!   latency ÷ concurrency, the quota's windows, or the longest chain of dependent requests,
//!   whichever is longest) with the ratio to it;
//! - **offline** for each N: `lzaudit collect` to a `.json.zst` snapshot, then `lzaudit audit
//!   --snapshot` (wall, peak RSS), and in process the evaluation and every renderer timed;
//! - **shared bucket** at 100 subscriptions: one read bucket of 250 + 25/s for every request
//!   (the strictest reading of ARM's limits) — wall, 429s, reads given up, and the bound
//!   (requests − 250) ÷ 25 s;
//! - **sequential** at 100 subscriptions: `--concurrency 1`, the pattern of script-based tools;
//!   its time per request extrapolates to the largest N (labelled as such).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lzaudit::catalogue::Catalogue;
use lzaudit::profile::Profile;
use lzaudit::report::{self, Origin};
use lzaudit_emulator::{
    BucketMode, Emulator, GRAPH_API, GraphQuota, Options, ReadBuckets, Spec, TOKEN_API, Tenant,
};

struct Args {
    /// Only the offline part, over this snapshot.
    offline: Option<PathBuf>,
    subscriptions: Vec<usize>,
    latency: Duration,
    seed: u64,
    shared: bool,
    sequential: bool,
    /// `--source` values of the live runs, in order.
    sources: Vec<String>,
}

fn args() -> Args {
    let mut args = Args {
        offline: None,
        subscriptions: vec![100, 1000],
        latency: Duration::from_millis(100),
        seed: 1,
        shared: true,
        sequential: true,
        sources: vec!["auto".into(), "arm".into()],
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--subscriptions" => {
                args.subscriptions = it
                    .next()
                    .expect("--subscriptions N[,N]")
                    .split(',')
                    .map(|n| n.trim().parse().expect("a number of subscriptions"))
                    .collect();
            }
            "--latency-ms" => {
                args.latency =
                    Duration::from_millis(it.next().and_then(|n| n.parse().ok()).expect("ms"))
            }
            "--seed" => args.seed = it.next().and_then(|n| n.parse().ok()).expect("a seed"),
            "--offline" => {
                args.offline = Some(PathBuf::from(it.next().expect("--offline SNAPSHOT")))
            }
            "--source" => {
                args.sources = match it.next().expect("--source auto|arm|both").as_str() {
                    "both" => vec!["auto".into(), "arm".into()],
                    one @ ("auto" | "arm" | "arg") => vec![one.to_string()],
                    other => panic!("--source auto|arm|arg|both, not {other}"),
                }
            }
            "--skip-shared" => args.shared = false,
            "--skip-sequential" => args.sequential = false,
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    args
}

/// One child run of the binary.
struct Run {
    wall: Duration,
    code: Option<i32>,
    peak_rss_kib: i64,
    stderr: String,
}

/// Runs the binary and measures its peak RSS from its own `VmHWM`, sampled every 5 ms until it
/// exits: `wait4`'s `ru_maxrss` would count the pages of this (large) process at the fork.
fn run_binary(args: &[&str], env: &[(&str, String)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lzaudit"));
    cmd.args(args)
        .env("NO_COLOR", "1")
        .env_remove("LZAUDIT_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let mut child = cmd.spawn().expect("the lzaudit binary starts");
    let stderr = child.stderr.take().expect("stderr is piped");
    let reader = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let pid = child.id();
    let mut peak_rss_kib = 0;
    let status = loop {
        if let Some(hwm) = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
            })
        {
            peak_rss_kib = peak_rss_kib.max(hwm);
        }
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let wall = started.elapsed();
    let code = status.code();
    Run {
        wall,
        code,
        peak_rss_kib,
        stderr: reader.join().unwrap_or_default(),
    }
}

/// The counters of `collected in …: N requests, R retries, T throttled (429) waited out, A reads
/// given up` (logged at `-v`).
fn counters(stderr: &str) -> (u64, u64) {
    let line = stderr
        .lines()
        .find(|l| l.contains("collected in"))
        .unwrap_or_else(|| panic!("no `collected in` line:\n{stderr}"));
    let number_before = |marker: &str| -> u64 {
        let at = line.find(marker).expect(marker);
        line[..at]
            .rsplit(|c: char| !c.is_ascii_digit())
            .find(|s| !s.is_empty())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (
        number_before(" throttled (429)"),
        number_before(" reads given up"),
    )
}

struct Served {
    emulator: Emulator,
    _dir: tempfile::TempDir,
    dir: PathBuf,
    env: Vec<(&'static str, String)>,
    connect: Vec<String>,
    subscriptions: usize,
}

fn serve(runtime: &tokio::runtime::Runtime, spec: &Spec, options: Options) -> Served {
    let started = Instant::now();
    let tenant = Tenant::generate(spec).expect("the spec generates");
    let client = tenant.clients()[0].clone();
    let emulator = runtime
        .block_on(Emulator::start(tenant, options))
        .expect("the emulator starts");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, emulator.ca_pem()).expect("write the CA");
    eprintln!(
        "  generated and served {} subscriptions in {:.1} s",
        spec.subscriptions,
        started.elapsed().as_secs_f64()
    );
    Served {
        env: vec![
            ("AZURE_TENANT_ID", emulator.tenant().tenant_id().to_string()),
            ("AZURE_CLIENT_ID", client.client_id.clone()),
            (
                "AZURE_CLIENT_SECRET",
                client.client_secret.clone().expect("a secret"),
            ),
        ],
        connect: vec![
            "--auth".into(),
            "env".into(),
            "--authority-host".into(),
            emulator.https_url(),
            "--arm-endpoint".into(),
            emulator.http_url(),
            "--ca-cert".into(),
            ca.display().to_string(),
            "-v".into(),
        ],
        dir: dir.path().to_path_buf(),
        _dir: dir,
        subscriptions: spec.subscriptions,
        emulator,
    }
}

impl Served {
    fn run(&self, command: &[&str], extra: &[&str]) -> Run {
        let mut args: Vec<&str> = command.to_vec();
        args.extend(self.connect.iter().map(String::as_str));
        args.extend_from_slice(extra);
        run_binary(&args, &self.env)
    }

    /// A live `audit --format json` from `source` into `dir/name` (with `extra` flags): the
    /// run, where its report is, and the request count before it (for `requests_since`).
    fn audit(&self, name: &str, source: &str, extra: &[&str]) -> (Run, PathBuf, usize) {
        let from = self.emulator.request_count();
        let out = self.dir.join(name);
        let mut command = vec![
            "audit",
            "--format",
            "json",
            "--fail-on",
            "none",
            "--source",
            source,
        ];
        command.extend_from_slice(extra);
        let run = self.run(&command, &["-o", out.to_str().expect("utf-8 path")]);
        (run, out, from)
    }

    /// Requests by API since `from` (sign-in excluded), and the 429s among them.
    fn requests_since(&self, from: usize) -> (BTreeMap<String, usize>, usize) {
        let log = self.emulator.requests();
        let mut by_api = BTreeMap::new();
        let mut throttled = 0;
        for entry in &log[from..] {
            if entry.api.as_deref() == Some(TOKEN_API) {
                continue;
            }
            *by_api
                .entry(entry.api.clone().unwrap_or_else(|| "(unrouted)".into()))
                .or_default() += 1;
            if entry.status == 429 {
                throttled += 1;
            }
        }
        (by_api, throttled)
    }
}

fn mib(kib: i64) -> f64 {
    kib as f64 / 1024.0
}

fn main() {
    let args = args();
    let latency_ms = args.latency.as_millis();
    println!(
        "lzaudit scale benchmark: generated tenants (seed {}), {latency_ms} ms per request; reproduce with `cargo bench --bench scale`",
        args.seed
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime for the emulator");
    let per_subscription = |mode| Options {
        latency: args.latency,
        read_buckets: Some(ReadBuckets::arm(mode)),
        ..Options::default()
    };
    if let Some(snapshot) = &args.offline {
        println!("\n== offline, {}", snapshot.display());
        offline(snapshot, &std::env::temp_dir());
        return;
    }
    let concurrency = lzaudit::azure::auth::DEFAULT_CONCURRENCY as f64;
    let mut sequential_per_request: Option<f64> = None;
    // (subscriptions, ARM requests, wall) of the last `--source arm` run, and (subscriptions,
    // wall) of the last Resource Graph one.
    let mut arm_run: Option<(usize, usize, f64)> = None;
    let mut graph_run: Option<(usize, f64)> = None;

    if args.sequential {
        let spec = Spec {
            seed: args.seed,
            subscriptions: 100,
            ..Spec::default()
        };
        println!("\n== sequential (--concurrency 1), 100 subscriptions, per-subscription buckets");
        let served = serve(
            &runtime,
            &spec,
            per_subscription(BucketMode::PerSubscription),
        );
        let (run, _, from) = served.audit("sequential.json", "arm", &["--concurrency", "1"]);
        let (by_api, _) = served.requests_since(from);
        let requests: usize = by_api.values().sum();
        let per = run.wall.as_secs_f64() / requests as f64;
        sequential_per_request = Some(per);
        println!(
            "  wall {:.1} s for {requests} requests ({:.0} ms per request), exit {:?}",
            run.wall.as_secs_f64(),
            per * 1000.0,
            run.code
        );
    }

    for &n in &args.subscriptions {
        let spec = Spec {
            seed: args.seed,
            subscriptions: n,
            ..Spec::default()
        };
        let served = serve(
            &runtime,
            &spec,
            per_subscription(BucketMode::PerSubscription),
        );
        let mut verdicts: Vec<(&str, Vec<u64>)> = Vec::new();
        for source in &args.sources {
            let (wall, requests, findings) = live(&served, source, &args, concurrency);
            if source == "arm" {
                arm_run = Some((n, requests, wall));
            } else {
                graph_run = Some((n, wall));
            }
            verdicts.push((source, findings));
        }
        if let [(a, first), (b, second)] = verdicts.as_slice() {
            let differing = first.iter().zip(second).filter(|(x, y)| x != y).count()
                + first.len().abs_diff(second.len());
            println!(
                "  findings of --source {a} and --source {b}: {} and {}, {differing} differ",
                first.len(),
                second.len()
            );
        }
        println!("== offline, {n} subscriptions");
        let snapshot = served.dir.join("snapshot.json.zst");
        let collect = served.run(
            &["collect"],
            &["--out", snapshot.to_str().expect("utf-8 path")],
        );
        assert!(matches!(collect.code, Some(0 | 3)), "{}", collect.stderr);
        println!(
            "  collect {:.1} s (peak RSS {:.0} MiB)",
            collect.wall.as_secs_f64(),
            mib(collect.peak_rss_kib),
        );
        offline(&snapshot, &served.dir);
    }

    if let (Some(per), Some((n, requests, wall))) = (sequential_per_request, arm_run) {
        let sequential = per * requests as f64;
        println!(
            "\n== sequential at {n} subscriptions (extrapolated from 100: {requests} requests × {:.0} ms): {:.0} s; the default flags over ARM took {wall:.1} s, {:.0}× faster",
            per * 1000.0,
            sequential,
            sequential / wall
        );
        if let Some((m, graph_wall)) = graph_run.filter(|(m, _)| *m == n) {
            println!(
                "   with Resource Graph ({m} subscriptions): {graph_wall:.1} s, {:.0}× faster than sequential ARM",
                sequential / graph_wall
            );
        }
    }

    if args.shared {
        let spec = Spec {
            seed: args.seed,
            subscriptions: 100,
            ..Spec::default()
        };
        println!("\n== one shared read bucket (250 + 25/s) for every request, 100 subscriptions");
        let served = serve(&runtime, &spec, per_subscription(BucketMode::Shared));
        let (run, _, from) = served.audit("shared.json", "arm", &[]);
        let (by_api, throttled) = served.requests_since(from);
        let (waited_out, abandoned) = counters(&run.stderr);
        // Only requests that were served consumed a token: 429s are refused without one.
        let served_requests = by_api.values().sum::<usize>() - throttled;
        let bound = (served_requests as f64 - 250.0).max(0.0) / 25.0;
        println!(
            "  wall {:.1} s, exit {:?}, {served_requests} requests served, {throttled} answered 429 ({waited_out} waited out), {abandoned} reads given up, peak RSS {:.0} MiB",
            run.wall.as_secs_f64(),
            run.code,
            mib(run.peak_rss_kib)
        );
        println!(
            "  lower bound (served − 250) ÷ 25 = {bound:.1} s, ratio {:.2}",
            run.wall.as_secs_f64() / bound
        );
    }
}

/// One live audit with default flags and `--source source`; prints wall time, Resource Graph
/// queries and ARM requests apart, 429s, peak RSS and the lower bound; returns (wall, ARM
/// requests, a hash of each finding in report order, for comparing sources).
fn live(served: &Served, source: &str, args: &Args, concurrency: f64) -> (f64, usize, Vec<u64>) {
    let n = served.subscriptions;
    let latency_ms = args.latency.as_millis();
    println!(
        "\n== live audit, --source {source}, {n} subscriptions, per-subscription buckets, default flags"
    );
    let (run, out, from) = served.audit(&format!("live-{source}.json"), source, &[]);
    let (by_api, throttled) = served.requests_since(from);
    let (waited_out, abandoned) = counters(&run.stderr);
    let queries = by_api.get(GRAPH_API).copied().unwrap_or(0);
    let requests: usize = by_api.values().sum::<usize>() - queries;
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out).expect("the report")).expect("JSON");
    let audited = report["scope"]["subscriptions"]
        .as_array()
        .map_or(0, Vec::len);
    // ARM: the requests at the latency and `--concurrency`. The longest chain of dependent
    // requests: the scope (subscription list and descendants side by side), then a
    // subscription's list (or the inventory query), a resource's child list, and a follow-up
    // (pricing of a node scale set, a policy definition).
    let throughput_bound = requests as f64 * args.latency.as_secs_f64() / concurrency;
    let chain_bound = 5.0 * args.latency.as_secs_f64();
    // Resource Graph: its quota (15 queries per 5 s, the emulator's default) admits the first
    // window at once and one window per 15 queries after it.
    let quota = GraphQuota::default();
    let windows = queries.saturating_sub(1) / quota.queries as usize;
    let quota_bound = windows as f64 * quota.window.as_secs_f64();
    let bound = throughput_bound.max(chain_bound).max(quota_bound);
    println!(
        "  wall {:.1} s, exit {:?}, {audited} subscriptions audited ({} generated), {} findings",
        run.wall.as_secs_f64(),
        run.code,
        served.subscriptions,
        report["findings"].as_array().map_or(0, Vec::len)
    );
    // The collection's own time, from the binary's `collected in …` line: the rest of the wall
    // time is evaluation and rendering.
    let collected = run
        .stderr
        .lines()
        .find_map(|l| l.split("collected in ").nth(1))
        .and_then(|rest| rest.split(':').next())
        .unwrap_or("?");
    println!("  collection {collected} of it (the rest: sign-in, evaluation, rendering)");
    println!(
        "  {queries} Resource Graph queries, {requests} ARM requests ({:.1} per subscription), {throttled} answered 429 ({waited_out} waited out), {abandoned} reads given up",
        requests as f64 / audited.max(1) as f64
    );
    println!(
        "  peak RSS {:.0} MiB; lower bound {bound:.1} s (ARM: requests × {latency_ms} ms ÷ {concurrency} in flight = {throughput_bound:.1} s; Resource Graph quota: {windows} more window(s) of {} s = {quota_bound:.1} s; chain {chain_bound:.1} s), ratio {:.2}",
        mib(run.peak_rss_kib),
        quota.window.as_secs(),
        run.wall.as_secs_f64() / bound
    );
    let mut rows: Vec<(&String, &usize)> = by_api.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (api, count) in rows {
        println!(
            "    {count:>7}  {:>6.2}/sub  {api}",
            *count as f64 / audited.max(1) as f64
        );
    }
    let findings = report["findings"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|f| {
                    let mut hasher = std::hash::DefaultHasher::new();
                    std::hash::Hash::hash(&f.to_string(), &mut hasher);
                    std::hash::Hasher::finish(&hasher)
                })
                .collect()
        })
        .unwrap_or_default();
    (run.wall.as_secs_f64(), requests, findings)
}

/// `audit --snapshot` as a child (wall, peak RSS), then evaluation and rendering in process.
fn offline(snapshot: &Path, dir: &Path) {
    let size = std::fs::metadata(snapshot).map_or(0, |m| m.len());
    let out = dir.join("offline.json");
    let offline = run_binary(
        &[
            "audit",
            "--snapshot",
            snapshot.to_str().expect("utf-8 path"),
            "--format",
            "json",
            "--fail-on",
            "none",
            "-o",
            out.to_str().expect("utf-8 path"),
        ],
        &[],
    );
    assert!(matches!(offline.code, Some(0 | 3)), "{}", offline.stderr);
    println!(
        "  snapshot {:.1} MiB; `audit --snapshot --format json` {:.2} s, peak RSS {:.0} MiB, report {:.0} MiB",
        size as f64 / (1 << 20) as f64,
        offline.wall.as_secs_f64(),
        mib(offline.peak_rss_kib),
        std::fs::metadata(&out).map_or(0, |m| m.len()) as f64 / (1 << 20) as f64
    );
    in_process(snapshot);
}

/// Offline evaluation and rendering in process, timed apart.
fn in_process(snapshot: &Path) {
    let started = Instant::now();
    let inventory = lzaudit::inventory::snapshot::load(snapshot).expect("the snapshot loads");
    let loaded = started.elapsed();
    let catalogue = Catalogue::builtin().expect("catalogue");
    let profile = Profile::load("caf-aks", &catalogue).expect("profile");
    let started = Instant::now();
    let report = lzaudit::audit::run(
        &inventory,
        &catalogue,
        &profile,
        time::macros::date!(2026 - 11 - 26),
        Origin {
            source: "snapshot",
            fail_on: "none",
            generated_at: String::new(),
        },
    );
    let evaluated = started.elapsed();
    println!(
        "  in process: load {:.2} s, evaluate {:.2} s ({} findings)",
        loaded.as_secs_f64(),
        evaluated.as_secs_f64(),
        report.findings.len()
    );
    // The slowest checks, each evaluated alone.
    let archetypes = lzaudit::eval::Archetypes::resolve(&inventory, &profile.archetypes);
    let mut per_check: Vec<(f64, String)> = profile
        .selected
        .iter()
        .filter_map(|id| catalogue.get(id))
        .map(|check| {
            let params = profile.params_for(check);
            let ctx = lzaudit::eval::EvalContext {
                inventory: &inventory,
                params: &params,
                archetypes: &archetypes,
                today: time::macros::date!(2026 - 11 - 26),
            };
            let started = Instant::now();
            let findings = lzaudit::eval::run(check, &ctx);
            std::hint::black_box(findings);
            (started.elapsed().as_secs_f64(), check.id().to_string())
        })
        .collect();
    per_check.sort_by(|a, b| b.0.total_cmp(&a.0));
    let slowest: Vec<String> = per_check
        .iter()
        .take(8)
        .map(|(t, id)| format!("{id} {:.0} ms", t * 1000.0))
        .collect();
    println!("    slowest checks: {}", slowest.join(", "));
    let timed = |name: &str, render: &dyn Fn() -> String| {
        let started = Instant::now();
        let text = render();
        println!(
            "    render {name:<8} {:>6.0} ms  {:>8.1} MiB",
            started.elapsed().as_secs_f64() * 1000.0,
            text.len() as f64 / (1 << 20) as f64
        );
    };
    timed("json", &|| report::json::render(&report));
    timed("markdown", &|| report::markdown::render(&report));
    timed("html", &|| report::html::render(&report, &catalogue));
    timed("sarif", &|| report::sarif::render(&report, &catalogue));
    timed("junit", &|| report::junit::render(&report));
    timed("csv", &|| report::csv::render(&report));
}
