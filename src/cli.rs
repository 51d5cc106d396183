//! The command line (clap derive): `audit`, `collect`, `checks list|explain`,
//! `profiles list|show|validate`, `diff`, `completions`. Parsing only; `commands` runs them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::azure::{AuthMethod, Cloud};

use crate::exit::EXIT_CODES_HELP;
pub use crate::report::table::Show;

#[derive(Debug, Parser)]
#[command(
    name = "lzaudit",
    version,
    about = "Audits Azure landing zones that run AKS against the Cloud Adoption Framework's AKS security guidance",
    after_help = EXIT_CODES_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More log output on stderr (-v info, -vv debug, -vvv trace); `LZAUDIT_LOG` takes a tracing filter.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit a tenant (live over ARM, or offline from a snapshot) and report the findings.
    #[command(after_help = EXIT_CODES_HELP)]
    Audit(AuditArgs),
    /// Collect the inventory of a tenant and write it as a snapshot, for offline audits.
    Collect(CollectArgs),
    /// The check catalogue.
    #[command(subcommand)]
    Checks(ChecksCommand),
    /// Audit profiles: check selection, parameters, severities, archetypes, waivers.
    #[command(subcommand)]
    Profiles(ProfilesCommand),
    /// Compare two audits: new failures, fixed findings, other status changes, new and removed
    /// resources. Takes two JSON reports (`--format json`) or two inventory snapshots (audited
    /// here with `--profile`).
    #[command(after_help = DIFF_EXIT_CODES_HELP)]
    Diff(DiffArgs),
    /// Print a shell completion script to stdout, e.g.
    /// `lzaudit completions bash > /etc/bash_completion.d/lzaudit`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

pub const DIFF_EXIT_CODES_HELP: &str = "Exit codes: 0 nothing got worse · 1 something got worse (a new failure, a status worsened from pass/not applicable/waived to warn, or to unknown) · 2 usage error, unreadable input, or inputs of different or unknown schemas · 130/143 interrupted by SIGINT/SIGTERM";

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier audit: a JSON report (`lzaudit.report/v1`) or an inventory snapshot.
    #[arg(value_name = "OLD")]
    pub old: PathBuf,
    /// The later audit, of the same kind as OLD.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,
    /// Used only for snapshots: both are audited with this profile (and `--checks`).
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// `table` for people, `json` (`lzaudit.diff/v1`) for tools.
    #[arg(long, value_enum, default_value_t = DiffFormat::Table)]
    pub format: DiffFormat,
    /// Write the comparison to FILE (atomically) instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum DiffFormat {
    #[value(alias = "text")]
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Audit offline from a snapshot written by `lzaudit collect` (no sign-in); `.json.zst`
    /// and `.json.gz` are read decompressed.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["management_group", "subscription"])]
    pub snapshot: Option<PathBuf>,
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[command(flatten)]
    pub scope: ScopeArgs,
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Output format for stdout (or `--output`).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Which findings the table lists under its per-check summary: `issues` (fail, unknown and
    /// warn) or `all` (pass, waived and not applicable too). The summary counts every finding.
    #[arg(long, value_enum, value_name = "WHICH", default_value_t = Show::Issues)]
    pub show: Show,
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the report as FORMAT to PATH (atomically); repeatable, so one run can write
    /// several formats, e.g. `--report sarif=lzaudit.sarif --report junit=TEST-lzaudit.xml`.
    #[arg(long, value_name = "FORMAT=PATH", value_parser = parse_report_target)]
    pub report: Vec<ReportTarget>,
    /// Exit with 1 when a failing finding has this severity or higher (`none`: never).
    #[arg(long, value_enum, default_value_t = FailOn::High)]
    pub fail_on: FailOn,
}

#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Where to write the snapshot (atomically); a name ending in `.json.zst` or `.json.gz` is
    /// written compressed (zstd, gzip).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[command(flatten)]
    pub scope: ScopeArgs,
    #[command(flatten)]
    pub selection: SelectionArgs,
}

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// How to sign in to Entra ID. `auto` tries env, workload-identity, pipelines, cli, managed-identity in that order.
    #[arg(long, value_enum, default_value_t = AuthMethod::Auto, env = "LZAUDIT_AUTH")]
    pub auth: AuthMethod,
    /// The Entra tenant (ID or domain) to sign in to.
    #[arg(long, value_name = "ID", env = "LZAUDIT_TENANT")]
    pub tenant: Option<String>,
    /// The Azure cloud: sets the authority host, the ARM endpoint and the token audience.
    #[arg(long, value_enum, default_value_t = Cloud::Public)]
    pub cloud: Cloud,
    /// A custom ARM endpoint (Azure Stack Hub, an emulator). `http://` only for loopback hosts.
    #[arg(long, value_name = "URL")]
    pub arm_endpoint: Option<String>,
    /// A custom Entra authority host (HTTPS).
    #[arg(long, value_name = "URL")]
    pub authority_host: Option<String>,
    /// A PEM file of extra trusted root certificates for every HTTPS call, sign-in included.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Where inventory comes from. `auto`: Azure Resource Graph where it holds the data, ARM REST
    /// for the rest and wherever Resource Graph is denied, fails or lacks a property a check
    /// reads. `arg`: the same, but what Resource Graph cannot answer is a coverage gap (exit 3).
    /// `arm`: ARM REST only.
    #[arg(long, value_enum, default_value_t = SourceArg::Auto)]
    pub source: SourceArg,
    /// At most N ARM requests in flight. The client starts lower and adapts: it grows while
    /// answers come back fast and unthrottled and halves on throttling (429).
    #[arg(long, value_name = "N", default_value_t = crate::azure::auth::DEFAULT_CONCURRENCY as u16, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub concurrency: u16,
    /// Per-request timeout in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,
    /// Retries of a failed (5xx), dropped, timed-out or malformed answer. Throttled requests
    /// (429) are not counted: they are retried after the server's wait until --deadline.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub max_retries: u32,
    /// The run's time budget in seconds: reads still throttled when it is spent are given up
    /// and reported as coverage gaps (exit 3).
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub deadline: u64,
}

#[derive(Debug, Args)]
pub struct ScopeArgs {
    /// Audit the subscriptions under this management group (its name, not display name).
    #[arg(long, value_name = "NAME")]
    pub management_group: Option<String>,
    /// Audit this subscription (repeatable). Default: every subscription the identity can list.
    #[arg(long, value_name = "ID")]
    pub subscription: Vec<String>,
    /// Accept a scope that holds no Enabled subscription this identity can read (by default
    /// that is an error, exit 2: an audit of nothing must not look like a clean tenant).
    #[arg(long)]
    pub allow_empty: bool,
}

#[derive(Debug, Args)]
pub struct SelectionArgs {
    /// A built-in profile name (caf-aks, alz-corp, alz-online) or a profile file.
    #[arg(long, value_name = "NAME|PATH", default_value = crate::profile::DEFAULT_PROFILE)]
    pub profile: String,
    /// A directory of extra check files (same format as the built-in ones).
    #[arg(long, value_name = "DIR")]
    pub checks: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ChecksCommand {
    /// List the checks.
    List {
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
        #[arg(long, value_name = "DIR")]
        checks: Option<PathBuf>,
    },
    /// Print a check's documentation: what, why, how to fix, what it reads, its parameters.
    Explain {
        id: String,
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
        #[arg(long, value_name = "DIR")]
        checks: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProfilesCommand {
    /// List the built-in profiles.
    List,
    /// Show a profile after resolution: selected checks, parameters, severities, archetypes, waivers.
    Show {
        #[arg(value_name = "NAME|PATH")]
        profile: String,
        #[arg(long, value_name = "DIR")]
        checks: Option<PathBuf>,
    },
    /// Validate profile files; errors name file, line, column and field.
    Validate {
        #[arg(value_name = "PATH", required = true)]
        paths: Vec<String>,
        #[arg(long, value_name = "DIR")]
        checks: Option<PathBuf>,
    },
}

/// A report format.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// Text tables for a terminal or a log.
    Table,
    /// The `lzaudit.report/v1` JSON contract.
    Json,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
    /// JUnit XML, for Azure DevOps "Publish Test Results".
    Junit,
    /// Markdown: a checklist and an Azure DevOps run summary.
    #[value(alias = "md")]
    Markdown,
    /// One self-contained HTML page with charts and filterable findings.
    Html,
    /// CSV, one row per finding.
    Csv,
}

impl Format {
    /// Whether the format is read by people (a log, a summary) rather than parsed by a tool.
    pub fn is_for_people(self) -> bool {
        matches!(self, Format::Table | Format::Markdown)
    }
}

/// `--report FORMAT=PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportTarget {
    pub format: Format,
    pub path: PathBuf,
}

fn parse_report_target(value: &str) -> Result<ReportTarget, String> {
    let Some((format, path)) = value.split_once('=') else {
        return Err("expected FORMAT=PATH, e.g. sarif=lzaudit.sarif".into());
    };
    let format = Format::from_str(format.trim(), true).map_err(|_| {
        let names: Vec<String> = Format::value_variants()
            .iter()
            .filter_map(|f| f.to_possible_value().map(|v| v.get_name().to_string()))
            .collect();
        format!(
            "unknown format `{format}` in FORMAT=PATH; use one of {}",
            names.join(", ")
        )
    })?;
    if path.is_empty() {
        return Err(format!("no PATH after `{}=`", value.trim_end_matches('=')));
    }
    Ok(ReportTarget {
        format,
        path: PathBuf::from(path),
    })
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ListFormat {
    #[value(alias = "text")]
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum FailOn {
    High,
    Medium,
    Low,
    None,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum SourceArg {
    Auto,
    Arg,
    Arm,
}
