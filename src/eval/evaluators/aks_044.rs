//! AKS-044: only images from the organisation's trusted registries may run on the cluster.
//!
//! The built-in Kubernetes-mode policy febd0533 ("…containers should only use allowed images")
//! denies pods whose image does not match `allowedContainerImagesRegex`. It reaches a cluster
//! directly or through an initiative (AKS Deployment Safeguards c047ea8e passes its own
//! parameter of the same name). Coverage is catalogue §1.1 through `policy::coverage`; the regex
//! each covering assignment passes is resolved with `policy::candidate_parameter` and judged by
//! probing it, with the `regex` crate (RE2 syntax, like Gatekeeper's Go `re_match`, and like it
//! unanchored), against image references: public registries (`untrusted_probes`), a foreign
//! `*.azurecr.io` registry, look-alikes of each trusted host (`<host>.<other>/…`,
//! `<other>/<host>/…`, the host with its first dot replaced, which an unescaped `.` admits), and
//! images from invented registries. The trusted set is `trusted_registries` plus, unless
//! `trust_audited_registries` is off, the login servers of the audited registries. A covering
//! assignment passes when it is enforced with `Deny` and its regex admits no probe; it warns
//! when the effect is `Audit` or `DoNotEnforce`, or the regex admits public images (aks-baseline
//! admits docker.io for bootstrap); it fails when the regex admits images from any registry (the
//! `.*` case) or nothing covers the cluster. Several assignments are all enforced by
//! Gatekeeper, so the strictest enforced one decides, as the strongest candidate. A regex that
//! cannot be resolved or compiled is unknown, and so is missing policy data. When an audited
//! subscription's registry list could not be read (and audited registries are trusted), the
//! trusted set misses its registries and no look-alike probe can be built for them: a regex
//! that admits no probe might still admit such a look-alike (a warn), so it is unknown, not a
//! pass (`Status::with_unread_sub_result`); what a regex is seen to admit stands.

use std::collections::HashMap;

use crate::json::Value;
use regex::Regex;
use serde_json::json;

use crate::catalogue::{Check, Target};
use crate::eval::policy::{self, Candidate, Control, Level};
use crate::eval::{EvalContext, Evidence, Finding, Status, targets};
use crate::inventory::{Inventory, api, arm};

use super::guardrails;

/// "Kubernetes cluster containers should only use allowed images".
pub const ALLOWED_IMAGES: &str = "febd0533-8e55-448f-b837-bd0e06f16469";

const PARAMETER: &str = "allowedContainerImagesRegex";

/// Images from registries no allowlist names: a regex admitting all of them admits any image.
const ANY_IMAGE_PROBES: [&str; 2] = [
    "lzaudit-probe.invalid/lzaudit/any:0.0.1",
    "203.0.113.7:5000/lzaudit/any:0.0.1",
];

/// An invented registry host for look-alike probes.
const PROBE_HOST: &str = "lzaudit-probe.invalid";

const SEMANTICS_NOTE: &str = "judged with the regex crate (RE2 syntax) and unanchored matching, as the Gatekeeper template's re_match is understood to match (catalogue U: the v2 template text was not re-read)";

pub fn control() -> Control {
    guardrails::control("allowed images", &["Deny"], &[ALLOWED_IMAGES])
}

/// What a regex admits among the probe images.
#[derive(Debug, Clone, PartialEq)]
pub enum Admits {
    /// No untrusted probe; the trusted hosts whose images it admits (informational).
    OnlyTrusted(Vec<String>),
    /// These untrusted probe images.
    Untrusted(Vec<String>),
    /// Images from any registry.
    Anything,
}

impl Admits {
    fn status(&self) -> Status {
        match self {
            Admits::OnlyTrusted(_) => Status::Pass,
            Admits::Untrusted(_) => Status::Warn,
            Admits::Anything => Status::Fail,
        }
    }

    fn describe(&self) -> String {
        match self {
            Admits::OnlyTrusted(hosts) if hosts.is_empty() => {
                "admits no probe image, trusted or not".to_string()
            }
            Admits::OnlyTrusted(hosts) => format!("admits only {}", hosts.join(", ")),
            Admits::Untrusted(probes) => format!("also admits {}", probes.join(", ")),
            Admits::Anything => "admits images from any registry".to_string(),
        }
    }
}

/// The registry host of an image reference (`docker.io` when the first segment is not a host).
pub fn registry_host(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first.to_ascii_lowercase()
        }
        _ => "docker.io".to_string(),
    }
}

/// The untrusted probe images for a trusted set: the configured public ones whose host is not
/// trusted, then look-alikes of every trusted host.
pub fn probes(trusted: &[String], untrusted: &[String]) -> Vec<String> {
    let is_trusted = |host: &str| trusted.iter().any(|t| arm::eq_ci(t, host));
    let mut out: Vec<String> = untrusted
        .iter()
        .filter(|p| !is_trusted(&registry_host(p)))
        .cloned()
        .collect();
    for host in trusted {
        out.push(format!("{host}.{PROBE_HOST}/lzaudit/probe:1.0"));
        out.push(format!("{PROBE_HOST}/{host}/lzaudit/probe:1.0"));
        if let Some((head, tail)) = host.split_once('.') {
            let look_alike = format!("{head}-{tail}");
            if !is_trusted(&look_alike) {
                out.push(format!("{look_alike}/lzaudit/probe:1.0"));
            }
        }
    }
    out.dedup();
    out
}

/// Judges one regex against the trusted hosts and the untrusted probes.
pub fn judge_regex(
    pattern: &str,
    trusted: &[String],
    untrusted: &[String],
) -> Result<Admits, String> {
    let regex = Regex::new(pattern).map_err(|e| {
        // The crate's syntax errors span several lines; keep the one that names the problem.
        let text = e.to_string();
        let reason = text
            .lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix("error: "))
            .map(str::to_string)
            .unwrap_or_else(|| text.split_whitespace().collect::<Vec<_>>().join(" "));
        format!("the regex `{pattern}` does not compile: {reason}")
    })?;
    if ANY_IMAGE_PROBES.iter().all(|p| regex.is_match(p)) {
        return Ok(Admits::Anything);
    }
    let admitted: Vec<String> = untrusted
        .iter()
        .filter(|p| regex.is_match(p))
        .cloned()
        .collect();
    if !admitted.is_empty() {
        return Ok(Admits::Untrusted(admitted));
    }
    let hosts = trusted
        .iter()
        .filter(|h| regex.is_match(&format!("{h}/lzaudit/probe:1.0")))
        .cloned()
        .collect();
    Ok(Admits::OnlyTrusted(hosts))
}

/// A regex admitting exactly the trusted hosts, for the fix direction.
pub fn suggested_regex(trusted: &[String]) -> String {
    let hosts: Vec<String> = trusted.iter().map(|h| regex::escape(h)).collect();
    format!("^({})/.+$", hosts.join("|"))
}

/// At most this many trusted hosts are listed in each finding; a tenant with more (a
/// registry per landing zone) gets the hosts of the cluster's own subscription and a count,
/// or the evidence of every cluster would repeat every registry of the tenant.
const LISTED_HOSTS: usize = 25;

/// At most this many unread registry lists are named in the trusted-hosts note.
const LISTED_GAPS: usize = 5;

/// The trusted hosts, and what the findings say about them.
struct Trusted {
    /// Every trusted host, lower-cased, sorted: what the regex is judged against.
    hosts: Vec<String>,
    /// The hosts of `trusted_registries`.
    configured: Vec<String>,
    /// Why the audited registry list may be incomplete, if it may.
    note: Option<String>,
}

impl Trusted {
    /// The hosts a finding on `cluster_id` names: every trusted host in a small tenant; in a
    /// large one the configured hosts and the login servers of the cluster's subscription.
    fn listed(&self, inventory: &Inventory, cluster_id: &str) -> Vec<String> {
        if self.hosts.len() <= LISTED_HOSTS {
            return self.hosts.clone();
        }
        let sub = arm::subscription_of(cluster_id).unwrap_or_default();
        let mut listed: Vec<String> = self.configured.clone();
        listed.extend(
            inventory
                .registries_in(&sub)
                .filter_map(|r| arm::str_at(r, "properties.loginServer"))
                .map(str::to_ascii_lowercase),
        );
        listed.sort();
        listed.dedup();
        listed
    }

    /// The regex to suggest on `cluster_id`: the anchored alternation of every trusted host,
    /// shortened in a large tenant to the hosts [`Trusted::listed`] names and a count.
    fn suggestion(&self, inventory: &Inventory, cluster_id: &str) -> String {
        let listed = self.listed(inventory, cluster_id);
        let regex = suggested_regex(&listed);
        match self.hosts.len() - listed.len().min(self.hosts.len()) {
            0 => regex,
            others => format!(
                "{regex} extended with the login servers of the {others} other audited registries"
            ),
        }
    }

    const PROPERTY: &str = "trusted registry hosts (trusted_registries, plus the audited registries' properties.loginServer)";
    const EXPECTED: &str = "the only registries allowedContainerImagesRegex may admit";

    /// The evidence for a cluster: every trusted host in a small tenant; in a large one the
    /// configured hosts and the login servers of the cluster's subscription, with a count.
    fn evidence(&self, inventory: &Inventory, cluster_id: &str) -> Evidence {
        let listed = self.listed(inventory, cluster_id);
        let others = self.hosts.len() - listed.len().min(self.hosts.len());
        let mut item = Evidence::new(Self::PROPERTY, json!(listed), Self::EXPECTED);
        if others > 0 {
            item = item.note(format!(
                "{} trusted hosts in all: those configured and those of this cluster's subscription are listed; the {others} other audited registries' login servers are trusted as well",
                self.hosts.len()
            ));
        }
        if let Some(note) = &self.note {
            item.note = Some(match item.note.take() {
                Some(first) => format!("{first}; {note}").into(),
                None => note.as_str().into(),
            });
        }
        item
    }
}

/// The trusted registry hosts, and the unread registry lists that may leave out trusted hosts
/// (only when audited registries are trusted).
fn trusted_hosts(ctx: &EvalContext) -> (Trusted, Vec<String>) {
    let inventory = ctx.inventory;
    let configured: Vec<String> = ctx
        .param_strings("trusted_registries")
        .into_iter()
        .map(|h| h.trim().trim_end_matches('/').to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    let mut hosts = configured.clone();
    let mut notes = Vec::new();
    let mut unlisted = Vec::new();
    if ctx.param_bool("trust_audited_registries").unwrap_or(true) {
        for registry in &inventory.registries {
            match arm::str_at(registry, "properties.loginServer") {
                Some(server) => hosts.push(server.to_ascii_lowercase()),
                None => notes.push(format!(
                    "registry {} has no properties.loginServer",
                    arm::id(registry)
                )),
            }
        }
        for sub in &inventory.subscriptions {
            if let Some(reason) = inventory
                .read_state(&sub.id, api::REGISTRIES)
                .missing_reason(&sub.id, api::REGISTRIES)
            {
                notes.push(reason.clone());
                unlisted.push(reason);
            }
        }
    }
    hosts.sort();
    hosts.dedup();
    let note = (!notes.is_empty()).then(|| {
        let more = notes.len().saturating_sub(LISTED_GAPS);
        notes.truncate(LISTED_GAPS);
        if more > 0 {
            notes.push(format!("and {more} more (see the report's coverage)"));
        }
        format!(
            "the audited registry list may be incomplete: a missing registry is neither trusted nor probed for look-alikes, so a regex admitting no probe is not a pass: {}",
            notes.join("; ")
        )
    });
    (
        Trusted {
            hosts,
            configured,
            note,
        },
        unlisted,
    )
}

/// Why a regex that admits no probe may still admit a look-alike of a trusted host that was not
/// read; `None` when every audited registry list was read.
fn unprobed(unlisted: &[String]) -> Option<String> {
    (!unlisted.is_empty()).then(|| {
        format!(
            "the trusted registry hosts may be incomplete, and a look-alike of a missing one (a warn) cannot be probed: {}",
            unlisted.join("; ")
        )
    })
}

/// One covering assignment with its regex verdict.
struct Judged<'c, 'a> {
    candidate: &'c Candidate<'a>,
    regex: Result<(String, String, Admits), String>,
    status: Status,
}

/// Judgements of the patterns seen so far: a landing zone assigns the same allowlist to
/// every cluster, and compiling and probing it per cluster is most of this check's cost.
type Judgements = HashMap<String, Result<Admits, String>>;

fn judge_candidate<'c, 'a>(
    inventory: &Inventory,
    candidate: &'c Candidate<'a>,
    judgements: &mut Judgements,
    trusted: &[String],
    untrusted: &[String],
    unprobed: Option<&str>,
) -> Judged<'c, 'a> {
    let regex = match policy::candidate_parameter(inventory, candidate, PARAMETER) {
        Err(reason) => Err(reason),
        Ok(None) => Err(format!(
            "the assignment passes no {PARAMETER} and no default is declared"
        )),
        Ok(Some(found)) => match found.value.as_str() {
            None => Err(format!("{PARAMETER} is {}, not a string", found.value)),
            Some(pattern) => judgements
                .entry(pattern.to_string())
                .or_insert_with(|| judge_regex(pattern, trusted, untrusted))
                .clone()
                .map(|admits| (pattern.to_string(), found.source.clone(), admits)),
        },
    };
    let regex_status = match &regex {
        Ok((_, _, admits)) => admits.status(),
        Err(_) => Status::Unknown,
    };
    // Only a pass rests on the probes admitting nothing: an unprobed look-alike could make it
    // a warn, while a weaker effect warns (or fails) whatever the regex admits.
    let status = candidate
        .level()
        .guardrail_status()
        .combine(regex_status)
        .with_unread_sub_result(unprobed.is_some());
    Judged {
        candidate,
        regex,
        status,
    }
}

fn rank(status: Status) -> u8 {
    match status {
        Status::Pass => 0,
        Status::Warn => 1,
        _ => 2,
    }
}

pub fn evaluate(check: &Check, ctx: &EvalContext) -> Vec<Finding> {
    let (clusters, mut findings) = targets::resources(check.id(), ctx.inventory, Target::Cluster);
    let control = control();
    let (trusted, unlisted) = trusted_hosts(ctx);
    let unprobed = unprobed(&unlisted);
    let untrusted = probes(&trusted.hosts, &ctx.param_strings("untrusted_probes"));
    let mut judgements = Judgements::new();
    for cluster in clusters {
        let id = arm::id(cluster);
        let coverage = policy::coverage(ctx.inventory, id, &control, ctx.today);
        let judged: Vec<Judged> = coverage
            .candidates
            .iter()
            .map(|c| {
                judge_candidate(
                    ctx.inventory,
                    c,
                    &mut judgements,
                    &trusted.hosts,
                    &untrusted,
                    unprobed.as_deref(),
                )
            })
            .collect();
        let passing = judged.iter().find(|j| j.status == Status::Pass);
        let undecided =
            !coverage.blockers.is_empty() || judged.iter().any(|j| j.status == Status::Unknown);
        let deciding = passing.or_else(|| {
            if undecided {
                None
            } else {
                judged.iter().min_by_key(|j| rank(j.status))
            }
        });
        let status = match (passing, deciding) {
            (Some(_), _) => Status::Pass,
            _ if undecided => Status::Unknown,
            (None, Some(d)) => d.status,
            (None, None) => Status::Fail,
        };
        let message = message(
            status,
            deciding,
            &judged,
            &coverage,
            &trusted.suggestion(ctx.inventory, id),
            unprobed.as_deref(),
        );
        let mut evidence = Vec::new();
        for (item, j) in coverage.evidence().into_iter().zip(judged.iter()) {
            evidence.push(item);
            evidence.push(regex_evidence(j));
        }
        if judged.is_empty() {
            evidence.extend(coverage.evidence());
        }
        evidence.push(trusted.evidence(ctx.inventory, id));
        evidence.extend(guardrails::addon_note(cluster));
        findings.push(Finding::new(check.id(), id, status, message).with_evidence(evidence));
    }
    findings
}

fn regex_evidence(judged: &Judged) -> Evidence {
    let expected = "admits only images from the trusted registry hosts";
    match &judged.regex {
        Ok((pattern, source, admits)) => Evidence::new(PARAMETER, json!(pattern), expected)
            .on(judged.candidate.id())
            .note(format!(
                "from {source}; {}; {SEMANTICS_NOTE}",
                admits.describe()
            )),
        Err(reason) => Evidence::new(PARAMETER, Value::Null, expected)
            .on(judged.candidate.id())
            .note(format!("cannot be judged: {reason}")),
    }
}

fn message(
    status: Status,
    deciding: Option<&Judged>,
    judged: &[Judged],
    coverage: &policy::Coverage,
    suggested: &str,
    unprobed: Option<&str>,
) -> String {
    let assign = format!(
        "assign febd0533 (containers should only use allowed images) with effect Deny and {PARAMETER} {suggested} at the landing zones management group"
    );
    let Some(d) = deciding else {
        if status == Status::Unknown {
            let mut reasons = coverage.unknown_reasons();
            for j in judged {
                match &j.regex {
                    Err(reason) => reasons.push(format!("{}: {reason}", j.candidate.name())),
                    Ok((_, _, Admits::OnlyTrusted(_))) => {
                        if let Some(why) = unprobed {
                            reasons.push(format!("{}: {why}", j.candidate.name()));
                        }
                    }
                    Ok(_) => {}
                }
            }
            return format!("allowed images: cannot be decided ({})", reasons.join("; "));
        }
        return format!(
            "no assignment of febd0533 (allowed images) covers this cluster, so images from any registry may run; fix: {assign}"
        );
    };
    let c = d.candidate;
    let at = format!("{} at {}", c.name(), policy::short_scope(&c.scope()));
    let regex_text = match &d.regex {
        Ok((pattern, _, admits)) => format!("`{pattern}` {}", admits.describe()),
        Err(reason) => format!("the regex cannot be judged ({reason})"),
    };
    match status {
        Status::Pass => format!(
            "only images from trusted registries may run: {at} denies other images (effect Deny, enforcementMode Default); {regex_text}"
        ),
        _ if c.level() != Level::Enforced => {
            let mut fix = coverage.remedy(&assign).unwrap_or_default();
            if matches!(&d.regex, Ok((_, _, admits)) if admits.status() != Status::Pass) {
                fix.push_str(&format!(", and set {PARAMETER} to {suggested}"));
            }
            format!(
                "allowed images not enforced: {}; {regex_text}; fix: {fix}",
                c.describe()
            )
        }
        Status::Fail => format!(
            "{at} is enforced but its regex {regex_text}; fix: set {PARAMETER} to {suggested}"
        ),
        _ => format!(
            "{at} is enforced but its regex {regex_text}; fix: set {PARAMETER} to {suggested}, or pull public images through the landing zone registry (az acr import)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree as json;

    fn trusted() -> Vec<String> {
        vec![
            "contosoaks.azurecr.io".to_string(),
            "mcr.microsoft.com".to_string(),
        ]
    }

    fn public() -> Vec<String> {
        [
            "docker.io/library/nginx:1.27",
            "nginx:1.27",
            "ghcr.io/lzaudit/probe:1.0",
            "lzaudit-foreign.azurecr.io/lzaudit/probe:1.0",
        ]
        .map(String::from)
        .to_vec()
    }

    /// A tenant of 40 subscriptions with a registry each.
    fn many_registries() -> (Inventory, Trusted) {
        let mut inv = Inventory::new("x", "arm", Default::default());
        for i in 0..40 {
            inv.registries.push(json!({
                "id": format!("/subscriptions/s{i}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/acr{i}"),
                "name": format!("acr{i}"),
                "properties": {"loginServer": format!("acr{i}.azurecr.io")}
            }));
        }
        let mut hosts: Vec<String> = (0..40).map(|i| format!("acr{i}.azurecr.io")).collect();
        hosts.push("mcr.microsoft.com".into());
        hosts.sort();
        let trusted = Trusted {
            hosts,
            configured: vec!["mcr.microsoft.com".into()],
            note: None,
        };
        (inv, trusted)
    }

    #[test]
    fn a_large_tenant_lists_the_configured_and_own_subscription_hosts_with_a_count() {
        let (inv, trusted) = many_registries();
        let cluster = "/subscriptions/s7/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks";
        let evidence = trusted.evidence(&inv, cluster);
        assert_eq!(
            *evidence.observed,
            json!(["acr7.azurecr.io", "mcr.microsoft.com"])
        );
        let note = evidence.note.unwrap();
        assert!(
            note.contains("41 trusted hosts") && note.contains("39 other"),
            "{note}"
        );
        let suggestion = trusted.suggestion(&inv, cluster);
        assert!(
            suggestion.starts_with(r"^(acr7\.azurecr\.io|mcr\.microsoft\.com)/.+$")
                && suggestion.contains("39 other audited registries"),
            "{suggestion}"
        );
        // A small tenant names every host, and suggests the whole alternation.
        let small = Trusted {
            hosts: trusted.hosts[..3].to_vec(),
            configured: vec![],
            note: None,
        };
        assert_eq!(*small.evidence(&inv, cluster).observed, json!(small.hosts));
        assert_eq!(
            small.suggestion(&inv, cluster),
            suggested_regex(&small.hosts)
        );
    }

    fn judge(pattern: &str) -> Admits {
        let trusted = trusted();
        judge_regex(pattern, &trusted, &probes(&trusted, &public())).unwrap()
    }

    #[test]
    fn an_anchored_allowlist_of_the_trusted_hosts_admits_only_them() {
        let pattern = r"^(contosoaks\.azurecr\.io|mcr\.microsoft\.com)/.+$";
        assert_eq!(
            judge(pattern),
            Admits::OnlyTrusted(trusted()),
            "the suggested fix must itself pass"
        );
        assert_eq!(suggested_regex(&trusted()), pattern);
    }

    #[test]
    fn match_everything_regexes_fail() {
        for pattern in [".*", "", "^.*$", ".+", r"^[^/]+/.+$|^[^/]+$"] {
            assert_eq!(judge(pattern), Admits::Anything, "{pattern}");
        }
    }

    #[test]
    fn public_registries_foreign_acrs_and_look_alikes_are_untrusted() {
        let Admits::Untrusted(admitted) =
            judge(r"^(contosoaks\.azurecr\.io/|mcr\.microsoft\.com/|docker\.io/library/)")
        else {
            panic!("docker.io must be reported")
        };
        assert_eq!(admitted, ["docker.io/library/nginx:1.27"]);
        // The Safeguards example admits every ACR, including someone else's.
        let Admits::Untrusted(admitted) = judge(r"^[^\/]+\.azurecr\.io\/.+$") else {
            panic!()
        };
        assert!(
            admitted
                .iter()
                .any(|p| p.starts_with("lzaudit-foreign.azurecr.io"))
        );
        // Unanchored: a host anywhere in the reference.
        let Admits::Untrusted(admitted) = judge(r"contosoaks\.azurecr\.io/") else {
            panic!()
        };
        assert_eq!(
            admitted,
            ["lzaudit-probe.invalid/contosoaks.azurecr.io/lzaudit/probe:1.0"]
        );
        // Unescaped dots admit a look-alike domain.
        let Admits::Untrusted(admitted) = judge(r"^(contosoaks.azurecr.io|mcr.microsoft.com)/")
        else {
            panic!()
        };
        assert!(admitted.contains(&"contosoaks-azurecr.io/lzaudit/probe:1.0".to_string()));
        // No terminating slash: a suffix of the trusted host.
        let Admits::Untrusted(admitted) = judge(r"^(contosoaks\.azurecr\.io|mcr\.microsoft\.com)")
        else {
            panic!()
        };
        assert!(
            admitted
                .iter()
                .any(|p| p.starts_with("mcr.microsoft.com.lzaudit-probe.invalid/"))
        );
    }

    #[test]
    fn trusted_hosts_are_not_probed_as_untrusted_and_bad_regexes_are_errors() {
        let mut trusted = trusted();
        trusted.push("docker.io".to_string());
        let probes = probes(&trusted, &public());
        assert!(
            !probes
                .iter()
                .any(|p| p.starts_with("docker.io/") || p == "nginx:1.27")
        );
        assert_eq!(registry_host("nginx:1.27"), "docker.io");
        assert_eq!(registry_host("localhost/x"), "localhost");
        assert_eq!(
            registry_host("Contoso.azurecr.io/x:1"),
            "contoso.azurecr.io"
        );
        assert!(judge_regex("(unclosed", &trusted, &probes).is_err());
        let lookahead = judge_regex("^(?!docker)", &trusted, &probes).unwrap_err();
        assert!(
            !lookahead.contains('\n') && lookahead.contains("look-around"),
            "{lookahead}"
        );
    }
}
