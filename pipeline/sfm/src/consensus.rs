//! Neighbourhood consensus for guided matches. Guided matching compares a
//! feature only with the few features near its epipolar line, so the
//! ratio test there weighs a handful of rivals instead of thousands: on
//! repeated texture (bricks, roof tiles, gravel) the look-alike one period
//! along the line passes it. A true match moves with its neighbours on the
//! same surface, a wrong one sits a whole period away from where they say
//! it should be; so a guided match is kept only when it lands where the
//! local affine motion of the verified inliers around it puts it.

use std::collections::HashSet;

use nalgebra::{Matrix3, Vector3};

use crate::grid::Grid;
use crate::matching::Match;
use crate::twoview::Point;

/// Verified inliers used to predict a guided match's position.
const NEIGHBOURS: usize = 8;
/// Fewest verified inliers near a guided match for it to be judged; with
/// fewer it is dropped (the motion there is unknown).
const MIN_SUPPORT: usize = 4;
/// Most rounds of growing the anchors by the matches that agree.
const MAX_ROUNDS: usize = 8;

/// Settings of the consensus test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Consensus {
    /// Radius (pixels of the first photo) in which neighbours are sought.
    pub radius: f64,
    /// Largest distance (pixels of the second photo) between a match and
    /// the position its neighbours predict.
    pub tolerance: f64,
}

impl Consensus {
    /// The test for photos whose longer side is `size` pixels: neighbours
    /// within 8 % of it, predictions within 0.375 % of it (6 px at 1600,
    /// less than a brick or a roof tile seen from a few metres).
    pub fn for_size(size: f64) -> Consensus {
        Consensus { radius: 0.08 * size, tolerance: 0.00375 * size }
    }

    /// The `candidates` (feature of the first photo, of the second) that
    /// are among the `anchors` (verified inliers) or agree with the local
    /// affine motion of the anchors nearest to them. Candidates that agree
    /// become anchors in turn, so the test spreads from where the verified
    /// inliers are dense into where they are sparse (wide baselines).
    pub fn filter(&self, a: &[Point], b: &[Point], anchors: &[Match], candidates: Vec<Match>) -> Vec<Match> {
        let verified: HashSet<Match> = anchors.iter().copied().collect();
        let (mut kept, mut pending): (Vec<Match>, Vec<Match>) =
            candidates.into_iter().partition(|m| verified.contains(m));
        let mut support = anchors.to_vec();
        for _ in 0..MAX_ROUNDS {
            let (agree, rest): (Vec<Match>, Vec<Match>) = self.judge(a, b, &support, pending);
            pending = rest;
            if agree.is_empty() {
                break;
            }
            support.extend_from_slice(&agree);
            kept.extend(agree);
        }
        kept
    }

    /// Splits `candidates` into those that land where the local affine
    /// motion of the `anchors` around them puts them, and the others.
    fn judge(&self, a: &[Point], b: &[Point], anchors: &[Match], candidates: Vec<Match>) -> (Vec<Match>, Vec<Match>) {
        let anchor_points: Vec<Point> = anchors.iter().map(|&(i, _)| a[i as usize]).collect();
        let grid = Grid::new(&anchor_points, self.radius / 2.0);
        let mut near = Vec::new();
        candidates.into_iter().partition(|&(i, j)| {
            let (pa, pb) = (a[i as usize], b[j as usize]);
            near.clear();
            grid.near_point(&pa, self.radius, &mut near);
            if near.len() < MIN_SUPPORT {
                return false;
            }
            // The nearest, by squared distance, without sorting the rest.
            let squared = |k: usize| (anchor_points[k][0] - pa[0]).powi(2) + (anchor_points[k][1] - pa[1]).powi(2);
            let mut keyed: Vec<(f64, usize)> = near.iter().map(|&k| (squared(k), k)).collect();
            if keyed.len() > NEIGHBOURS {
                keyed.select_nth_unstable_by(NEIGHBOURS - 1, |x, y| x.0.total_cmp(&y.0));
                keyed.truncate(NEIGHBOURS);
            }
            let pairs: Vec<(Point, Point)> = keyed
                .iter()
                .map(|&(_, k)| {
                    let (ai, bi) = anchors[k];
                    (a[ai as usize], b[bi as usize])
                })
                .collect();
            let predicted = local_affine(&pairs, &pa);
            (predicted[0] - pb[0]).hypot(predicted[1] - pb[1]) <= self.tolerance
        })
    }
}

/// Where the affine map fitted by least squares to `pairs` (first photo
/// to second) sends `p`; the mean shift when the pairs are collinear.
fn local_affine(pairs: &[(Point, Point)], p: &Point) -> Point {
    // Coordinates about `p`, so that the fit's offset is the prediction.
    let mut normal = Matrix3::<f64>::zeros();
    let (mut rhs_x, mut rhs_y) = (Vector3::zeros(), Vector3::zeros());
    for (x, y) in pairs {
        let row = Vector3::new(x[0] - p[0], x[1] - p[1], 1.0);
        normal += row * row.transpose();
        rhs_x += row * y[0];
        rhs_y += row * y[1];
    }
    // A ridge much smaller than the spread of any real neighbourhood.
    let scale = normal[(0, 0)] + normal[(1, 1)];
    normal[(0, 0)] += 1e-6 * scale;
    normal[(1, 1)] += 1e-6 * scale;
    match normal.cholesky() {
        Some(c) => [c.solve(&rhs_x)[2], c.solve(&rhs_y)[2]],
        None => {
            let n = pairs.len() as f64;
            let shift = pairs.iter().fold([0.0, 0.0], |s, (x, y)| [s[0] + y[0] - x[0], s[1] + y[1] - x[1]]);
            [p[0] + shift[0] / n, p[1] + shift[1] / n]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smooth warp between the photos (a gentle perspective).
    fn warp(p: &Point) -> Point {
        let w = 1.0 + 0.0001 * p[0];
        [(1.05 * p[0] + 0.02 * p[1] + 30.0) / w, (-0.03 * p[0] + 0.98 * p[1] - 12.0) / w]
    }

    #[test]
    fn guided_matches_a_period_off_are_dropped_and_true_ones_kept() {
        // Features on a jittered grid; the first half are verified inliers.
        let a: Vec<Point> = (0..400)
            .map(|k| {
                let (x, y) = ((k % 20) as f64, (k / 20) as f64);
                [40.0 * x + 7.0 * ((k * 37 % 11) as f64 / 11.0), 40.0 * y + 5.0 * ((k * 53 % 7) as f64 / 7.0)]
            })
            .collect();
        let mut b: Vec<Point> = a.iter().map(warp).collect();
        let anchors: Vec<Match> = (0..400).step_by(2).map(|k| (k, k)).collect();
        // Guided candidates: the other half, a quarter of them shifted a
        // brick (25 px) along x as repeated texture would.
        let mut wrong = Vec::new();
        let candidates: Vec<Match> = (1..400)
            .step_by(2)
            .map(|k| {
                if k % 8 == 1 {
                    b[k as usize][0] += 25.0;
                    wrong.push(k);
                }
                (k, k)
            })
            .chain(anchors.iter().copied())
            .collect();
        let kept = Consensus::for_size(800.0).filter(&a, &b, &anchors, candidates);
        for &(i, _) in &kept {
            assert!(!wrong.contains(&i), "a shifted match {i} was kept");
        }
        for anchor in &anchors {
            assert!(kept.contains(anchor), "anchors are kept");
        }
        // True matches go only where the neighbours are all on one side
        // and the perspective bends the motion (4 at the right border).
        let true_kept = kept.len() - anchors.len();
        assert!(true_kept as f64 >= 0.97 * (200 - wrong.len()) as f64, "{true_kept} true matches kept");
    }

    #[test]
    fn the_test_spreads_from_dense_anchors_into_sparse_parts() {
        // A grid 20 px apart; anchors fill the first 5 columns, candidates
        // the next 8, most of them beyond the radius of every anchor: each
        // round of the test reaches one column further.
        let a: Vec<Point> = (0..200).map(|k| [20.0 * (k % 20) as f64, 20.0 * (k / 20) as f64]).collect();
        let mut b: Vec<Point> = a.iter().map(warp).collect();
        let anchors: Vec<Match> = (0..200).filter(|k| k % 20 < 5).map(|k| (k, k)).collect();
        let far = 9 * 20 + 12;
        b[far as usize][0] += 25.0;
        let candidates: Vec<Match> = (0..200).filter(|k| (5..13).contains(&(k % 20))).map(|k| (k, k)).collect();
        let kept = Consensus { radius: 40.0, tolerance: 2.0 }.filter(&a, &b, &anchors, candidates.clone());
        let missing: Vec<&Match> = candidates.iter().filter(|&&m| m != (far, far) && !kept.contains(&m)).collect();
        assert!(missing.is_empty(), "not reached: {missing:?}");
        assert!(!kept.contains(&(far, far)), "the shifted match is dropped");
    }

    #[test]
    fn a_match_without_verified_neighbours_is_dropped() {
        let a = vec![[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [500.0, 500.0]];
        let b = a.clone();
        let anchors = vec![(0, 0), (1, 1), (2, 2), (3, 3)];
        let kept = Consensus { radius: 10.0, tolerance: 2.0 }.filter(&a, &b, &anchors, vec![(4, 4), (0, 0)]);
        assert_eq!(kept, vec![(0, 0)]);
    }
}
