//! Loops compiled for the widest vectors the processor has. The same
//! operations run in the same order at any width (Rust does not fuse or
//! reorder floating-point operations), so they give the same values.
//! `HERITAGE_SIMD` can cap the width ([`crate::simd`]).

#[cfg(target_arch = "x86_64")]
use crate::simd::{Level, allows};

/// Runs `body` compiled with AVX-512 or AVX2 where the processor has
/// them (and [`allows`] them), else as built. Mark the closure `#[inline(always)]`: only its
/// code inlined into each version is compiled for that version's vectors.
#[inline(always)]
pub fn widest<R>(body: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if allows(Level::Avx512) && is_x86_feature_detected!("avx512f") {
            // SAFETY: the processor has AVX-512 F.
            return unsafe { avx512(body) };
        }
        if allows(Level::Avx2) && is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2.
            return unsafe { avx2(body) };
        }
    }
    body()
}

/// `body` compiled for AVX-512 (16 `f32` at a time).
///
/// # Safety
/// Needs AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn avx512<R>(body: impl FnOnce() -> R) -> R {
    body()
}

/// `body` compiled for AVX2 (8 `f32` at a time).
///
/// # Safety
/// Needs AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn avx2<R>(body: impl FnOnce() -> R) -> R {
    body()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A loop of divisions and square roots over `source` into `out`.
    #[inline(always)]
    fn transform(source: &[f32], out: &mut [f32]) {
        for (o, &s) in out.iter_mut().zip(source) {
            *o = (s * 0.37 + 0.1).sqrt() / (s + 0.5) - s * s;
        }
    }

    #[test]
    fn the_widest_version_gives_the_values_of_the_plain_one() {
        let source: Vec<f32> = (0..1001).map(|i| (i * 7919 % 1000) as f32 / 997.0).collect();
        let (mut wide, mut plain) = (vec![0.0; source.len()], vec![0.0; source.len()]);
        widest(
            #[inline(always)]
            || transform(&source, &mut wide),
        );
        transform(&source, &mut plain);
        assert_eq!(wide, plain);
    }
}
