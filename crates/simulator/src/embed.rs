//! Deterministic embeddings in which similar texts lie close: a text's vector is the sum of
//! hashed features (words, word pairs, character trigrams), each adding ±weight to one
//! dimension, then L2-normalised. Texts sharing most words and spellings share most features,
//! so a reworded prompt is near and an unrelated one is nearly orthogonal.

use crate::rng::{mix64, stable_hash};

/// The embedding of `text` with `dimensions` components, unit length.
pub fn embed(text: &str, dimensions: usize, model_seed: u64) -> Vec<f32> {
    let mut v = vec![0f32; dimensions.max(1)];
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let mut add = |feature: &[u8], kind: u64, weight: f32| {
        let h = stable_hash(model_seed ^ kind, feature);
        let index = (h % v.len() as u64) as usize;
        let sign = if (h >> 63) == 0 { 1.0 } else { -1.0 };
        v[index] += sign * weight;
    };
    for w in &words {
        add(w.as_bytes(), 1, 1.0);
        let padded: Vec<char> = std::iter::once('^')
            .chain(w.chars())
            .chain(std::iter::once('$'))
            .collect();
        let mut buf = String::new();
        for tri in padded.windows(3) {
            buf.clear();
            buf.extend(tri);
            add(buf.as_bytes(), 2, 0.4);
        }
    }
    for pair in words.windows(2) {
        let key = format!("{} {}", pair[0], pair[1]);
        add(key.as_bytes(), 3, 0.5);
    }
    let norm = v
        .iter()
        .map(|x| f64::from(*x) * f64::from(*x))
        .sum::<f64>()
        .sqrt();
    if norm == 0.0 {
        // No words (empty or punctuation only): a fixed direction for the text itself.
        let h = mix64(stable_hash(model_seed, text.as_bytes()));
        let len = v.len();
        v[(h % len as u64) as usize] = 1.0;
        return v;
    }
    let inv = (1.0 / norm) as f32;
    for x in &mut v {
        *x *= inv;
    }
    v
}

/// Cosine similarity of two vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// Little-endian f32 bytes in base64, as `encoding_format: "base64"` returns them.
pub fn to_base64(v: &[f32]) -> String {
    use base64::Engine as _;
    let mut bytes = Vec::with_capacity(v.len() * 4);
    for x in v {
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_length_deterministic_and_sized() {
        let a = embed("How do I reset my password?", 1536, 9);
        assert_eq!(a.len(), 1536);
        assert_eq!(a, embed("How do I reset my password?", 1536, 9));
        let n: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum();
        assert!((n - 1.0).abs() < 1e-5);
        let e = embed("", 256, 9);
        assert!((cosine(&e, &e) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn reworded_is_near_and_unrelated_is_far() {
        let a = embed("How do I reset my password?", 1536, 1);
        let b = embed("how can I reset my password", 1536, 1);
        let c = embed("The weather in Paris is sunny today", 1536, 1);
        let near = cosine(&a, &b);
        let far = cosine(&a, &c);
        assert!(near > 0.75, "near {near}");
        assert!(far < 0.2, "far {far}");
    }
}
