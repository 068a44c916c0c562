//! Exact dot products of two descriptor sets, a tile at a time, by the
//! fastest kernel the processor has: AMX (8-bit products with 32-bit
//! sums, a 16 x 16 block per instruction), AVX-512 VNNI or AVX2 (the
//! bytes widened to 16 bits) or portable code. All are exact: 128 x 255 x
//! 255 fits easily in 32 bits, and integer products need no rounding.
//! `HERITAGE_SIMD` can rule the faster kernels out ([`crate::simd`]).

use crate::sift::DESCRIPTOR_LEN;
#[cfg(target_arch = "x86_64")]
use crate::simd::{Level, allows};

/// Rows (descriptors of the first set) of a tile.
pub const TILE_ROWS: usize = 16;
/// Columns (descriptors of the second set) of a tile.
pub const TILE_COLUMNS: usize = 32;
/// Dot products of `TILE_ROWS` descriptors with `TILE_COLUMNS` others.
pub type Tile = [[i32; TILE_COLUMNS]; TILE_ROWS];
/// Rows the 16-bit kernels compute at once (half a tile).
const HALF_ROWS: usize = TILE_ROWS / 2;
/// Half a tile, as the 16-bit kernels fill it.
type HalfTile = [[i32; TILE_COLUMNS]; HALF_ROWS];

/// Pairs of descriptor components (one 32-bit word each).
const PAIRS: usize = DESCRIPTOR_LEN / 2;
/// Values in a panel: every component of `TILE_COLUMNS` descriptors.
const PANEL_LEN: usize = DESCRIPTOR_LEN * TILE_COLUMNS;
/// Columns multiplied against every row before moving on (their panels,
/// 64-128 KiB, stay in the core's cache).
const COLUMN_BLOCK: usize = 16 * TILE_COLUMNS;

/// A descriptor set laid out for the products: rows as they are (padded
/// with zero rows to whole tiles) and columns packed into panels of
/// `TILE_COLUMNS` descriptors, component groups side by side (pairs of
/// 16-bit values, or quads of bytes for AMX).
#[derive(Debug, Clone)]
pub struct DescriptorSet {
    len: usize,
    kernel: Kernel,
    /// The descriptors widened to 16 bits (the 16-bit kernels' rows and
    /// [`dot`]'s input).
    rows: Vec<i16>,
    panels: Panels,
}

/// Column panels in the layout of a kernel.
#[derive(Debug, Clone)]
enum Panels {
    /// Pair `k` of the panel's descriptors as 16-bit values side by side.
    Pairs(Vec<i16>),
    /// Quad `k` of the panel's descriptors as bytes side by side (AMX's
    /// layout of its right operand), with the rows as bytes.
    Quads { rows: Vec<u8>, panels: Vec<u8> },
}

impl Default for DescriptorSet {
    fn default() -> DescriptorSet {
        DescriptorSet::new(&[])
    }
}

/// The values of `bytes` (whole descriptors) packed into panels of
/// `TILE_COLUMNS` descriptors, in groups of `group` components: group `k`
/// of descriptor `j` at `(k * TILE_COLUMNS + j % TILE_COLUMNS) * group` of
/// panel `j / TILE_COLUMNS`.
fn panels<T: Copy + Default>(bytes: &[u8], group: usize, value: impl Fn(u8) -> T) -> Vec<T> {
    let len = bytes.len() / DESCRIPTOR_LEN;
    let mut panels = vec![T::default(); len.div_ceil(TILE_COLUMNS) * PANEL_LEN];
    for (j, descriptor) in bytes.chunks_exact(DESCRIPTOR_LEN).enumerate() {
        let panel = &mut panels[j / TILE_COLUMNS * PANEL_LEN..][..PANEL_LEN];
        for (k, values) in descriptor.chunks_exact(group).enumerate() {
            let at = (k * TILE_COLUMNS + j % TILE_COLUMNS) * group;
            panel[at..at + group].iter_mut().zip(values).for_each(|(p, &v)| *p = value(v));
        }
    }
    panels
}

impl DescriptorSet {
    /// The set of `DESCRIPTOR_LEN`-byte descriptors `bytes`, laid out for
    /// the fastest kernel of this processor.
    pub fn new(bytes: &[u8]) -> DescriptorSet {
        DescriptorSet::for_kernel(bytes, Kernel::detect())
    }

    /// The set laid out for `kernel`.
    fn for_kernel(bytes: &[u8], kernel: Kernel) -> DescriptorSet {
        let len = bytes.len() / DESCRIPTOR_LEN;
        let padded = len.next_multiple_of(TILE_ROWS) * DESCRIPTOR_LEN;
        let mut rows = vec![0i16; padded];
        rows.iter_mut().zip(bytes).for_each(|(r, &b)| *r = i16::from(b));
        let panels = match kernel {
            #[cfg(target_arch = "x86_64")]
            Kernel::Amx => {
                let mut row_bytes = bytes.to_vec();
                row_bytes.resize(padded, 0);
                Panels::Quads { rows: row_bytes, panels: panels(bytes, 4, |b| b) }
            }
            _ => Panels::Pairs(panels(bytes, 2, i16::from)),
        };
        DescriptorSet { len, kernel, rows, panels }
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

    /// Number of column panels.
    fn panel_count(&self) -> usize {
        self.len.div_ceil(TILE_COLUMNS)
    }

    /// Every product of a descriptor of `self` with one of `other`, as
    /// tiles passed to `visit(first row, first column, tile)`. Rows and
    /// columns beyond the sets' ends are zero.
    pub fn for_each_tile(&self, other: &DescriptorSet, mut visit: impl FnMut(usize, usize, &Tile)) {
        assert_eq!(self.kernel, other.kernel, "both sets laid out for one kernel");
        let mut tile = [[0i32; TILE_COLUMNS]; TILE_ROWS];
        let row_tiles = self.rows.len() / (TILE_ROWS * DESCRIPTOR_LEN);
        let _tiles = self.kernel.start();
        for block in (0..other.panel_count()).step_by(COLUMN_BLOCK / TILE_COLUMNS) {
            let last = (block + COLUMN_BLOCK / TILE_COLUMNS).min(other.panel_count());
            for r in 0..row_tiles {
                for p in block..last {
                    self.kernel.run(self, r, other, p, &mut tile);
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
    Amx,
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    Portable,
}

/// Releases the processor's tile state when dropped (see [`Kernel::start`]).
struct TilesInUse(Kernel);

impl Drop for TilesInUse {
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        if self.0 == Kernel::Amx {
            // SAFETY: AMX is available (the kernel was chosen for it).
            unsafe { amx::release() }
        }
    }
}

impl Kernel {
    /// The best kernel the processor supports.
    fn detect() -> Kernel {
        Kernel::available().into_iter().next().unwrap_or(Kernel::Portable)
    }

    /// Every kernel the processor supports (and [`allows`]), fastest first.
    fn available() -> Vec<Kernel> {
        let mut kernels = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if allows(Level::Amx) && amx::usable() {
                kernels.push(Kernel::Amx);
            }
            if allows(Level::Avx512)
                && is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512vnni")
            {
                kernels.push(Kernel::Avx512);
            }
            if allows(Level::Avx2) && is_x86_feature_detected!("avx2") {
                kernels.push(Kernel::Avx2);
            }
        }
        kernels.push(Kernel::Portable);
        kernels
    }

    /// Readies the processor for a run of tile products on this thread
    /// (AMX: its tile configuration), until the guard is dropped.
    fn start(self) -> TilesInUse {
        #[cfg(target_arch = "x86_64")]
        if self == Kernel::Amx {
            // SAFETY: AMX is available and this thread's permission was
            // granted (`amx::usable`).
            unsafe { amx::configure() }
        }
        TilesInUse(self)
    }

    /// Products of row tile `r` of `a` with panel `p` of `b`, both laid
    /// out for this kernel; AMX needs [`Kernel::start`] first.
    #[inline]
    fn run(self, a: &DescriptorSet, r: usize, b: &DescriptorSet, p: usize, tile: &mut Tile) {
        let tile_values = TILE_ROWS * DESCRIPTOR_LEN;
        match (&a.panels, &b.panels) {
            #[cfg(target_arch = "x86_64")]
            (Panels::Quads { rows, .. }, Panels::Quads { panels, .. }) => {
                let (rows, panel) = (&rows[r * tile_values..][..tile_values], &panels[p * PANEL_LEN..][..PANEL_LEN]);
                // SAFETY: the sets are laid out for AMX only when it is
                // usable, and `for_each_tile` started it; the sizes are
                // whole tiles and panels.
                unsafe { amx::tile(rows, panel, tile) }
            }
            (Panels::Pairs(_), Panels::Pairs(panels)) => {
                let panel = &panels[p * PANEL_LEN..][..PANEL_LEN];
                let rows = &a.rows[r * tile_values..][..tile_values];
                let (first, second) = tile.split_at_mut(HALF_ROWS);
                let halves = [(first, &rows[..tile_values / 2]), (second, &rows[tile_values / 2..])];
                for (out, rows) in halves {
                    let out: &mut HalfTile = out.try_into().expect("half a tile");
                    self.run_half(rows, panel, out);
                }
            }
            _ => unreachable!("both sets are laid out for one kernel"),
        }
    }

    /// Products of `HALF_ROWS` 16-bit `rows` (row-major) with the `panel`'s columns.
    #[inline]
    fn run_half(self, rows: &[i16], panel: &[i16], tile: &mut HalfTile) {
        assert!(rows.len() == HALF_ROWS * DESCRIPTOR_LEN && panel.len() == PANEL_LEN);
        match self {
            // SAFETY: `available` checked the features; the sizes were
            // asserted above.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => unsafe { x86::tile_avx512(rows, panel, tile) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => unsafe { x86::tile_avx2(rows, panel, tile) },
            _ => tile_portable(rows, panel, tile),
        }
    }
}

/// Half a tile's products in plain Rust.
fn tile_portable(rows: &[i16], panel: &[i16], tile: &mut HalfTile) {
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

/// The 16-bit SIMD products of half a tile. Each broadcasts one pair of a
/// row's components to every lane and multiplies it with the same pair of
/// 16 (or 8) columns, adding both products into the lane's 32-bit sum.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{DESCRIPTOR_LEN, HALF_ROWS, HalfTile, PAIRS, TILE_COLUMNS};

    /// The pair `k` of row `r` as one 32-bit word.
    #[inline(always)]
    unsafe fn pair(rows: &[i16], r: usize, k: usize) -> i32 {
        // SAFETY: the caller keeps `r < HALF_ROWS` and `k < PAIRS`.
        unsafe { (rows.as_ptr().add(r * DESCRIPTOR_LEN + 2 * k) as *const i32).read_unaligned() }
    }

    /// 8 x 32 products with VNNI: 16 accumulators of 16 lanes.
    ///
    /// # Safety
    /// Needs AVX-512 F, BW and VNNI; `rows` holds 8 x 128 and `panel`
    /// 64 x 64 values.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub unsafe fn tile_avx512(rows: &[i16], panel: &[i16], tile: &mut HalfTile) {
        let mut sums = [[_mm512_setzero_si512(); 2]; HALF_ROWS];
        let columns = panel.as_ptr() as *const __m512i;
        for k in 0..PAIRS {
            // SAFETY: the panel holds PAIRS x 2 vectors of 512 bits.
            let (b0, b1) =
                unsafe { (_mm512_loadu_si512(columns.add(2 * k)), _mm512_loadu_si512(columns.add(2 * k + 1))) };
            for (r, sum) in sums.iter_mut().enumerate() {
                // SAFETY: r < HALF_ROWS, k < PAIRS.
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
    pub unsafe fn tile_avx2(rows: &[i16], panel: &[i16], tile: &mut HalfTile) {
        let columns = panel.as_ptr() as *const __m256i;
        for first_row in (0..HALF_ROWS).step_by(4) {
            for half in 0..2 {
                let mut sums = [[_mm256_setzero_si256(); 2]; 4];
                for k in 0..PAIRS {
                    let at = 4 * k + 2 * half;
                    // SAFETY: the panel holds PAIRS x 4 vectors of 256 bits.
                    let (b0, b1) =
                        unsafe { (_mm256_loadu_si256(columns.add(at)), _mm256_loadu_si256(columns.add(at + 1))) };
                    for (r, sum) in sums.iter_mut().enumerate() {
                        // SAFETY: first_row + r < HALF_ROWS, k < PAIRS.
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

/// Intel AMX: tile registers of 16 rows of 64 bytes and one instruction
/// (`tdpbuud`) that adds the products of a 16 x 64 block of unsigned bytes
/// with a 64 x 16 one into 16 x 16 32-bit sums. Linux hands the tile
/// state to a process only when asked (`arch_prctl`), once.
#[cfg(target_arch = "x86_64")]
mod amx {
    use std::arch::asm;
    use std::arch::x86_64::__cpuid_count;
    use std::sync::OnceLock;

    use super::{DESCRIPTOR_LEN, PANEL_LEN, TILE_COLUMNS, TILE_ROWS, Tile};

    /// Bytes of a tile row (and of a block's rows): 64.
    const ROW_BYTES: usize = 64;

    /// Whether the processor has AMX for bytes and the system let this
    /// process use it (asked once).
    pub fn usable() -> bool {
        static USABLE: OnceLock<bool> = OnceLock::new();
        *USABLE.get_or_init(|| {
            // CPUID leaf 7: EDX bit 24 AMX-TILE, bit 25 AMX-INT8.
            let features = __cpuid_count(7, 0);
            let has_amx = features.edx & (0b11 << 24) == 0b11 << 24;
            const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
            const XFEATURE_XTILEDATA: libc::c_long = 18;
            // SAFETY: a request for a permission, no memory is passed.
            has_amx && unsafe { libc::syscall(libc::SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) } == 0
        })
    }

    /// The tile configuration (palette 1): tmm0-1 the sums (16 rows of 16
    /// 32-bit values), tmm2 the rows' block, tmm3-4 the columns' blocks.
    #[repr(C, align(64))]
    struct Config {
        palette: u8,
        start_row: u8,
        reserved: [u8; 14],
        bytes_per_row: [u16; 16],
        rows: [u8; 16],
    }

    /// Loads the tile configuration on this thread.
    ///
    /// # Safety
    /// Needs AMX and the permission of [`usable`].
    pub unsafe fn configure() {
        let mut config = Config { palette: 1, start_row: 0, reserved: [0; 14], bytes_per_row: [0; 16], rows: [0; 16] };
        for t in 0..5 {
            config.bytes_per_row[t] = ROW_BYTES as u16;
            config.rows[t] = TILE_ROWS as u8;
        }
        // SAFETY: the configuration is 64 bytes, aligned, valid for palette 1.
        unsafe { asm!("ldtilecfg [{}]", in(reg) &config, options(nostack, readonly)) };
    }

    /// Returns the tiles to their initial state.
    ///
    /// # Safety
    /// Needs AMX.
    pub unsafe fn release() {
        // SAFETY: as documented.
        unsafe { asm!("tilerelease", options(nostack, nomem)) };
    }

    /// The 16 x 32 products of a tile of 16 byte rows (row-major) with a
    /// panel of 32 columns in quads: for each half of the components, one
    /// block of the rows and two of the columns (16 each) multiplied into
    /// the two halves of the tile.
    ///
    /// # Safety
    /// Needs [`configure`] on this thread; `rows` holds 16 x 128 bytes and
    /// `panel` 32 x 128.
    #[inline]
    pub unsafe fn tile(rows: &[u8], panel: &[u8], tile: &mut Tile) {
        debug_assert!(rows.len() == TILE_ROWS * DESCRIPTOR_LEN && panel.len() == PANEL_LEN);
        // A panel row (one quad of 32 columns) is 128 bytes, as are a row
        // of the descriptors and a row of the tile.
        let stride = TILE_COLUMNS * 4;
        // The second half of the components: 64 bytes into a row, 16 quads
        // into the panel.
        let second_rows = ROW_BYTES;
        let second_panel = 16 * stride;
        // SAFETY: every access lies within the sizes above; the tile
        // registers are configured (tmm0-4).
        unsafe {
            asm!(
                "tilezero tmm0",
                "tilezero tmm1",
                "tileloadd tmm2, [{rows} + {stride}*1]",
                "tileloadd tmm3, [{panel} + {stride}*1]",
                "tileloadd tmm4, [{panel} + {stride}*1 + 64]",
                "tdpbuud tmm0, tmm2, tmm3",
                "tdpbuud tmm1, tmm2, tmm4",
                "tileloadd tmm2, [{rows2} + {stride}*1]",
                "tileloadd tmm3, [{panel2} + {stride}*1]",
                "tileloadd tmm4, [{panel2} + {stride}*1 + 64]",
                "tdpbuud tmm0, tmm2, tmm3",
                "tdpbuud tmm1, tmm2, tmm4",
                "tilestored [{out} + {stride}*1], tmm0",
                "tilestored [{out} + {stride}*1 + 64], tmm1",
                rows = in(reg) rows.as_ptr(),
                rows2 = in(reg) rows.as_ptr().add(second_rows),
                panel = in(reg) panel.as_ptr(),
                panel2 = in(reg) panel.as_ptr().add(second_panel),
                out = in(reg) tile.as_mut_ptr(),
                stride = in(reg) stride,
                options(nostack),
            );
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

    /// Every product `for_each_tile` gives for the sets `a` and `b` laid
    /// out for `kernel`, checked against the naive sum (zero beyond the
    /// sets), each pair exactly once.
    fn check_tiles(a: &[u8], b: &[u8], kernel: Kernel) {
        let (sa, sb) = (DescriptorSet::for_kernel(a, kernel), DescriptorSet::for_kernel(b, kernel));
        let (rows, columns) = (sa.len().next_multiple_of(TILE_ROWS), sb.len().next_multiple_of(TILE_COLUMNS));
        let mut seen = vec![0usize; rows * columns];
        sa.for_each_tile(&sb, |r, c, tile| {
            for (dr, out) in tile.iter().enumerate() {
                for (dc, &value) in out.iter().enumerate() {
                    let (i, j) = (r + dr, c + dc);
                    let expected = if i < sa.len() && j < sb.len() {
                        naive(&a[i * DESCRIPTOR_LEN..][..DESCRIPTOR_LEN], &b[j * DESCRIPTOR_LEN..][..DESCRIPTOR_LEN])
                    } else {
                        0
                    };
                    assert_eq!(value, expected, "{kernel:?} ({i}, {j})");
                    seen[i * columns + j] += 1;
                }
            }
        });
        assert!(seen.iter().all(|&s| s == 1), "{kernel:?}");
    }

    #[test]
    fn every_kernel_gives_the_exact_products_of_every_pair_once() {
        let kernels = Kernel::available();
        assert!(kernels.contains(&Kernel::Portable));
        for kernel in kernels {
            // Sizes that are not whole tiles or blocks; full-range bytes.
            check_tiles(&random_bytes(19, 1), &random_bytes(COLUMN_BLOCK + 45, 2), kernel);
            check_tiles(&random_bytes(TILE_ROWS * 3, 5), &random_bytes(TILE_COLUMNS, 6), kernel);
            // The largest bytes everywhere: the largest sums.
            check_tiles(&vec![255; 17 * DESCRIPTOR_LEN], &vec![255; 33 * DESCRIPTOR_LEN], kernel);
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
