//! Unguessable identifiers: access tokens, request IDs, Entra trace IDs. Randomness comes
//! from the rustls crypto provider the HTTPS listener already links, so the crate needs no
//! extra RNG dependency. Deterministic "object IDs" for principals are derived by hashing,
//! so a denial message names the same principal every time.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio_rustls::rustls::crypto::aws_lc_rs;

/// `n` random bytes as lower-case hex. If the system RNG ever fails, falls back to a hash
/// of time and a counter: still unique, and this is a test server.
pub(crate) fn hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    if aws_lc_rs::default_provider()
        .secure_random
        .fill(&mut buf)
        .is_err()
    {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let seed = format!(
            "{:?}{}",
            std::time::SystemTime::now(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        for (i, b) in buf.iter_mut().enumerate() {
            *b = fnv(&format!("{seed}{i}")) as u8;
        }
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random GUID-shaped string (version 4 layout).
pub(crate) fn guid() -> String {
    shape(&hex(16))
}

/// A GUID-shaped string derived from `seed`, stable across runs.
pub(crate) fn guid_from(seed: &str) -> String {
    let hex = format!("{:016x}{:016x}", fnv(seed), fnv(&format!("{seed}#")));
    shape(&hex)
}

fn shape(hex: &str) -> String {
    let h = |r: std::ops::Range<usize>| hex.get(r).unwrap_or("0");
    format!(
        "{}-{}-4{}-a{}-{}",
        h(0..8),
        h(8..12),
        h(13..16),
        h(17..20),
        h(20..32)
    )
}

pub(crate) fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |acc, b| {
        (acc ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_right_shape() {
        assert_eq!(hex(4).len(), 8);
        assert_ne!(hex(16), hex(16));
        let g = guid();
        assert_eq!(g.len(), 36);
        assert_eq!(g.matches('-').count(), 4);
        assert_eq!(guid_from("a"), guid_from("a"));
        assert_ne!(guid_from("a"), guid_from("b"));
    }
}
