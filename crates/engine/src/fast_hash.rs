//! FNV-1a hashing for the engine's maps keyed by configuration (backend ids, plan keys):
//! short keys a user of the gateway cannot choose, looked up on every request, where SipHash's
//! flooding resistance costs more than the lookup itself. Maps keyed by request data (cache
//! keys, counter keys) keep the standard hasher.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

#[derive(Clone, Copy)]
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A `HashMap` with FNV-1a hashing.
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_1a_matches_its_reference_values_and_maps_work() {
        let mut h = Fnv::default();
        h.write(b"a");
        assert_eq!(h.finish(), 0xaf63_dc4c_8601_ec8c);
        let mut m: FastMap<String, u32> = FastMap::default();
        m.insert("aoai-eastus".into(), 1);
        m.insert("aoai-westus".into(), 2);
        assert_eq!(m.get("aoai-westus"), Some(&2));
        assert_eq!(m.get("other"), None);
    }
}
