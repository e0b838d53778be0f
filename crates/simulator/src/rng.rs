//! Randomness as a service: fault injection and ids draw from an injectable, seeded source so
//! a run is reproducible and tests can script exactly which requests fail.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

/// A source of random numbers shared by concurrent requests.
pub trait RandomSource: Send + Sync + 'static {
    /// The next 64 random bits.
    fn next_u64(&self) -> u64;

    /// A number uniformly distributed in `[0, 1)`.
    fn next_f64(&self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function: a strong 64-bit mixer.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A deterministic SplitMix64 generator: the same seed gives the same sequence of draws.
/// Lock-free, so it does not serialise requests.
#[derive(Debug)]
pub struct SeededRng {
    state: AtomicU64,
}

impl SeededRng {
    pub fn new(seed: u64) -> Self {
        SeededRng {
            state: AtomicU64::new(seed),
        }
    }

    /// Starts the sequence again from `seed`.
    pub fn reseed(&self, seed: u64) {
        self.state.store(seed, Ordering::Relaxed);
    }
}

impl RandomSource for SeededRng {
    fn next_u64(&self) -> u64 {
        let s = self
            .state
            .fetch_add(GOLDEN_GAMMA, Ordering::Relaxed)
            .wrapping_add(GOLDEN_GAMMA);
        mix64(s)
    }
}

/// A scripted source for tests: `next_f64` returns the given values in order, then falls back
/// to a seeded sequence.
pub struct ScriptedRng {
    values: Mutex<VecDeque<f64>>,
    fallback: SeededRng,
}

impl ScriptedRng {
    pub fn new(values: impl IntoIterator<Item = f64>) -> Self {
        ScriptedRng {
            values: Mutex::new(values.into_iter().collect()),
            fallback: SeededRng::new(0),
        }
    }

    /// Appends values to the script.
    pub fn push(&self, values: impl IntoIterator<Item = f64>) {
        self.values.lock().extend(values);
    }
}

impl RandomSource for ScriptedRng {
    fn next_u64(&self) -> u64 {
        match self.values.lock().pop_front() {
            Some(v) => ((v.clamp(0.0, 1.0) * (1u64 << 53) as f64) as u64) << 11,
            None => self.fallback.next_u64(),
        }
    }

    fn next_f64(&self) -> f64 {
        match self.values.lock().pop_front() {
            Some(v) => v,
            None => self.fallback.next_f64(),
        }
    }
}

/// The incremental form of [`stable_hash`]; also an `io::Write` so values can be serialised
/// straight into it.
pub struct StableHasher {
    h: u64,
}

impl StableHasher {
    pub fn new(seed: u64) -> Self {
        StableHasher {
            h: 0xcbf2_9ce4_8422_2325 ^ mix64(seed),
        }
    }

    pub fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.h ^= u64::from(*b);
            self.h = self.h.wrapping_mul(0x0000_0100_0000_01B3);
        }
    }

    pub fn finish(&self) -> u64 {
        mix64(self.h)
    }
}

impl std::io::Write for StableHasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        StableHasher::write(self, buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// FNV-1a over bytes, then mixed: a hash that is stable across Rust versions and platforms
/// (std's `DefaultHasher` is not), used for deterministic generation.
pub fn stable_hash(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = StableHasher::new(seed);
    h.write(bytes);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_rng_is_reproducible_and_in_range() {
        let a = SeededRng::new(42);
        let b = SeededRng::new(42);
        for _ in 0..100 {
            let x = a.next_f64();
            assert_eq!(x, b.next_f64());
            assert!((0.0..1.0).contains(&x));
        }
        let c = SeededRng::new(43);
        assert_ne!(SeededRng::new(42).next_u64(), c.next_u64());
    }

    #[test]
    fn scripted_rng_returns_script_then_falls_back() {
        let r = ScriptedRng::new([0.25, 0.75]);
        assert_eq!(r.next_f64(), 0.25);
        assert_eq!(r.next_f64(), 0.75);
        let x = r.next_f64();
        assert!((0.0..1.0).contains(&x));
    }

    #[test]
    fn stable_hash_depends_on_seed_and_bytes() {
        assert_eq!(stable_hash(1, b"abc"), stable_hash(1, b"abc"));
        assert_ne!(stable_hash(1, b"abc"), stable_hash(2, b"abc"));
        assert_ne!(stable_hash(1, b"abc"), stable_hash(1, b"abd"));
    }
}
