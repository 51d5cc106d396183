//! Defender for Cloud assessments read at a resource's scope
//! (`GET {resource}/providers/Microsoft.Security/assessments`): finding the list, classifying an
//! assessment's status code, matching it by key and by the resource it is about, and the
//! evidence for its status.
//!
//! AKS-006 (all assessments of a cluster), AKS-014 (the registry image assessment) and AKS-048
//! (the running-image assessment) read the same payloads with the same missing-data rules, so
//! the reading lives here once; each check keeps its own verdict.

use crate::json::Value;

use crate::eval::Evidence;
use crate::inventory::views::ASSESSMENT_METADATA_SCOPE;
use crate::inventory::{Inventory, api, arm};

/// The assessments read at a resource's scope, or why they are missing. A successful read with
/// no entry in the map is an empty list.
pub(super) fn assessments_of<'a>(
    inv: &'a Inventory,
    resource_id: &str,
) -> Result<&'a [Value], String> {
    if let Some(reason) = inv
        .read_state(resource_id, api::ASSESSMENTS)
        .missing_reason(resource_id, api::ASSESSMENTS)
    {
        return Err(reason);
    }
    Ok(inv
        .assessments
        .get(&resource_id.to_ascii_lowercase())
        .map_or(&[][..], Vec::as_slice))
}

/// The tenant-level assessment metadata list
/// (`GET /providers/Microsoft.Security/assessmentMetadata`), or why it is missing.
pub(super) fn metadata_list(inv: &Inventory) -> Result<&[Value], String> {
    if let Some(reason) = inv
        .read_state(ASSESSMENT_METADATA_SCOPE, api::ASSESSMENT_METADATA)
        .missing_reason(ASSESSMENT_METADATA_SCOPE, api::ASSESSMENT_METADATA)
    {
        return Err(reason);
    }
    Ok(&inv.assessment_metadata)
}

/// The assessment key of an assessment: its `name`, or the last segment of its ID.
pub(super) fn key_of(assessment: &Value) -> &str {
    match arm::name(assessment) {
        "" => arm::last_segment(arm::id(assessment)),
        name => name,
    }
}

/// The metadata object of an assessment's type: the item of the metadata list whose `name`
/// (or last ID segment) is the assessment's key, compared case-insensitively.
pub(super) fn metadata_for<'a>(metadata: &'a [Value], assessment: &Value) -> Option<&'a Value> {
    let key = key_of(assessment);
    if key.is_empty() {
        return None;
    }
    metadata.iter().find(|m| has_key(m, key))
}

/// The status of one assessment (`properties.status.code`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Code {
    Healthy,
    Unhealthy,
    NotApplicable,
    /// Absent, or a value outside the swagger's enum.
    Other(Option<String>),
}

pub(super) fn code_of(assessment: &Value) -> Code {
    match arm::str_at(assessment, "properties.status.code") {
        Some(c) if arm::eq_ci(c, "Healthy") => Code::Healthy,
        Some(c) if arm::eq_ci(c, "Unhealthy") => Code::Unhealthy,
        Some(c) if arm::eq_ci(c, "NotApplicable") => Code::NotApplicable,
        other => Code::Other(other.map(str::to_string)),
    }
}

/// Whether an assessment is the one with this key: its `name` (the assessment key GUID), or the
/// last segment of its ID, compared case-insensitively.
pub(super) fn has_key(assessment: &Value, key: &str) -> bool {
    arm::eq_ci(arm::name(assessment), key)
        || arm::eq_ci(arm::last_segment(arm::id(assessment)), key)
}

/// Whether an assessment listed at `resource_id` is about that resource: its
/// `resourceDetails.id` (catalogue U) is absent, the resource, or beneath it.
pub(super) fn is_about(assessment: &Value, resource_id: &str) -> bool {
    arm::str_at(assessment, "properties.resourceDetails.id")
        .is_none_or(|target| arm::is_scope_prefix(resource_id, target))
}

/// The display name of an assessment, falling back (past empty strings) to its key.
pub(super) fn display_name(assessment: &Value) -> &str {
    let text = |path: &str| arm::str_at(assessment, path).filter(|t| !t.trim().is_empty());
    text("properties.displayName")
        .or_else(|| text("properties.metadata.displayName"))
        .unwrap_or_else(|| key_of(assessment))
}

/// A non-blank text of `properties.status`: the swagger makes `cause` and `description`
/// optional, and the service sends them as `""` as well as `null` or not at all.
fn status_part<'a>(assessment: &'a Value, part: &str) -> Option<&'a str> {
    arm::str_at(assessment, &format!("properties.status.{part}")).filter(|t| !t.trim().is_empty())
}

/// Evidence for an assessment's status: the code seen, with its cause and description.
pub(super) fn status_evidence(assessment: &Value, expected: &str) -> Evidence {
    let mut note = display_name(assessment).to_string();
    for part in ["cause", "description"] {
        if let Some(text) = status_part(assessment, part) {
            note.push_str(&format!("; {part}: {text}"));
        }
    }
    Evidence::new(
        "properties.status.code",
        arm::path(assessment, "properties.status.code")
            .cloned()
            .unwrap_or(Value::Null),
        expected,
    )
    .on(arm::id(assessment))
    .note(note)
}

/// Where a resource's assessments are listed.
pub(super) fn list_scope(resource_id: &str) -> String {
    format!("{resource_id}/providers/Microsoft.Security/assessments")
}

/// Evidence that the assessment list of `resource_id` was not read, for the assessment `key`.
pub(super) fn not_read_evidence(resource_id: &str, key: &str) -> Evidence {
    Evidence::new(
        format!("Microsoft.Security/assessments/{key}"),
        Value::Null,
        "Healthy or NotApplicable",
    )
    .on(list_scope(resource_id))
    .note("the assessment list was not read")
}

/// Evidence that the assessment list of `resource_id` (`listed` entries) holds no assessment
/// with `key`, described as `what`.
pub(super) fn missing_evidence(
    resource_id: &str,
    key: &str,
    listed: usize,
    what: &str,
) -> Evidence {
    Evidence::new(
        format!("Microsoft.Security/assessments/{key}"),
        Value::Null,
        "present, Healthy or NotApplicable",
    )
    .on(list_scope(resource_id))
    .note(format!(
        "the assessment list was read ({listed} assessment(s)) and holds no {what}"
    ))
}

/// The retired Qualys-based registry-image assessment ("Container registry images should have
/// vulnerability findings resolved (powered by Qualys)"), replaced by the MDVM key
/// `c0b7cfc6-3172-465a-b378-53c7ff2cc0d5` (Defender for Cloud release notes, 2023).
pub(super) const RETIRED_REGISTRY_QUALYS: &str = "dbd0cb49-b563-45e7-9724-889e799fa648";

/// The retired Qualys-based running-image assessment, replaced by the MDVM key
/// `c609cf0f-71ab-41e9-a3c6-9a1f7fe1b8d5` (Defender for Cloud release notes, 2023).
pub(super) const RETIRED_RUNNING_QUALYS: &str = "41503391-efa5-47ee-9282-4eff6131462c";

/// Evidence for a retired assessment found where its replacement (`current`) is missing. Its
/// status is shown, not judged: the retired scanner no longer updates it, so a `Healthy` there
/// says nothing about today's images.
pub(super) fn retired_evidence(assessment: &Value, current: &str) -> Evidence {
    let item = status_evidence(
        assessment,
        "informational: a retired assessment is not judged",
    );
    let note = item.note.clone().unwrap_or_default();
    item.note(format!(
        "{note}; retired Qualys-based assessment, replaced by {current}: its status is not judged"
    ))
}

/// The first assessment in `list` with `key` that is about `resource_id`.
pub(super) fn find<'a>(list: &'a [Value], key: &str, resource_id: &str) -> Option<&'a Value> {
    list.iter()
        .find(|a| has_key(a, key) && is_about(a, resource_id))
}

/// The status description of an assessment, falling back to its cause, else nothing: an empty
/// description must not leave a message ending in `: ` or `()`.
pub(super) fn status_text(assessment: &Value) -> Option<&str> {
    status_part(assessment, "description").or_else(|| status_part(assessment, "cause"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree as json;

    #[test]
    fn an_empty_status_description_falls_back_to_the_cause_or_nothing() {
        let with = |status: Value| json!({"properties": {"status": status}});
        let text = |status: Value| status_text(&with(status)).map(str::to_string);
        assert_eq!(
            text(json!({"code": "Unhealthy", "description": "found", "cause": "c"})).as_deref(),
            Some("found")
        );
        assert_eq!(
            text(json!({"code": "NotApplicable", "description": "", "cause": "OffByPolicy"}))
                .as_deref(),
            Some("OffByPolicy")
        );
        assert_eq!(
            text(json!({"code": "NotApplicable", "description": null, "cause": "OffByPolicy"}))
                .as_deref(),
            Some("OffByPolicy")
        );
        assert_eq!(
            text(json!({"code": "Unhealthy", "description": " ", "cause": ""})),
            None
        );
        let note = status_evidence(
            &with(json!({"code": "Unhealthy", "description": "", "cause": ""})),
            "Healthy",
        )
        .note
        .unwrap();
        assert!(
            !note.contains("description") && !note.contains("cause"),
            "{note}"
        );
        let unnamed = json!({"id": "/x/providers/Microsoft.Security/assessments/k1",
            "properties": {"displayName": ""}});
        assert_eq!(display_name(&unnamed), "k1");
    }
}
