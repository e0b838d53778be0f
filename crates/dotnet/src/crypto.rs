//! Hashes and HMACs (`SHA1/256/384/512.ComputeHash`, `MD5`, `HMACSHA*`, `HMACMD5`).

use hmac::{Hmac, Mac};
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

/// A hash algorithm by its .NET class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    Md5,
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlgorithm {
    /// `HashAlgorithmName` / class names ("SHA256", "HMACSHA256" → Sha256 with `is_hmac`).
    pub fn from_name(name: &str) -> Option<(HashAlgorithm, bool)> {
        let upper = name.to_ascii_uppercase();
        let (hmac, rest) = match upper.strip_prefix("HMAC") {
            Some(r) => (true, r.to_string()),
            None => (false, upper),
        };
        let alg = match rest
            .trim_end_matches("MANAGED")
            .trim_end_matches("CRYPTOSERVICEPROVIDER")
        {
            "MD5" => HashAlgorithm::Md5,
            "SHA1" => HashAlgorithm::Sha1,
            "SHA256" => HashAlgorithm::Sha256,
            "SHA384" => HashAlgorithm::Sha384,
            "SHA512" => HashAlgorithm::Sha512,
            _ => return None,
        };
        Some((alg, hmac))
    }

    /// `HashSize` in bits.
    pub fn hash_size(self) -> i32 {
        match self {
            HashAlgorithm::Md5 => 128,
            HashAlgorithm::Sha1 => 160,
            HashAlgorithm::Sha256 => 256,
            HashAlgorithm::Sha384 => 384,
            HashAlgorithm::Sha512 => 512,
        }
    }

    /// `ComputeHash(data)`.
    pub fn compute_hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            HashAlgorithm::Md5 => Md5::digest(data).to_vec(),
            HashAlgorithm::Sha1 => Sha1::digest(data).to_vec(),
            HashAlgorithm::Sha256 => Sha256::digest(data).to_vec(),
            HashAlgorithm::Sha384 => Sha384::digest(data).to_vec(),
            HashAlgorithm::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// `new HMACxxx(key).ComputeHash(data)` (any key length, as .NET).
    pub fn compute_hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        macro_rules! mac {
            ($t:ty) => {{
                match <Hmac<$t> as Mac>::new_from_slice(key) {
                    Ok(mut m) => {
                        m.update(data);
                        m.finalize().into_bytes().to_vec()
                    }
                    // HMAC accepts keys of any length; this arm cannot be reached.
                    Err(_) => Vec::new(),
                }
            }};
        }
        match self {
            HashAlgorithm::Md5 => mac!(Md5),
            HashAlgorithm::Sha1 => mac!(Sha1),
            HashAlgorithm::Sha256 => mac!(Sha256),
            HashAlgorithm::Sha384 => mac!(Sha384),
            HashAlgorithm::Sha512 => mac!(Sha512),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::bit_converter_to_string;

    fn hex(b: &[u8]) -> String {
        bit_converter_to_string(b).replace('-', "").to_lowercase()
    }

    #[test]
    fn known_digests() {
        assert_eq!(
            hex(&HashAlgorithm::Md5.compute_hash(b"abc")),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            hex(&HashAlgorithm::Sha1.compute_hash(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex(&HashAlgorithm::Sha256.compute_hash(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(HashAlgorithm::Sha384.compute_hash(b"").len(), 48);
        assert_eq!(HashAlgorithm::Sha512.compute_hash(b"").len(), 64);
        // RFC 4231 test case 2.
        assert_eq!(
            hex(&HashAlgorithm::Sha256.compute_hmac(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            HashAlgorithm::from_name("HMACSHA256"),
            Some((HashAlgorithm::Sha256, true))
        );
        assert_eq!(
            HashAlgorithm::from_name("SHA1Managed"),
            Some((HashAlgorithm::Sha1, false))
        );
    }
}
