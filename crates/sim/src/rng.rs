//! Deterministic randomness without a crate: SplitMix64 hashing of (seed, keys) gives the
//! same uniform number for the same inputs, so every value is a pure function of the seed,
//! the device and the time — a history request re-sends exactly what a live upload sent.

/// SplitMix64 finaliser: a good 64-bit mix of one word.
#[inline]
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hash of a few words.
#[inline]
pub fn hash(words: &[u64]) -> u64 {
    let mut h = 0x243F_6A88_85A3_08D3u64;
    for w in words {
        h = mix(h ^ w);
    }
    h
}

/// Uniform in [0, 1) from a few words.
#[inline]
pub fn unit(words: &[u64]) -> f64 {
    (hash(words) >> 11) as f64 / (1u64 << 53) as f64
}

/// Uniform in [-1, 1).
#[inline]
pub fn signed(words: &[u64]) -> f64 {
    unit(words) * 2.0 - 1.0
}

/// Approximately standard normal (sum of four uniforms, scaled), bounded to ±3.5.
#[inline]
pub fn normal(words: &[u64]) -> f64 {
    let h = hash(words);
    let mut s = 0.0;
    for i in 0..4 {
        s += ((h >> (16 * i)) & 0xFFFF) as f64 / 65536.0;
    }
    (s - 2.0) * (3.0f64).sqrt()
}

/// Smooth noise in [-1, 1]: uniform knots every `scale` seconds, interpolated with a
/// smoothstep, so episodes (a polluted week, a rainy spell) last about `scale`.
pub fn smooth(key: u64, t: i64, scale: i64) -> f64 {
    let k = t.div_euclid(scale);
    let f = t.rem_euclid(scale) as f64 / scale as f64;
    let a = signed(&[key, k as u64]);
    let b = signed(&[key, (k + 1) as u64]);
    let s = f * f * (3.0 - 2.0 * f);
    a + (b - a) * s
}

/// FNV-1a 64 of bytes (stable across platforms and releases: used for MN and PW).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    h
}

/// A small sequential PRNG (SplitMix64) for the few places that want a stream.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_spread() {
        assert_eq!(unit(&[1, 2, 3]), unit(&[1, 2, 3]));
        assert_ne!(unit(&[1, 2, 3]), unit(&[1, 2, 4]));
        let n = 20_000;
        let mean: f64 = (0..n).map(|i| unit(&[7, i])).sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
        let nm: f64 = (0..n).map(|i| normal(&[7, i])).sum::<f64>() / n as f64;
        assert!(nm.abs() < 0.05, "{nm}");
        for t in (0..100_000).step_by(977) {
            let s = smooth(3, t, 3600);
            assert!((-1.0..=1.0).contains(&s));
        }
    }
}
