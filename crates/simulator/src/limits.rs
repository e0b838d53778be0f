//! Per-deployment rate limits: requests-per-minute and tokens-per-minute over a sliding 60 s
//! window, charged at admission as Azure does (the request's prompt tokens plus the tokens it
//! may generate), so a request over the limit is refused before any work.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

/// Length of the rate-limit window.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Which limit refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitKind {
    Requests,
    Tokens,
}

/// The outcome of admission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Admission {
    /// None: admitted and charged. Some: refused, and the limit that refused.
    pub refused_by: Option<LimitKind>,
    /// When refused: how long until the request would fit.
    pub retry_after: Duration,
    /// Remaining requests in the window (after the charge when admitted); None: unlimited.
    pub remaining_requests: Option<u64>,
    /// Remaining tokens in the window (after the charge when admitted); None: unlimited.
    pub remaining_tokens: Option<u64>,
}

/// Usage inside the current window.
#[derive(Debug, Default)]
pub struct Windows {
    requests: VecDeque<SystemTime>,
    tokens: VecDeque<(SystemTime, u64)>,
    token_sum: u64,
}

impl Windows {
    fn expire(&mut self, now: SystemTime) {
        while self.requests.front().is_some_and(|t| *t + WINDOW <= now) {
            self.requests.pop_front();
        }
        while let Some((t, n)) = self.tokens.front().copied() {
            if t + WINDOW > now {
                break;
            }
            self.tokens.pop_front();
            self.token_sum -= n;
        }
    }

    /// Requests and tokens counted in the window at `now`.
    pub fn usage(&mut self, now: SystemTime) -> (u64, u64) {
        self.expire(now);
        (self.requests.len() as u64, self.token_sum)
    }

    /// Forgets all usage.
    pub fn clear(&mut self) {
        *self = Windows::default();
    }

    /// Admits a request costing `tokens` if both limits allow it, and charges it.
    pub fn admit(
        &mut self,
        now: SystemTime,
        rpm: Option<u64>,
        tpm: Option<u64>,
        tokens: u64,
    ) -> Admission {
        self.expire(now);
        let remaining = |w: &Windows| {
            (
                rpm.map(|l| l.saturating_sub(w.requests.len() as u64)),
                tpm.map(|l| l.saturating_sub(w.token_sum)),
            )
        };
        if let Some(limit) = rpm {
            if self.requests.len() as u64 >= limit {
                // Oldest requests leave first; the one that frees a slot is the (len-limit)th.
                let idx = self.requests.len() - limit as usize;
                let at = self.requests[idx] + WINDOW;
                let (rr, rt) = remaining(self);
                return Admission {
                    refused_by: Some(LimitKind::Requests),
                    retry_after: at.duration_since(now).unwrap_or_default(),
                    remaining_requests: rr,
                    remaining_tokens: rt,
                };
            }
        }
        if let Some(limit) = tpm {
            if self.token_sum + tokens > limit {
                let mut sum = self.token_sum;
                let mut at = None;
                for (t, n) in &self.tokens {
                    sum -= n;
                    if sum + tokens <= limit {
                        at = Some(*t + WINDOW);
                        break;
                    }
                }
                // A request larger than the whole limit never fits: advise a full window.
                let retry_after = match at {
                    Some(at) => at.duration_since(now).unwrap_or_default(),
                    None => WINDOW,
                };
                let (rr, rt) = remaining(self);
                return Admission {
                    refused_by: Some(LimitKind::Tokens),
                    retry_after,
                    remaining_requests: rr,
                    remaining_tokens: rt,
                };
            }
        }
        if rpm.is_some() {
            self.requests.push_back(now);
        }
        if tpm.is_some() && tokens > 0 {
            self.tokens.push_back((now, tokens));
            self.token_sum += tokens;
        }
        let (rr, rt) = remaining(self);
        Admission {
            refused_by: None,
            retry_after: Duration::ZERO,
            remaining_requests: rr,
            remaining_tokens: rt,
        }
    }
}

/// Whole seconds for `Retry-After`: rounded up, at least 1.
pub fn retry_after_seconds(d: Duration) -> u64 {
    let ms = d.as_millis() as u64;
    ms.div_ceil(1000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + s)
    }

    #[test]
    fn token_window_slides_like_the_guide() {
        // The token-limit guide's run: TPM 100, calls 15 s apart costing 59 then 55.
        let mut w = Windows::default();
        let a = w.admit(t(0), None, Some(100), 59);
        assert_eq!((a.refused_by, a.remaining_tokens), (None, Some(41)));
        let b = w.admit(t(15), None, Some(100), 41);
        assert_eq!((b.refused_by, b.remaining_tokens), (None, Some(0)));
        let c = w.admit(t(30), None, Some(100), 50);
        assert_eq!(c.refused_by, Some(LimitKind::Tokens));
        assert_eq!(c.retry_after, Duration::from_secs(30));
        let d = w.admit(t(60), None, Some(100), 50);
        assert_eq!((d.refused_by, d.remaining_tokens), (None, Some(9)));
    }

    #[test]
    fn request_window_and_retry_after() {
        let mut w = Windows::default();
        assert_eq!(w.admit(t(0), Some(2), None, 0).remaining_requests, Some(1));
        assert_eq!(w.admit(t(10), Some(2), None, 0).remaining_requests, Some(0));
        let r = w.admit(t(20), Some(2), None, 0);
        assert_eq!(r.refused_by, Some(LimitKind::Requests));
        assert_eq!(r.retry_after, Duration::from_secs(40));
        assert!(w.admit(t(60), Some(2), None, 0).refused_by.is_none());
    }

    #[test]
    fn oversized_request_is_refused_with_a_full_window() {
        let mut w = Windows::default();
        let r = w.admit(t(0), None, Some(10), 11);
        assert_eq!(r.refused_by, Some(LimitKind::Tokens));
        assert_eq!(r.retry_after, WINDOW);
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_seconds(Duration::from_secs(30)), 30);
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
    }
}
