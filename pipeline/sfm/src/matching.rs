//! Descriptor matching: exact nearest two neighbours by a blocked matrix
//! product of unit descriptors, Lowe's ratio test on angular distances and
//! a mutual (cross) check, optionally restricted to candidate pairs that a
//! verified geometry allows (guided matching).

use serde::{Deserialize, Serialize};

use crate::dots::{DescriptorSet, TILE_COLUMNS, TILE_ROWS, dot};
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

/// Descriptors ready for matching: exact integer products scaled by the
/// inverse norms are the dot products of unit vectors.
#[derive(Debug, Clone, Default)]
pub struct UnitDescriptors {
    set: DescriptorSet,
    /// Inverse norm of each descriptor, padded with NaN to whole tiles (a
    /// NaN product compares false, so padding never matches).
    inverse_norms: Vec<f32>,
}

impl UnitDescriptors {
    /// The descriptors of some features.
    pub fn new(features: &Features) -> UnitDescriptors {
        let set = DescriptorSet::new(&features.descriptors);
        let mut inverse_norms: Vec<f32> = features
            .descriptors
            .chunks_exact(DESCRIPTOR_LEN)
            .map(|d| 1.0 / (d.iter().map(|&v| f32::from(v).powi(2)).sum::<f32>().sqrt().max(f32::MIN_POSITIVE)))
            .collect();
        inverse_norms.resize(set.len().next_multiple_of(TILE_COLUMNS.max(TILE_ROWS)), f32::NAN);
        UnitDescriptors { set, inverse_norms }
    }

    /// Descriptor `i` as a unit vector.
    pub fn unit_row(&self, i: usize) -> [f32; DESCRIPTOR_LEN] {
        let mut out = [0.0; DESCRIPTOR_LEN];
        for (o, &v) in out.iter_mut().zip(self.set.row(i)) {
            *o = f32::from(v) * self.inverse_norms[i];
        }
        out
    }

    /// The dot product of unit descriptors `i` of `self` and `j` of `other`.
    fn dot(&self, i: usize, other: &UnitDescriptors, j: usize) -> f32 {
        dot(self.set.row(i), other.set.row(j)) as f32 * self.inverse_norms[i] * other.inverse_norms[j]
    }

    /// Number of descriptors.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

/// A match: index in the first set, index in the second.
pub type Match = (u32, u32);

/// Dot products below this can neither be a match (too far) nor fail one
/// by the ratio test.
fn floor(options: &MatchOptions) -> f32 {
    (options.max_distance / options.max_ratio).min(std::f32::consts::PI).cos()
}

/// The running best products: each row's best two and the column of its
/// best, each column's best and the row of it.
struct Bests {
    rows: Vec<(f32, f32, u32)>,
    column_best: Vec<f32>,
    column_row: Vec<u32>,
}

impl Bests {
    /// Nothing seen yet: every best starts at the floor, so that most
    /// products are passed over at once.
    fn new(rows: usize, columns: usize, options: &MatchOptions) -> Bests {
        let floor = floor(options);
        Bests {
            rows: vec![(floor, floor, u32::MAX); rows],
            column_best: vec![floor; columns],
            column_row: vec![u32::MAX; columns],
        }
    }

    /// Puts `dot` of row `i` and column `j` into the running bests.
    #[inline]
    fn record(&mut self, i: usize, j: usize, dot: f32) {
        let row = &mut self.rows[i];
        if dot > row.0 {
            *row = (dot, row.0, j as u32);
        } else if dot > row.1 {
            row.1 = dot;
        }
        if dot > self.column_best[j] {
            self.column_best[j] = dot;
            self.column_row[j] = i as u32;
        }
    }

    /// The distance, ratio and mutual tests on each row's best two.
    fn select(&self, options: &MatchOptions) -> Vec<Match> {
        let distance = |dot: f32| dot.clamp(-1.0, 1.0).acos();
        self.rows
            .iter()
            .enumerate()
            .filter(|&(i, &(d1, d2, j))| {
                j != u32::MAX
                    && distance(d1) <= options.max_distance
                    && distance(d1) < options.max_ratio * distance(d2)
                    && (!options.cross_check || self.column_row[j as usize] == i as u32)
            })
            .map(|(i, &(_, _, j))| (i as u32, j))
            .collect()
    }
}

/// Matches from `a` to `b`: every pair compared.
pub fn match_descriptors(a: &UnitDescriptors, b: &UnitDescriptors, options: &MatchOptions) -> Vec<Match> {
    let (na, nb) = (a.len(), b.len());
    if na == 0 || nb < 2 {
        return Vec::new();
    }
    let mut bests = Bests::new(na, nb.next_multiple_of(TILE_COLUMNS), options);
    a.set.for_each_tile(&b.set, |first_row, first_column, tile| {
        let column_norms = &b.inverse_norms[first_column..][..TILE_COLUMNS];
        for (i, products) in (first_row..na).zip(tile) {
            let mut dots = [0.0f32; TILE_COLUMNS];
            for ((d, &p), &n) in dots.iter_mut().zip(products).zip(column_norms) {
                *d = p as f32 * n * a.inverse_norms[i];
            }
            // Most products beat neither the row's second best nor their
            // column's best: one vectorised test passes them over.
            let second = bests.rows[i].1;
            let column_best = &bests.column_best[first_column..][..TILE_COLUMNS];
            let any = dots.iter().zip(column_best).fold(false, |any, (&d, &c)| any | (d > second) | (d > c));
            if any {
                for (k, &d) in dots.iter().enumerate() {
                    if d > bests.rows[i].1 || d > bests.column_best[first_column + k] {
                        bests.record(i, first_column + k, d);
                    }
                }
            }
        }
    });
    bests.select(options)
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
    let mut bests = Bests::new(a.len(), b.len(), options);
    let mut listed = Vec::new();
    for i in 0..a.len() {
        listed.clear();
        candidates(i, &mut listed);
        for &j in &listed {
            if allowed(i, j) {
                let dot = a.dot(i, b, j);
                if dot > bests.rows[i].1 || dot > bests.column_best[j] {
                    bests.record(i, j, dot);
                }
            }
        }
    }
    bests.select(options)
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
