//! `azure-openai-token-limit` / `llm-token-limit`: tokens per minute over a sliding 60 s window
//! and token quotas over fixed UTC periods. The check happens before the backend call (with
//! the estimated prompt tokens, if any, counted provisionally); the usage reported by the
//! backend is counted after, replacing the estimate.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};

use super::rate::log_fallback;
use super::{
    EntryId, FixedWindow, FixedWindowStore, MemoryFixedStore, MemoryWindowStore, Millis,
    WindowAdmission, WindowAdmit, WindowStore, now_millis, retry_after_secs,
};
use crate::services::Clock;

const MINUTE_MS: u64 = 60_000;

/// `token-quota-period`: fixed windows starting at the current UTC time truncated to the unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenQuotaPeriod {
    Hourly,
    Daily,
    /// Monday 00:00 UTC (ISO weeks).
    Weekly,
    Monthly,
    Yearly,
}

/// An unknown `token-quota-period` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("token-quota-period must be Hourly, Daily, Weekly, Monthly or Yearly, not '{0}'")]
pub struct UnknownTokenQuotaPeriod(pub String);

impl FromStr for TokenQuotaPeriod {
    type Err = UnknownTokenQuotaPeriod;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Enum attribute values are matched like .NET's Enum.Parse(ignoreCase: true).
        match s.trim().to_ascii_lowercase().as_str() {
            "hourly" => Ok(TokenQuotaPeriod::Hourly),
            "daily" => Ok(TokenQuotaPeriod::Daily),
            "weekly" => Ok(TokenQuotaPeriod::Weekly),
            "monthly" => Ok(TokenQuotaPeriod::Monthly),
            "yearly" => Ok(TokenQuotaPeriod::Yearly),
            _ => Err(UnknownTokenQuotaPeriod(s.to_string())),
        }
    }
}

fn midnight(d: NaiveDate) -> Millis {
    Utc.from_utc_datetime(&d.and_time(chrono::NaiveTime::MIN))
        .timestamp_millis()
}

impl TokenQuotaPeriod {
    /// The period containing `now`.
    pub fn window_at(self, now: DateTime<Utc>) -> FixedWindow {
        let day = now.date_naive();
        let (start, end) = match self {
            TokenQuotaPeriod::Hourly => {
                let h = now.timestamp_millis().div_euclid(3_600_000) * 3_600_000;
                (h, h + 3_600_000)
            }
            TokenQuotaPeriod::Daily => {
                let s = midnight(day);
                (s, s + 86_400_000)
            }
            TokenQuotaPeriod::Weekly => {
                let back = i64::from(day.weekday().num_days_from_monday());
                let s = midnight(day) - back * 86_400_000;
                (s, s + 7 * 86_400_000)
            }
            TokenQuotaPeriod::Monthly => {
                let first = day.with_day(1).unwrap_or(day);
                let next = first
                    .checked_add_months(chrono::Months::new(1))
                    .unwrap_or(NaiveDate::MAX);
                (midnight(first), midnight(next))
            }
            TokenQuotaPeriod::Yearly => {
                let first = NaiveDate::from_ymd_opt(day.year(), 1, 1).unwrap_or(day);
                let next = NaiveDate::from_ymd_opt(day.year() + 1, 1, 1).unwrap_or(NaiveDate::MAX);
                (midnight(first), midnight(next))
            }
        };
        FixedWindow {
            start_ms: start,
            end_ms: Some(end),
        }
    }
}

/// The limits of one token-limit policy: `tokens-per-minute` and/or `token-quota` with its
/// `token-quota-period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenLimits {
    pub tokens_per_minute: Option<u64>,
    pub quota: Option<(u64, TokenQuotaPeriod)>,
}

/// An admitted request, to settle with the actual usage once the response is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenTicket {
    /// Store keys of the per-minute window and the quota (empty when that limit is absent).
    tpm_key: String,
    quota_key: String,
    limits: TokenLimits,
    estimate: u64,
    entry: Option<EntryId>,
    /// The per-minute window was counted on this gateway (shared store unreachable).
    local: bool,
    quota_window: Option<FixedWindow>,
    /// Tokens left in the per-minute window after the check (estimate counted).
    pub remaining_tokens: Option<u64>,
    /// Estimated tokens left in the quota period after the check.
    pub remaining_quota: Option<u64>,
}

impl TokenTicket {
    /// Estimated prompt tokens counted provisionally (tokens-consumed variable in backend).
    pub fn estimate(&self) -> u64 {
        self.estimate
    }
}

/// Outcome of the inbound check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenDecision {
    Allowed(TokenTicket),
    /// 429 "Token limit is exceeded. Try again in N seconds."
    RateExceeded {
        /// `None`: the estimate alone exceeds tokens-per-minute and can never fit.
        retry_after: Option<Duration>,
        retry_after_secs: Option<u64>,
    },
    /// 403 "Token quota is exceeded. Try again in 21 minutes and 33 seconds." — wait until the
    /// period ends (`crate::errors::token_quota_response`).
    QuotaExceeded {
        retry_after: Duration,
    },
}

/// Values for the headers and variables after the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenUsage {
    /// Prompt + completion tokens of this call (tokens-consumed).
    pub consumed: u64,
    /// Tokens left in the per-minute window (remaining-tokens), 0 when over.
    pub remaining_tokens: Option<u64>,
    /// Tokens left in the quota period (remaining-quota-tokens).
    pub remaining_quota: Option<u64>,
}

/// Token counters per counter key (shared by azure-openai-token-limit and llm-token-limit).
#[derive(Debug, Clone)]
pub struct TokenLimiter {
    window: Arc<dyn WindowStore>,
    fixed: Arc<dyn FixedWindowStore>,
    fallback: MemoryWindowStore,
    clock: Arc<dyn Clock>,
}

fn tpm_key(key: &str) -> String {
    format!("tpm:{key}")
}
fn quota_key(key: &str) -> String {
    format!("token-quota:{key}")
}

fn log_fail_open(key: &str, e: &crate::services::StoreError) {
    tracing::debug!(
        counter = "token-quota",
        counter_key = key,
        error = %e,
        "token quota store unreachable; call let through uncounted (fail open)"
    );
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl TokenLimiter {
    pub fn new(
        window: Arc<dyn WindowStore>,
        fixed: Arc<dyn FixedWindowStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        TokenLimiter {
            window,
            fixed,
            fallback: MemoryWindowStore::new(),
            clock,
        }
    }

    pub fn in_memory(clock: Arc<dyn Clock>) -> Self {
        Self::new(
            Arc::new(MemoryWindowStore::new()),
            Arc::new(MemoryFixedStore::new()),
            clock,
        )
    }

    /// Inbound check before the backend call. Without an estimate a request is rejected only
    /// when a counter already reached its limit; with `estimate` (estimate-prompt-tokens or a
    /// streamed request) it must fit, and it is counted provisionally until
    /// [`TokenLimiter::settle`]. The quota is checked first: when both are exhausted the
    /// longer wait (403) is the one reported.
    pub async fn check(
        &self,
        key: &str,
        limits: &TokenLimits,
        estimate: Option<u64>,
    ) -> TokenDecision {
        let now = self.clock.now();
        let now_ms = now.timestamp_millis();
        let est = estimate.unwrap_or(0);
        let need = est.max(1);
        let mut ticket = TokenTicket {
            tpm_key: if limits.tokens_per_minute.is_some() {
                tpm_key(key)
            } else {
                String::new()
            },
            quota_key: if limits.quota.is_some() {
                quota_key(key)
            } else {
                String::new()
            },
            limits: *limits,
            estimate: est,
            entry: None,
            local: false,
            quota_window: None,
            remaining_tokens: None,
            remaining_quota: None,
        };
        let qkey = &ticket.quota_key;
        if let Some((quota, period)) = limits.quota {
            let w = period.window_at(now);
            match self.fixed.admit(qkey, w, need, est, quota).await {
                Ok(a) if a.admitted => {
                    ticket.quota_window = Some(w);
                    ticket.remaining_quota = Some(quota.saturating_sub(a.used));
                }
                Ok(_) => {
                    let end = w.end_ms.unwrap_or(now_ms);
                    return TokenDecision::QuotaExceeded {
                        retry_after: Duration::from_millis(
                            u64::try_from(end - now_ms).unwrap_or(0),
                        ),
                    };
                }
                Err(e) => log_fail_open(qkey, &e),
            }
        }
        if let Some(tpm) = limits.tokens_per_minute {
            let tkey = &ticket.tpm_key;
            let req = WindowAdmit {
                window_ms: MINUTE_MS,
                limit: tpm,
                need,
                add: est,
                now_ms,
            };
            let admission = match self.window.admit(tkey, req).await {
                Ok(a) => a,
                Err(e) => {
                    log_fallback("token-limit", tkey, &e);
                    ticket.local = true;
                    self.fallback.admit_now(tkey, req)
                }
            };
            match admission {
                WindowAdmission::Admitted { used, entry } => {
                    ticket.entry = entry;
                    ticket.remaining_tokens = Some(tpm.saturating_sub(used));
                }
                WindowAdmission::Rejected { retry_after_ms, .. } => {
                    if let Some(w) = ticket.quota_window
                        && est > 0
                        && let Err(e) = self.fixed.add(qkey, w, -signed(est)).await
                    {
                        log_fail_open(qkey, &e);
                    }
                    return TokenDecision::RateExceeded {
                        retry_after: retry_after_ms.map(Duration::from_millis),
                        retry_after_secs: retry_after_ms.map(retry_after_secs),
                    };
                }
            }
        }
        TokenDecision::Allowed(ticket)
    }

    /// After the response: counts the actual prompt + completion tokens (replacing the
    /// provisional estimate) and returns the consumed and remaining values.
    pub async fn settle(&self, ticket: &TokenTicket, actual: u64) -> TokenUsage {
        let now = self.clock.now();
        let now_ms = now.timestamp_millis();
        let mut usage = TokenUsage {
            consumed: actual,
            remaining_tokens: None,
            remaining_quota: None,
        };
        if let Some((quota, period)) = ticket.limits.quota {
            let qkey = &ticket.quota_key;
            let w = period.window_at(now);
            // The estimate was counted in the check's period; a new period counts all of it.
            let delta = if ticket.quota_window == Some(w) {
                signed(actual) - signed(ticket.estimate)
            } else {
                signed(actual)
            };
            match self.fixed.add(qkey, w, delta).await {
                Ok(used) => usage.remaining_quota = Some(quota.saturating_sub(used)),
                Err(e) => log_fail_open(qkey, &e),
            }
        }
        if let Some(tpm) = ticket.limits.tokens_per_minute {
            let tkey = &ticket.tpm_key;
            let used = if ticket.local {
                self.fallback
                    .record_now(tkey, MINUTE_MS, now_ms, actual, ticket.entry.as_ref())
            } else {
                match self
                    .window
                    .record(tkey, MINUTE_MS, now_ms, actual, ticket.entry.as_ref())
                    .await
                {
                    Ok(u) => u,
                    Err(e) => {
                        log_fallback("token-limit", tkey, &e);
                        self.fallback
                            .record_now(tkey, MINUTE_MS, now_ms, actual, None)
                    }
                }
            };
            usage.remaining_tokens = Some(tpm.saturating_sub(used));
        }
        usage
    }

    /// Tokens counted in the current minute window for `key` (diagnostics, tests).
    pub async fn tokens_in_window(&self, key: &str) -> u64 {
        let tkey = tpm_key(key);
        let now = now_millis(self.clock.as_ref());
        match self.window.used(&tkey, MINUTE_MS, now).await {
            Ok(u) => u,
            Err(_) => self.fallback.used_now(&tkey, MINUTE_MS, now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn window(p: TokenQuotaPeriod, now: &str) -> (DateTime<Utc>, DateTime<Utc>) {
        let w = p.window_at(at(now));
        (
            DateTime::from_timestamp_millis(w.start_ms).unwrap(),
            DateTime::from_timestamp_millis(w.end_ms.unwrap()).unwrap(),
        )
    }

    #[test]
    fn quota_periods_truncate_in_utc() {
        use TokenQuotaPeriod::*;
        let now = "2024-02-29T13:45:10.5Z"; // a Thursday in a leap year
        assert_eq!(
            window(Hourly, now),
            (at("2024-02-29T13:00:00Z"), at("2024-02-29T14:00:00Z"))
        );
        assert_eq!(
            window(Daily, now),
            (at("2024-02-29T00:00:00Z"), at("2024-03-01T00:00:00Z"))
        );
        assert_eq!(
            window(Weekly, now),
            (at("2024-02-26T00:00:00Z"), at("2024-03-04T00:00:00Z"))
        );
        assert_eq!(
            window(Weekly, "2024-03-03T23:59:59Z"),
            (at("2024-02-26T00:00:00Z"), at("2024-03-04T00:00:00Z"))
        );
        assert_eq!(
            window(Monthly, now),
            (at("2024-02-01T00:00:00Z"), at("2024-03-01T00:00:00Z"))
        );
        assert_eq!(
            window(Yearly, now),
            (at("2024-01-01T00:00:00Z"), at("2025-01-01T00:00:00Z"))
        );
        assert_eq!("weekly".parse::<TokenQuotaPeriod>(), Ok(Weekly));
        assert!("Fortnightly".parse::<TokenQuotaPeriod>().is_err());
    }
}
