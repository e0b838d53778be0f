//! Time as a service: the simulator never reads the wall clock or sleeps directly, so rate-limit
//! windows, Retry-After and the latency model can run on a virtual clock in tests.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use tokio::sync::oneshot;

/// A boxed sleep future, as returned by [`Clock::sleep`].
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// The simulator's view of time. The gateway adapts its own clock to this trait.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
    /// A future that completes once `duration` has passed on this clock.
    fn sleep(&self, duration: Duration) -> Sleep;
}

/// Seconds since the Unix epoch (0 for times before it), as used in `created`.
pub fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The real clock: system time and tokio's timer.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A virtual clock for tests: time moves only when [`ManualClock::advance`] is called, and
/// sleepers wake when the clock passes their deadline. Cloning shares the same clock.
#[derive(Clone)]
pub struct ManualClock {
    state: Arc<Mutex<ManualState>>,
}

struct ManualState {
    now: SystemTime,
    sleepers: Vec<(SystemTime, oneshot::Sender<()>)>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: SystemTime) -> Self {
        ManualClock {
            state: Arc::new(Mutex::new(ManualState {
                now: start,
                sleepers: Vec::new(),
            })),
        }
    }

    /// A clock standing at 2024-01-01T00:00:00Z.
    pub fn at_default_start() -> Self {
        Self::new(UNIX_EPOCH + Duration::from_secs(1_704_067_200))
    }

    /// Moves time forward and wakes every sleeper whose deadline has been reached.
    pub fn advance(&self, by: Duration) {
        let due = {
            let mut state = self.state.lock();
            state.now += by;
            let now = state.now;
            let (due, waiting): (Vec<_>, Vec<_>) =
                state.sleepers.drain(..).partition(|(at, _)| *at <= now);
            state.sleepers = waiting;
            due
        };
        for (_, wake) in due {
            // The sleeper may have been dropped (request cancelled): nothing to wake then.
            let _ = wake.send(());
        }
    }

    /// How many sleeps are waiting for the clock to move.
    pub fn pending_sleepers(&self) -> usize {
        self.state.lock().sleepers.len()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        self.state.lock().now
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        if duration.is_zero() {
            return Box::pin(std::future::ready(()));
        }
        let (tx, rx) = oneshot::channel();
        {
            let mut state = self.state.lock();
            let at = state.now + duration;
            state.sleepers.push((at, tx));
        }
        Box::pin(async move {
            // A dropped clock never wakes the sleeper: it waits forever, like time that stopped.
            if rx.await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn manual_clock_wakes_sleepers_only_when_advanced_past_deadline() {
        let clock = ManualClock::at_default_start();
        let start = clock.now();
        let mut sleep = clock.sleep(Duration::from_secs(10));
        assert_eq!(clock.pending_sleepers(), 1);
        clock.advance(Duration::from_secs(9));
        assert!(futures_util::poll!(&mut sleep).is_pending());
        clock.advance(Duration::from_secs(1));
        assert!(futures_util::poll!(&mut sleep).is_ready());
        assert_eq!(clock.now(), start + Duration::from_secs(10));
        assert_eq!(clock.pending_sleepers(), 0);
    }

    #[test]
    fn unix_seconds_of_default_start() {
        assert_eq!(
            unix_seconds(ManualClock::at_default_start().now()),
            1_704_067_200
        );
    }
}
