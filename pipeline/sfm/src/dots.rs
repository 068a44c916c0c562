//! Exact dot products of two descriptor sets, a tile at a time: the byte
//! descriptors are widened to 16-bit integers and multiplied with 32-bit
//! sums (exact: 128 x 255 x 255 fits easily), by AVX-512 VNNI, AVX2 or
//! portable code, whichever the processor has. Integer products do twice
//! the work per instruction of `f32` ones and need no rounding.

use crate::sift::DESCRIPTOR_LEN;

/// Rows (descriptors of the first set) of a tile.
pub const TILE_ROWS: usize = 8;
/// Columns (descriptors of the second set) of a tile.
pub const TILE_COLUMNS: usize = 32;
/// Dot products of `TILE_ROWS` descriptors with `TILE_COLUMNS` others.
pub type Tile = [[i32; TILE_COLUMNS]; TILE_ROWS];

/// Pairs of descriptor components (one 32-bit word each).
const PAIRS: usize = DESCRIPTOR_LEN / 2;
/// 16-bit values in a panel: every pair of `TILE_COLUMNS` descriptors.
const PANEL_LEN: usize = PAIRS * TILE_COLUMNS * 2;
/// Columns multiplied against every row before moving on (their panels,
/// 128 KiB, stay in the core's cache).
const COLUMN_BLOCK: usize = 16 * TILE_COLUMNS;

/// A descriptor set laid out for the products: rows as they are (padded
/// with zero rows to whole tiles) and columns packed into panels, pair
/// `k` of the panel's 32 descriptors side by side.
#[derive(Debug, Clone, Default)]
pub struct DescriptorSet {
    len: usize,
    rows: Vec<i16>,
    panels: Vec<i16>,
}

impl DescriptorSet {
    /// The set of `DESCRIPTOR_LEN`-byte descriptors `bytes`.
    pub fn new(bytes: &[u8]) -> DescriptorSet {
        let len = bytes.len() / DESCRIPTOR_LEN;
        let mut rows = vec![0i16; len.next_multiple_of(TILE_ROWS) * DESCRIPTOR_LEN];
        rows.iter_mut().zip(bytes).for_each(|(r, &b)| *r = i16::from(b));
        let mut panels = vec![0i16; len.div_ceil(TILE_COLUMNS) * PANEL_LEN];
        for (j, descriptor) in bytes.chunks_exact(DESCRIPTOR_LEN).enumerate() {
            let panel = &mut panels[j / TILE_COLUMNS * PANEL_LEN..][..PANEL_LEN];
            for (k, pair) in descriptor.chunks_exact(2).enumerate() {
                let at = (k * TILE_COLUMNS + j % TILE_COLUMNS) * 2;
                panel[at] = i16::from(pair[0]);
                panel[at + 1] = i16::from(pair[1]);
            }
        }
        DescriptorSet { len, rows, panels }
    }

    /// Number of descriptors.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Descriptor `i` widened to 16 bits.
    pub fn row(&self, i: usize) -> &[i16] {
        &self.rows[i * DESCRIPTOR_LEN..(i + 1) * DESCRIPTOR_LEN]
    }

    /// Every product of a descriptor of `self` with one of `other`, as
    /// tiles passed to `visit(first row, first column, tile)`. Rows and
    /// columns beyond the sets' ends are zero.
    pub fn for_each_tile(&self, other: &DescriptorSet, mut visit: impl FnMut(usize, usize, &Tile)) {
        let kernel = Kernel::detect();
        let mut tile = [[0i32; TILE_COLUMNS]; TILE_ROWS];
        let row_tiles = self.rows.len() / (TILE_ROWS * DESCRIPTOR_LEN);
        for block in (0..other.panels.len() / PANEL_LEN).step_by(COLUMN_BLOCK / TILE_COLUMNS) {
            let panels = other.panels.chunks_exact(PANEL_LEN).enumerate().skip(block);
            let panels: Vec<(usize, &[i16])> = panels.take(COLUMN_BLOCK / TILE_COLUMNS).collect();
            for r in 0..row_tiles {
                let rows = &self.rows[r * TILE_ROWS * DESCRIPTOR_LEN..][..TILE_ROWS * DESCRIPTOR_LEN];
                for &(p, panel) in &panels {
                    kernel.run(rows, panel, &mut tile);
                    visit(r * TILE_ROWS, p * TILE_COLUMNS, &tile);
                }
            }
        }
    }
}

/// Exact dot product of two widened descriptors (for the few products
/// guided matching needs).
#[cfg(target_arch = "x86_64")]
pub fn dot(x: &[i16], y: &[i16]) -> i32 {
    use std::arch::x86_64::*;
    assert!(x.len() == DESCRIPTOR_LEN && y.len() == DESCRIPTOR_LEN);
    let (x, y) = (x.as_ptr() as *const __m128i, y.as_ptr() as *const __m128i);
    // SAFETY: SSE2 is part of x86-64; both descriptors hold 16 vectors of
    // 8 values (asserted above).
    unsafe {
        let mut sum = _mm_setzero_si128();
        for k in 0..DESCRIPTOR_LEN / 8 {
            sum = _mm_add_epi32(sum, _mm_madd_epi16(_mm_loadu_si128(x.add(k)), _mm_loadu_si128(y.add(k))));
        }
        let sum = _mm_add_epi32(sum, _mm_shuffle_epi32::<0b01_00_11_10>(sum));
        let sum = _mm_add_epi32(sum, _mm_shuffle_epi32::<0b10_11_00_01>(sum));
        _mm_cvtsi128_si32(sum)
    }
}

/// Exact dot product of two widened descriptors (for the few products
/// guided matching needs).
#[cfg(not(target_arch = "x86_64"))]
pub fn dot(x: &[i16], y: &[i16]) -> i32 {
    x.iter().zip(y).map(|(&a, &b)| i32::from(a) * i32::from(b)).sum()
}

/// The tile product this processor runs fastest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kernel {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    Portable,
}

impl Kernel {
    /// The best kernel the processor supports.
    fn detect() -> Kernel {
        Kernel::available().into_iter().next().unwrap_or(Kernel::Portable)
    }

    /// Every kernel the processor supports, fastest first.
    fn available() -> Vec<Kernel> {
        let mut kernels = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512vnni")
            {
                kernels.push(Kernel::Avx512);
            }
            if is_x86_feature_detected!("avx2") {
                kernels.push(Kernel::Avx2);
            }
        }
        kernels.push(Kernel::Portable);
        kernels
    }

    /// Products of the tile's `rows` (row-major) with the `panel`'s columns.
    #[inline]
    fn run(self, rows: &[i16], panel: &[i16], tile: &mut Tile) {
        assert!(rows.len() == TILE_ROWS * DESCRIPTOR_LEN && panel.len() == PANEL_LEN);
        match self {
            // SAFETY: `available` checked the features; the sizes were
            // asserted above.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => unsafe { x86::tile_avx512(rows, panel, tile) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => unsafe { x86::tile_avx2(rows, panel, tile) },
            Kernel::Portable => tile_portable(rows, panel, tile),
        }
    }
}

/// The tile product in plain Rust.
fn tile_portable(rows: &[i16], panel: &[i16], tile: &mut Tile) {
    for (r, out) in tile.iter_mut().enumerate() {
        let row = &rows[r * DESCRIPTOR_LEN..][..DESCRIPTOR_LEN];
        *out = [0; TILE_COLUMNS];
        for (k, pairs) in panel.chunks_exact(2 * TILE_COLUMNS).enumerate() {
            let (a0, a1) = (i32::from(row[2 * k]), i32::from(row[2 * k + 1]));
            for (o, b) in out.iter_mut().zip(pairs.chunks_exact(2)) {
                *o += a0 * i32::from(b[0]) + a1 * i32::from(b[1]);
            }
        }
    }
}

/// The SIMD tile products. Each broadcasts one pair of a row's components
/// to every lane and multiplies it with the same pair of 16 (or 8)
/// columns, adding both products into the lane's 32-bit sum.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{DESCRIPTOR_LEN, PAIRS, TILE_COLUMNS, TILE_ROWS, Tile};

    /// The pair `k` of row `r` as one 32-bit word.
    #[inline(always)]
    unsafe fn pair(rows: &[i16], r: usize, k: usize) -> i32 {
        // SAFETY: the caller keeps `r < TILE_ROWS` and `k < PAIRS`.
        unsafe { (rows.as_ptr().add(r * DESCRIPTOR_LEN + 2 * k) as *const i32).read_unaligned() }
    }

    /// 8 x 32 products with VNNI: 16 accumulators of 16 lanes.
    ///
    /// # Safety
    /// Needs AVX-512 F, BW and VNNI; `rows` holds 8 x 128 and `panel`
    /// 64 x 64 values.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub unsafe fn tile_avx512(rows: &[i16], panel: &[i16], tile: &mut Tile) {
        let mut sums = [[_mm512_setzero_si512(); 2]; TILE_ROWS];
        let columns = panel.as_ptr() as *const __m512i;
        for k in 0..PAIRS {
            // SAFETY: the panel holds PAIRS x 2 vectors of 512 bits.
            let (b0, b1) =
                unsafe { (_mm512_loadu_si512(columns.add(2 * k)), _mm512_loadu_si512(columns.add(2 * k + 1))) };
            for (r, sum) in sums.iter_mut().enumerate() {
                // SAFETY: r < TILE_ROWS, k < PAIRS.
                let a = _mm512_set1_epi32(unsafe { pair(rows, r, k) });
                sum[0] = _mm512_dpwssd_epi32(sum[0], a, b0);
                sum[1] = _mm512_dpwssd_epi32(sum[1], a, b1);
            }
        }
        for (out, sum) in tile.iter_mut().zip(sums) {
            // SAFETY: each output row holds 32 lanes of 32 bits.
            unsafe {
                _mm512_storeu_si512(out.as_mut_ptr() as *mut __m512i, sum[0]);
                _mm512_storeu_si512(out.as_mut_ptr().add(16) as *mut __m512i, sum[1]);
            }
        }
    }

    /// 8 x 32 products with AVX2, four rows and 16 columns at a time (8
    /// accumulators of 8 lanes).
    ///
    /// # Safety
    /// Needs AVX2; `rows` holds 8 x 128 and `panel` 64 x 64 values.
    #[target_feature(enable = "avx2")]
    pub unsafe fn tile_avx2(rows: &[i16], panel: &[i16], tile: &mut Tile) {
        let columns = panel.as_ptr() as *const __m256i;
        for first_row in (0..TILE_ROWS).step_by(4) {
            for half in 0..2 {
                let mut sums = [[_mm256_setzero_si256(); 2]; 4];
                for k in 0..PAIRS {
                    let at = 4 * k + 2 * half;
                    // SAFETY: the panel holds PAIRS x 4 vectors of 256 bits.
                    let (b0, b1) =
                        unsafe { (_mm256_loadu_si256(columns.add(at)), _mm256_loadu_si256(columns.add(at + 1))) };
                    for (r, sum) in sums.iter_mut().enumerate() {
                        // SAFETY: first_row + r < TILE_ROWS, k < PAIRS.
                        let a = _mm256_set1_epi32(unsafe { pair(rows, first_row + r, k) });
                        sum[0] = _mm256_add_epi32(sum[0], _mm256_madd_epi16(a, b0));
                        sum[1] = _mm256_add_epi32(sum[1], _mm256_madd_epi16(a, b1));
                    }
                }
                for (r, sum) in sums.iter().enumerate() {
                    let out = &mut tile[first_row + r][half * TILE_COLUMNS / 2..];
                    // SAFETY: 16 lanes of 32 bits from `half * 16` on.
                    unsafe {
                        _mm256_storeu_si256(out.as_mut_ptr() as *mut __m256i, sum[0]);
                        _mm256_storeu_si256(out.as_mut_ptr().add(8) as *mut __m256i, sum[1]);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` pseudo-random descriptors.
    fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
        let mut state = seed;
        (0..n * DESCRIPTOR_LEN)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (state >> 56) as u8
            })
            .collect()
    }

    fn naive(a: &[u8], b: &[u8]) -> i32 {
        a.iter().zip(b).map(|(&x, &y)| i32::from(x) * i32::from(y)).sum()
    }

    #[test]
    fn every_kernel_gives_the_exact_products_of_every_pair() {
        // Sizes that are not whole tiles or blocks; full-range bytes.
        let (a, b) = (random_bytes(19, 1), random_bytes(COLUMN_BLOCK + 45, 2));
        let (sa, sb) = (DescriptorSet::new(&a), DescriptorSet::new(&b));
        let kernels = Kernel::available();
        assert!(kernels.contains(&Kernel::Portable));
        for kernel in kernels {
            let mut seen = vec![0usize; 24 * (COLUMN_BLOCK + 64)];
            let mut tile = [[0i32; TILE_COLUMNS]; TILE_ROWS];
            for r in (0..sa.rows.len() / DESCRIPTOR_LEN).step_by(TILE_ROWS) {
                for (p, panel) in sb.panels.chunks_exact(PANEL_LEN).enumerate() {
                    kernel.run(&sa.rows[r * DESCRIPTOR_LEN..][..TILE_ROWS * DESCRIPTOR_LEN], panel, &mut tile);
                    for (dr, out) in tile.iter().enumerate() {
                        for (dc, &value) in out.iter().enumerate() {
                            let (i, j) = (r + dr, p * TILE_COLUMNS + dc);
                            let expected = if i < 19 && j < sb.len() {
                                naive(
                                    &a[i * DESCRIPTOR_LEN..][..DESCRIPTOR_LEN],
                                    &b[j * DESCRIPTOR_LEN..][..DESCRIPTOR_LEN],
                                )
                            } else {
                                0
                            };
                            assert_eq!(value, expected, "{kernel:?} ({i}, {j})");
                            seen[i * (COLUMN_BLOCK + 64) + j] += 1;
                        }
                    }
                }
            }
            assert!(seen.iter().all(|&s| s == 1));
        }
    }

    #[test]
    fn tiles_cover_every_pair_once_and_the_single_dot_agrees() {
        let (a, b) = (random_bytes(13, 3), random_bytes(COLUMN_BLOCK + 7, 4));
        let (sa, sb) = (DescriptorSet::new(&a), DescriptorSet::new(&b));
        let mut seen = vec![0usize; 16 * (COLUMN_BLOCK + 32)];
        sa.for_each_tile(&sb, |r, c, tile| {
            for (dr, out) in tile.iter().enumerate() {
                for (dc, &value) in out.iter().enumerate() {
                    let (i, j) = (r + dr, c + dc);
                    seen[i * (COLUMN_BLOCK + 32) + j] += 1;
                    if i < sa.len() && j < sb.len() {
                        assert_eq!(value, dot(sa.row(i), sb.row(j)));
                        assert_eq!(
                            value,
                            naive(
                                &a[i * DESCRIPTOR_LEN..][..DESCRIPTOR_LEN],
                                &b[j * DESCRIPTOR_LEN..][..DESCRIPTOR_LEN]
                            )
                        );
                    }
                }
            }
        });
        assert!(seen.iter().all(|&s| s == 1));
    }
}
