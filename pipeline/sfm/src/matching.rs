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

/// Matches from `a` to `b`. `allowed(i, j)`, when given, restricts the
/// candidates (the ratio test then compares allowed candidates only).
pub fn match_descriptors(
    a: &UnitDescriptors,
    b: &UnitDescriptors,
    options: &MatchOptions,
    allowed: Option<&(dyn Fn(usize, usize) -> bool + Sync)>,
) -> Vec<Match> {
    let (na, nb) = (a.len(), b.len());
    if na == 0 || nb < 2 {
        return Vec::new();
    }
    // Dot products below `floor` can neither be a match (too far) nor
    // fail one by the ratio test, so rows and columns start there and
    // most products are passed over at once.
    let floor = (options.max_distance / options.max_ratio).min(std::f32::consts::PI).cos();
    // Best two dot products of each row; best row of each column.
    let mut row_best = vec![(floor, floor, usize::MAX); na];
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
            let best = &mut row_best[i];
            for (j, (&dot, column)) in dots.iter().zip(column_best.iter_mut()).enumerate() {
                if dot <= best.1 && dot <= column.0 {
                    continue;
                }
                if allowed.is_some_and(|allowed| !allowed(i, j)) {
                    continue;
                }
                if dot > best.0 {
                    *best = (dot, best.0, j);
                } else if dot > best.1 {
                    best.1 = dot;
                }
                if dot > column.0 {
                    *column = (dot, i);
                }
            }
        }
    }
    let distance = |dot: f32| dot.clamp(-1.0, 1.0).acos();
    row_best
        .iter()
        .enumerate()
        .filter(|&(i, &(d1, d2, j))| {
            j != usize::MAX
                && distance(d1) <= options.max_distance
                && distance(d1) < options.max_ratio * distance(d2)
                && (!options.cross_check || column_best[j].1 == i)
        })
        .map(|(i, &(_, _, j))| (i as u32, j as u32))
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
        let matches =
            match_descriptors(&UnitDescriptors::new(&a), &UnitDescriptors::new(&b), &Default::default(), None);
        assert_eq!(matches.len(), 1000);
        assert!(matches.iter().all(|&(i, j)| j as usize == 999 - i as usize));
    }

    #[test]
    fn the_allowed_filter_restricts_candidates() {
        let a = random_features(600, 2);
        let b = permuted_copy(&a, 600);
        let even_only = |i: usize, _j: usize| i.is_multiple_of(2);
        let matches = match_descriptors(
            &UnitDescriptors::new(&a),
            &UnitDescriptors::new(&b),
            &Default::default(),
            Some(&even_only),
        );
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
        let matches =
            match_descriptors(&UnitDescriptors::new(&a), &UnitDescriptors::new(&b), &Default::default(), None);
        assert_eq!(matches.len(), 49);
        assert!(matches.iter().all(|&(i, _)| i != 0));
    }
}
