//! The progress display while collecting: a bar on stderr when it is a terminal and nothing
//! else writes there, `info` log lines otherwise (seen with `-v`), nothing with `--quiet`.
//! Collectors know nothing of it; they report to the `collect::Progress` observer this
//! implements, and the request and throttling counters come from the ARM client.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::azure::ArmClient;
use crate::collect;
use crate::inventory::Subscription;

const PROGRESS_TEMPLATE: &str =
    "{spinner} collecting {bar:24} {pos}/{len} subscriptions · {msg} · {elapsed}";

/// How collection shows its progress on stderr: a bar when stderr is a terminal and nothing
/// else writes there (neither `--quiet` nor `-v`), otherwise `info` log lines (seen with `-v`);
/// nothing at all with `--quiet`. Requests and throttled waits come from the client's counters.
pub struct ProgressDisplay<'a> {
    client: &'a ArmClient,
    bar: Option<ProgressBar>,
    done: AtomicUsize,
    total: AtomicUsize,
}

impl<'a> ProgressDisplay<'a> {
    pub fn choose(client: &'a ArmClient) -> Option<ProgressDisplay<'a>> {
        if !tracing::enabled!(tracing::Level::WARN) {
            return None; // --quiet
        }
        let bar = (std::io::stderr().is_terminal() && !tracing::enabled!(tracing::Level::INFO))
            .then(|| {
                let bar = ProgressBar::new(0);
                bar.set_style(
                    ProgressStyle::with_template(PROGRESS_TEMPLATE)
                        .expect("a valid progress template")
                        .progress_chars("=> "),
                );
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            });
        Some(ProgressDisplay {
            client,
            bar,
            done: AtomicUsize::new(0),
            total: AtomicUsize::new(0),
        })
    }

    /// Requests so far, requests in flight allowed, and throttling: how many 429s were waited
    /// out and how many requests wait on a throttled subscription right now (a stall that
    /// would otherwise look like a hang).
    fn counters(&self) -> String {
        counters_line(&self.client.stats())
    }

    /// Awaits `work`, refreshing the bar's request counters meanwhile (throttling can stall a
    /// subscription for a minute; the counters show why).
    pub async fn refresh_while<T>(&self, work: impl std::future::Future<Output = T>) -> T {
        let Some(bar) = &self.bar else {
            return work.await;
        };
        let refresh = async {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                bar.set_message(self.counters());
            }
        };
        tokio::select! {
            out = work => out,
            never = refresh => never,
        }
    }

    pub fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl collect::Progress for ProgressDisplay<'_> {
    fn started(&self, total: usize) {
        self.total.store(total, Ordering::Relaxed);
        match &self.bar {
            Some(bar) => {
                bar.set_length(total as u64);
                bar.set_message(self.counters());
            }
            None => tracing::info!("collecting {total} subscription(s)"),
        }
    }

    fn subscription_done(&self, subscription: &Subscription) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                bar.set_message(self.counters());
            }
            None => tracing::info!(
                "collected subscription {} ({done}/{}; {})",
                // ARM text: made printable here too, whatever the log formatter does.
                crate::text::printable(&subscription.display_name),
                self.total.load(Ordering::Relaxed),
                self.counters()
            ),
        }
    }

    fn finishing(&self) {
        match &self.bar {
            Some(bar) => bar.set_message(format!("follow-up reads · {}", self.counters())),
            None => tracing::info!("follow-up reads ({})", self.counters()),
        }
    }
}

/// The counters part of the progress line.
fn counters_line(stats: &crate::azure::ClientStats) -> String {
    let mut line = format!(
        "{} requests · {} in flight max",
        stats.requests, stats.concurrency
    );
    if stats.graph_queries > 0 {
        line.push_str(&format!(
            " · {} Resource Graph queries",
            stats.graph_queries
        ));
    }
    if stats.throttled > 0 || stats.throttle_waiting > 0 {
        line.push_str(&format!(
            " · throttled: {} waited out, {} waiting now",
            stats.throttled, stats.throttle_waiting
        ));
    }
    if stats.abandoned > 0 {
        line.push_str(&format!(" · {} reads given up", stats.abandoned));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counters_show_throttling_only_when_there_is_some() {
        let mut stats = crate::azure::ClientStats {
            requests: 120,
            concurrency: 32,
            ..Default::default()
        };
        assert_eq!(counters_line(&stats), "120 requests · 32 in flight max");
        stats.throttled = 7;
        stats.throttle_waiting = 3;
        stats.abandoned = 1;
        assert_eq!(
            counters_line(&stats),
            "120 requests · 32 in flight max · throttled: 7 waited out, 3 waiting now · 1 reads given up"
        );
        stats.graph_queries = 9;
        assert!(
            counters_line(&stats).starts_with(
                "120 requests · 32 in flight max · 9 Resource Graph queries · throttled"
            ),
            "{}",
            counters_line(&stats)
        );
    }

    #[test]
    fn the_progress_template_parses() {
        assert!(ProgressStyle::with_template(PROGRESS_TEMPLATE).is_ok());
    }
}
