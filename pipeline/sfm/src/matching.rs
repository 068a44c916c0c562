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

/// Candidates kept per feature of the first set for guided matching.
const CANDIDATES: usize = 32;

/// The most similar features of the second set for each feature of the
/// first, kept from plain matching so that guided matching needs no second
/// matrix product.
#[derive(Debug, Clone)]
pub struct Candidates {
    /// `CANDIDATES` (dot product, index) a row, most similar first; unused
    /// slots hold the floor and `u32::MAX`.
    rows: Vec<(f32, u32)>,
}

impl Candidates {
    /// The candidates of row `i`.
    fn row(&self, i: usize) -> &[(f32, u32)] {
        &self.rows[i * CANDIDATES..(i + 1) * CANDIDATES]
    }
}

/// Matches from `a` to `b`, and each row's best candidates.
pub fn match_descriptors(a: &UnitDescriptors, b: &UnitDescriptors, options: &MatchOptions) -> (Vec<Match>, Candidates) {
    let (na, nb) = (a.len(), b.len());
    // Dot products below `floor` can neither be a match (too far) nor
    // fail one by the ratio test, so rows and columns start there and
    // most products are passed over at once.
    let floor = (options.max_distance / options.max_ratio).min(std::f32::consts::PI).cos();
    let mut candidates = Candidates { rows: vec![(floor, u32::MAX); na * CANDIDATES] };
    if na == 0 || nb < 2 {
        return (Vec::new(), candidates);
    }
    let mut column_best = vec![(floor, usize::MAX); nb];
    let mut product = vec![0.0f32; BLOCK_ROWS.min(na) * nb];
    for start in (0..na).step_by(BLOCK_ROWS) {
        let rows = BLOCK_ROWS.min(na - start);
        // SAFETY: the pointers and strides describe `rows x 128`, `128 x nb`
        // and `rows x nb` row-major matrices inside the three buffers.
        unsafe {
            matrixmultiply::sgemm(
                rows,
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
        for (r, dots) in product.chunks_exact(nb).take(rows).enumerate() {
            let i = start + r;
            let top = &mut candidates.rows[i * CANDIDATES..(i + 1) * CANDIDATES];
            for (j, (&dot, column)) in dots.iter().zip(column_best.iter_mut()).enumerate() {
                if dot <= top[CANDIDATES - 1].0 && dot <= column.0 {
                    continue;
                }
                if dot > top[CANDIDATES - 1].0 {
                    let at = top.iter().position(|c| dot > c.0).expect("beats the last");
                    top.copy_within(at..CANDIDATES - 1, at + 1);
                    top[at] = (dot, j as u32);
                }
                if dot > column.0 {
                    *column = (dot, i);
                }
            }
        }
    }
    let columns: Vec<usize> = column_best.iter().map(|c| c.1).collect();
    let matches = select(&candidates, &columns, options, |_, _| true);
    (matches, candidates)
}

/// Matches among the candidates that `allowed(i, j)` accepts (guided
/// matching): the ratio test and the mutual check compare allowed
/// candidates only. A row with fewer than two allowed candidates compares
/// with its last kept candidate, which no other allowed one exceeds (so
/// the test is never looser than with the full product).
pub fn guided_matches(
    candidates: &Candidates,
    nb: usize,
    options: &MatchOptions,
    allowed: impl Fn(usize, usize) -> bool,
) -> Vec<Match> {
    let rows = candidates.rows.len() / CANDIDATES;
    let mut column_best = vec![(f32::NEG_INFINITY, usize::MAX); nb];
    for i in 0..rows {
        for &(dot, j) in candidates.row(i) {
            if j != u32::MAX && dot > column_best[j as usize].0 && allowed(i, j as usize) {
                column_best[j as usize] = (dot, i);
            }
        }
    }
    let columns: Vec<usize> = column_best.iter().map(|c| c.1).collect();
    select(candidates, &columns, options, allowed)
}

/// Applies the distance, ratio and mutual tests to each row's best two
/// allowed candidates.
fn select(
    candidates: &Candidates,
    column_best: &[usize],
    options: &MatchOptions,
    allowed: impl Fn(usize, usize) -> bool,
) -> Vec<Match> {
    let distance = |dot: f32| dot.clamp(-1.0, 1.0).acos();
    let rows = candidates.rows.len() / CANDIDATES;
    (0..rows)
        .filter_map(|i| {
            let row = candidates.row(i);
            let mut kept = row.iter().filter(|&&(_, j)| j != u32::MAX && allowed(i, j as usize));
            let &(d1, j) = kept.next()?;
            let d2 = kept.next().map_or(row[CANDIDATES - 1].0, |c| c.0);
            let pass = distance(d1) <= options.max_distance
                && distance(d1) < options.max_ratio * distance(d2)
                && (!options.cross_check || column_best[j as usize] == i);
            pass.then_some((i as u32, j))
        })
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
        Features { keypoints: vec![keypoint; n], descriptors: (0..n * DESCRIPTOR_LEN).map(|_| next() / 2).collect() }
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
        let (matches, _) = match_descriptors(&UnitDescriptors::new(&a), &UnitDescriptors::new(&b), &Default::default());
        assert_eq!(matches.len(), 1000);
        assert!(matches.iter().all(|&(i, j)| j as usize == 999 - i as usize));
    }

    #[test]
    fn the_allowed_filter_restricts_candidates() {
        let a = random_features(600, 2);
        let b = permuted_copy(&a, 600);
        let even_only = |i: usize, _j: usize| i.is_multiple_of(2);
        let (_, candidates) =
            match_descriptors(&UnitDescriptors::new(&a), &UnitDescriptors::new(&b), &Default::default());
        let matches = guided_matches(&candidates, b.len(), &Default::default(), even_only);
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
        let (matches, _) = match_descriptors(&UnitDescriptors::new(&a), &UnitDescriptors::new(&b), &Default::default());
        assert_eq!(matches.len(), 49);
        assert!(matches.iter().all(|&(i, _)| i != 0));
    }
}
