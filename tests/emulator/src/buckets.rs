//! ARM's read throttling as the emulator plays it: token buckets that hold `capacity` requests
//! and refill `refill_per_sec` a second (ARM's documented read bucket is 250 and 25/s; Learn,
//! "request-limits-and-throttling"), either one per subscription plus one for tenant-level
//! calls, as ARM documents, or one bucket for every request, the strictest reading of the
//! limits. A request that finds its bucket empty is answered 429 with `Retry-After` (whole
//! seconds, as ARM sends it) and does not consume a token; every answer carries the bucket's
//! remaining count in `x-ms-ratelimit-remaining-subscription-reads` (or `-tenant-reads`).

use std::collections::HashMap;
use std::time::Instant;

use crate::scope;

/// How requests map to buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BucketMode {
    /// Each subscription has its own bucket, and tenant-level calls share one: ARM's model.
    PerSubscription,
    /// One bucket for every request of the run.
    Shared,
}

/// The read-throttling option.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReadBuckets {
    pub mode: BucketMode,
    pub capacity: f64,
    pub refill_per_sec: f64,
}

impl ReadBuckets {
    /// ARM's documented read bucket (250, 25 per second) in `mode`.
    pub fn arm(mode: BucketMode) -> ReadBuckets {
        ReadBuckets {
            mode,
            capacity: 250.0,
            refill_per_sec: 25.0,
        }
    }
}

/// What a request found in its bucket.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Draw {
    /// Served; this many requests are left.
    Served { remaining: u64, tenant_level: bool },
    /// Refused; retry after this many whole seconds.
    Throttled {
        retry_after_secs: u64,
        tenant_level: bool,
    },
}

#[derive(Debug, Default)]
pub(crate) struct BucketState {
    buckets: HashMap<String, (f64, Instant)>,
}

impl BucketState {
    /// Takes one token for a request at `request_scope` (an ARM ID).
    pub(crate) fn draw(&mut self, config: &ReadBuckets, request_scope: &str, now: Instant) -> Draw {
        let subscription =
            scope::subscription_of(&scope::normalize(request_scope)).map(str::to_string);
        let tenant_level = subscription.is_none();
        let key = match config.mode {
            BucketMode::Shared => "*".to_string(),
            BucketMode::PerSubscription => subscription.unwrap_or_else(|| "tenant".to_string()),
        };
        let (tokens, updated) = self.buckets.entry(key).or_insert((config.capacity, now));
        let elapsed = now.saturating_duration_since(*updated).as_secs_f64();
        *tokens = (*tokens + elapsed * config.refill_per_sec).min(config.capacity);
        *updated = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Draw::Served {
                remaining: tokens.floor() as u64,
                tenant_level,
            }
        } else {
            let wait = (1.0 - *tokens) / config.refill_per_sec.max(f64::MIN_POSITIVE);
            Draw::Throttled {
                retry_after_secs: wait.ceil().max(1.0) as u64,
                tenant_level,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn per_subscription_buckets_are_independent_and_shared_is_one() {
        let config = ReadBuckets {
            mode: BucketMode::PerSubscription,
            capacity: 2.0,
            refill_per_sec: 1.0,
        };
        let mut state = BucketState::default();
        let t0 = Instant::now();
        let a = "/subscriptions/A/providers/x";
        for expected in [1, 0] {
            assert_eq!(
                state.draw(&config, a, t0),
                Draw::Served {
                    remaining: expected,
                    tenant_level: false
                }
            );
        }
        assert_eq!(
            state.draw(&config, a, t0),
            Draw::Throttled {
                retry_after_secs: 1,
                tenant_level: false
            }
        );
        assert!(matches!(
            state.draw(&config, "/subscriptions/b", t0),
            Draw::Served { .. }
        ));
        assert!(matches!(
            state.draw(
                &config,
                "/providers/Microsoft.Management/managementGroups/x",
                t0
            ),
            Draw::Served {
                tenant_level: true,
                ..
            }
        ));
        assert!(matches!(
            state.draw(&config, a, t0 + Duration::from_secs(1)),
            Draw::Served { .. }
        ));

        let shared = ReadBuckets {
            mode: BucketMode::Shared,
            ..config
        };
        let mut state = BucketState::default();
        assert!(matches!(state.draw(&shared, a, t0), Draw::Served { .. }));
        assert!(matches!(
            state.draw(&shared, "/subscriptions/b", t0),
            Draw::Served { .. }
        ));
        assert!(matches!(
            state.draw(&shared, "/subscriptions/c", t0),
            Draw::Throttled { .. }
        ));
    }
}
