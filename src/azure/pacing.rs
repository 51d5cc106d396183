//! Pacing: how fast the client may talk to ARM, so that a tenant of a thousand subscriptions is
//! read quickly without ever giving up a read to throttling.
//!
//! ARM limits reads with token buckets per principal: one per subscription and one for
//! tenant-level calls, each holding 250 requests and refilling 25 per second (Learn,
//! "request-limits-and-throttling", 2024 model; `../shared/arm-api.md` §10, §13.6). Every answer
//! says how many are left (`x-ms-ratelimit-remaining-subscription-reads` / `-tenant-reads`), and
//! a 429 says how long to wait (`Retry-After`); a request sent before that elapses is refused
//! again. Some tenants are stricter than the documented model (the global per-subscription
//! limit across principals, RPs with limits of their own), so the client must adapt, not assume.
//!
//! Three mechanisms, all in the client so collectors stay declarative:
//! - [`Buckets`]: a local copy of ARM's buckets, keyed like ARM's (the subscription of the
//!   request, or the tenant). A request takes a token before it is sent, so the client never
//!   plans to exceed the documented rate; each answer's remaining count lowers the local count
//!   when the server knows better (another principal, another tool, a shared bucket); a 429
//!   pauses its key until its `Retry-After` has passed, plus jitter so that the requests it
//!   held back do not return in one synchronised wave.
//! - [`AdaptiveLimit`]: how many requests are in flight. It starts low, doubles while answers
//!   come back fast and unthrottled (slow start; slow answers pause the growth), after a 429
//!   grows by one per window of successes, and halves on a 429 (at most once per cool-down),
//!   like TCP's congestion control. The ceiling is `--concurrency`.
//! - The client retries a throttled read until the run's deadline, never after a fixed count:
//!   throttling says "later", not "no".

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// ARM's documented read bucket: capacity.
pub const READ_BUCKET_CAPACITY: f64 = 250.0;
/// ARM's documented read bucket: tokens added per second.
pub const READ_BUCKET_REFILL_PER_SEC: f64 = 25.0;

/// The bucket a request draws from: its subscription (lower-cased GUID) or the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BucketKey {
    Subscription(String),
    Tenant,
}

impl BucketKey {
    /// The key of an ARM request path: `/subscriptions/{id}/…` draws from that subscription's
    /// bucket, anything else (management groups, providers, `/subscriptions` itself, Resource
    /// Graph) from the tenant's.
    pub fn of_path(path: &str) -> BucketKey {
        let mut segments = path.split('/').filter(|s| !s.is_empty());
        match (segments.next(), segments.next()) {
            (Some(first), Some(id)) if first.eq_ignore_ascii_case("subscriptions") => {
                BucketKey::Subscription(id.to_ascii_lowercase())
            }
            _ => BucketKey::Tenant,
        }
    }

    /// The remaining-reads header ARM sends for this kind of bucket.
    pub fn remaining_header(&self) -> &'static str {
        match self {
            BucketKey::Subscription(_) => "x-ms-ratelimit-remaining-subscription-reads",
            BucketKey::Tenant => "x-ms-ratelimit-remaining-tenant-reads",
        }
    }
}

#[derive(Debug, Clone)]
struct Bucket {
    tokens: f64,
    updated: Instant,
    paused_until: Instant,
}

/// The local copies of ARM's read buckets.
#[derive(Debug)]
pub struct Buckets {
    capacity: f64,
    refill_per_sec: f64,
    buckets: Mutex<HashMap<BucketKey, Bucket>>,
}

/// What a caller must do before sending.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Admission {
    /// A token was taken: send now.
    Go,
    /// Wait this long, then ask again; `throttled` says whether the key is paused by a 429.
    Wait { wait: Duration, throttled: bool },
}

impl Buckets {
    pub fn new(capacity: f64, refill_per_sec: f64) -> Buckets {
        Buckets {
            capacity: capacity.max(1.0),
            refill_per_sec: refill_per_sec.max(f64::MIN_POSITIVE),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// ARM's documented read buckets (250, 25 per second).
    pub fn arm_reads() -> Buckets {
        Buckets::new(READ_BUCKET_CAPACITY, READ_BUCKET_REFILL_PER_SEC)
    }

    fn with<R>(&self, key: &BucketKey, now: Instant, f: impl FnOnce(&mut Bucket) -> R) -> R {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets.entry(key.clone()).or_insert(Bucket {
            tokens: self.capacity,
            updated: now,
            paused_until: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.refill_per_sec).min(self.capacity);
        bucket.updated = now;
        f(bucket)
    }

    /// Takes a token for `key` if one is there and the key is not paused.
    pub fn admit(&self, key: &BucketKey, now: Instant) -> Admission {
        let rate = self.refill_per_sec;
        self.with(key, now, |b| {
            if now < b.paused_until {
                Admission::Wait {
                    wait: b.paused_until - now,
                    throttled: true,
                }
            } else if b.tokens >= 1.0 {
                b.tokens -= 1.0;
                Admission::Go
            } else {
                Admission::Wait {
                    wait: Duration::from_secs_f64((1.0 - b.tokens) / rate),
                    throttled: false,
                }
            }
        })
    }

    /// The server says `remaining` requests are left in `key`'s bucket: never plan on more.
    pub fn observe_remaining(&self, key: &BucketKey, remaining: u64, now: Instant) {
        self.with(key, now, |b| b.tokens = b.tokens.min(remaining as f64));
    }

    /// A 429 on `key`: nothing more goes out on it until `until`.
    pub fn pause(&self, key: &BucketKey, until: Instant, now: Instant) {
        self.with(key, now, |b| {
            b.tokens = 0.0;
            b.paused_until = b.paused_until.max(until);
        });
    }
}

/// The number of requests in flight, adapted to how the service answers (see the module
/// documentation).
#[derive(Debug)]
pub struct AdaptiveLimit {
    semaphore: Arc<Semaphore>,
    /// Permits to retire as they come back, after a cut.
    debt: AtomicUsize,
    state: Mutex<LimitState>,
    min: usize,
    max: usize,
}

#[derive(Debug)]
struct LimitState {
    limit: usize,
    slow_start: bool,
    successes: usize,
    last_cut: Option<Instant>,
    /// The fastest answer seen: what "latency holds" is measured against.
    floor: Option<Duration>,
    /// A smoothed latency of recent answers.
    recent: Option<Duration>,
}

/// After a cut, further 429s within this long are the same congestion event.
const CUT_COOL_DOWN: Duration = Duration::from_secs(1);

/// Latency "holds" while the smoothed latency stays within this factor of the fastest answer
/// (plus a small absolute slack, so fast loopback answers do not count jitter as congestion).
const LATENCY_TOLERANCE: f64 = 2.0;
const LATENCY_SLACK: Duration = Duration::from_millis(25);

/// A slot in flight. Dropping it frees the slot (or retires it, after a cut).
#[derive(Debug)]
pub struct Slot {
    permit: Option<OwnedSemaphorePermit>,
    limit: Arc<AdaptiveLimit>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(permit) = self.permit.take() {
            let retired = self
                .limit
                .debt
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |d| d.checked_sub(1))
                .is_ok();
            if retired {
                permit.forget();
            }
        }
    }
}

impl AdaptiveLimit {
    /// A limit that starts at `initial` and moves within `[min, max]`.
    pub fn new(initial: usize, min: usize, max: usize) -> Arc<AdaptiveLimit> {
        let max = max.max(1);
        let min = min.clamp(1, max);
        let initial = initial.clamp(min, max);
        Arc::new(AdaptiveLimit {
            semaphore: Arc::new(Semaphore::new(initial)),
            debt: AtomicUsize::new(0),
            state: Mutex::new(LimitState {
                limit: initial,
                slow_start: true,
                successes: 0,
                last_cut: None,
                floor: None,
                recent: None,
            }),
            min,
            max,
        })
    }

    /// A limit that never moves (`--concurrency N` with adaptation off, and tests).
    pub fn fixed(n: usize) -> Arc<AdaptiveLimit> {
        AdaptiveLimit::new(n, n, n)
    }

    /// The current limit.
    pub fn current(&self) -> usize {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).limit
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// Waits for a slot.
    pub async fn acquire(self: &Arc<Self>) -> Slot {
        let permit = Arc::clone(&self.semaphore)
            .acquire_owned()
            .await
            .expect("the limit's semaphore is never closed");
        Slot {
            permit: Some(permit),
            limit: Arc::clone(self),
        }
    }

    /// An answer that was not a 429 came back after `latency`.
    pub fn on_success(&self, latency: Duration) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.floor = Some(s.floor.map_or(latency, |f| f.min(latency)));
        s.recent = Some(match s.recent {
            None => latency,
            Some(r) => r.mul_f64(0.9) + latency.mul_f64(0.1),
        });
        let floor = s.floor.unwrap_or(latency);
        let holds = s.recent.unwrap_or(latency) <= floor.mul_f64(LATENCY_TOLERANCE) + LATENCY_SLACK;
        if !holds {
            // Answers slow down: stop growing while they are slow. Slow start is not left for
            // it, only for a 429: a spell of slow answers is as often this process busy
            // parsing a burst of large pages as a service under load, and leaving slow start
            // on it would cost a large tenant seconds of growth one slot at a time.
            s.successes = 0;
            return;
        }
        s.successes += 1;
        let grow = if s.slow_start {
            // One more slot per success doubles the limit every round trip.
            true
        } else if s.successes >= s.limit {
            s.successes = 0;
            true
        } else {
            false
        };
        if grow && s.limit < self.max {
            s.limit += 1;
            self.add_slot();
        }
    }

    /// A 429 came back: halve, at most once per cool-down.
    pub fn on_throttle(&self, now: Instant) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.slow_start = false;
        s.successes = 0;
        if s.last_cut
            .is_some_and(|t| now.duration_since(t) < CUT_COOL_DOWN)
        {
            return;
        }
        s.last_cut = Some(now);
        let target = (s.limit / 2).max(self.min);
        let cut = s.limit - target;
        s.limit = target;
        if cut > 0 {
            self.debt.fetch_add(cut, Ordering::AcqRel);
        }
    }

    fn add_slot(&self) {
        let paid = self
            .debt
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |d| d.checked_sub(1))
            .is_ok();
        if !paid {
            self.semaphore.add_permits(1);
        }
    }
}

/// `Retry-After` with jitter: the server's wait plus up to half of it again, so the requests
/// one 429 held back spread out instead of returning together.
pub fn jittered(retry_after: Duration) -> Duration {
    let spread = retry_after / 2;
    retry_after + Duration::from_micros(fastrand::u64(0..=spread.as_micros() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_subscription_of_the_path() {
        assert_eq!(
            BucketKey::of_path("/subscriptions/ABC/providers/x"),
            BucketKey::Subscription("abc".into())
        );
        assert_eq!(
            BucketKey::of_path("/Subscriptions/abc"),
            BucketKey::Subscription("abc".into())
        );
        assert_eq!(BucketKey::of_path("/subscriptions"), BucketKey::Tenant);
        assert_eq!(
            BucketKey::of_path("/providers/Microsoft.Management/managementGroups/x/descendants"),
            BucketKey::Tenant
        );
        assert_eq!(
            BucketKey::Tenant.remaining_header(),
            "x-ms-ratelimit-remaining-tenant-reads"
        );
    }

    #[test]
    fn a_bucket_admits_its_capacity_then_the_refill_rate() {
        let buckets = Buckets::new(3.0, 10.0);
        let key = BucketKey::Subscription("a".into());
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(buckets.admit(&key, t0), Admission::Go);
        }
        let Admission::Wait { wait, throttled } = buckets.admit(&key, t0) else {
            panic!("empty bucket admitted");
        };
        assert!(!throttled);
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-6, "{wait:?}");
        assert_eq!(
            buckets.admit(&key, t0 + Duration::from_millis(100)),
            Admission::Go
        );
        // Another key has its own bucket.
        assert_eq!(buckets.admit(&BucketKey::Tenant, t0), Admission::Go);
    }

    #[test]
    fn the_server_count_lowers_the_local_one_and_a_429_pauses_the_key() {
        let buckets = Buckets::new(250.0, 25.0);
        let key = BucketKey::Subscription("a".into());
        let t0 = Instant::now();
        buckets.observe_remaining(&key, 1, t0);
        assert_eq!(buckets.admit(&key, t0), Admission::Go);
        assert!(matches!(
            buckets.admit(&key, t0),
            Admission::Wait {
                throttled: false,
                ..
            }
        ));
        buckets.pause(&key, t0 + Duration::from_secs(2), t0);
        let Admission::Wait { wait, throttled } = buckets.admit(&key, t0 + Duration::from_secs(1))
        else {
            panic!("a paused key admitted");
        };
        assert!(throttled);
        assert_eq!(wait, Duration::from_secs(1));
        // After the pause the refill since the 429 is there.
        assert_eq!(
            buckets.admit(&key, t0 + Duration::from_secs(3)),
            Admission::Go
        );
    }

    #[tokio::test]
    async fn the_limit_grows_while_latency_holds_and_halves_on_throttling() {
        let limit = AdaptiveLimit::new(4, 2, 64);
        let fast = Duration::from_millis(100);
        for _ in 0..4 {
            limit.on_success(fast);
        }
        assert_eq!(limit.current(), 8, "slow start: one more slot per success");
        let t0 = Instant::now();
        limit.on_throttle(t0);
        assert_eq!(limit.current(), 4);
        limit.on_throttle(t0 + Duration::from_millis(500));
        assert_eq!(limit.current(), 4, "one cut per congestion event");
        limit.on_throttle(t0 + Duration::from_secs(2));
        assert_eq!(limit.current(), 2);
        limit.on_throttle(t0 + Duration::from_secs(4));
        assert_eq!(limit.current(), 2, "never below the minimum");
        // Congestion avoidance: one more slot per `limit` successes.
        for _ in 0..2 {
            limit.on_success(fast);
        }
        assert_eq!(limit.current(), 3);
        // Slow answers stop the growth.
        for _ in 0..50 {
            limit.on_success(Duration::from_secs(2));
        }
        assert_eq!(limit.current(), 3);
    }

    #[test]
    fn a_slow_spell_pauses_slow_start_without_ending_it() {
        let limit = AdaptiveLimit::new(4, 2, 64);
        let fast = Duration::from_millis(100);
        for _ in 0..4 {
            limit.on_success(fast);
        }
        assert_eq!(limit.current(), 8);
        // A spell of slow answers: no growth once the smoothed latency has risen.
        for _ in 0..30 {
            limit.on_success(Duration::from_secs(1));
        }
        let paused = limit.current();
        for _ in 0..30 {
            limit.on_success(Duration::from_secs(1));
        }
        assert_eq!(limit.current(), paused);
        // Once the smoothed latency is back near the floor, one slot per success again (not
        // one per window of successes, as after a 429).
        let mut fast_answers = 0;
        while limit.current() == paused {
            limit.on_success(fast);
            fast_answers += 1;
            assert!(fast_answers < 100, "growth never resumed");
        }
        for _ in 0..8 {
            limit.on_success(fast);
        }
        assert_eq!(limit.current(), paused + 9, "slow start resumed");
    }

    #[tokio::test]
    async fn cuts_retire_slots_as_they_come_back() {
        let limit = AdaptiveLimit::new(4, 1, 4);
        let slots: Vec<Slot> = futures::future::join_all((0..4).map(|_| limit.acquire())).await;
        limit.on_throttle(Instant::now());
        assert_eq!(limit.current(), 2);
        drop(slots);
        // Two of the four permits were retired: only two can be held at once now.
        let a = limit.acquire().await;
        let b = limit.acquire().await;
        let third = tokio::time::timeout(Duration::from_millis(50), limit.acquire()).await;
        assert!(third.is_err(), "a retired slot was handed out");
        drop((a, b));
    }

    #[test]
    fn jitter_adds_up_to_half_again() {
        for _ in 0..200 {
            let j = jittered(Duration::from_secs(2));
            assert!(
                j >= Duration::from_secs(2) && j <= Duration::from_secs(3),
                "{j:?}"
            );
        }
    }
}
