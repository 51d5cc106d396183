//! TOML text → `Profile::parse` against the built-in catalogue (`lzaudit --profile FILE`,
//! `lzaudit profiles validate`). A profile that resolves runs an audit of the small example
//! inventory (its selection, parameters, severities, archetypes and waivers all take part) and
//! every renderer. Errors are fine; a panic, an abort or a timeout is a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lzaudit::profile::Profile;
use lzaudit_fuzz as common;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(profile) = Profile::parse(text, "fuzz.toml", common::catalogue(), 0) else {
        return;
    };
    let report = common::audit(common::small(), &profile);
    common::render_all(&report);
});
