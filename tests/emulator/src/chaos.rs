//! Seeded, reproducible faults drawn per request: the misbehaviour of a real ARM front door,
//! proxy or network that lzaudit must survive without ever turning an unread answer into a
//! verdict. Unlike the counted `Throttle`/`Fail` entries of `faults`, a `Chaos` decides from a
//! hash of (seed, method, path and query), so the same seed faults the same requests whatever
//! order concurrent requests arrive in; a retried request is a new attempt on the same key.
//!
//! A faulted key is either *transient* (only its first attempt is faulted: a retry heals it,
//! and the run must come out exactly as a clean one) or *persistent* (every attempt is
//! faulted: the read fails, and the run must say so in its coverage and mark what depends on
//! it `unknown`). Which keys fault, and which of those persist, are both drawn from the seed.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::time::Duration;

/// Faults drawn per request (see the module documentation).
#[derive(Clone, Debug, PartialEq)]
pub struct Chaos {
    pub seed: u64,
    /// Probability that a request key is faulted, in `[0, 1]`.
    pub rate: f64,
    /// Probability that a faulted key stays faulted on every attempt, in `[0, 1]`.
    pub persistent: f64,
    /// The faults to draw from, uniformly.
    pub kinds: Vec<ChaosKind>,
    /// Only requests of these APIs (compared case-insensitively); empty means every ARM API.
    /// The token endpoint is never faulted here (`faults::Throttle`/`Fail` cover sign-in).
    pub apis: Vec<String>,
}

/// One kind of misbehaviour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChaosKind {
    /// 429 `SubscriptionRequestsThrottled` with `Retry-After` in seconds (`retry-after-ms` too,
    /// so that tests can ask for sub-second waits).
    Throttle { retry_after_ms: u64 },
    /// A 5xx with ARM's error envelope.
    Status(u16),
    /// The connection closes before any response byte.
    DropBeforeHeaders,
    /// Headers and half of the body are sent, then the connection closes.
    DropMidBody,
    /// A complete 200 whose JSON is cut in half.
    TruncatedJson,
    /// A complete 200 whose body is not JSON at all (a proxy's HTML page).
    MalformedJson,
    /// A complete 200 whose JSON is not the promised shape.
    WrongShape(Shape),
    /// The answer comes after this delay (past the client's timeout, if it is long enough).
    Slow { millis: u64 },
    /// A list page whose `nextLink` points at the page itself; on a Resource Graph page, a
    /// `$skipToken` that asks for the same page again (the token loop AzAPICall guards
    /// against).
    NextLinkLoop,
    /// A list page whose `nextLink` points at another host (ARM lists only: Resource Graph
    /// pages have no link).
    NextLinkForeign,
    /// A list page, or a Resource Graph page, that repeats its first item at its end.
    DuplicateItems,
    /// 401: the presented token is revoked (the client must sign in again).
    RevokeToken,
    /// 401: every token issued so far is revoked, as after a key rotation.
    RotateTokens,
}

/// Wrong-shape bodies a 200 may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `{}`
    EmptyObject,
    /// `{"value": null}`
    NullValue,
    /// `{"properties": null}`
    NullProperties,
    /// `[]`
    Array,
    /// `"ok"`
    String,
}

impl Shape {
    pub const ALL: [Shape; 5] = [
        Shape::EmptyObject,
        Shape::NullValue,
        Shape::NullProperties,
        Shape::Array,
        Shape::String,
    ];

    pub(crate) fn body(self) -> &'static str {
        match self {
            Shape::EmptyObject => "{}",
            Shape::NullValue => r#"{"value":null}"#,
            Shape::NullProperties => r#"{"properties":null}"#,
            Shape::Array => "[]",
            Shape::String => r#""ok""#,
        }
    }
}

/// The shape of a route's answer, which decides the faults that can be drawn for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// One object (or an error).
    One,
    /// An ARM list page, linked by `nextLink`.
    List,
    /// A Resource Graph page, continued by `$skipToken`.
    GraphPage,
}

impl ChaosKind {
    /// Whether the fault can happen to an answer of this shape.
    pub(crate) fn fits(&self, answer: Answer) -> bool {
        match self {
            ChaosKind::NextLinkForeign => answer == Answer::List,
            ChaosKind::NextLinkLoop | ChaosKind::DuplicateItems => answer != Answer::One,
            _ => true,
        }
    }

    /// A short stable name, for logs and the command line.
    pub fn name(&self) -> String {
        match self {
            ChaosKind::Throttle { .. } => "throttle".into(),
            ChaosKind::Status(status) => format!("status-{status}"),
            ChaosKind::DropBeforeHeaders => "drop-before-headers".into(),
            ChaosKind::DropMidBody => "drop-mid-body".into(),
            ChaosKind::TruncatedJson => "truncated-json".into(),
            ChaosKind::MalformedJson => "malformed-json".into(),
            ChaosKind::WrongShape(shape) => format!("shape-{shape:?}").to_ascii_lowercase(),
            ChaosKind::Slow { .. } => "slow".into(),
            ChaosKind::NextLinkLoop => "next-link-loop".into(),
            ChaosKind::NextLinkForeign => "next-link-foreign".into(),
            ChaosKind::DuplicateItems => "duplicate-items".into(),
            ChaosKind::RevokeToken => "revoke-token".into(),
            ChaosKind::RotateTokens => "rotate-tokens".into(),
        }
    }

    /// One of every kind, with waits short enough for tests (`slow` waits `slow`).
    pub fn catalogue(slow: Duration) -> Vec<ChaosKind> {
        let mut kinds = vec![
            ChaosKind::Throttle { retry_after_ms: 1 },
            ChaosKind::Status(500),
            ChaosKind::Status(502),
            ChaosKind::Status(503),
            ChaosKind::Status(504),
            ChaosKind::DropBeforeHeaders,
            ChaosKind::DropMidBody,
            ChaosKind::TruncatedJson,
            ChaosKind::MalformedJson,
        ];
        kinds.extend(Shape::ALL.map(ChaosKind::WrongShape));
        kinds.extend([
            ChaosKind::Slow {
                millis: slow.as_millis() as u64,
            },
            ChaosKind::NextLinkLoop,
            ChaosKind::NextLinkForeign,
            ChaosKind::DuplicateItems,
            ChaosKind::RevokeToken,
            ChaosKind::RotateTokens,
        ]);
        kinds
    }
}

impl FromStr for ChaosKind {
    type Err = String;

    /// Parses a name of [`ChaosKind::name`] (`slow` waits 2 s, `throttle` asks for 1 s).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ChaosKind::catalogue(Duration::from_secs(2))
            .into_iter()
            .map(|k| match k {
                ChaosKind::Throttle { .. } => ChaosKind::Throttle {
                    retry_after_ms: 1000,
                },
                other => other,
            })
            .find(|k| k.name().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| format!("no chaos kind '{text}'"))
    }
}

/// What to do to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Draw {
    pub(crate) kind: ChaosKind,
    /// The attempt number on this key (0 for the first).
    pub(crate) attempt: u32,
}

/// Attempts seen per key, so a persistent fault can tell a retry from a first try.
#[derive(Debug, Default)]
pub(crate) struct ChaosState {
    attempts: HashMap<u64, u32>,
    /// Faults injected so far, by kind name.
    pub(crate) injected: BTreeMap<String, usize>,
}

impl ChaosState {
    /// Decides the fault for one request of `api` (`None`: serve normally). `answer` is the
    /// route's answer shape, for the faults that only apply to lists.
    pub(crate) fn draw(
        &mut self,
        chaos: &Chaos,
        method: &str,
        path_and_query: &str,
        api: &str,
        answer: Answer,
    ) -> Option<Draw> {
        if chaos.kinds.is_empty()
            || !(chaos.apis.is_empty() || chaos.apis.iter().any(|a| a.eq_ignore_ascii_case(api)))
        {
            return None;
        }
        let key = hash(chaos.seed, &format!("{method} {path_and_query}"));
        let attempt = {
            let n = self.attempts.entry(key).or_insert(0);
            *n += 1;
            *n - 1
        };
        let mut rng = SplitMix(key);
        if rng.unit() >= chaos.rate {
            return None;
        }
        let persistent = rng.unit() < chaos.persistent;
        if attempt > 0 && !persistent {
            return None;
        }
        let candidates: Vec<&ChaosKind> = chaos.kinds.iter().filter(|k| k.fits(answer)).collect();
        if candidates.is_empty() {
            return None;
        }
        let kind = candidates[(rng.next() % candidates.len() as u64) as usize].clone();
        *self.injected.entry(kind.name()).or_default() += 1;
        Some(Draw { kind, attempt })
    }
}

/// FNV-1a of the seed and text, mixed once more so that neighbouring keys spread.
fn hash(seed: u64, text: &str) -> u64 {
    let h = text.bytes().fold(0xcbf2_9ce4_8422_2325 ^ seed, |acc, b| {
        (acc ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    SplitMix(h).next()
}

/// SplitMix64: tiny, seedable, good enough to spread test faults.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chaos(rate: f64, persistent: f64) -> Chaos {
        Chaos {
            seed: 7,
            rate,
            persistent,
            kinds: vec![ChaosKind::Status(503), ChaosKind::NextLinkLoop],
            apis: Vec::new(),
        }
    }

    #[test]
    fn draws_are_reproducible_whatever_the_order() {
        let c = chaos(0.5, 0.0);
        let paths: Vec<String> = (0..200).map(|i| format!("/x/{i}?api-version=1")).collect();
        let mut a = ChaosState::default();
        let forward: Vec<_> = paths
            .iter()
            .map(|p| a.draw(&c, "GET", p, "api", Answer::List))
            .collect();
        let mut b = ChaosState::default();
        let mut backward: Vec<_> = paths
            .iter()
            .rev()
            .map(|p| b.draw(&c, "GET", p, "api", Answer::List))
            .collect();
        backward.reverse();
        assert_eq!(forward, backward);
        let faulted = forward.iter().filter(|d| d.is_some()).count();
        assert!((60..140).contains(&faulted), "{faulted}");
    }

    #[test]
    fn transient_faults_heal_and_persistent_ones_stay() {
        let mut state = ChaosState::default();
        let transient = chaos(1.0, 0.0);
        assert!(
            state
                .draw(&transient, "GET", "/a", "api", Answer::List)
                .is_some()
        );
        assert!(
            state
                .draw(&transient, "GET", "/a", "api", Answer::List)
                .is_none()
        );
        let mut state = ChaosState::default();
        let persistent = chaos(1.0, 1.0);
        for attempt in 0..3 {
            let draw = state
                .draw(&persistent, "GET", "/b", "api", Answer::List)
                .unwrap();
            assert_eq!(draw.attempt, attempt);
        }
    }

    #[test]
    fn list_only_faults_skip_single_objects_and_apis_filter() {
        let c = Chaos {
            kinds: vec![ChaosKind::NextLinkLoop],
            ..chaos(1.0, 1.0)
        };
        assert!(
            ChaosState::default()
                .draw(&c, "GET", "/a", "api", Answer::One)
                .is_none()
        );
        let only = Chaos {
            apis: vec!["Microsoft.Resources/subscriptions".into()],
            ..chaos(1.0, 1.0)
        };
        assert!(
            ChaosState::default()
                .draw(&only, "GET", "/a", "other", Answer::List)
                .is_none()
        );
        assert!(
            ChaosState::default()
                .draw(
                    &only,
                    "GET",
                    "/a",
                    "microsoft.resources/SUBSCRIPTIONS",
                    Answer::List
                )
                .is_some()
        );
        // Resource Graph pages take a repeated row and a token loop, never a foreign link.
        assert!(ChaosKind::DuplicateItems.fits(Answer::GraphPage));
        assert!(ChaosKind::NextLinkLoop.fits(Answer::GraphPage));
        assert!(!ChaosKind::NextLinkForeign.fits(Answer::GraphPage));
        assert!(ChaosKind::NextLinkForeign.fits(Answer::List));
        assert!(!ChaosKind::DuplicateItems.fits(Answer::One));
        assert!(ChaosKind::TruncatedJson.fits(Answer::GraphPage));
    }

    #[test]
    fn kinds_round_trip_their_names() {
        for kind in ChaosKind::catalogue(Duration::from_secs(2)) {
            let parsed: ChaosKind = kind.name().parse().unwrap();
            assert_eq!(parsed.name(), kind.name());
        }
        assert!("nonsense".parse::<ChaosKind>().is_err());
    }
}
