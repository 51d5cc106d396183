//! One audit, from an inventory to a report: select checks by profile, evaluate, apply waivers.
//!
//! Shared by `lzaudit audit` (live or from a snapshot) and the tests, so every path that
//! produces a report goes through the same steps in the same order.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::catalogue::Catalogue;
use crate::catalogue::Check;
use crate::eval::{self, Archetypes, EvalContext, Finding};
use crate::inventory::Inventory;
use crate::profile::{self, Profile};
use crate::report::{self, Origin, Report};

/// Evaluates the profile's checks over an inventory and builds the report.
pub fn run(
    inventory: &Inventory,
    catalogue: &Catalogue,
    profile: &Profile,
    today: time::Date,
    origin: Origin,
) -> Report {
    let findings = evaluate(inventory, catalogue, profile, today);
    finish(
        report::Facts::of(inventory),
        findings,
        catalogue,
        profile,
        today,
        origin,
    )
}

/// [`run`], freeing the inventory as soon as the checks are done with it: on a tenant of a
/// thousand subscriptions it is the largest thing in memory, and turning a hundred thousand
/// findings into a report does not need it.
pub fn run_and_free(
    inventory: Inventory,
    catalogue: &Catalogue,
    profile: &Profile,
    today: time::Date,
    origin: Origin,
) -> Report {
    let findings = evaluate(&inventory, catalogue, profile, today);
    let facts = report::Facts::of(&inventory);
    // Freed here, not on another thread beside what follows: the report's allocations then
    // reuse its memory instead of adding to the peak (440 rather than 480 MiB offline at a
    // thousand subscriptions, for about a fifth of a second).
    drop(inventory);
    release_free_pages();
    finish(facts, findings, catalogue, profile, today, origin)
}

/// Returns the pages the freed inventory leaves empty to the system. Its million small
/// allocations are spread over the allocator's heap among the findings', so glibc keeps those
/// pages resident, and the report's large buffers (mapped anew) came on top of them: at a
/// thousand subscriptions building the report was the peak of the run (274–275 MiB live,
/// 263 MiB offline) until this trim (17 ms) put the peak back at the end of evaluation (237–240
/// and 229 MiB; `cargo bench --bench scale`).
fn release_free_pages() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only returns free memory of glibc's own heaps to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn finish(
    facts: report::Facts,
    findings: Vec<Finding>,
    catalogue: &Catalogue,
    profile: &Profile,
    today: time::Date,
    origin: Origin,
) -> Report {
    let (findings, waivers) = profile::waiver::apply(&profile.waivers, findings, today);
    report::build(facts, catalogue, profile, findings, waivers, origin)
}

/// Every selected check's findings, in the profile's order.
fn evaluate(
    inventory: &Inventory,
    catalogue: &Catalogue,
    profile: &Profile,
    today: time::Date,
) -> Vec<Finding> {
    let archetypes = Archetypes::resolve(inventory, &profile.archetypes);
    let checks: Vec<_> = profile
        .selected
        .iter()
        .filter_map(|id| catalogue.get(id))
        .map(|check| (check, profile.params_for(check)))
        .collect();
    let per_check = evaluate_all(&checks, |check, params| {
        eval::run(
            check,
            &EvalContext {
                inventory,
                params,
                archetypes: &archetypes,
                today,
            },
        )
    });
    // Sized up front: `flatten` cannot tell `collect` the total, so a hundred thousand
    // findings would be copied through doubling buffers while the inventory is still alive.
    let mut all = Vec::with_capacity(per_check.iter().map(Vec::len).sum());
    for findings in per_check {
        all.extend(findings);
    }
    all
}

/// Runs `evaluate` on every check, on as many threads as the machine has cores (checks are
/// pure functions of the inventory, and a tenant of a thousand subscriptions takes seconds
/// to evaluate), and returns the findings in the order of `checks`, whatever order the
/// threads finish in. A check that panics panics the audit, as it would on one thread.
fn evaluate_all<P: Sync>(
    checks: &[(&Check, P)],
    evaluate: impl Fn(&Check, &P) -> Vec<Finding> + Sync,
) -> Vec<Vec<Finding>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, checks.len().max(1));
    let next = AtomicUsize::new(0);
    let mut out: Vec<Vec<Finding>> = vec![Vec::new(); checks.len()];
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((check, params)) = checks.get(i) else {
                            break;
                        };
                        done.push((i, evaluate(check, params)));
                    }
                    done
                })
            })
            .collect();
        for handle in handles {
            match handle.join() {
                Ok(done) => {
                    for (i, findings) in done {
                        out[i] = findings;
                    }
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    out
}

/// The APIs and policy definitions the selected checks read: collection fetches only these.
pub fn needs(catalogue: &Catalogue, profile: &Profile) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut apis = BTreeSet::new();
    let mut policies = BTreeSet::new();
    for id in &profile.selected {
        if let Some(check) = catalogue.get(id) {
            apis.extend(check.file.data.iter().cloned());
            policies.extend(check.file.policies.iter().map(|p| p.to_ascii_lowercase()));
        }
    }
    (apis, policies)
}
