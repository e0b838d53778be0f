//! Time as a service: the wall clock for the gateway, a virtual clock for tests.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use parking_lot::Mutex;

/// Time source for everything in the engine (policies, breakers, stores, mocks).
pub trait Clock: Send + Sync + fmt::Debug {
    /// Current UTC time (`context.Timestamp`, `DateTime.UtcNow`).
    fn now(&self) -> DateTime<Utc>;
    /// Monotonic time since the clock was created (windows, elapsed times).
    fn monotonic(&self) -> Duration;
    /// Resolves once `d` has passed on this clock.
    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()>;
    /// True when [`Clock::sleep`] is tokio's timer on the real clock, so a caller may use
    /// `tokio::time` directly (no boxed timer).
    fn is_tokio_wall_clock(&self) -> bool {
        false
    }
}

/// The real clock.
#[derive(Debug, Clone)]
pub struct WallClock {
    start: Instant,
}

impl Default for WallClock {
    fn default() -> Self {
        WallClock {
            start: Instant::now(),
        }
    }
}

impl WallClock {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Clock for WallClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn monotonic(&self) -> Duration {
        self.start.elapsed()
    }
    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(d))
    }
    fn is_tokio_wall_clock(&self) -> bool {
        true
    }
}

/// Shared between a pending sleep and the clock.
struct SleepState {
    fired: AtomicBool,
    /// The sleep future was dropped before firing (a timeout that lost its race).
    cancelled: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

struct Sleeper {
    deadline: Duration,
    seq: u64,
    state: Arc<SleepState>,
}

impl PartialEq for Sleeper {
    fn eq(&self, o: &Self) -> bool {
        (self.deadline, self.seq) == (o.deadline, o.seq)
    }
}
impl Eq for Sleeper {}
impl PartialOrd for Sleeper {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Sleeper {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.deadline, self.seq).cmp(&(o.deadline, o.seq))
    }
}

struct VirtualState {
    start: DateTime<Utc>,
    elapsed: Duration,
    seq: u64,
    sleepers: BinaryHeap<Reverse<Sleeper>>,
}

/// A manually advanced clock. Cloning gives another handle to the same time. Sleeps resolve
/// when the time is advanced past their deadline, in deadline order; nothing waits on the wall
/// clock.
#[derive(Clone)]
pub struct VirtualClock {
    state: Arc<Mutex<VirtualState>>,
    /// `elapsed` in nanoseconds, for reads without the lock (every request reads the clock
    /// several times); [`ELAPSED_UNDER_LOCK`] when it does not fit.
    elapsed_ns: Arc<std::sync::atomic::AtomicU64>,
    start: DateTime<Utc>,
}

/// `elapsed_ns` of a clock advanced beyond u64 nanoseconds: read `elapsed` under the lock.
const ELAPSED_UNDER_LOCK: u64 = u64::MAX;

impl fmt::Debug for VirtualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.lock();
        f.debug_struct("VirtualClock")
            .field("now", &(s.start + s.elapsed))
            .field("sleepers", &s.sleepers.len())
            .finish()
    }
}

impl VirtualClock {
    /// A clock reading `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        VirtualClock {
            state: Arc::new(Mutex::new(VirtualState {
                start,
                elapsed: Duration::ZERO,
                seq: 0,
                sleepers: BinaryHeap::new(),
            })),
            elapsed_ns: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            start,
        }
    }

    fn elapsed(&self) -> Duration {
        match self.elapsed_ns.load(Ordering::Acquire) {
            ELAPSED_UNDER_LOCK => self.state.lock().elapsed,
            ns => Duration::from_nanos(ns),
        }
    }

    /// A clock at 2024-01-01T00:00:00Z.
    pub fn at_default_start() -> Self {
        Self::new(
            DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
                .map(|d| d.to_utc())
                .unwrap_or_default(),
        )
    }

    /// Moves time forward by `d`, firing the sleeps that are due.
    pub fn advance(&self, d: Duration) {
        let target = self.state.lock().elapsed.saturating_add(d);
        self.advance_to(target);
    }

    fn advance_to(&self, target: Duration) {
        let mut due = Vec::new();
        {
            let mut s = self.state.lock();
            if target > s.elapsed {
                s.elapsed = target;
                let ns = u64::try_from(target.as_nanos())
                    .ok()
                    .filter(|n| *n != ELAPSED_UNDER_LOCK)
                    .unwrap_or(ELAPSED_UNDER_LOCK);
                self.elapsed_ns.store(ns, Ordering::Release);
            }
            while s
                .sleepers
                .peek()
                .is_some_and(|Reverse(x)| x.deadline <= s.elapsed)
            {
                if let Some(Reverse(x)) = s.sleepers.pop() {
                    due.push(x);
                }
            }
        }
        for x in due {
            x.state.fired.store(true, Ordering::SeqCst);
            if let Some(w) = x.state.waker.lock().take() {
                w.wake();
            }
        }
    }

    /// Drops cancelled sleeps at the top of the heap, and compacts it when it is mostly dead.
    fn purge(s: &mut VirtualState) {
        while s
            .sleepers
            .peek()
            .is_some_and(|Reverse(x)| x.state.cancelled.load(Ordering::SeqCst))
        {
            s.sleepers.pop();
        }
        let len = s.sleepers.len();
        if len >= 1024 && len.is_power_of_two() {
            s.sleepers
                .retain(|Reverse(x)| !x.state.cancelled.load(Ordering::SeqCst));
        }
    }

    /// Deadline of the earliest pending sleep, relative to now.
    pub fn next_deadline(&self) -> Option<Duration> {
        let mut s = self.state.lock();
        Self::purge(&mut s);
        s.sleepers
            .peek()
            .map(|Reverse(x)| x.deadline.saturating_sub(s.elapsed))
    }

    /// Advances to the earliest pending sleep; false when nothing sleeps.
    pub fn advance_to_next(&self) -> bool {
        let next = {
            let mut s = self.state.lock();
            Self::purge(&mut s);
            s.sleepers.peek().map(|Reverse(x)| x.deadline)
        };
        match next {
            Some(d) => {
                self.advance_to(d);
                true
            }
            None => false,
        }
    }

    /// Sleeps still waiting (not fired, not dropped).
    pub fn pending_sleeps(&self) -> usize {
        self.state
            .lock()
            .sleepers
            .iter()
            .filter(|Reverse(x)| !x.state.cancelled.load(Ordering::SeqCst))
            .count()
    }

    /// Runs `fut` to completion, advancing virtual time to the next sleep deadline whenever the
    /// future (and the tasks it waits on) can make no other progress. Deterministic: time only
    /// moves when everything is waiting on this clock. Use a current-thread runtime: tasks the
    /// future spawns get a few scheduler turns before time moves, which on a multi-thread
    /// runtime is not a guarantee that they have run.
    pub async fn run<F: Future>(&self, fut: F) -> F::Output {
        let mut fut = std::pin::pin!(fut);
        loop {
            let flag = Arc::new(FlagWaker {
                woken: AtomicBool::new(false),
                outer: Mutex::new(None),
            });
            let out = std::future::poll_fn(|cx| {
                *flag.outer.lock() = Some(cx.waker().clone());
                let w = Waker::from(flag.clone());
                let mut inner = Context::from_waker(&w);
                Poll::Ready(fut.as_mut().poll(&mut inner))
            })
            .await;
            if let Poll::Ready(v) = out {
                return v;
            }
            // Let other tasks (spawned by the future) run before deciding the future is idle.
            for _ in 0..8 {
                if flag.woken.load(Ordering::SeqCst) {
                    break;
                }
                tokio::task::yield_now().await;
            }
            if flag.woken.load(Ordering::SeqCst) {
                continue;
            }
            if !self.advance_to_next() {
                // Waiting on something outside this clock: wait for a real wake-up.
                std::future::poll_fn(|cx| {
                    if flag.woken.load(Ordering::SeqCst) {
                        Poll::Ready(())
                    } else {
                        *flag.outer.lock() = Some(cx.waker().clone());
                        if flag.woken.load(Ordering::SeqCst) {
                            Poll::Ready(())
                        } else {
                            Poll::Pending
                        }
                    }
                })
                .await;
            }
        }
    }
}

struct FlagWaker {
    woken: AtomicBool,
    outer: Mutex<Option<Waker>>,
}

impl Wake for FlagWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        if let Some(w) = self.outer.lock().as_ref() {
            w.wake_by_ref();
        }
    }
}

struct VirtualSleep {
    state: Arc<SleepState>,
}

impl Future for VirtualSleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.state.fired.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        *self.state.waker.lock() = Some(cx.waker().clone());
        if self.state.fired.load(Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for VirtualSleep {
    fn drop(&mut self) {
        if !self.state.fired.load(Ordering::SeqCst) {
            self.state.cancelled.store(true, Ordering::SeqCst);
        }
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> DateTime<Utc> {
        self.start + self.elapsed()
    }
    fn monotonic(&self) -> Duration {
        self.elapsed()
    }
    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        let state = Arc::new(SleepState {
            fired: AtomicBool::new(d.is_zero()),
            cancelled: AtomicBool::new(false),
            waker: Mutex::new(None),
        });
        if !d.is_zero() {
            let mut s = self.state.lock();
            Self::purge(&mut s);
            s.seq += 1;
            let sleeper = Sleeper {
                deadline: s.elapsed.saturating_add(d),
                seq: s.seq,
                state: state.clone(),
            };
            s.sleepers.push(Reverse(sleeper));
        }
        Box::pin(VirtualSleep { state })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    #[test]
    fn advance_moves_now_and_fires_due_sleeps_only() {
        let c = VirtualClock::at_default_start();
        let t0 = c.now();
        let mut a = c.sleep(Duration::from_secs(5));
        let mut b = c.sleep(Duration::from_secs(10));
        assert!(a.as_mut().now_or_never().is_none());
        c.advance(Duration::from_secs(5));
        assert!(a.as_mut().now_or_never().is_some());
        assert!(b.as_mut().now_or_never().is_none());
        assert_eq!(c.next_deadline(), Some(Duration::from_secs(5)));
        c.advance(Duration::from_secs(5));
        assert!(b.now_or_never().is_some());
        assert_eq!(c.now() - t0, chrono::Duration::seconds(10));
        assert_eq!(c.monotonic(), Duration::from_secs(10));
        assert!(c.sleep(Duration::ZERO).now_or_never().is_some());
    }

    #[tokio::test]
    async fn run_advances_through_sequential_and_parallel_sleeps() {
        let c = VirtualClock::at_default_start();
        let c2 = c.clone();
        let out = c
            .run(async move {
                c2.sleep(Duration::from_secs(3)).await;
                let t1 = c2.monotonic();
                let (x, y) = futures_util::future::join(
                    async {
                        c2.sleep(Duration::from_secs(7)).await;
                        c2.monotonic()
                    },
                    async {
                        c2.sleep(Duration::from_secs(2)).await;
                        c2.monotonic()
                    },
                )
                .await;
                (t1, x, y)
            })
            .await;
        assert_eq!(
            out,
            (
                Duration::from_secs(3),
                Duration::from_secs(10),
                Duration::from_secs(5)
            )
        );
    }

    #[tokio::test]
    async fn dropped_sleeps_do_not_move_time() {
        let c = VirtualClock::at_default_start();
        for _ in 0..3000 {
            drop(c.sleep(Duration::from_secs(300)));
        }
        assert_eq!(c.pending_sleeps(), 0);
        assert_eq!(c.next_deadline(), None);
        assert!(
            !c.advance_to_next(),
            "a lost timeout must not be a deadline to advance to"
        );
        assert!(
            c.state.lock().sleepers.len() < 1100,
            "cancelled sleeps are compacted"
        );
        let keep = c.sleep(Duration::from_secs(5));
        assert_eq!(c.next_deadline(), Some(Duration::from_secs(5)));
        drop(keep);
    }

    #[tokio::test]
    async fn run_with_select_takes_the_earliest() {
        let c = VirtualClock::at_default_start();
        let c2 = c.clone();
        let which = c
            .run(async move {
                match futures_util::future::select(
                    c2.sleep(Duration::from_secs(30)),
                    c2.sleep(Duration::from_secs(1)),
                )
                .await
                {
                    futures_util::future::Either::Left(_) => "timeout",
                    futures_util::future::Either::Right(_) => "response",
                }
            })
            .await;
        assert_eq!(which, "response");
        assert_eq!(c.monotonic(), Duration::from_secs(1));
    }
}
