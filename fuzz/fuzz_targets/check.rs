//! TOML text → `catalogue::load` (a user check file: metadata, parameters, reads and CEL rules
//! compiled within the CEL limits). A check that loads is explained (`lzaudit checks explain`)
//! and evaluated over the example tenant with
//! its default parameters, so the cost bounds and budgets meet arbitrary rules. Errors are fine;
//! a panic, an abort (a stack overflow in the CEL parser or evaluator) or a timeout (a rule
//! that escaped its budget) is a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lzaudit::catalogue::{self, explain::Explanation};
use lzaudit::eval::{self, Archetypes, EvalContext};
use lzaudit_fuzz as common;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(check) = catalogue::load(text, "checks/fuzz/AKS-999.toml", false) else {
        return;
    };
    std::hint::black_box(Explanation::of(&check).to_text());
    let inventory = common::example();
    let archetypes = Archetypes::resolve(inventory, &common::default_profile().archetypes);
    let params = check.default_params();
    let ctx = EvalContext {
        inventory,
        params: &params,
        archetypes: &archetypes,
        today: common::today(),
    };
    let findings = eval::run(&check, &ctx);
    std::hint::black_box(findings);
});
