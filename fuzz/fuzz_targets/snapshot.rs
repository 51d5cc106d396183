//! Bytes → snapshot load (`lzaudit audit --snapshot`): `snapshot::from_str` on the text, and for
//! gzip or zstd bytes the decompressing reader with its size bound. A snapshot that loads is
//! audited with the default profile and rendered, and what `collect` would write for it must
//! load again. Errors are fine; a panic, an abort or a timeout is a crash.
#![no_main]

use std::io::Write;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use lzaudit::input::Limit;
use lzaudit::inventory::snapshot;
use lzaudit_fuzz as common;

/// Decompressed snapshots are bounded far below the product's 2 GiB so that a small
/// decompression bomb ends in the size error within libFuzzer's memory limit.
const LIMIT: Limit = Limit {
    what: "snapshot",
    bytes: 16 << 20,
};

fuzz_target!(|data: &[u8]| {
    let text = match compression(data) {
        Some(extension) => match decompress(data, extension) {
            Some(text) => text,
            None => return,
        },
        None => match std::str::from_utf8(data) {
            Ok(text) => text.to_string(),
            Err(_) => return,
        },
    };
    let Ok(inventory) = snapshot::from_str(&text, "fuzz.json") else {
        return;
    };
    // What `collect --out` writes for an inventory must load again.
    let written = snapshot::to_string(&inventory);
    if let Err(e) = snapshot::from_str(&written, "rewritten.json") {
        panic!("a written snapshot does not load: {e}\n{written}");
    }
    let report = common::audit(&inventory, common::default_profile());
    common::render_all(&report);
});

fn compression(data: &[u8]) -> Option<&'static str> {
    if data.starts_with(&[0x1f, 0x8b]) {
        Some("json.gz")
    } else if data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some("json.zst")
    } else {
        None
    }
}

/// The text `snapshot::read_text` reads from a compressed file of these bytes.
fn decompress(data: &[u8], extension: &str) -> Option<String> {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("lzaudit-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        dir
    });
    let path = dir.join(format!("snapshot.{extension}"));
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(data))
        .expect("the temporary file is written");
    snapshot::read_text(&path, &LIMIT).ok()
}
