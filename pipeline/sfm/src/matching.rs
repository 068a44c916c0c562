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

/// Integer bounds on the products of a row or column: a product at or
/// below its row's bound cannot beat the row's second best, one at or
/// below its column's bound cannot beat the column's best, whatever the
/// other descriptor's norm. Comparing integers passes over most products
/// without scaling them.
struct Bounds {
    rows: Vec<i32>,
    columns: Vec<i32>,
    /// The largest inverse norm of the rows' set and of the columns'.
    largest: (f32, f32),
}

/// The largest product `p` with `p * inverse_norm * largest_other <=
/// value`, less one for rounding (every product passes if `value` is not
/// positive; none does for a padding descriptor, whose norm is NaN).
fn product_bound(value: f32, inverse_norm: f32, largest_other: f32) -> i32 {
    if value <= 0.0 {
        return -1;
    }
    let bound = f64::from(value) / (f64::from(inverse_norm) * f64::from(largest_other));
    if bound.is_nan() { i32::MAX } else { bound.floor().min(f64::from(i32::MAX)) as i32 - 1 }
}

/// The largest inverse norm of a set's descriptors (padding excluded).
fn largest_inverse_norm(d: &UnitDescriptors) -> f32 {
    d.inverse_norms.iter().copied().filter(|v| !v.is_nan()).fold(0.0, f32::max)
}

impl Bounds {
    /// The bounds of every row of `a` and column of `b` under `bests`.
    fn new(a: &UnitDescriptors, b: &UnitDescriptors, bests: &Bests) -> Bounds {
        let (largest_a, largest_b) = (largest_inverse_norm(a), largest_inverse_norm(b));
        let rows = (0..a.len()).map(|i| product_bound(bests.rows[i].1, a.inverse_norms[i], largest_b)).collect();
        let columns = bests
            .column_best
            .iter()
            .zip(&b.inverse_norms)
            .map(|(&best, &norm)| product_bound(best, norm, largest_a))
            .collect();
        Bounds { rows, columns, largest: (largest_a, largest_b) }
    }

    /// The bounds of row `i` and column `j` after their bests changed.
    fn update(&mut self, i: usize, j: usize, a: &UnitDescriptors, b: &UnitDescriptors, bests: &Bests) {
        self.rows[i] = product_bound(bests.rows[i].1, a.inverse_norms[i], self.largest.1);
        self.columns[j] = product_bound(bests.column_best[j], b.inverse_norms[j], self.largest.0);
    }
}

/// Matches from `a` to `b`: every pair compared.
pub fn match_descriptors(a: &UnitDescriptors, b: &UnitDescriptors, options: &MatchOptions) -> Vec<Match> {
    let (na, nb) = (a.len(), b.len());
    if na == 0 || nb < 2 {
        return Vec::new();
    }
    let mut bests = Bests::new(na, nb.next_multiple_of(TILE_COLUMNS), options);
    let mut bounds = Bounds::new(a, b, &bests);
    a.set.for_each_tile(&b.set, |first_row, first_column, tile| {
        for (i, products) in (first_row..na).zip(tile) {
            // Most products beat neither the row's second best nor their
            // column's best: vectorised integer tests pass them over, and
            // only the columns left are looked at.
            let row_bound = bounds.rows[i];
            let column_bounds = &bounds.columns[first_column..][..TILE_COLUMNS];
            let mut left = products
                .iter()
                .zip(column_bounds)
                .enumerate()
                .fold(0u32, |left, (k, (&p, &c))| left | (u32::from((p > row_bound) | (p > c)) << k));
            while left != 0 {
                let j = first_column + left.trailing_zeros() as usize;
                left &= left - 1;
                let d = products[j - first_column] as f32 * b.inverse_norms[j] * a.inverse_norms[i];
                if d > bests.rows[i].1 || d > bests.column_best[j] {
                    bests.record(i, j, d);
                    bounds.update(i, j, a, b, &bests);
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
        Features { keypoints: vec![keypoint; n], descriptors, colors: Vec::new(), edges: Vec::new() }
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
    fn a_product_at_its_bound_is_never_above_the_value_and_a_few_more_are() {
        let mut state = 7u64;
        let mut uniform = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 40) as f32 / (1u64 << 24) as f32
        };
        for _ in 0..10_000 {
            // Norms of byte descriptors (about 512 for RootSIFT), values of
            // unit products.
            let (norm, largest_other) = (1.0 / (300.0 + 400.0 * uniform()), 1.0 / (300.0 + 300.0 * uniform()));
            let value = 0.05 + 0.95 * uniform();
            let bound = product_bound(value, norm, largest_other);
            // As the matcher scales a product, with the other norm at most
            // the largest.
            let scaled = |p: i32, other: f32| p as f32 * other * norm;
            assert!(scaled(bound, largest_other) <= value && scaled(bound, 0.9 * largest_other) <= value);
            assert!(scaled(bound + 3, largest_other) > value, "a bound {bound} too low for {value}");
        }
        assert_eq!(product_bound(0.5, f32::NAN, 0.002), i32::MAX, "padding never passes");
        assert_eq!(product_bound(-0.2, 0.002, 0.002), -1, "every product passes a negative value");
    }

    #[test]
    fn the_integer_bounds_pass_over_no_match_of_the_full_float_search() {
        // Unrelated descriptors of unequal norms (RootSIFT bytes are not
        // all of one length) and a ratio close to 1: which pairs pass
        // depends on the exact best and second-best products.
        let a = random_features(200, 4);
        let mut b = random_features(300, 5);
        for (k, v) in b.descriptors.iter_mut().enumerate() {
            if (k / DESCRIPTOR_LEN).is_multiple_of(3) {
                *v = (f32::from(*v) * 0.6) as u8;
            }
        }
        let (ua, ub) = (UnitDescriptors::new(&a), UnitDescriptors::new(&b));
        let options = MatchOptions { max_ratio: 0.99, max_distance: 1.0, cross_check: true };
        let mut bests = Bests::new(ua.len(), ub.len(), &options);
        for i in 0..ua.len() {
            for j in 0..ub.len() {
                let d = ua.dot(i, &ub, j);
                if d > bests.rows[i].1 || d > bests.column_best[j] {
                    bests.record(i, j, d);
                }
            }
        }
        let expected = bests.select(&options);
        assert!(expected.len() > 20 && expected.len() < 150, "{}", expected.len());
        assert_eq!(match_descriptors(&ua, &ub, &options), expected);
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
