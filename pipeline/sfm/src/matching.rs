//! Descriptor matching: exact nearest two neighbours by a blocked matrix
//! product of unit descriptors, Lowe's ratio test on angular distances and
//! a mutual (cross) check, optionally restricted to candidate pairs that a
//! verified geometry allows (guided matching).

use serde::{Deserialize, Serialize};

use crate::sift::{DESCRIPTOR_LEN, Features};

/// Settings of descriptor matching; the defaults follow COLMAP's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MatchOptions {
    /// Largest ratio of best to second-best distance.
    pub max_ratio: f32,
    /// Largest angular distance (radians) between matched descriptors.
    pub max_distance: f32,
    /// Keep a match only when each side is the other's best.
    pub cross_check: bool,
}

impl Default for MatchOptions {
    fn default() -> MatchOptions {
        MatchOptions { max_ratio: 0.8, max_distance: 0.7, cross_check: true }
    }
}

/// Descriptors as unit `f32` vectors, ready for dot products.
#[derive(Debug, Clone)]
pub struct UnitDescriptors {
    data: Vec<f32>,
}

impl UnitDescriptors {
    /// Converts byte descriptors to unit vectors.
    pub fn new(features: &Features) -> UnitDescriptors {
        UnitDescriptors::from_rows(features.descriptors.iter().map(|&v| f32::from(v)).collect())
    }

    /// Unit descriptors from `DESCRIPTOR_LEN` floats each, normalised here.
    pub fn from_rows(mut data: Vec<f32>) -> UnitDescriptors {
        for d in data.chunks_exact_mut(DESCRIPTOR_LEN) {
            let norm = d.iter().map(|v| v * v).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
            d.iter_mut().for_each(|v| *v /= norm);
        }
        UnitDescriptors { data }
    }

    /// Descriptor `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * DESCRIPTOR_LEN..(i + 1) * DESCRIPTOR_LEN]
    }

    /// Number of descriptors.
    pub fn len(&self) -> usize {
        self.data.len() / DESCRIPTOR_LEN
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// Rows of the first set multiplied at once (bounds the product's memory).
const BLOCK_ROWS: usize = 512;

/// A match: index in the first set, index in the second.
pub type Match = (u32, u32);

/// Best two dot products of a row and the column of the best.
type RowBest = (f32, f32, u32);

/// Dot products below this can neither be a match (too far) nor fail one
/// by the ratio test.
fn floor(options: &MatchOptions) -> f32 {
    (options.max_distance / options.max_ratio).min(std::f32::consts::PI).cos()
}

/// Puts `dot` of row `i` and column `j` into the running bests.
#[inline]
fn record(row: &mut RowBest, column: &mut (f32, usize), dot: f32, i: usize, j: usize) {
    if dot > row.0 {
        *row = (dot, row.0, j as u32);
    } else if dot > row.1 {
        row.1 = dot;
    }
    if dot > column.0 {
        *column = (dot, i);
    }
}

/// Matches from `a` to `b`: every pair compared.
pub fn match_descriptors(a: &UnitDescriptors, b: &UnitDescriptors, options: &MatchOptions) -> Vec<Match> {
    let (na, nb) = (a.len(), b.len());
    if na == 0 || nb < 2 {
        return Vec::new();
    }
    // Rows and columns start at the floor, so most products are passed
    // over at once.
    let floor = floor(options);
    let mut rows = vec![(floor, floor, u32::MAX); na];
    let mut columns = vec![(floor, usize::MAX); nb];
    let mut product = vec![0.0f32; BLOCK_ROWS.min(na) * nb];
    for start in (0..na).step_by(BLOCK_ROWS) {
        let block = BLOCK_ROWS.min(na - start);
        // SAFETY: the pointers and strides describe `block x 128`, `128 x nb`
        // and `block x nb` row-major matrices inside the three buffers.
        unsafe {
            matrixmultiply::sgemm(
                block,
                DESCRIPTOR_LEN,
                nb,
                1.0,
                a.data[start * DESCRIPTOR_LEN..].as_ptr(),
                DESCRIPTOR_LEN as isize,
                1,
                b.data.as_ptr(),
                1,
                DESCRIPTOR_LEN as isize,
                0.0,
                product.as_mut_ptr(),
                nb as isize,
                1,
            );
        }
        for (r, dots) in product.chunks_exact(nb).take(block).enumerate() {
            let i = start + r;
            let row = &mut rows[i];
            for (j, (&dot, column)) in dots.iter().zip(columns.iter_mut()).enumerate() {
                if dot > row.1 || dot > column.0 {
                    record(row, column, dot, i, j);
                }
            }
        }
    }
    select(&rows, &columns, options)
}

/// Guided matching: each feature `i` of `a` is compared only with the
/// features of `b` that `candidates(i, out)` lists and `allowed(i, j)`
/// accepts (those a verified geometry puts where `i` must appear); the
/// ratio test and mutual check then run among those, exactly as a full
/// product with the others masked out would.
pub fn guided_matches(
    a: &UnitDescriptors,
    b: &UnitDescriptors,
    options: &MatchOptions,
    candidates: impl Fn(usize, &mut Vec<usize>),
    allowed: impl Fn(usize, usize) -> bool,
) -> Vec<Match> {
    let floor = floor(options);
    let mut rows = vec![(floor, floor, u32::MAX); a.len()];
    let mut columns = vec![(floor, usize::MAX); b.len()];
    let mut listed = Vec::new();
    for (i, row) in rows.iter_mut().enumerate() {
        listed.clear();
        candidates(i, &mut listed);
        let x = a.row(i);
        for &j in &listed {
            if allowed(i, j) {
                record(row, &mut columns[j], dot(x, b.row(j)), i, j);
            }
        }
    }
    select(&rows, &columns, options)
}

/// Dot product of two descriptors, in eight lanes so that it vectorises.
#[inline]
fn dot(x: &[f32], y: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    for (a, b) in x.chunks_exact(8).zip(y.chunks_exact(8)) {
        for k in 0..8 {
            lanes[k] += a[k] * b[k];
        }
    }
    lanes.iter().sum()
}

/// The distance, ratio and mutual tests on each row's best two.
fn select(rows: &[RowBest], columns: &[(f32, usize)], options: &MatchOptions) -> Vec<Match> {
    let distance = |dot: f32| dot.clamp(-1.0, 1.0).acos();
    rows.iter()
        .enumerate()
        .filter(|&(i, &(d1, d2, j))| {
            j != u32::MAX
                && distance(d1) <= options.max_distance
                && distance(d1) < options.max_ratio * distance(d2)
                && (!options.cross_check || columns[j as usize].1 == i)
        })
        .map(|(i, &(_, _, j))| (i as u32, j))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sift::Keypoint;

    /// Features with pseudo-random descriptors.
    fn random_features(n: usize, seed: u64) -> Features {
        let mut state = seed;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 56) as u8
        };
        let keypoint = Keypoint { x: 0.0, y: 0.0, scale: 1.0, orientation: 0.0, response: 1.0 };
        let descriptors = (0..n * DESCRIPTOR_LEN).map(|_| next() / 2).collect();
        Features { keypoints: vec![keypoint; n], descriptors, colors: Vec::new() }
    }

    /// `b` holds `a`'s descriptors 0..n, slightly changed, in reverse order,
    /// then unrelated ones.
    fn permuted_copy(a: &Features, n: usize) -> Features {
        let mut b = random_features(n + 700, 99);
        for i in 0..n {
            let target = n - 1 - i;
            for k in 0..DESCRIPTOR_LEN {
                let v = a.descriptor(i)[k];
                b.descriptors[target * DESCRIPTOR_LEN + k] = if k % 9 == 0 { v.saturating_add(3) } else { v };
            }
        }
        b
    }

    #[test]
    fn finds_the_copies_across_blocks_and_nothing_else() {
        let a = random_features(1200, 1);
        let b = permuted_copy(&a, 1000);
        let matches = match_descriptors(&UnitDescriptors::new(&a), &UnitDescriptors::new(&b), &Default::default());
        assert_eq!(matches.len(), 1000);
        assert!(matches.iter().all(|&(i, j)| j as usize == 999 - i as usize));
    }

    #[test]
    fn the_allowed_filter_restricts_candidates() {
        let a = random_features(600, 2);
        let b = permuted_copy(&a, 600);
        let even_only = |i: usize, _j: usize| i.is_multiple_of(2);
        let (ua, ub) = (UnitDescriptors::new(&a), UnitDescriptors::new(&b));
        let everything = |_: usize, out: &mut Vec<usize>| out.extend(0..ub.len());
        let matches = guided_matches(&ua, &ub, &Default::default(), everything, even_only);
        // Only the listed candidates are compared.
        let none = |_: usize, _: &mut Vec<usize>| {};
        assert!(guided_matches(&ua, &ub, &Default::default(), none, |_, _| true).is_empty());
        assert_eq!(matches.len(), 300);
        assert!(matches.iter().all(|&(i, _)| i.is_multiple_of(2)));
    }

    #[test]
    fn ratio_test_drops_ambiguous_matches() {
        let a = random_features(50, 3);
        let mut b = permuted_copy(&a, 50);
        // Duplicate b's copy of a[0] (at 49) onto 60: two equal candidates.
        let copy = b.descriptor(49).to_vec();
        b.descriptors[60 * DESCRIPTOR_LEN..61 * DESCRIPTOR_LEN].copy_from_slice(&copy);
        let matches = match_descriptors(&UnitDescriptors::new(&a), &UnitDescriptors::new(&b), &Default::default());
        assert_eq!(matches.len(), 49);
        assert!(matches.iter().all(|&(i, _)| i != 0));
    }
}
