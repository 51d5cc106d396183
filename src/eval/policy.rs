//! Policy coverage (catalogue §1.1), shared by every policy-based check.
//!
//! A check describes a *control* — the guardrail it wants in force, as the set of accepted ways
//! to implement it (a direct assignment of a definition, or a member of an assigned initiative)
//! and the effects that count as "in force" — and asks [`coverage`] how a target (a
//! subscription, or a resource inside one) stands. The answer lists every assignment that
//! delivers the control to the target, each with its resolved effective effect, enforcement
//! mode, and what weakens it (`DoNotEnforce`, a weaker effect, `Disabled`, a `notScopes`
//! exclusion, an unexpired exemption); its [`Level`] is the strongest of them, as §1.1 "Several
//! assignments" orders them.
//!
//! Unknown is first-class. A failed or missing read of the subscription's assignments or
//! exemptions, an unknown management-group chain, or a missing (set) definition needed to
//! resolve an effect makes the answer [`Level::Unknown`] with the reason, never "not covered"
//! (a false fail) and never a guessed effect (a false pass). Only an assignment that is
//! certainly in force, with the exemptions read, outranks missing data.

use std::fmt;

use crate::json::Value;
use serde_json::{Map, json};
use time::Date;

use super::{Evidence, Status};
use crate::inventory::arm::{self, eq_ci};
use crate::inventory::{Inventory, ReadState, api};

/// A policy (set) definition name pattern, matched against the last segment of a definition ID
/// (the GUID of a built-in, the name of a custom definition), case-insensitively. A trailing `*`
/// makes it a prefix (`Deploy-MDFC-Config*`); `*` alone matches every definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(String);

impl Pattern {
    pub fn new(pattern: impl Into<String>) -> Self {
        Pattern(pattern.into())
    }

    /// Whether a definition ID (or bare name) matches.
    pub fn matches(&self, id_or_name: &str) -> bool {
        let name = arm::last_segment(id_or_name);
        match self.0.strip_suffix('*') {
            Some(prefix) => {
                name.len() >= prefix.len()
                    && name.is_char_boundary(prefix.len())
                    && eq_ci(&name[..prefix.len()], prefix)
            }
            None => eq_ci(name, &self.0),
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which member of an initiative implements the control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    /// The member with this `policyDefinitionReferenceId` (case-insensitive).
    Reference(String),
    /// Every member whose `policyDefinitionId` ends with this GUID or name.
    Definition(String),
}

/// One accepted way of implementing a control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Way {
    /// A direct assignment of a policy definition.
    Definition(Pattern),
    /// A member of an assigned policy set definition.
    Member { set: Pattern, member: Member },
}

impl fmt::Display for Way {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Way::Definition(p) => write!(f, "definition {p}"),
            Way::Member {
                set,
                member: Member::Reference(r),
            } => write!(f, "set {set} ref {r}"),
            Way::Member {
                set,
                member: Member::Definition(d),
            } => write!(f, "set {set} member {d}"),
        }
    }
}

/// A guardrail a check wants in force: the accepted ways, and the effects that enforce it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    /// A short lowercase label for messages (`privileged containers`).
    pub label: String,
    pub ways: Vec<Way>,
    /// The effects that count as enforcing (`Deny`; `DeployIfNotExists`), compared case-insensitively.
    pub effects: Vec<String>,
}

impl Control {
    pub fn new(label: impl Into<String>, effects: &[&str]) -> Self {
        Control {
            label: label.into(),
            ways: Vec::new(),
            effects: effects.iter().map(|e| e.to_string()).collect(),
        }
    }

    /// Accepts a direct assignment of the definition `pattern` (GUID or name).
    pub fn definition(mut self, pattern: &str) -> Self {
        self.ways.push(Way::Definition(Pattern::new(pattern)));
        self
    }

    /// Accepts the member `reference` of an assigned set matching `set`.
    pub fn member(mut self, set: &str, reference: &str) -> Self {
        self.ways.push(Way::Member {
            set: Pattern::new(set),
            member: Member::Reference(reference.to_string()),
        });
        self
    }

    /// Accepts any member of an assigned set matching `set` whose definition is `definition`.
    pub fn member_definition(mut self, set: &str, definition: &str) -> Self {
        self.ways.push(Way::Member {
            set: Pattern::new(set),
            member: Member::Definition(definition.to_string()),
        });
        self
    }

    /// The enforcing effects as prose: `Deny`, `Deny or Mutate`.
    pub fn required(&self) -> String {
        self.effects.join(" or ")
    }

    /// What evidence states as expected for this control.
    pub fn expected(&self) -> String {
        format!(
            "an assignment covering the target with effect {} and enforcementMode Default, not excluded by notScopes and not exempted",
            self.required()
        )
    }
}

/// How a control stands on a target, strongest first (catalogue §1.1 "Several assignments").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Covered with an enforcing effect and `enforcementMode` `Default`.
    Enforced,
    /// Covered, but `DoNotEnforce` or with a weaker effect (e.g. `Audit`).
    Weaker,
    /// Assigned, but the effect is `Disabled`, or the target is excluded or exempted.
    Inert,
    /// No assignment delivers the control to the target.
    Uncovered,
    /// The data needed to decide is missing.
    Unknown,
}

impl Level {
    /// The usual mapping for a guardrail check: enforced passes, weaker warns, inert or
    /// uncovered fails, unknown stays unknown.
    pub fn guardrail_status(self) -> Status {
        match self {
            Level::Enforced => Status::Pass,
            Level::Weaker => Status::Warn,
            Level::Inert | Level::Uncovered => Status::Fail,
            Level::Unknown => Status::Unknown,
        }
    }
}

/// What weakens one assignment's delivery of a control, or keeps it from being decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issue {
    /// `enforcementMode` is not `Default` (the observed value).
    NotEnforced(String),
    /// The effective effect is not one of the control's effects (and not `Disabled`).
    WeakEffect(String),
    /// The effective effect is `Disabled`.
    Disabled,
    /// A `notScopes` entry contains the target.
    Excluded(String),
    /// An unexpired exemption applies.
    Exempted {
        id: String,
        category: Option<String>,
        expires_on: Option<String>,
    },
    /// Could not be decided, and why.
    Unknown(String),
}

impl Issue {
    fn makes_inert(&self) -> bool {
        matches!(
            self,
            Issue::Disabled | Issue::Excluded(_) | Issue::Exempted { .. }
        )
    }

    /// A lowercase phrase for messages.
    pub fn describe(&self) -> String {
        match self {
            Issue::NotEnforced(mode) => format!("enforcementMode {mode}"),
            Issue::WeakEffect(effect) => format!("effect {effect}"),
            Issue::Disabled => "effect Disabled".to_string(),
            Issue::Excluded(scope) => format!("excluded by notScopes entry {scope}"),
            Issue::Exempted {
                id,
                category,
                expires_on,
            } => format!(
                "exempted by {} ({}, {})",
                arm::last_segment(id),
                category.as_deref().unwrap_or("no category"),
                match expires_on {
                    Some(date) => format!("expires {date}"),
                    None => "no expiry".to_string(),
                }
            ),
            Issue::Unknown(reason) => format!("undecidable: {reason}"),
        }
    }
}

/// One assignment that delivers a control to the target (through one definition or set member).
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    /// The assignment's raw ARM JSON.
    pub assignment: &'a Value,
    /// The way of the control it matched.
    pub way: Way,
    /// The set definition's name when delivered through an initiative.
    pub set: Option<String>,
    /// The member's `policyDefinitionReferenceId`, when delivered through an initiative.
    pub reference: Option<String>,
    /// The effective effect (§1.1 step 4), when it could be resolved.
    pub effect: Option<String>,
    /// Where the effect came from (`assignment parameter enableAscForContainers`, ...).
    pub effect_source: Option<String>,
    /// The assignment parameter that sets the effect (`effect`, `enableAscForContainers`), when
    /// the assignment can change it.
    pub effect_parameter: Option<String>,
    /// `properties.enforcementMode` as read (`Default` when ARM omits it).
    pub enforcement_mode: String,
    pub issues: Vec<Issue>,
}

impl Candidate<'_> {
    fn set_effect(&mut self, resolved: Resolved) {
        self.effect = Some(resolved.effect);
        self.effect_source = Some(resolved.source);
        self.effect_parameter = resolved.parameter;
    }

    pub fn id(&self) -> &str {
        arm::id(self.assignment)
    }

    pub fn name(&self) -> &str {
        arm::name(self.assignment)
    }

    /// The assignment's scope (`properties.scope`, else derived from its ID).
    pub fn scope(&self) -> String {
        assignment_scope(self.assignment)
    }

    pub fn definition_version(&self) -> Option<&str> {
        arm::str_at(self.assignment, "properties.definitionVersion")
    }

    pub fn policy_definition_id(&self) -> &str {
        arm::str_at(self.assignment, "properties.policyDefinitionId").unwrap_or_default()
    }

    pub fn level(&self) -> Level {
        if self.issues.iter().any(Issue::makes_inert) {
            Level::Inert
        } else if self.issues.iter().any(|i| matches!(i, Issue::Unknown(_))) {
            Level::Unknown
        } else if self.issues.is_empty() {
            Level::Enforced
        } else {
            Level::Weaker
        }
    }

    /// `Deny-Privileged-AKS at landingzones (effect Deny, enforcementMode Default)`, plus issues.
    pub fn describe(&self) -> String {
        let mut out = format!("{} at {}", self.name(), short_scope(&self.scope()));
        if let Some(reference) = &self.reference {
            out.push_str(&format!(" (ref {reference})"));
        }
        let issues: Vec<String> = self.issues.iter().map(Issue::describe).collect();
        if issues.is_empty() {
            out.push_str(&format!(
                " with effect {} and enforcementMode {}",
                self.effect.as_deref().unwrap_or("?"),
                self.enforcement_mode
            ));
        } else {
            out.push_str(&format!(": {}", issues.join(", ")));
        }
        out
    }

    /// The facts evidence reports about this assignment.
    pub fn facts(&self) -> serde_json::Value {
        let mut map = Map::new();
        map.insert("assignment".into(), json!(self.name()));
        map.insert("scope".into(), json!(self.scope()));
        map.insert(
            "policyDefinitionId".into(),
            json!(self.policy_definition_id()),
        );
        if let Some(reference) = &self.reference {
            map.insert("policyDefinitionReferenceId".into(), json!(reference));
        }
        map.insert("definitionVersion".into(), json!(self.definition_version()));
        map.insert("effect".into(), json!(self.effect));
        if let Some(source) = &self.effect_source {
            map.insert("effectFrom".into(), json!(source));
        }
        map.insert("enforcementMode".into(), json!(self.enforcement_mode));
        if !self.issues.is_empty() {
            map.insert(
                "issues".into(),
                json!(self.issues.iter().map(Issue::describe).collect::<Vec<_>>()),
            );
        }
        serde_json::Value::Object(map)
    }
}

/// How one control stands on one target.
#[derive(Debug, Clone)]
pub struct Coverage<'a> {
    pub target: String,
    pub control: Control,
    /// Every assignment that delivers the control and whose scope may contain the target,
    /// sorted by assignment ID and reference.
    pub candidates: Vec<Candidate<'a>>,
    /// Reasons the list of candidates itself may be incomplete (a failed assignments read, an
    /// unknown management-group chain): they make anything short of `Enforced` unknown.
    pub blockers: Vec<String>,
}

impl<'a> Coverage<'a> {
    pub fn level(&self) -> Level {
        if self.candidates.iter().any(|c| c.level() == Level::Enforced) {
            return Level::Enforced;
        }
        if !self.blockers.is_empty() || self.candidates.iter().any(|c| c.level() == Level::Unknown)
        {
            return Level::Unknown;
        }
        self.candidates
            .iter()
            .map(Candidate::level)
            .min()
            .unwrap_or(Level::Uncovered)
    }

    /// The candidate that decides the level: the strongest known one (for `Unknown`, the first
    /// undecidable one); `None` when nothing delivers the control.
    pub fn best(&self) -> Option<&Candidate<'a>> {
        let level = self.level();
        self.candidates
            .iter()
            .find(|c| c.level() == level)
            .or_else(|| {
                self.candidates
                    .iter()
                    .filter(|c| c.level() != Level::Unknown)
                    .min_by_key(|c| c.level())
            })
    }

    /// Every reason the answer is unknown (blockers first, then undecidable candidates).
    pub fn unknown_reasons(&self) -> Vec<String> {
        let mut out = self.blockers.clone();
        for candidate in &self.candidates {
            if candidate.level() != Level::Unknown {
                continue;
            }
            for issue in &candidate.issues {
                if let Issue::Unknown(reason) = issue
                    && !self.blockers.contains(reason)
                {
                    let line = format!("{}: {reason}", candidate.name());
                    if !out.contains(&line) {
                        out.push(line);
                    }
                }
            }
        }
        out
    }

    /// A lowercase phrase for messages: `privileged containers: Deny-Privileged-AKS at
    /// landingzones: enforcementMode DoNotEnforce`.
    pub fn summary(&self) -> String {
        let label = &self.control.label;
        match self.level() {
            Level::Uncovered => format!(
                "{label}: no assignment with effect {} covers it",
                self.control.required()
            ),
            Level::Unknown => {
                format!(
                    "{label}: cannot be decided ({})",
                    self.unknown_reasons().join("; ")
                )
            }
            _ => match self.best() {
                Some(best) => format!("{label}: {}", best.describe()),
                None => format!("{label}: no assignment covers it"),
            },
        }
    }

    /// What to do about a control that is not enforced, for a message's fix direction: `assign`
    /// when nothing covers it, else one step per issue of the deciding assignment; `None` when
    /// it is enforced.
    pub fn remedy(&self, assign: &str) -> Option<String> {
        let level = self.level();
        match level {
            Level::Enforced => None,
            Level::Uncovered => Some(assign.to_string()),
            Level::Unknown => Some(
                "let the auditing identity read the missing policy data, then re-run".to_string(),
            ),
            Level::Weaker | Level::Inert => {
                let best = self.best()?;
                let name = best.name();
                let mut steps: Vec<String> = Vec::new();
                for issue in &best.issues {
                    let step = match issue {
                        Issue::NotEnforced(_) => format!("set enforcementMode Default on {name}"),
                        Issue::WeakEffect(_) | Issue::Disabled => match &best.effect_parameter {
                            Some(parameter) => format!(
                                "set parameter {parameter} to {} on {name}",
                                self.control.required()
                            ),
                            None => format!(
                                "{name} fixes the effect in its set or definition: assign one with effect {}",
                                self.control.required()
                            ),
                        },
                        Issue::Excluded(entry) => {
                            format!("remove {entry} from the notScopes of {name}")
                        }
                        Issue::Exempted { id, .. } => {
                            format!("remove exemption {}", arm::last_segment(id))
                        }
                        Issue::Unknown(_) => continue,
                    };
                    if !steps.contains(&step) {
                        steps.push(step);
                    }
                }
                Some(steps.join(", "))
            }
        }
    }

    /// One evidence item per candidate (on the assignment), or one saying nothing delivers the
    /// control; blockers are stated in a note.
    pub fn evidence(&self) -> Vec<Evidence> {
        let property = format!("policy coverage of {}", self.control.label);
        let expected = self.control.expected();
        let blockers = (!self.blockers.is_empty()).then(|| self.blockers.join("; "));
        if self.candidates.is_empty() {
            let ways: Vec<String> = self.control.ways.iter().map(Way::to_string).collect();
            let mut item = Evidence::new(property, Value::Null, expected);
            item = item.note(match blockers {
                Some(b) => format!("cannot be decided: {b}"),
                None => format!(
                    "no assignment of {} has a scope containing {}",
                    ways.join(", "),
                    self.target
                ),
            });
            return vec![item];
        }
        self.candidates
            .iter()
            .map(|c| {
                let mut item =
                    Evidence::new(property.clone(), c.facts(), expected.clone()).on(c.id());
                if let Some(b) = &blockers {
                    item = item.note(format!("the list of assignments may be incomplete: {b}"));
                }
                item
            })
            .collect()
    }
}

/// The combined status of several guardrail controls (catalogue §Outcome names: fail >
/// unknown > warn > pass), each mapped with [`Level::guardrail_status`].
pub fn guardrail_status(coverages: &[Coverage]) -> Status {
    coverages
        .iter()
        .map(|c| c.level().guardrail_status())
        .fold(Status::Pass, Status::combine)
}

/// The problems of several controls for a message: the summary of each one that is neither
/// enforced nor unknown, then the undecidable ones together with their distinct reasons.
pub fn problems(coverages: &[Coverage]) -> String {
    let mut parts: Vec<String> = coverages
        .iter()
        .filter(|c| !matches!(c.level(), Level::Enforced | Level::Unknown))
        .map(Coverage::summary)
        .collect();
    let unknown: Vec<&Coverage> = coverages
        .iter()
        .filter(|c| c.level() == Level::Unknown)
        .collect();
    if !unknown.is_empty() {
        let labels: Vec<&str> = unknown.iter().map(|c| c.control.label.as_str()).collect();
        let mut reasons: Vec<String> = Vec::new();
        for reason in unknown.iter().flat_map(|c| c.unknown_reasons()) {
            if !reasons.contains(&reason) {
                reasons.push(reason);
            }
        }
        parts.push(format!(
            "{} cannot be decided ({})",
            labels.join(", "),
            reasons.join("; ")
        ));
    }
    parts.join("; ")
}

/// The distinct fix steps of several controls (see [`Coverage::remedy`]); `assign` gives, per
/// control in the same order, what to do when nothing covers it.
pub fn remedies(coverages: &[Coverage], assign: &[&str]) -> String {
    let mut steps: Vec<String> = Vec::new();
    for (i, coverage) in coverages.iter().enumerate() {
        let hint = assign
            .get(i)
            .or(assign.last())
            .copied()
            .unwrap_or("assign it");
        if let Some(step) = coverage.remedy(hint)
            && !steps.contains(&step)
        {
            steps.push(step);
        }
    }
    steps.join("; ")
}

/// Whether a scope contains the target: certainly, certainly not, or undecidable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applies {
    Yes,
    No,
    Unknown(String),
}

/// Everything §1.1 needs to know about the target.
struct Target<'i> {
    id: String,
    chain: Option<&'i [String]>,
    inventory: &'i Inventory,
}

impl Target<'_> {
    /// Whether `scope` (the tenant root `/`, a management group, a subscription, a resource
    /// group or a resource) is the target or one of its ancestors.
    fn contains(&self, scope: &str) -> Applies {
        if scope.trim_end_matches('/').is_empty() {
            return Applies::Yes;
        }
        if let Some(mg) = arm::management_group_name(scope) {
            return match self.chain {
                Some(chain) if chain.iter().any(|m| eq_ci(m, mg)) => Applies::Yes,
                Some(_) => Applies::No,
                None => Applies::Unknown(self.inventory.ancestry_unknown(&self.subscription_id())),
            };
        }
        if arm::is_scope_prefix(scope, &self.id) {
            Applies::Yes
        } else {
            Applies::No
        }
    }

    fn subscription_id(&self) -> String {
        arm::subscription_of(&self.id)
            .map(|s| format!("/subscriptions/{s}"))
            .unwrap_or_else(|| self.id.clone())
    }
}

/// The scope of an assignment: `properties.scope`, else the part of its ID before
/// `/providers/Microsoft.Authorization/policyAssignments/`.
pub fn assignment_scope(assignment: &Value) -> String {
    arm::str_at(assignment, "properties.scope")
        .map(str::to_string)
        .unwrap_or_else(|| {
            scope_before(
                arm::id(assignment),
                "/providers/microsoft.authorization/policyassignments/",
            )
        })
}

/// The scope of an exemption: the part of its ID before `/providers/Microsoft.Authorization/policyExemptions/`.
pub fn exemption_scope(exemption: &Value) -> String {
    scope_before(
        arm::id(exemption),
        "/providers/microsoft.authorization/policyexemptions/",
    )
}

fn scope_before(id: &str, marker_lower: &str) -> String {
    match arm::find_ci(id, marker_lower) {
        Some(0) => "/".to_string(),
        Some(at) => id[..at].to_string(),
        None => id.to_string(),
    }
}

/// Whether an assignment's scope contains the target and no `notScopes` entry excludes it
/// (§1.1 steps 1 and 2). `No` covers both "out of scope" and "excluded"; use [`coverage`] to
/// tell them apart.
pub fn assignment_applies(inventory: &Inventory, target: &str, assignment: &Value) -> Applies {
    let t = target_of(inventory, target);
    match t.contains(&assignment_scope(assignment)) {
        Applies::Yes => {}
        other => return other,
    }
    match exclusion(&t, assignment) {
        Applies::Yes => Applies::No,
        Applies::No => Applies::Yes,
        unknown => unknown,
    }
}

fn target_of<'i>(inventory: &'i Inventory, target: &str) -> Target<'i> {
    let chain = arm::subscription_of(target)
        .and_then(|guid| inventory.subscription(&guid))
        .and_then(|s| s.management_group_ancestors.as_deref());
    Target {
        id: target.to_string(),
        chain,
        inventory,
    }
}

/// Whether a `notScopes` entry contains the target; `Yes` carries no entry, see `excluding_entry`.
fn exclusion(target: &Target, assignment: &Value) -> Applies {
    match excluding_entry(target, assignment) {
        Ok(Some(_)) => Applies::Yes,
        Ok(None) => Applies::No,
        Err(reason) => Applies::Unknown(reason),
    }
}

fn excluding_entry(target: &Target, assignment: &Value) -> Result<Option<String>, String> {
    let mut undecided = None;
    for entry in arm::array_at(assignment, "properties.notScopes")
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        match target.contains(entry) {
            Applies::Yes => return Ok(Some(entry.to_string())),
            Applies::No => {}
            Applies::Unknown(reason) => undecided = Some(reason),
        }
    }
    match undecided {
        Some(reason) => Err(format!("notScopes entry undecidable: {reason}")),
        None => Ok(None),
    }
}

/// Evaluates one control on one target (a subscription ID or a resource ID) with §1.1.
pub fn coverage<'a>(
    inventory: &'a Inventory,
    target: &str,
    control: &Control,
    today: Date,
) -> Coverage<'a> {
    let t = target_of(inventory, target);
    let mut blockers = Vec::new();
    let subscription = arm::subscription_of(target).and_then(|g| inventory.subscription(&g));
    let exemptions_missing = match subscription {
        None => {
            blockers.push(format!(
                "the subscription of {target} is not among the audited subscriptions"
            ));
            Some("the subscription is not audited".to_string())
        }
        Some(sub) => {
            if let Some(reason) = inventory
                .read_state(&sub.id, api::POLICY_ASSIGNMENTS)
                .missing_reason(&sub.id, api::POLICY_ASSIGNMENTS)
            {
                blockers.push(reason);
            }
            if sub.management_group_ancestors.is_none() {
                blockers.push(inventory.ancestry_unknown(&sub.id));
            }
            inventory
                .read_state(&sub.id, api::POLICY_EXEMPTIONS)
                .missing_reason(&sub.id, api::POLICY_EXEMPTIONS)
        }
    };

    let mut candidates = Vec::new();
    // Only assignments made at or above the target can cover it (`Target::contains` says No
    // to every other one).
    for assignment in inventory.policy_assignments_at_or_above(target) {
        let definition_id =
            arm::str_at(assignment, "properties.policyDefinitionId").unwrap_or_default();
        let is_set = definition_id
            .to_ascii_lowercase()
            .contains("/policysetdefinitions/");
        let ways: Vec<&Way> = control
            .ways
            .iter()
            .filter(|w| match w {
                Way::Definition(p) => !is_set && p.matches(definition_id),
                Way::Member { set, .. } => is_set && set.matches(definition_id),
            })
            .collect();
        if ways.is_empty() {
            continue;
        }
        let scope_state = t.contains(&assignment_scope(assignment));
        if scope_state == Applies::No {
            continue;
        }
        let base = Candidate {
            assignment,
            way: ways[0].clone(),
            set: is_set.then(|| arm::last_segment(definition_id).to_string()),
            reference: None,
            effect: None,
            effect_source: None,
            effect_parameter: None,
            enforcement_mode: arm::str_at(assignment, "properties.enforcementMode")
                .unwrap_or("Default")
                .to_string(),
            issues: Vec::new(),
        };
        // Which members (or the definition itself) deliver the control, with their effects.
        let mut deliveries: Vec<Candidate> = Vec::new();
        if is_set {
            match find_definition(
                inventory,
                definition_id,
                api::POLICY_SET_DEFINITIONS,
                "policy set definition",
            ) {
                Err(reason) => {
                    let mut c = base.clone();
                    c.issues.push(Issue::Unknown(reason));
                    deliveries.push(c);
                }
                Ok(set) => {
                    for way in &ways {
                        let Way::Member { member, .. } = way else {
                            continue;
                        };
                        for entry in arm::array_at(set, "properties.policyDefinitions")
                            .into_iter()
                            .flatten()
                        {
                            let reference =
                                arm::str_at(entry, "policyDefinitionReferenceId").unwrap_or("");
                            let member_id =
                                arm::str_at(entry, "policyDefinitionId").unwrap_or_default();
                            let hit = match member {
                                Member::Reference(r) => eq_ci(reference, r),
                                Member::Definition(d) => Pattern::new(d.clone()).matches(member_id),
                            };
                            if !hit
                                || deliveries
                                    .iter()
                                    .any(|d| d.reference.as_deref() == Some(reference))
                            {
                                continue;
                            }
                            let mut c = base.clone();
                            c.way = (*way).clone();
                            c.reference = Some(reference.to_string());
                            match member_effect(inventory, assignment, set, entry) {
                                Ok(resolved) => c.set_effect(resolved),
                                Err(reason) => c.issues.push(Issue::Unknown(reason)),
                            }
                            deliveries.push(c);
                        }
                    }
                }
            }
        } else {
            let mut c = base.clone();
            match direct_effect(inventory, assignment, definition_id) {
                Ok(resolved) => c.set_effect(resolved),
                Err(reason) => c.issues.push(Issue::Unknown(reason)),
            }
            deliveries.push(c);
        }

        for mut c in deliveries {
            if let Applies::Unknown(reason) = &scope_state {
                c.issues.push(Issue::Unknown(reason.clone()));
            }
            match excluding_entry(&t, assignment) {
                Ok(Some(entry)) => c.issues.push(Issue::Excluded(entry)),
                Ok(None) => {}
                Err(reason) => c.issues.push(Issue::Unknown(reason)),
            }
            match &exemptions_missing {
                Some(reason) => c.issues.push(Issue::Unknown(format!(
                    "exemptions cannot be ruled out: {reason}"
                ))),
                None => c.issues.extend(exemption_issues(
                    inventory,
                    &t,
                    assignment,
                    c.reference.as_deref(),
                    today,
                )),
            }
            if let Some(effect) = &c.effect {
                if eq_ci(effect, "Disabled") {
                    c.issues.push(Issue::Disabled);
                } else if !control.effects.iter().any(|e| eq_ci(e, effect)) {
                    c.issues.push(Issue::WeakEffect(effect.clone()));
                }
            }
            if !eq_ci(&c.enforcement_mode, "Default") {
                c.issues
                    .push(Issue::NotEnforced(c.enforcement_mode.clone()));
            }
            candidates.push(c);
        }
    }
    candidates.sort_by_cached_key(|c| {
        (
            c.id().to_ascii_lowercase(),
            c.reference.clone().unwrap_or_default().to_ascii_lowercase(),
        )
    });
    Coverage {
        target: target.to_string(),
        control: control.clone(),
        candidates,
        blockers,
    }
}

/// The exemptions of §1.1 step 3 that apply to this assignment (and reference) on the target.
fn exemption_issues(
    inventory: &Inventory,
    target: &Target,
    assignment: &Value,
    reference: Option<&str>,
    today: Date,
) -> Vec<Issue> {
    let assignment_id = arm::id(assignment).trim_end_matches('/');
    let mut issues = Vec::new();
    for exemption in inventory.exemptions_of(assignment_id) {
        let references: Vec<&str> =
            arm::array_at(exemption, "properties.policyDefinitionReferenceIds")
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
        let for_this_member = references.is_empty()
            || reference.is_some_and(|r| references.iter().any(|x| eq_ci(x, r)));
        if !for_this_member {
            continue;
        }
        let expires_on = arm::str_at(exemption, "properties.expiresOn");
        if let Some(raw) = expires_on {
            match parse_date(raw) {
                Some(date) if date <= today => continue,
                Some(_) => {}
                None => {
                    issues.push(Issue::Unknown(format!(
                        "exemption {} has an unreadable expiresOn `{raw}`",
                        arm::id(exemption)
                    )));
                    continue;
                }
            }
        }
        match target.contains(&exemption_scope(exemption)) {
            Applies::No => {}
            Applies::Yes => issues.push(Issue::Exempted {
                id: arm::id(exemption).to_string(),
                category: arm::str_at(exemption, "properties.exemptionCategory")
                    .map(str::to_string),
                expires_on: expires_on.map(str::to_string),
            }),
            Applies::Unknown(reason) => issues.push(Issue::Unknown(format!(
                "whether exemption {} applies: {reason}",
                arm::id(exemption)
            ))),
        }
    }
    issues
}

/// The UTC date of an RFC 3339 date-time (or a bare `YYYY-MM-DD`).
fn parse_date(raw: &str) -> Option<Date> {
    if let Ok(at) = time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
    {
        return Some(at.to_offset(time::UtcOffset::UTC).date());
    }
    let day = raw.get(..10)?;
    Date::parse(
        day,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

/// A definition or set definition by ID, or why it is not available.
fn find_definition<'a>(
    inventory: &'a Inventory,
    id: &str,
    api_name: &str,
    noun: &str,
) -> Result<&'a Value, String> {
    find_definition_for(inventory, id, api_name, noun, "the effect")
}

/// [`find_definition`], saying what the definition is needed for (`the effect`, `parameter X`).
fn find_definition_for<'a>(
    inventory: &'a Inventory,
    id: &str,
    api_name: &str,
    noun: &str,
    purpose: &str,
) -> Result<&'a Value, String> {
    let list = if api_name == api::POLICY_SET_DEFINITIONS {
        &inventory.policy_set_definitions
    } else {
        &inventory.policy_definitions
    };
    let wanted = id.trim_end_matches('/');
    if let Some(found) = list
        .iter()
        .find(|d| eq_ci(arm::id(d).trim_end_matches('/'), wanted))
    {
        return Ok(found);
    }
    Err(match inventory.read_state(id, api_name) {
        ReadState::NotCollected => {
            format!("{noun} {id} is needed to resolve {purpose} but was not collected")
        }
        ReadState::Failed(read) => {
            let mut detail = read.status.to_string();
            if let Some(status) = read.http_status {
                detail.push_str(&format!(" (HTTP {status}"));
                if let Some(code) = &read.code {
                    detail.push_str(&format!(" {code}"));
                }
                detail.push(')');
            }
            format!("{noun} {id} is needed to resolve {purpose} but could not be read: {detail}")
        }
        ReadState::Ok => format!("{noun} {id} was read but is not in the inventory"),
    })
}

/// The name `X` of a `[parameters('X')]` expression.
fn parameter_reference(expression: &str) -> Option<&str> {
    let inner = expression
        .trim()
        .strip_prefix('[')?
        .strip_suffix(']')?
        .trim();
    let (function, rest) = inner.split_once('(')?;
    if !eq_ci(function.trim(), "parameters") {
        return None;
    }
    let argument = rest.strip_suffix(')')?.trim();
    argument.strip_prefix('\'')?.strip_suffix('\'')
}

/// A template expression (as opposed to a literal; `[[` escapes a literal `[`).
fn is_expression(text: &str) -> bool {
    let t = text.trim_start();
    t.starts_with('[') && !t.starts_with("[[")
}

/// An assignment's value for one of its definition's parameters.
fn assignment_parameter<'a>(assignment: &'a Value, name: &str) -> Option<&'a Value> {
    arm::key(arm::path(assignment, "properties.parameters")?, name)
        .and_then(|p| arm::key(p, "value"))
        .filter(|v| !v.is_null())
}

/// A definition's (or set's) declared default for one of its parameters.
fn declared_default<'a>(definition: &'a Value, name: &str) -> Option<&'a Value> {
    arm::key(arm::path(definition, "properties.parameters")?, name)
        .and_then(|p| arm::key(p, "defaultValue"))
        .filter(|v| !v.is_null())
}

fn as_effect(value: &Value, from: &str) -> Result<String, String> {
    match value.as_str() {
        Some(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        _ => Err(format!("{from} is {value}, not an effect name")),
    }
}

/// A resolved effective effect, where it came from, and the assignment parameter that sets it
/// (`None` when the assignment cannot change it: a literal, or a member definition's default).
struct Resolved {
    effect: String,
    source: String,
    parameter: Option<String>,
}

impl Resolved {
    fn new(effect: String, source: String, parameter: Option<&str>) -> Self {
        Resolved {
            effect,
            source,
            parameter: parameter.map(str::to_string),
        }
    }
}

/// The effect of a definition given the values passed to its parameters: the parameter named
/// by `policyRule.then.effect` (normally `effect`), else its `defaultValue`; or the literal
/// effect of a rule that does not parameterise it. `assignable` says whether the assignment
/// itself passes the parameters (a direct assignment) or a set does.
fn definition_effect(
    definition: &Value,
    assignable: bool,
    passed: impl Fn(&str) -> Result<Option<Resolved>, String>,
) -> Result<Resolved, String> {
    let id = arm::id(definition);
    let parameter = match arm::str_at(definition, "properties.policyRule.then.effect") {
        None => "effect".to_string(),
        Some(rule) if !is_expression(rule) => {
            return Ok(Resolved::new(
                rule.trim().to_string(),
                format!("policyRule of definition {}", arm::last_segment(id)),
                None,
            ));
        }
        Some(rule) => match parameter_reference(rule) {
            Some(name) => name.to_string(),
            None => {
                return Err(format!(
                    "definition {id} computes its effect with `{rule}`, which lzaudit does not evaluate"
                ));
            }
        },
    };
    if let Some(found) = passed(&parameter)? {
        return Ok(found);
    }
    match declared_default(definition, &parameter) {
        Some(v) => Ok(Resolved::new(
            as_effect(v, &format!("the default of parameter {parameter}"))?,
            format!(
                "default of parameter {parameter} of definition {}",
                arm::last_segment(id)
            ),
            assignable.then_some(parameter.as_str()),
        )),
        None => Err(format!(
            "definition {id} declares no default for parameter {parameter} and nothing sets it"
        )),
    }
}

/// §1.1 step 4 for a direct assignment: the assignment's `effect` parameter, falling back to
/// the definition's default (which needs the definition).
fn direct_effect(
    inventory: &Inventory,
    assignment: &Value,
    definition_id: &str,
) -> Result<Resolved, String> {
    let from_assignment = |name: &str| -> Result<Option<Resolved>, String> {
        assignment_parameter(assignment, name)
            .map(|v| {
                let source = format!("assignment parameter {name}");
                Ok(Resolved::new(as_effect(v, &source)?, source, Some(name)))
            })
            .transpose()
    };
    if let Some(found) = from_assignment("effect")? {
        return Ok(found);
    }
    let definition = find_definition(
        inventory,
        definition_id,
        api::POLICY_DEFINITIONS,
        "policy definition",
    )?;
    definition_effect(definition, true, from_assignment)
}

/// Resolves a value a set passes to a member: a literal, or `[parameters('X')]` resolved to the
/// assignment's `X`, falling back to the set's default for `X`.
fn resolve_in_set(
    value: &Value,
    assignment: &Value,
    set: &Value,
    what: &str,
) -> Result<Resolved, String> {
    let Some(text) = value.as_str() else {
        return Err(format!("{what} is {value}, not an effect name"));
    };
    if !is_expression(text) {
        return Ok(Resolved::new(
            as_effect(value, what)?,
            format!("{what} (literal in set {})", arm::name(set)),
            None,
        ));
    }
    let Some(name) = parameter_reference(text) else {
        return Err(format!(
            "{what} is `{text}`, an expression lzaudit does not evaluate"
        ));
    };
    if let Some(v) = assignment_parameter(assignment, name) {
        let source = format!("assignment parameter {name}");
        return Ok(Resolved::new(as_effect(v, &source)?, source, Some(name)));
    }
    match declared_default(set, name) {
        Some(v) => Ok(Resolved::new(
            as_effect(v, &format!("the default of set parameter {name}"))?,
            format!("default of set parameter {name}"),
            Some(name),
        )),
        None => Err(format!(
            "set {} declares no default for parameter {name} and the assignment does not set it",
            arm::id(set)
        )),
    }
}

/// §1.1 step 4 for an initiative member: the reference's `effect` value (resolved through the
/// set's parameters), else the member definition's default (which needs the definition).
fn member_effect(
    inventory: &Inventory,
    assignment: &Value,
    set: &Value,
    entry: &Value,
) -> Result<Resolved, String> {
    let reference = arm::str_at(entry, "policyDefinitionReferenceId").unwrap_or("?");
    let passed = |name: &str| -> Option<&Value> {
        arm::path(entry, "parameters")
            .and_then(|p| arm::key(p, name))
            .and_then(|p| arm::key(p, "value"))
            .filter(|v| !v.is_null())
    };
    if let Some(v) = passed("effect") {
        return resolve_in_set(
            v,
            assignment,
            set,
            &format!("effect passed to ref {reference}"),
        );
    }
    let member_id = arm::str_at(entry, "policyDefinitionId").unwrap_or_default();
    let definition = find_definition(
        inventory,
        member_id,
        api::POLICY_DEFINITIONS,
        "member policy definition",
    )?;
    definition_effect(definition, false, |name| {
        passed(name)
            .map(|v| {
                resolve_in_set(
                    v,
                    assignment,
                    set,
                    &format!("{name} passed to ref {reference}"),
                )
            })
            .transpose()
    })
}

/// `landingzones` for an MG scope, `subscription …` for a subscription, else the scope itself.
pub fn short_scope(scope: &str) -> String {
    if scope.trim_end_matches('/').is_empty() {
        return "the tenant root".to_string();
    }
    if let Some(mg) = arm::management_group_name(scope) {
        return format!("management group {mg}");
    }
    scope.to_string()
}

/// A value an assignment passes to one of its definition's parameters (directly, or through an
/// initiative member), and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ParameterValue {
    pub value: Value,
    /// `assignment parameter X`, `default of set parameter X`, `literal passed to ref R`, ...
    pub source: String,
}

/// §1.1 step 4 generalised to any parameter: the value the definition parameter `name` takes
/// for the definition a candidate delivers. A direct assignment's own value, else the
/// definition's `defaultValue`; for an initiative member, the value the set passes to the
/// reference (a literal, or `[parameters('X')]` resolved to the assignment's `X`, else the set's
/// default for `X`), else the member definition's default. `Ok(None)` when nothing sets it and
/// no default is declared; `Err` when a (set) definition needed to answer is missing or the
/// value is an expression lzaudit does not evaluate.
pub fn candidate_parameter(
    inventory: &Inventory,
    candidate: &Candidate,
    name: &str,
) -> Result<Option<ParameterValue>, String> {
    let assignment = candidate.assignment;
    let purpose = format!("parameter {name}");
    let definition_id = candidate.policy_definition_id();
    let Some(reference) = &candidate.reference else {
        if candidate.set.is_some() {
            find_definition_for(
                inventory,
                definition_id,
                api::POLICY_SET_DEFINITIONS,
                "policy set definition",
                &purpose,
            )?;
            return Err(format!(
                "the member of set {definition_id} that delivers the control is unknown"
            ));
        }
        if let Some(value) = assignment_parameter(assignment, name) {
            return Ok(Some(ParameterValue {
                value: value.clone(),
                source: format!("assignment parameter {name}"),
            }));
        }
        let definition = find_definition_for(
            inventory,
            definition_id,
            api::POLICY_DEFINITIONS,
            "policy definition",
            &purpose,
        )?;
        return Ok(
            declared_default(definition, name).map(|value| ParameterValue {
                value: value.clone(),
                source: format!(
                    "default of parameter {name} of definition {}",
                    arm::last_segment(definition_id)
                ),
            }),
        );
    };
    let set = find_definition_for(
        inventory,
        definition_id,
        api::POLICY_SET_DEFINITIONS,
        "policy set definition",
        &purpose,
    )?;
    let entry = arm::array_at(set, "properties.policyDefinitions")
        .into_iter()
        .flatten()
        .find(|e| {
            arm::str_at(e, "policyDefinitionReferenceId").is_some_and(|r| eq_ci(r, reference))
        })
        .ok_or_else(|| format!("set {definition_id} has no member {reference}"))?;
    let passed = arm::path(entry, "parameters")
        .and_then(|p| arm::key(p, name))
        .and_then(|p| arm::key(p, "value"))
        .filter(|v| !v.is_null());
    if let Some(value) = passed {
        let Some(text) = value.as_str().filter(|t| is_expression(t)) else {
            return Ok(Some(ParameterValue {
                value: value.clone(),
                source: format!(
                    "literal passed to ref {reference} in set {}",
                    arm::name(set)
                ),
            }));
        };
        let Some(x) = parameter_reference(text) else {
            return Err(format!(
                "{name} passed to ref {reference} is `{text}`, an expression lzaudit does not evaluate"
            ));
        };
        if let Some(value) = assignment_parameter(assignment, x) {
            return Ok(Some(ParameterValue {
                value: value.clone(),
                source: format!("assignment parameter {x}"),
            }));
        }
        return Ok(declared_default(set, x).map(|value| ParameterValue {
            value: value.clone(),
            source: format!("default of set parameter {x}"),
        }));
    }
    let member_id = arm::str_at(entry, "policyDefinitionId").unwrap_or_default();
    let member = find_definition_for(
        inventory,
        member_id,
        api::POLICY_DEFINITIONS,
        "member policy definition",
        &purpose,
    )?;
    Ok(declared_default(member, name).map(|value| ParameterValue {
        value: value.clone(),
        source: format!(
            "default of parameter {name} of definition {}",
            arm::last_segment(member_id)
        ),
    }))
}

/// The definition a candidate delivers: the member's definition ID (or GUID pattern) for an
/// initiative member matched by definition, else the assigned definition's ID.
pub fn delivered_definition(candidate: &Candidate) -> String {
    match &candidate.way {
        Way::Member {
            member: Member::Definition(definition),
            ..
        } => definition.clone(),
        _ => candidate.policy_definition_id().to_string(),
    }
}

/// What takes a target out of one assignment: §1.1 steps 2 (a `notScopes` entry containing
/// it) and 3 (unexpired exemptions for the assignment, or for the given reference of it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Removals {
    /// The `notScopes` entry that contains the target.
    pub excluded: Option<String>,
    /// The unexpired exemptions that apply ([`Issue::Exempted`] items).
    pub exemptions: Vec<Issue>,
    /// What could not be decided, and why (an unreadable exemption list, an unknown
    /// management-group chain, an unreadable `expiresOn`).
    pub undecided: Vec<String>,
}

/// The `notScopes` entry and exemptions that take `target` (a subscription or resource ID) out
/// of `assignment`, for the member `reference` when the assignment is an initiative.
pub fn removals(
    inventory: &Inventory,
    target: &str,
    assignment: &Value,
    reference: Option<&str>,
    today: Date,
) -> Removals {
    let t = target_of(inventory, target);
    let mut out = Removals::default();
    match excluding_entry(&t, assignment) {
        Ok(entry) => out.excluded = entry,
        Err(reason) => out.undecided.push(reason),
    }
    let subscription = arm::subscription_of(target).and_then(|g| inventory.subscription(&g));
    let missing = match subscription {
        None => Some(format!(
            "the subscription of {target} is not among the audited subscriptions"
        )),
        Some(sub) => inventory
            .read_state(&sub.id, api::POLICY_EXEMPTIONS)
            .missing_reason(&sub.id, api::POLICY_EXEMPTIONS),
    };
    if let Some(reason) = missing {
        out.undecided
            .push(format!("exemptions cannot be ruled out: {reason}"));
        return out;
    }
    for issue in exemption_issues(inventory, &t, assignment, reference, today) {
        match issue {
            Issue::Unknown(reason) => out.undecided.push(reason),
            other => out.exemptions.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{Read, ReadStatus, Subscription};
    use crate::tree as json;

    const SUB: &str = "ae640e6b-ba3e-4256-9d62-2993eecfa6f2";

    fn example(file: &str) -> Value {
        let path = format!(
            "{}/tests/fixtures/arm-examples/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        v["responses"]["200"]["body"].clone()
    }

    /// JSON merge patch, enough for tests.
    fn patch(mut base: Value, p: Value) -> Value {
        fn merge(t: &mut serde_json::Value, p: serde_json::Value) {
            match p {
                serde_json::Value::Object(p) => {
                    if !t.is_object() {
                        *t = serde_json::json!({});
                    }
                    let m = t.as_object_mut().unwrap();
                    for (k, v) in p {
                        if v.is_null() {
                            m.remove(&k);
                        } else {
                            merge(m.entry(k).or_insert(serde_json::Value::Null), v);
                        }
                    }
                }
                other => *t = other,
            }
        }
        base.edit(|t| merge(t, p.to_serde()));
        base
    }

    fn mg(name: &str) -> String {
        arm::management_group_id(name)
    }

    /// An assignment built from the official Get example.
    fn assignment(name: &str, scope: &str, definition: &str, extra: Value) -> Value {
        let base = patch(
            example("policy/getPolicyAssignment.json"),
            json!({
                "id": format!("{scope}/providers/Microsoft.Authorization/policyAssignments/{name}"),
                "name": name,
                "properties": {"scope": scope, "policyDefinitionId": definition, "parameters": null}
            }),
        );
        patch(base, extra)
    }

    fn exemption(name: &str, assignment_id: &str, extra: Value) -> Value {
        let list = example("policy/listPolicyExemptionsForSubscription.json");
        let base = patch(
            list["value"][0].clone(),
            json!({
                "id": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/policyExemptions/{name}"),
                "name": name,
                "properties": {"policyAssignmentId": assignment_id, "policyDefinitionReferenceIds": null}
            }),
        );
        patch(base, extra)
    }

    fn builtin(guid: &str) -> String {
        format!("/providers/Microsoft.Authorization/policyDefinitions/{guid}")
    }

    const PRIV: &str = "95edb821-ddaf-4404-9732-666045e056b4";

    fn inventory(chain: Option<&[&str]>) -> Inventory {
        let mut inv = Inventory::new("x", "arm", Default::default());
        inv.subscriptions.push(Subscription {
            id: format!("/subscriptions/{SUB}"),
            subscription_id: SUB.into(),
            display_name: "lz".into(),
            state: "Enabled".into(),
            management_group_ancestors: chain.map(|c| c.iter().map(|s| s.to_string()).collect()),
        });
        inv.reads.push(Read::ok(
            &format!("/subscriptions/{SUB}"),
            api::POLICY_ASSIGNMENTS,
        ));
        inv.reads.push(Read::ok(
            &format!("/subscriptions/{SUB}"),
            api::POLICY_EXEMPTIONS,
        ));
        inv
    }

    fn today() -> Date {
        Date::from_calendar_date(2026, time::Month::November, 26).unwrap()
    }

    fn privileged() -> Control {
        Control::new("privileged containers", &["Deny"])
            .definition(PRIV)
            .member("Enforce-Guardrails-Kubernetes", "Deny-Aks-Priv-Containers")
    }

    /// The ALZ guardrail set, in the swagger shape, with only the member the tests need.
    fn guardrail_set() -> Value {
        json!({
            "id": "/providers/Microsoft.Management/managementGroups/alz/providers/Microsoft.Authorization/policySetDefinitions/Enforce-Guardrails-Kubernetes",
            "name": "Enforce-Guardrails-Kubernetes",
            "type": "Microsoft.Authorization/policySetDefinitions",
            "properties": {
                "displayName": "Enforce recommended guardrails for Kubernetes",
                "policyType": "Custom",
                "metadata": {"version": "1.2.0"},
                "parameters": {"aksPrivContainers": {"type": "string", "defaultValue": "Deny",
                    "allowedValues": ["audit", "Audit", "deny", "Deny", "disabled", "Disabled"]}},
                "policyDefinitions": [
                    {"policyDefinitionId": builtin(PRIV), "policyDefinitionReferenceId": "Deny-Aks-Priv-Containers",
                     "parameters": {"effect": {"value": "[parameters('aksPrivContainers')]"}}},
                    {"policyDefinitionId": builtin("1b708b0a-3380-40e9-8b79-821f9fa224cc"), "policyDefinitionReferenceId": "Dine-Aks-Command-Invoke",
                     "parameters": {}}
                ]
            }
        })
    }

    fn target() -> String {
        format!("/subscriptions/{SUB}")
    }

    #[test]
    fn direct_assignment_at_an_ancestor_mg_with_deny_is_enforced() {
        let mut inv = inventory(Some(&["landingzones", "alz"]));
        inv.policy_assignments.push(assignment(
            "Deny-Privileged-AKS",
            &mg("LandingZones"),
            &builtin(&PRIV.to_uppercase()),
            json!({"properties": {"parameters": {"effect": {"value": "deny"}}, "definitionVersion": "9.*.*"}}),
        ));
        let cov = coverage(&inv, &target(), &privileged(), today());
        assert_eq!(cov.level(), Level::Enforced, "{}", cov.summary());
        let best = cov.best().unwrap();
        assert_eq!(best.name(), "Deny-Privileged-AKS");
        assert_eq!(best.definition_version(), Some("9.*.*"));
        assert_eq!(best.effect.as_deref(), Some("deny"));
        assert_eq!(cov.evidence()[0].resource.as_deref(), Some(best.id()));
    }

    #[test]
    fn assignments_elsewhere_do_not_cover() {
        let mut inv = inventory(Some(&["corp", "alz"]));
        inv.policy_assignments.push(assignment(
            "Deny-Privileged-AKS",
            &mg("online"),
            &builtin(PRIV),
            json!({"properties": {"parameters": {"effect": {"value": "Deny"}}}}),
        ));
        inv.policy_assignments.push(assignment(
            "OtherSub",
            "/subscriptions/11111111-1111-1111-1111-111111111111",
            &builtin(PRIV),
            json!({"properties": {"parameters": {"effect": {"value": "Deny"}}}}),
        ));
        let cov = coverage(&inv, &target(), &privileged(), today());
        assert_eq!(cov.level(), Level::Uncovered);
        assert!(cov.summary().contains("no assignment"), "{}", cov.summary());
    }

    #[test]
    fn do_not_enforce_and_audit_are_weaker_and_the_strongest_wins() {
        let mut inv = inventory(Some(&["landingzones", "alz"]));
        inv.policy_assignments.push(assignment(
            "Audit-Only",
            &target(),
            &builtin(PRIV),
            json!({"properties": {"parameters": {"effect": {"value": "Audit"}}}}),
        ));
        inv.policy_assignments.push(assignment(
            "Deny-Privileged-AKS",
            &mg("landingzones"),
            &builtin(PRIV),
            json!({"properties": {"parameters": {"effect": {"value": "Deny"}}, "enforcementMode": "DoNotEnforce"}}),
        ));
        let cov = coverage(&inv, &target(), &privileged(), today());
        assert_eq!(cov.level(), Level::Weaker);
        let issues: Vec<_> = cov
            .candidates
            .iter()
            .flat_map(|c| c.issues.clone())
            .collect();
        assert!(issues.contains(&Issue::WeakEffect("Audit".into())));
        assert!(issues.contains(&Issue::NotEnforced("DoNotEnforce".into())));
        // Adding an enforcing one makes the control enforced whatever the others say.
        inv.policy_assignments.push(assignment(
            "Enforcing",
            &mg("alz"),
            &builtin(PRIV),
            json!({"properties": {"parameters": {"effect": {"value": "Deny"}}}}),
        ));
        let cov = coverage(&inv, &target(), &privileged(), today());
        assert_eq!(cov.level(), Level::Enforced);
        assert_eq!(cov.best().unwrap().name(), "Enforcing");
    }

    #[test]
    fn disabled_excluded_and_exempted_are_inert() {
        let mut inv = inventory(Some(&["landingzones", "alz"]));
        inv.policy_assignments.push(assignment(
            "Disabled-One",
            &mg("alz"),
            &builtin(PRIV),
            json!({"properties": {"parameters": {"effect": {"value": "disabled"}}}}),
        ));
        let cov = coverage(&inv, &target(), &privileged(), today());
        assert_eq!(cov.level(), Level::Inert);
        assert_eq!(cov.best().unwrap().issues, vec![Issue::Disabled]);

        let mut inv = inventory(Some(&["landingzones", "alz"]));
        inv.policy_assignments.push(assignment(
            "Deny-Privileged-AKS",
            &mg("landingzones"),
            &builtin(PRIV),
            json!({"properties": {"parameters": {"effect": {"value": "Deny"}},
                   "notScopes": [format!("/SUBSCRIPTIONS/{}", SUB.to_uppercase())]}}),
        ));
        let cov = coverage(&inv, &target(), &privileged(), today());
        assert_eq!(cov.level(), Level::Inert);
        assert!(matches!(cov.best().unwrap().issues[0], Issue::Excluded(_)));
        // A notScopes entry on a resource group does not exclude the whole subscription...
        let mut inv = inventory(Some(&["landingzones", "alz"]));
        let rg = format!("/subscriptions/{SUB}/resourceGroups/rg1");
        inv.policy_assignments.push(assignment(
            "Deny-Privileged-AKS",
            &mg("landingzones"),
            &builtin(PRIV),
            json!({"properties": {"parameters": {"effect": {"value": "Deny"}}, "notScopes": [rg]}}),
        ));
        assert_eq!(
            coverage(&inv, &target(), &privileged(), today()).level(),
            Level::Enforced
        );
        // ...but it excludes a cluster inside it.
        let cluster = format!("{rg}/providers/Microsoft.ContainerService/managedClusters/c1");
        assert_eq!(
            coverage(&inv, &cluster, &privileged(), today()).level(),
            Level::Inert
        );
    }

    #[test]
    fn exemptions_match_assignment_reference_scope_and_expiry() {
        let assignment_id = format!(
            "{}/providers/Microsoft.Authorization/policyAssignments/Enforce-GR-Kubernetes0",
            mg("landingzones")
        );
        let base = || {
            let mut inv = inventory(Some(&["landingzones", "alz"]));
            inv.policy_assignments.push(assignment(
                "Enforce-GR-Kubernetes0",
                &mg("landingzones"),
                arm::id(&guardrail_set()),
                json!({}),
            ));
            inv.policy_set_definitions.push(guardrail_set());
            inv.reads.push(Read::ok(
                arm::id(&guardrail_set()),
                api::POLICY_SET_DEFINITIONS,
            ));
            inv
        };
        let inv = base();
        let cov = coverage(&inv, &target(), &privileged(), today());
        assert_eq!(cov.level(), Level::Enforced, "{}", cov.summary());
        assert_eq!(
            cov.best().unwrap().effect_source.as_deref(),
            Some("default of set parameter aksPrivContainers")
        );

        // Another member's exemption, an expired one, and one for another assignment do nothing.
        let mut inv = base();
        inv.policy_exemptions.push(exemption(
            "other-ref",
            &assignment_id,
            json!({"properties": {"policyDefinitionReferenceIds": ["Dine-Aks-Command-Invoke"]}}),
        ));
        inv.policy_exemptions.push(exemption(
            "expired",
            &assignment_id.to_uppercase(),
            json!({"properties": {"expiresOn": "2026-11-26T00:00:00Z"}}),
        ));
        inv.policy_exemptions.push(exemption(
            "other-assignment",
            &format!("{assignment_id}X"),
            json!({}),
        ));
        assert_eq!(
            coverage(&inv, &target(), &privileged(), today()).level(),
            Level::Enforced
        );

        // An unexpired exemption for this member applies.
        let mut inv = base();
        inv.policy_exemptions.push(exemption(
            "waiver",
            &assignment_id,
            json!({"properties": {"policyDefinitionReferenceIds": ["deny-aks-priv-containers"],
                   "expiresOn": "2026-11-27T00:00:00.0000000Z"}}),
        ));
        let cov = coverage(&inv, &target(), &privileged(), today());
        assert_eq!(cov.level(), Level::Inert);
        assert!(matches!(
            &cov.best().unwrap().issues[0],
            Issue::Exempted { category: Some(c), expires_on: Some(_), .. } if c == "Waiver"
        ));

        // An exemption at an ancestor MG applies; one at an unrelated MG does not.
        let mut inv = base();
        let mut e = exemption("at-mg", &assignment_id, json!({}));
        e["id"] = json!(format!(
            "{}/providers/Microsoft.Authorization/policyExemptions/at-mg",
            mg("alz")
        ));
        inv.policy_exemptions.push(e.clone());
        assert_eq!(
            coverage(&inv, &target(), &privileged(), today()).level(),
            Level::Inert
        );
        let mut inv = base();
        e["id"] = json!(format!(
            "{}/providers/Microsoft.Authorization/policyExemptions/at-mg",
            mg("sandbox")
        ));
        inv.policy_exemptions.push(e);
        assert_eq!(
            coverage(&inv, &target(), &privileged(), today()).level(),
            Level::Enforced
        );
    }

    #[test]
    fn set_parameter_resolution_prefers_the_assignment_value() {
        let mut inv = inventory(Some(&["landingzones", "alz"]));
        inv.policy_assignments.push(assignment(
            "Enforce-GR-Kubernetes0",
            &mg("landingzones"),
            arm::id(&guardrail_set()),
            json!({"properties": {"parameters": {"aksPrivContainers": {"value": "Audit"}}}}),
        ));
        inv.policy_set_definitions.push(guardrail_set());
        inv.reads.push(Read::ok(
            arm::id(&guardrail_set()),
            api::POLICY_SET_DEFINITIONS,
        ));
        let cov = coverage(&inv, &target(), &privileged(), today());
        assert_eq!(cov.level(), Level::Weaker);
        let best = cov.best().unwrap();
        assert_eq!(best.reference.as_deref(), Some("Deny-Aks-Priv-Containers"));
        assert_eq!(
            best.effect_source.as_deref(),
            Some("assignment parameter aksPrivContainers")
        );
    }

    #[test]
    fn member_without_effect_uses_the_member_definition_default_or_is_unknown() {
        let control = Control::new("command invoke", &["DeployIfNotExists"])
            .member("Enforce-Guardrails-Kubernetes", "Dine-Aks-Command-Invoke");
        let mut inv = inventory(Some(&["landingzones", "alz"]));
        inv.policy_assignments.push(assignment(
            "Enforce-GR-Kubernetes0",
            &mg("landingzones"),
            arm::id(&guardrail_set()),
            json!({}),
        ));
        inv.policy_set_definitions.push(guardrail_set());
        inv.reads.push(Read::ok(
            arm::id(&guardrail_set()),
            api::POLICY_SET_DEFINITIONS,
        ));
        let cov = coverage(&inv, &target(), &control, today());
        assert_eq!(cov.level(), Level::Unknown);
        assert!(
            cov.summary().contains("1b708b0a") && cov.summary().contains("not collected"),
            "{}",
            cov.summary()
        );
        let member = builtin("1b708b0a-3380-40e9-8b79-821f9fa224cc");
        inv.policy_definitions.push(json!({
            "id": member, "name": "1b708b0a-3380-40e9-8b79-821f9fa224cc",
            "type": "Microsoft.Authorization/policyDefinitions",
            "properties": {"mode": "Indexed",
                "parameters": {"effect": {"type": "String", "defaultValue": "DeployIfNotExists",
                                          "allowedValues": ["DeployIfNotExists", "Disabled"]}},
                "policyRule": {"if": {"field": "type", "equals": "Microsoft.ContainerService/managedClusters"},
                               "then": {"effect": "[parameters('effect')]"}}}
        }));
        inv.reads.push(Read::ok(&member, api::POLICY_DEFINITIONS));
        let cov = coverage(&inv, &target(), &control, today());
        assert_eq!(cov.level(), Level::Enforced, "{}", cov.summary());
    }

    #[test]
    fn direct_assignment_without_effect_needs_the_definition() {
        let mut inv = inventory(Some(&["landingzones", "alz"]));
        inv.policy_assignments.push(assignment(
            "Deny-Privileged-AKS",
            &mg("landingzones"),
            &builtin(PRIV),
            json!({}),
        ));
        let mut denied = Read::ok(&builtin(PRIV), api::POLICY_DEFINITIONS);
        denied.status = ReadStatus::Denied;
        denied.http_status = Some(403);
        inv.reads.push(denied);
        let cov = coverage(&inv, &target(), &privileged(), today());
        assert_eq!(cov.level(), Level::Unknown);
        assert!(cov.summary().contains("403"), "{}", cov.summary());

        let mut inv = inventory(Some(&["landingzones", "alz"]));
        inv.policy_assignments.push(assignment(
            "Deny-Privileged-AKS",
            &mg("landingzones"),
            &builtin(PRIV),
            json!({}),
        ));
        inv.policy_definitions.push(json!({"id": builtin(PRIV), "name": PRIV,
            "properties": {"mode": "Microsoft.Kubernetes.Data",
                "parameters": {"effect": {"type": "String", "defaultValue": "Audit"}},
                "policyRule": {"if": {"field": "type", "in": ["Microsoft.ContainerService/managedClusters"]},
                               "then": {"effect": "[parameters('effect')]"}}}}));
        let cov = coverage(&inv, &target(), &privileged(), today());
        assert_eq!(cov.level(), Level::Weaker);
        assert_eq!(cov.best().unwrap().effect.as_deref(), Some("Audit"));
    }

    #[test]
    fn missing_reads_and_unknown_chain_are_unknown_never_uncovered() {
        let mut inv = inventory(Some(&["landingzones", "alz"]));
        inv.reads.retain(|r| r.api != api::POLICY_ASSIGNMENTS);
        let mut denied = Read::ok(&target(), api::POLICY_ASSIGNMENTS);
        denied.status = ReadStatus::Denied;
        denied.http_status = Some(403);
        denied.code = Some("AuthorizationFailed".into());
        inv.reads.push(denied);
        let cov = coverage(&inv, &target(), &privileged(), today());
        assert_eq!(cov.level(), Level::Unknown);
        assert!(cov.summary().contains("AuthorizationFailed"));

        // Exemptions not collected: even an enforcing assignment cannot be called enforced.
        let mut inv = inventory(Some(&["landingzones", "alz"]));
        inv.reads.retain(|r| r.api != api::POLICY_EXEMPTIONS);
        inv.policy_assignments.push(assignment(
            "Deny-Privileged-AKS",
            &mg("landingzones"),
            &builtin(PRIV),
            json!({"properties": {"parameters": {"effect": {"value": "Deny"}}}}),
        ));
        assert_eq!(
            coverage(&inv, &target(), &privileged(), today()).level(),
            Level::Unknown
        );

        // Unknown chain: an MG assignment is undecidable, and nothing short of enforced stands.
        let mut inv = inventory(None);
        inv.policy_assignments.push(assignment(
            "Deny-Privileged-AKS",
            &mg("landingzones"),
            &builtin(PRIV),
            json!({"properties": {"parameters": {"effect": {"value": "Deny"}}}}),
        ));
        let cov = coverage(&inv, &target(), &privileged(), today());
        assert_eq!(cov.level(), Level::Unknown);
        let inv = inventory(None);
        assert_eq!(
            coverage(&inv, &target(), &privileged(), today()).level(),
            Level::Unknown
        );
        // ...but an enforcing assignment on the subscription itself is certain.
        let mut inv = inventory(None);
        inv.policy_assignments.push(assignment(
            "Sub-Level",
            &target(),
            &builtin(PRIV),
            json!({"properties": {"parameters": {"effect": {"value": "Deny"}}}}),
        ));
        assert_eq!(
            coverage(&inv, &target(), &privileged(), today()).level(),
            Level::Enforced
        );
    }

    #[test]
    fn missing_set_definition_is_unknown() {
        let mut inv = inventory(Some(&["landingzones", "alz"]));
        inv.policy_assignments.push(assignment(
            "Enforce-GR-Kubernetes0",
            &mg("landingzones"),
            arm::id(&guardrail_set()),
            json!({}),
        ));
        let cov = coverage(&inv, &target(), &privileged(), today());
        assert_eq!(cov.level(), Level::Unknown);
        assert!(
            cov.unknown_reasons()[0].contains("policy set definition"),
            "{:?}",
            cov.unknown_reasons()
        );
        // A set that does not match any way is never looked up.
        let control = Control::new("x", &["Deny"]).member("Something-Else", "ref");
        assert_eq!(
            coverage(&inv, &target(), &control, today()).level(),
            Level::Uncovered
        );
    }

    #[test]
    fn remedies_follow_the_issues_and_problems_group_unknowns() {
        let mut inv = inventory(Some(&["landingzones", "alz"]));
        inv.policy_assignments.push(assignment(
            "Enforce-GR-Kubernetes0",
            &mg("landingzones"),
            arm::id(&guardrail_set()),
            json!({"properties": {"parameters": {"aksPrivContainers": {"value": "Disabled"}},
                   "enforcementMode": "DoNotEnforce", "notScopes": [target()]}}),
        ));
        inv.policy_set_definitions.push(guardrail_set());
        inv.reads.push(Read::ok(
            arm::id(&guardrail_set()),
            api::POLICY_SET_DEFINITIONS,
        ));
        let cov = coverage(&inv, &target(), &privileged(), today());
        assert_eq!(cov.level(), Level::Inert);
        assert_eq!(
            cov.best().unwrap().effect_parameter.as_deref(),
            Some("aksPrivContainers")
        );
        let remedy = cov.remedy("assign it").unwrap();
        for step in [
            "remove /subscriptions/",
            "set parameter aksPrivContainers to Deny on Enforce-GR-Kubernetes0",
            "set enforcementMode Default on Enforce-GR-Kubernetes0",
        ] {
            assert!(remedy.contains(step), "{remedy}");
        }
        let https = Control::new("https-only ingress", &["Deny"])
            .definition("1a5b4dca-0b6f-4cf5-907c-56316bc1bf3d");
        let uncovered = coverage(&inv, &target(), &https, today());
        assert_eq!(
            uncovered.remedy("assign 1a5b4dca").as_deref(),
            Some("assign 1a5b4dca")
        );

        let chainless = inventory(None);
        let a = coverage(&chainless, &target(), &privileged(), today());
        let b = coverage(&chainless, &target(), &https, today());
        let text = problems(&[a, b]);
        assert_eq!(
            text,
            format!(
                "privileged containers, https-only ingress cannot be decided (the management-group ancestors of /subscriptions/{SUB} are unknown (the management-group hierarchy was not collected))"
            )
        );
    }

    #[test]
    fn assignment_applies_checks_scope_and_not_scopes() {
        let inv = inventory(Some(&["landingzones", "alz"]));
        let a = assignment(
            "x",
            &mg("landingzones"),
            &builtin(PRIV),
            json!({"properties": {"notScopes": [format!("/subscriptions/{SUB}/resourceGroups/excluded")]}}),
        );
        assert_eq!(assignment_applies(&inv, &target(), &a), Applies::Yes);
        let excluded = format!(
            "/subscriptions/{SUB}/resourceGroups/EXCLUDED/providers/Microsoft.ContainerService/managedClusters/c"
        );
        assert_eq!(assignment_applies(&inv, &excluded, &a), Applies::No);
        let elsewhere = assignment("y", &mg("sandbox"), &builtin(PRIV), json!({}));
        assert_eq!(assignment_applies(&inv, &target(), &elsewhere), Applies::No);
        let unknown = inventory(None);
        assert!(matches!(
            assignment_applies(&unknown, &target(), &a),
            Applies::Unknown(_)
        ));
    }

    #[test]
    fn literal_rule_effects_and_malformed_values() {
        let mut inv = inventory(Some(&["landingzones", "alz"]));
        let custom = "/providers/Microsoft.Management/managementGroups/alz/providers/Microsoft.Authorization/policyDefinitions/Deny-Custom";
        inv.policy_definitions.push(json!({"id": custom, "name": "Deny-Custom",
            "properties": {"mode": "Indexed", "policyRule": {"if": {"field": "type", "equals": "x"}, "then": {"effect": "deny"}}}}));
        inv.policy_assignments
            .push(assignment("Custom", &mg("alz"), custom, json!({})));
        let control = Control::new("custom", &["Deny"]).definition("deny-custom");
        let cov = coverage(&inv, &target(), &control, today());
        assert_eq!(cov.level(), Level::Enforced, "{}", cov.summary());
        assert_eq!(cov.best().unwrap().effect_parameter, None);

        let mut inv = inventory(Some(&["landingzones", "alz"]));
        inv.policy_assignments.push(assignment(
            "Odd",
            &mg("alz"),
            &builtin(PRIV),
            json!({"properties": {"parameters": {"effect": {"value": 42}}}}),
        ));
        let cov = coverage(&inv, &target(), &privileged(), today());
        assert_eq!(cov.level(), Level::Unknown);
        assert!(
            cov.summary().contains("not an effect name"),
            "{}",
            cov.summary()
        );
    }

    #[test]
    fn patterns_and_expressions() {
        assert!(Pattern::new("Deploy-MDFC-Config*").matches(
            "/providers/Microsoft.Management/managementGroups/alz/providers/Microsoft.Authorization/policySetDefinitions/deploy-mdfc-config_20240319"
        ));
        assert!(!Pattern::new("Deploy-MDFC-Config").matches("Deploy-MDFC-Config_20240319"));
        assert!(Pattern::new("*").matches("anything"));
        assert_eq!(
            parameter_reference("[parameters('enableAscForServers')]"),
            Some("enableAscForServers")
        );
        assert_eq!(parameter_reference("[ Parameters( 'x' ) ]"), Some("x"));
        assert_eq!(parameter_reference("[concat('a')]"), None);
        assert!(!is_expression("[[literal"));
        assert_eq!(
            exemption_scope(
                &json!({"id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Authorization/policyExemptions/e"})
            ),
            "/subscriptions/s/resourceGroups/r"
        );
        assert_eq!(
            parse_date("2026-12-01T05:00:00+09:00"),
            Date::from_calendar_date(2026, time::Month::November, 30).ok()
        );
        assert_eq!(
            short_scope(&mg("landingzones")),
            "management group landingzones"
        );
    }

    /// The built-in restricted pod security initiative, trimmed to two members (swagger shape).
    fn restricted_set() -> Value {
        json!({
            "id": "/providers/Microsoft.Authorization/policySetDefinitions/42b8ef37-b724-4e24-bbc8-7a7708edfe00",
            "name": "42b8ef37-b724-4e24-bbc8-7a7708edfe00",
            "type": "Microsoft.Authorization/policySetDefinitions",
            "properties": {
                "displayName": "Kubernetes cluster pod security restricted standards for Linux-based workloads",
                "policyType": "BuiltIn",
                "parameters": {
                    "effect": {"type": "String", "defaultValue": "Audit"},
                    "excludedNamespaces": {"type": "Array", "defaultValue": ["kube-system", "gatekeeper-system"]}
                },
                "policyDefinitions": [
                    {"policyDefinitionId": builtin("975ce327-682c-4f2e-aa46-b9598289b86c"),
                     "policyDefinitionReferenceId": "AllowedSeccompProfiles",
                     "parameters": {"effect": {"value": "[parameters('effect')]"},
                                    "excludedNamespaces": {"value": "[parameters('excludedNamespaces')]"},
                                    "allowedProfiles": {"value": ["runtime/default", "docker/default"]}}},
                    {"policyDefinitionId": builtin(PRIV),
                     "policyDefinitionReferenceId": "NoPrivilegedContainers",
                     "parameters": {"effect": {"value": "[parameters('effect')]"}}}
                ]
            }
        })
    }

    #[test]
    fn candidate_parameters_resolve_like_effects() {
        let mut inv = inventory(Some(&["landingzones", "alz"]));
        let set = restricted_set();
        inv.policy_set_definitions.push(set.clone());
        inv.reads
            .push(Read::ok(arm::id(&set), api::POLICY_SET_DEFINITIONS));
        inv.policy_assignments.push(assignment(
            "pss",
            &target(),
            arm::id(&set),
            json!({"properties": {"parameters": {"excludedNamespaces": {"value": ["kube-system"]}}}}),
        ));
        let control = Control::new("seccomp", &["Deny"])
            .member_definition("42b8ef37-b724-4e24-bbc8-7a7708edfe00", "*");
        let cov = coverage(&inv, &target(), &control, today());
        let seccomp = cov
            .candidates
            .iter()
            .find(|c| c.reference.as_deref() == Some("AllowedSeccompProfiles"))
            .unwrap();
        let literal = candidate_parameter(&inv, seccomp, "allowedProfiles")
            .unwrap()
            .unwrap();
        assert_eq!(literal.value, json!(["runtime/default", "docker/default"]));
        assert!(literal.source.starts_with("literal passed to ref"));
        let from_assignment = candidate_parameter(&inv, seccomp, "excludedNamespaces")
            .unwrap()
            .unwrap();
        assert_eq!(from_assignment.value, json!(["kube-system"]));
        assert_eq!(
            from_assignment.source,
            "assignment parameter excludedNamespaces"
        );
        let privileged = cov
            .candidates
            .iter()
            .find(|c| c.reference.as_deref() == Some("NoPrivilegedContainers"))
            .unwrap();
        // Not passed by the set: the member definition's default is needed, and it is missing.
        let err = candidate_parameter(&inv, privileged, "excludedNamespaces").unwrap_err();
        assert!(err.contains("not collected"), "{err}");
        inv.policy_definitions.push(json!({"id": builtin(PRIV), "name": PRIV,
            "properties": {"parameters": {"excludedNamespaces": {"type": "Array", "defaultValue": ["kube-system", "azure-arc"]}}}}));
        let cov = coverage(&inv, &target(), &control, today());
        let privileged = cov
            .candidates
            .iter()
            .find(|c| c.reference.as_deref() == Some("NoPrivilegedContainers"))
            .unwrap();
        assert_eq!(
            candidate_parameter(&inv, privileged, "excludedNamespaces")
                .unwrap()
                .unwrap()
                .value,
            json!(["kube-system", "azure-arc"])
        );
        assert_eq!(
            candidate_parameter(&inv, privileged, "nothing").unwrap(),
            None
        );

        // Without the assignment's value the set default applies.
        inv.policy_assignments[0]["properties"]["parameters"] = json!({});
        let cov = coverage(&inv, &target(), &control, today());
        let seccomp = cov
            .candidates
            .iter()
            .find(|c| c.reference.as_deref() == Some("AllowedSeccompProfiles"))
            .unwrap();
        let default = candidate_parameter(&inv, seccomp, "excludedNamespaces")
            .unwrap()
            .unwrap();
        assert_eq!(default.value, json!(["kube-system", "gatekeeper-system"]));
        assert_eq!(
            default.source,
            "default of set parameter excludedNamespaces"
        );
        assert_eq!(
            delivered_definition(seccomp),
            "*",
            "matched through the member pattern"
        );
    }

    #[test]
    fn direct_candidate_parameters_fall_back_to_the_definition() {
        let mut inv = inventory(Some(&["landingzones", "alz"]));
        let seccomp = "975ce327-682c-4f2e-aa46-b9598289b86c";
        inv.policy_assignments.push(assignment(
            "seccomp",
            &mg("landingzones"),
            &builtin(seccomp),
            json!({"properties": {"parameters": {"effect": {"value": "Deny"}}}}),
        ));
        let control = Control::new("seccomp", &["Deny"]).definition(seccomp);
        let cov = coverage(&inv, &target(), &control, today());
        let candidate = &cov.candidates[0];
        assert!(
            candidate_parameter(&inv, candidate, "allowedProfiles")
                .unwrap_err()
                .contains("not collected")
        );
        inv.policy_definitions.push(json!({"id": builtin(seccomp), "name": seccomp,
            "properties": {"parameters": {"allowedProfiles": {"type": "Array", "defaultValue": []}}}}));
        let cov = coverage(&inv, &target(), &control, today());
        let value = candidate_parameter(&inv, &cov.candidates[0], "allowedProfiles")
            .unwrap()
            .unwrap();
        assert_eq!(value.value, json!([]));
        assert!(
            value
                .source
                .contains("default of parameter allowedProfiles")
        );
        assert_eq!(
            delivered_definition(&cov.candidates[0]),
            builtin(seccomp),
            "a direct assignment delivers its own definition"
        );
        inv.policy_assignments[0]["properties"]["parameters"]["allowedProfiles"] =
            json!({"value": ["*"]});
        let cov = coverage(&inv, &target(), &control, today());
        assert_eq!(
            candidate_parameter(&inv, &cov.candidates[0], "allowedProfiles")
                .unwrap()
                .unwrap()
                .value,
            json!(["*"])
        );
    }

    #[test]
    fn removals_name_the_not_scopes_entry_and_the_member_exemptions() {
        let mut inv = inventory(Some(&["landingzones", "alz"]));
        let cluster = format!(
            "/subscriptions/{SUB}/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/c"
        );
        let a = assignment(
            "pss",
            &mg("landingzones"),
            "/providers/Microsoft.Authorization/policySetDefinitions/42b8ef37-b724-4e24-bbc8-7a7708edfe00",
            json!({"properties": {"notScopes": [format!("/subscriptions/{SUB}/resourceGroups/RG-AKS")]}}),
        );
        inv.policy_exemptions.push(exemption(
            "seccomp-waiver",
            arm::id(&a),
            json!({"properties": {"policyDefinitionReferenceIds": ["AllowedSeccompProfiles"],
                   "expiresOn": "2027-01-31T00:00:00Z"}}),
        ));
        let on_cluster = removals(&inv, &cluster, &a, Some("AllowedSeccompProfiles"), today());
        assert_eq!(
            on_cluster.excluded.as_deref(),
            Some(format!("/subscriptions/{SUB}/resourceGroups/RG-AKS").as_str())
        );
        assert!(matches!(
            &on_cluster.exemptions[..],
            [Issue::Exempted {
                expires_on: Some(_),
                ..
            }]
        ));
        let other_member = removals(&inv, &target(), &a, Some("NoPrivilegedContainers"), today());
        assert_eq!(other_member, Removals::default());

        inv.reads.retain(|r| r.api != api::POLICY_EXEMPTIONS);
        let unread = removals(&inv, &target(), &a, None, today());
        assert!(
            unread.undecided[0].contains("exemptions cannot be ruled out"),
            "{:?}",
            unread.undecided
        );
        // A management-group entry cannot be placed without the subscription's ancestry.
        let b = assignment(
            "root",
            "/",
            &builtin(PRIV),
            json!({"properties": {"notScopes": [mg("sandbox")]}}),
        );
        assert_eq!(removals(&inv, &target(), &b, None, today()).excluded, None);
        let chainless = inventory(None);
        let undecided = removals(&chainless, &target(), &b, None, today());
        assert!(undecided.excluded.is_none());
        assert!(
            undecided.undecided[0].contains("notScopes entry undecidable"),
            "{:?}",
            undecided.undecided
        );
    }
}
