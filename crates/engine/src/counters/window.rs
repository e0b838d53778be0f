//! The sliding-window state of one key (in-process); the Redis Lua scripts implement the same
//! rules over a sorted set.

use std::collections::VecDeque;

use super::{Millis, WindowAdmission};

#[derive(Debug, Clone, Copy)]
struct Entry {
    at: Millis,
    amount: u64,
    id: u64,
}

/// Timestamped amounts ordered by time, with their running sum.
#[derive(Debug, Default)]
pub(crate) struct Window {
    entries: VecDeque<Entry>,
    sum: u64,
    /// Longest window this key was used with; idle keys are swept after it.
    pub(crate) span_ms: u64,
}

impl Window {
    /// Drops entries that left the window ending at `now` (an entry at `t` counts while
    /// `now < t + window`).
    pub(crate) fn trim(&mut self, window_ms: u64, now: Millis) {
        let cutoff = now.saturating_sub(i64::try_from(window_ms).unwrap_or(i64::MAX));
        while let Some(e) = self.entries.front() {
            if e.at > cutoff {
                break;
            }
            self.sum = self.sum.saturating_sub(e.amount);
            self.entries.pop_front();
        }
        self.span_ms = self.span_ms.max(window_ms);
    }

    pub(crate) fn sum(&self) -> u64 {
        self.sum
    }

    pub(crate) fn is_idle(&self, now: Millis) -> bool {
        match self.entries.back() {
            None => true,
            Some(e) => {
                e.at.saturating_add(i64::try_from(self.span_ms).unwrap_or(i64::MAX)) <= now
            }
        }
    }

    pub(crate) fn push(&mut self, at: Millis, amount: u64, id: u64) {
        // Times are almost always non-decreasing; keep the order when a caller's clock lags.
        let pos = self
            .entries
            .iter()
            .rposition(|e| e.at <= at)
            .map_or(0, |p| p + 1);
        self.entries.insert(pos, Entry { at, amount, id });
        self.sum = self.sum.saturating_add(amount);
    }

    pub(crate) fn remove(&mut self, id: u64) -> bool {
        match self.entries.iter().rposition(|e| e.id == id) {
            Some(p) => {
                if let Some(e) = self.entries.remove(p) {
                    self.sum = self.sum.saturating_sub(e.amount);
                }
                true
            }
            None => false,
        }
    }

    /// Admission decision on a trimmed window; counts `add` with `id` when admitted.
    pub(crate) fn admit(
        &mut self,
        window_ms: u64,
        limit: u64,
        need: u64,
        add: u64,
        now: Millis,
        id: u64,
    ) -> (WindowAdmission, bool) {
        let used = self.sum;
        if used.saturating_add(need) <= limit {
            if add > 0 {
                self.push(now, add, id);
            }
            return (
                WindowAdmission::Admitted {
                    used: self.sum,
                    entry: None,
                },
                add > 0,
            );
        }
        let retry_after_ms = if need > limit {
            None
        } else {
            // Oldest entries leave first: find the one whose departure makes `need` fit.
            let excess = used + need - limit;
            let mut freed = 0u64;
            let mut at = None;
            for e in &self.entries {
                freed = freed.saturating_add(e.amount);
                if freed >= excess {
                    at = Some(e.at);
                    break;
                }
            }
            at.map(|t| {
                let leaves = t.saturating_add(i64::try_from(window_ms).unwrap_or(i64::MAX));
                u64::try_from(leaves.saturating_sub(now)).unwrap_or(0)
            })
        };
        (
            WindowAdmission::Rejected {
                used,
                retry_after_ms,
            },
            false,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admitted(w: &mut Window, now: Millis, need: u64, add: u64) -> WindowAdmission {
        w.trim(60_000, now);
        w.admit(60_000, 3, need, add, now, now as u64).0
    }

    #[test]
    fn rejects_past_the_limit_and_reports_when_the_oldest_call_leaves() {
        let mut w = Window::default();
        for t in [0, 10_000, 20_000] {
            assert!(matches!(
                admitted(&mut w, t, 1, 1),
                WindowAdmission::Admitted { .. }
            ));
        }
        assert_eq!(
            admitted(&mut w, 30_500, 1, 1),
            WindowAdmission::Rejected {
                used: 3,
                retry_after_ms: Some(29_500)
            }
        );
        // Rejected calls are not counted: at 60 s the first call left, one fits again.
        assert!(matches!(
            admitted(&mut w, 60_000, 1, 1),
            WindowAdmission::Admitted { used: 3, .. }
        ));
        // Needing 2 waits for the two oldest to leave.
        assert_eq!(
            admitted(&mut w, 60_000, 2, 2),
            WindowAdmission::Rejected {
                used: 3,
                retry_after_ms: Some(20_000)
            }
        );
        assert_eq!(
            admitted(&mut w, 60_000, 4, 4),
            WindowAdmission::Rejected {
                used: 3,
                retry_after_ms: None
            }
        );
    }

    #[test]
    fn late_entries_keep_time_order_and_remove_by_id() {
        let mut w = Window::default();
        w.push(5_000, 2, 1);
        w.push(1_000, 3, 2);
        w.trim(60_000, 61_000);
        assert_eq!(w.sum(), 2);
        assert!(w.remove(1));
        assert!(!w.remove(1));
        assert_eq!(w.sum(), 0);
        assert!(w.is_idle(61_000));
    }
}
