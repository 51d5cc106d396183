//! Runs the parsed command line. Each command returns an exit status or a `UserError` that
//! `main` prints with its hint; nothing here panics on bad input.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};

use crate::audit;
use crate::azure::{self, ConnectOptions};
use crate::catalogue::explain::Explanation;
use crate::catalogue::{Catalogue, Severity};
use crate::cli::{
    AuditArgs, ChecksCommand, CollectArgs, Command, ConnectArgs, DiffArgs, DiffFormat, FailOn,
    Format, ListFormat, ProfilesCommand, ScopeArgs, SourceArg,
};
use crate::collect::{self, Plan};
use crate::exit::ExitStatus;
use crate::inventory::{Inventory, RequestedScope, snapshot};
use crate::output::{self, Staged, write_atomic};
use crate::profile::{BUILTIN_PROFILES, Profile};
use crate::progress::ProgressDisplay;
use crate::report::{self, Origin, Report, diff};

/// Runs one command.
pub fn run(command: Command) -> anyhow::Result<ExitStatus> {
    match command {
        Command::Audit(args) => audit_command(args),
        Command::Collect(args) => collect_command(args),
        Command::Checks(c) => checks_command(c),
        Command::Profiles(p) => profiles_command(p),
        Command::Completions { shell } => completions_command(shell),
        Command::Diff(args) => diff_command(args),
    }
}

fn catalogue(dir: Option<&Path>) -> anyhow::Result<Catalogue> {
    Ok(match dir {
        Some(dir) => Catalogue::with_user_checks(dir)?,
        None => Catalogue::builtin()?,
    })
}

/// Today (UTC) and now, honouring `SOURCE_DATE_EPOCH` so reports can be reproduced.
pub fn now() -> time::OffsetDateTime {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or_else(time::OffsetDateTime::now_utc)
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn audit_command(args: AuditArgs) -> anyhow::Result<ExitStatus> {
    let outputs: Vec<&Path> = args
        .report
        .iter()
        .map(|t| t.path.as_path())
        .chain(args.output.as_deref())
        .collect();
    check_outputs(&outputs, &[("snapshot", args.snapshot.as_deref())])?;
    let catalogue = catalogue(args.selection.checks.as_deref())?;
    let profile = Profile::load(&args.selection.profile, &catalogue)?;
    let (inventory, source) = match &args.snapshot {
        Some(path) => (snapshot::load(path)?, "snapshot"),
        None => (
            live_inventory(&args.connect, &args.scope, &catalogue, &profile)?,
            "live",
        ),
    };
    let now = now();
    let fail_on = match args.fail_on {
        FailOn::High => Some(Severity::High),
        FailOn::Medium => Some(Severity::Medium),
        FailOn::Low => Some(Severity::Low),
        FailOn::None => None,
    };
    let fail_on_name = format!("{:?}", args.fail_on).to_ascii_lowercase();
    let evaluating = std::time::Instant::now();
    let report = audit::run_and_free(
        inventory,
        &catalogue,
        &profile,
        now.date(),
        Origin {
            source,
            fail_on: &fail_on_name,
            generated_at: rfc3339(now),
        },
    );
    tracing::debug!(
        "evaluated in {:.2?}: {} findings",
        evaluating.elapsed(),
        report.findings.len()
    );
    let rendering = std::time::Instant::now();
    // Every file is rendered and written aside first, then all are renamed together: a failure
    // or an interrupt part-way leaves every previous report in place, never a mix of runs.
    let mut staged = Staged::new();
    for target in &args.report {
        staged
            .add_with(&target.path, |out| {
                render_to(&report, &catalogue, target.format, false, args.show, out)
            })
            .with_context(|| {
                format!(
                    "cannot write the {:?} report to {}",
                    target.format,
                    target.path.display()
                )
            })?;
    }
    match &args.output {
        Some(path) => {
            staged
                .add_with(path, |out| {
                    render_to(&report, &catalogue, args.format, false, args.show, out)
                })
                .with_context(|| format!("cannot write {}", path.display()))?;
            staged.commit()?;
        }
        None => {
            staged.commit()?;
            let color = std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
            render_to(
                &report,
                &catalogue,
                args.format,
                color,
                args.show,
                &mut stdout,
            )?;
            stdout.flush()?;
        }
    }
    tracing::debug!("reports written in {:.2?}", rendering.elapsed());
    if report::azure_devops::detected() {
        azure_pipelines(
            &report,
            args.output.is_none() && !args.format.is_for_people(),
        )?;
    }
    let status = ExitStatus::of(&report, fail_on);
    // Everything is written: freeing a hundred thousand findings would only delay the exit
    // (by a fifth of a second at a thousand subscriptions). A thread the process does not wait
    // for frees them; the process usually ends first, and the system takes the memory back.
    std::thread::spawn(move || drop(report));
    Ok(status)
}

/// In Azure Pipelines: the issue lines and the run summary (see `report::azure_devops`). They go
/// to stdout, which the agent scans for logging commands — unless stdout carries a
/// machine-readable report, which they would corrupt; then to stderr, which the agent scans too.
fn azure_pipelines(report: &Report, stdout_is_data: bool) -> anyhow::Result<()> {
    let dir = report::azure_devops::summary_dir();
    let lines = report::azure_devops::pipeline_lines(report, &dir).with_context(|| {
        format!(
            "cannot write the Azure Pipelines summary into {}",
            dir.display()
        )
    })?;
    let mut text = lines.join("\n");
    text.push('\n');
    if stdout_is_data {
        let mut stderr = std::io::stderr().lock();
        stderr.write_all(text.as_bytes())?;
        stderr.flush()?;
        Ok(())
    } else {
        emit(&text, None)
    }
}

/// Renders the report in one format. Only a terminal table is ever coloured.
fn render(
    report: &Report,
    catalogue: &Catalogue,
    format: Format,
    color: bool,
    show: report::table::Show,
) -> String {
    match format {
        Format::Table => report::table::render(report, color, terminal_width(), show),
        Format::Json => report::json::render(report),
        Format::Sarif => report::sarif::render(report, catalogue),
        Format::Junit => report::junit::render(report),
        Format::Markdown => report::markdown::render(report),
        Format::Html => report::html::render(report, catalogue),
        Format::Csv => report::csv::render(report),
    }
}

/// [`render`] into `out`; the reports that grow with the tenant are written into it as they
/// are rendered, never held whole.
fn render_to(
    report: &Report,
    catalogue: &Catalogue,
    format: Format,
    color: bool,
    show: report::table::Show,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        Format::Json => report::json::render_to(report, out),
        Format::Sarif => report::sarif::render_to(report, catalogue, out),
        Format::Junit => report::junit::render_to(report, out),
        Format::Markdown => report::markdown::render_to(report, out),
        Format::Csv => report::csv::render_to(report, out),
        Format::Html => report::html::render_to(report, catalogue, out),
        _ => out.write_all(render(report, catalogue, format, color, show).as_bytes()),
    }
}

/// Two outputs to one file would leave only the last, and an output over an input would
/// destroy it: refuse before auditing. Paths are compared as `output::resolve` sees them, so
/// `r.json`, `./r.json`, `/abs/dir/r.json` and a symlink to it are all the same file.
fn check_outputs(outputs: &[&Path], inputs: &[(&str, Option<&Path>)]) -> anyhow::Result<()> {
    let mut seen: Vec<(&Path, std::path::PathBuf)> = Vec::new();
    for &path in outputs {
        let resolved = output::resolve(path)
            .with_context(|| format!("cannot resolve the output path {}", path.display()))?;
        if let Some((earlier, _)) = seen.iter().find(|(_, r)| *r == resolved) {
            let named = if *earlier == path {
                format!("{} is named twice", path.display())
            } else {
                format!(
                    "{} and {} are the same file",
                    earlier.display(),
                    path.display()
                )
            };
            return Err(anyhow!(
                "{named} (by --report or --output): give every report its own file"
            ));
        }
        seen.push((path, resolved));
    }
    for (what, input) in inputs {
        let Some(input) = input else { continue };
        // An input that cannot be resolved cannot be read either; reading says why.
        let Ok(resolved) = output::resolve(input) else {
            continue;
        };
        if let Some((path, _)) = seen.iter().find(|(_, r)| *r == resolved) {
            return Err(anyhow!(
                "{} is the {what} this run reads ({}): writing there would destroy it; choose another file",
                path.display(),
                input.display()
            ));
        }
    }
    Ok(())
}

fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(160)
}

fn emit(text: &str, output: Option<&Path>) -> anyhow::Result<()> {
    match output {
        Some(path) => write_atomic(path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display())),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            stdout.flush()?;
            Ok(())
        }
    }
}

fn collect_command(args: CollectArgs) -> anyhow::Result<ExitStatus> {
    let catalogue = catalogue(args.selection.checks.as_deref())?;
    let profile = Profile::load(&args.selection.profile, &catalogue)?;
    let inventory = live_inventory(&args.connect, &args.scope, &catalogue, &profile)?;
    let mut staged = Staged::new();
    staged
        .add_with(&args.out, |out| snapshot::write(&inventory, &args.out, out))
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    staged.commit()?;
    let gaps = inventory.gaps().count();
    tracing::info!(
        "wrote {} ({} subscriptions, {} clusters, {} registries, {} failed reads)",
        args.out.display(),
        inventory.subscriptions.len(),
        inventory.clusters.len(),
        inventory.registries.len(),
        gaps
    );
    Ok(if gaps > 0 {
        ExitStatus::Incomplete
    } else {
        ExitStatus::Clean
    })
}

fn live_inventory(
    connect: &ConnectArgs,
    scope: &ScopeArgs,
    catalogue: &Catalogue,
    profile: &Profile,
) -> anyhow::Result<Inventory> {
    let options = ConnectOptions {
        auth: connect.auth,
        tenant: connect.tenant.clone(),
        cloud: connect.cloud,
        arm_endpoint: connect.arm_endpoint.clone(),
        authority_host: connect.authority_host.clone(),
        ca_cert: connect.ca_cert.clone(),
        concurrency: usize::from(connect.concurrency),
        timeout: Duration::from_secs(connect.timeout.max(1)),
        max_retries: connect.max_retries,
        deadline: Some(Duration::from_secs(connect.deadline.max(1))),
    };
    let (apis, policy_guids) = audit::needs(catalogue, profile);
    let plan = Plan { apis, policy_guids };
    let requested = RequestedScope {
        management_group: scope.management_group.clone(),
        subscriptions: scope
            .subscription
            .iter()
            .map(|s| s.trim().to_ascii_lowercase())
            .collect(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let started = Instant::now();
        let client = azure::connect(&options).await?;
        let observer = ProgressDisplay::choose(&client);
        let source = match connect.source {
            SourceArg::Arm => collect::Source::Arm,
            SourceArg::Arg => collect::Source::Arg,
            SourceArg::Auto => collect::Source::Auto,
        };
        let collection = collect::run_from(
            &client,
            requested,
            &plan,
            observer.as_ref().map(|o| o as &dyn collect::Progress),
            source,
        );
        let inventory = match &observer {
            Some(o) => o.refresh_while(collection).await,
            None => collection.await,
        };
        if let Some(o) = &observer {
            o.clear();
        }
        let inventory = inventory?;
        if !scope.allow_empty
            && let Some(empty) = collect::empty_scope(&inventory)
        {
            return Err(empty.into());
        }
        let stats = client.stats();
        tracing::info!(
            "collected in {:.2?}: {} requests, {} retries, {} throttled (429) waited out, {} reads given up; {} Resource Graph queries",
            started.elapsed(),
            stats.requests,
            stats.retries,
            stats.throttled,
            stats.abandoned,
            stats.graph_queries
        );
        Ok(inventory)
    })
}

fn completions_command(shell: clap_complete::Shell) -> anyhow::Result<ExitStatus> {
    let mut command = <crate::cli::Cli as clap::CommandFactory>::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "lzaudit", &mut script);
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&script)?;
    stdout.flush()?;
    Ok(ExitStatus::Clean)
}

fn diff_command(args: DiffArgs) -> anyhow::Result<ExitStatus> {
    let output: Vec<&Path> = args.output.as_deref().into_iter().collect();
    check_outputs(
        &output,
        &[
            ("OLD input", Some(&args.old)),
            ("NEW input", Some(&args.new)),
        ],
    )?;
    let catalogue = catalogue(args.selection.checks.as_deref())?;
    let profile = Profile::load(&args.selection.profile, &catalogue)?;
    let now = now();
    let side = |path: &Path| -> anyhow::Result<diff::Side> {
        let text = snapshot::read_text(path, &crate::input::DIFF_INPUT)?;
        diff::Side::parse(&text, &path.display().to_string(), |inventory| {
            serde_json::to_value(audit::run(
                inventory,
                &catalogue,
                &profile,
                now.date(),
                Origin {
                    source: "snapshot",
                    fail_on: "none",
                    generated_at: rfc3339(now),
                },
            ))
            .expect("a report serialises")
        })
    };
    let old = side(&args.old)?;
    let new = side(&args.new)?;
    if old.kind != new.kind {
        return Err(anyhow!(
            "{} is {} but {} is {}: compare two reports or two snapshots",
            args.old.display(),
            old.kind.describe(),
            args.new.display(),
            new.kind.describe()
        ));
    }
    let result = diff::compare(&old, &new);
    let text = match args.format {
        DiffFormat::Table => result.to_text(),
        DiffFormat::Json => result.to_json(),
    };
    emit(&text, args.output.as_deref())?;
    Ok(if result.is_worse() {
        ExitStatus::Findings
    } else {
        ExitStatus::Clean
    })
}

fn checks_command(command: ChecksCommand) -> anyhow::Result<ExitStatus> {
    match command {
        ChecksCommand::List { format, checks } => {
            let catalogue = catalogue(checks.as_deref())?;
            let text = match format {
                ListFormat::Json => {
                    let all: Vec<Explanation> =
                        catalogue.checks().iter().map(Explanation::of).collect();
                    format!("{}\n", serde_json::to_string_pretty(&all)?)
                }
                ListFormat::Table => {
                    let mut builder = tabled::builder::Builder::default();
                    builder.push_record(["id", "severity", "area", "target", "title"]);
                    for c in catalogue.checks() {
                        let f = &c.file;
                        builder.push_record([
                            f.id.clone(),
                            f.severity.to_string(),
                            f.area.clone(),
                            format!("{:?}", f.target).to_ascii_lowercase(),
                            f.title.clone(),
                        ]);
                    }
                    let mut table = builder.build();
                    table.with(tabled::settings::Style::sharp());
                    format!("{table}\n")
                }
            };
            emit(&text, None)?;
            Ok(ExitStatus::Clean)
        }
        ChecksCommand::Explain { id, format, checks } => {
            let catalogue = catalogue(checks.as_deref())?;
            let Some(check) = catalogue.get(&id) else {
                let closest = catalogue.closest(&id);
                let hint = if closest.is_empty() {
                    "run `lzaudit checks list`".to_string()
                } else {
                    format!("did you mean {}?", closest.join(", "))
                };
                return Err(anyhow!("no check `{id}`: {hint}"));
            };
            let explanation = Explanation::of(check);
            let text = match format {
                ListFormat::Json => format!("{}\n", serde_json::to_string_pretty(&explanation)?),
                ListFormat::Table => explanation.to_text(),
            };
            emit(&text, None)?;
            Ok(ExitStatus::Clean)
        }
    }
}

fn profiles_command(command: ProfilesCommand) -> anyhow::Result<ExitStatus> {
    match command {
        ProfilesCommand::List => {
            let catalogue = Catalogue::builtin()?;
            let mut out = String::new();
            for (name, path, _) in BUILTIN_PROFILES {
                let p = Profile::load(name, &catalogue)?;
                out.push_str(&format!(
                    "{name:<12} {path:<24} {} ({} checks)\n",
                    p.description,
                    p.selected.len()
                ));
            }
            emit(&out, None)?;
            Ok(ExitStatus::Clean)
        }
        ProfilesCommand::Show { profile, checks } => {
            let catalogue = catalogue(checks.as_deref())?;
            let p = Profile::load(&profile, &catalogue)?;
            let mut out = format!(
                "profile {} ({})\n{}\n\nchecks ({}):\n",
                p.name,
                p.source,
                p.description,
                p.selected.len()
            );
            for id in &p.selected {
                let check = catalogue.get(id).expect("selected from the catalogue");
                out.push_str(&format!(
                    "  {id} [{}] {}\n",
                    p.severity_of(id, check.severity()),
                    check.file.title
                ));
                for (name, value) in p.params_for(check) {
                    out.push_str(&format!("      {name} = {value}\n"));
                }
            }
            out.push_str("\narchetypes:\n");
            if p.archetypes.is_empty() {
                out.push_str("  (the catalogue heuristic: MG names ending in landingzones / corp / online, or hallmark assignments)\n");
            }
            for (a, names) in &p.archetypes {
                out.push_str(&format!("  {} = {}\n", a.as_str(), names.join(", ")));
            }
            out.push_str(&format!("\nwaivers ({}):\n", p.waivers.len()));
            for w in &p.waivers {
                out.push_str(&format!(
                    "  {} on {} until {}: {} ({})\n",
                    w.check, w.pattern, w.expires, w.reason, w.location
                ));
            }
            emit(&out, None)?;
            Ok(ExitStatus::Clean)
        }
        ProfilesCommand::Validate { paths, checks } => {
            let catalogue = catalogue(checks.as_deref())?;
            let mut failed = false;
            for path in paths {
                match Profile::load(&path, &catalogue) {
                    Ok(p) => println!(
                        "{path}: ok ({} checks, {} waivers)",
                        p.selected.len(),
                        p.waivers.len()
                    ),
                    Err(e) => {
                        failed = true;
                        eprintln!("error: {e}");
                    }
                }
            }
            Ok(if failed {
                ExitStatus::Error
            } else {
                ExitStatus::Clean
            })
        }
    }
}
