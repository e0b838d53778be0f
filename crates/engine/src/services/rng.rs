//! Randomness as a service: seedable and deterministic per seed (xoshiro256**), shared by
//! weighted pool selection, retry jitter, and expressions' unseeded `new Random()` /
//! `Guid.NewGuid()`.

use std::sync::Arc;

use parking_lot::Mutex;

#[derive(Debug, Clone, Copy)]
struct Xoshiro([u64; 4]);

fn splitmix(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Xoshiro {
    fn seeded(seed: u64) -> Self {
        let mut s = seed;
        Xoshiro([
            splitmix(&mut s),
            splitmix(&mut s),
            splitmix(&mut s),
            splitmix(&mut s),
        ])
    }
    fn next(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }
}

/// Shared random source. A seeded source is one sequence that clones share (deterministic
/// tests); the live gateway's draws from a generator of each thread, seeded from entropy (no
/// lock taken per request id).
#[derive(Debug, Clone)]
pub struct Rng {
    /// `None`: the calling thread's own generator.
    state: Option<Arc<Mutex<Xoshiro>>>,
}

/// A seed from the OS's per-process hash keys, the time and the thread.
fn entropy_seed() -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    std::thread::current().id().hash(&mut h);
    h.finish()
}

thread_local! {
    static THREAD_RNG: std::cell::Cell<Xoshiro> = std::cell::Cell::new(Xoshiro::seeded(entropy_seed()));
}

impl Rng {
    /// Deterministic sequence for a seed.
    pub fn seeded(seed: u64) -> Self {
        Rng {
            state: Some(Arc::new(Mutex::new(Xoshiro::seeded(seed)))),
        }
    }

    /// Seeded from entropy, per thread (for the live gateway).
    pub fn from_entropy() -> Self {
        Rng { state: None }
    }

    pub fn next_u64(&self) -> u64 {
        match &self.state {
            Some(shared) => shared.lock().next(),
            None => THREAD_RNG.with(|r| {
                let mut x = r.get();
                let v = x.next();
                r.set(x);
                v
            }),
        }
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [0, n) without modulo bias; 0 when n is 0.
    pub fn below(&self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let v = self.next_u64();
            if v < zone {
                return v % n;
            }
        }
    }

    /// Uniform in [lo, hi).
    pub fn range_f64(&self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }

    /// A seed for .NET's `new Random()` without arguments (non-negative Int32).
    pub fn dotnet_seed(&self) -> i32 {
        (self.next_u64() >> 33) as i32
    }

    /// Bytes of a version-4 GUID (`Guid.NewGuid()`), in RFC 4122 byte order.
    pub fn guid_v4(&self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.next_u64().to_be_bytes());
        b[8..].copy_from_slice(&self.next_u64().to_be_bytes());
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        b
    }

    /// A GUID formatted as .NET's `Guid.ToString()` ("D" format, lowercase).
    pub fn guid_string(&self) -> String {
        format_guid(&self.guid_v4())
    }
}

/// "D" format of RFC-order GUID bytes.
pub fn format_guid(b: &[u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(HEX[(x >> 4) as usize] as char);
        out.push(HEX[(x & 15) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_clones_share_it() {
        let a = Rng::seeded(42);
        let b = Rng::seeded(42);
        let xs: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        let c = Rng::seeded(43);
        assert_ne!(xs[0], c.next_u64());
        // A clone continues the same sequence instead of restarting it.
        let shared = a.clone();
        assert_eq!(shared.next_u64(), b.next_u64());
        assert_eq!(a.next_u64(), b.next_u64());
    }

    #[test]
    fn ranges_and_guids() {
        let r = Rng::seeded(7);
        for _ in 0..1000 {
            let f = r.next_f64();
            assert!((0.0..1.0).contains(&f));
            assert!(r.below(3) < 3);
            let x = r.range_f64(8.0, 12.0);
            assert!((8.0..12.0).contains(&x));
            assert!(r.dotnet_seed() >= 0);
        }
        let g = r.guid_string();
        assert_eq!(g.len(), 36);
        assert_eq!(&g[14..15], "4");
        assert!(matches!(&g[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(r.below(0), 0);
        assert_eq!(
            format_guid(&[
                0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0x4d, 0xef, 0x80, 1, 2, 3, 4, 5, 6, 0xff
            ]),
            "12345678-9abc-4def-8001-0203040506ff"
        );
    }

    #[test]
    fn entropy_sources_differ_between_threads() {
        let r = Rng::from_entropy();
        let here: Vec<u64> = (0..4).map(|_| r.next_u64()).collect();
        let r2 = r.clone();
        let there = std::thread::spawn(move || (0..4).map(|_| r2.next_u64()).collect::<Vec<_>>())
            .join()
            .unwrap();
        assert_ne!(here, there);
        assert_ne!(here[0], here[1]);
    }

    #[test]
    fn below_is_roughly_uniform() {
        let r = Rng::seeded(1);
        let mut counts = [0u32; 4];
        for _ in 0..40_000 {
            counts[r.below(4) as usize] += 1;
        }
        for c in counts {
            assert!((9_500..10_500).contains(&c), "{counts:?}");
        }
    }
}
