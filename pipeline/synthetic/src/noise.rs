//! Deterministic hashing and value noise for procedural textures.

/// A 64-bit hash of integers (SplitMix64 finaliser), the root of every
/// random choice, so a seed gives the same site on every machine.
pub fn hash(values: &[i64]) -> u64 {
    let mut h = 0x9E37_79B9_7F4A_7C15u64;
    for &v in values {
        h ^= v as u64;
        h = h.wrapping_add(0x9E37_79B9_7F4A_7C15);
        h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        h ^= h >> 31;
    }
    h
}

/// A hash mapped to [0, 1).
pub fn hash01(values: &[i64]) -> f64 {
    (hash(values) >> 11) as f64 / (1u64 << 53) as f64
}

fn smooth(t: f64) -> f64 {
    t * t * (3.0 - 2.0 * t)
}

/// 2D value noise in [0, 1), smooth, with lattice spacing 1.
pub fn value2(x: f64, y: f64, seed: i64) -> f64 {
    let (x0, y0) = (x.floor(), y.floor());
    let (tx, ty) = (smooth(x - x0), smooth(y - y0));
    let (ix, iy) = (x0 as i64, y0 as i64);
    let v = |dx: i64, dy: i64| hash01(&[ix + dx, iy + dy, seed]);
    let top = v(0, 0) + (v(1, 0) - v(0, 0)) * tx;
    let bottom = v(0, 1) + (v(1, 1) - v(0, 1)) * tx;
    top + (bottom - top) * ty
}

/// Fractal value noise: `octaves` layers, each twice as fine and half as
/// strong; result in about [0, 1).
pub fn fbm2(x: f64, y: f64, octaves: u32, seed: i64) -> f64 {
    let (mut sum, mut amp, mut norm, mut f) = (0.0, 1.0, 0.0, 1.0);
    for o in 0..octaves {
        sum += amp * value2(x * f, y * f, seed + i64::from(o) * 7919);
        norm += amp;
        amp *= 0.5;
        f *= 2.0;
    }
    sum / norm
}

/// A small random generator for camera paths and noise (xorshift*).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded from `values`.
    pub fn new(values: &[i64]) -> Rng {
        Rng(hash(values) | 1)
    }

    /// The next value in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A value in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }

    /// A standard normal value (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.next_f64().max(1e-12);
        let v = self.next_f64();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_deterministic_smooth_and_in_range() {
        assert_eq!(value2(1.3, 2.7, 5), value2(1.3, 2.7, 5));
        assert_ne!(value2(1.3, 2.7, 5), value2(1.3, 2.7, 6));
        for i in 0..1000 {
            let x = f64::from(i) * 0.137;
            let v = fbm2(x, x * 0.7, 4, 1);
            assert!((0.0..1.0).contains(&v));
            let step = (value2(x + 1e-4, 0.3, 1) - value2(x, 0.3, 1)).abs();
            assert!(step < 1e-3, "smooth");
        }
        let mut rng = Rng::new(&[1]);
        let mean: f64 = (0..10_000).map(|_| rng.normal()).sum::<f64>() / 10_000.0;
        assert!(mean.abs() < 0.05);
    }
}
