//! Geometric verification of a matched pair, as COLMAP classifies pairs:
//! an essential matrix (calibrated), a fundamental matrix and a homography
//! are estimated robustly from the same matches, and the inlier counts
//! decide what the pair is. Verified pairs are then matched again under
//! their geometry (guided matching) to recover matches the ratio test
//! lost; the front end keeps only those that move with their verified
//! neighbours (`consensus`).

use nalgebra::{Matrix3, UnitQuaternion, Vector3};
use serde::{Deserialize, Serialize};

use crate::estimators::{Correspondences, EssentialEstimator, FundamentalEstimator, HomographyEstimator};
use crate::grid::Grid;
use crate::intrinsics::Intrinsics;
use crate::matching::Match;
use crate::pose::recover_pose;
use crate::ransac::{Estimate, RansacOptions, msac};
use crate::twoview::Point;

/// What a verified pair's geometry is (numbered as COLMAP's `config`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PairKind {
    /// No model explains enough matches.
    Degenerate = 1,
    /// An essential matrix with the known intrinsics explains the matches.
    Calibrated = 2,
    /// Only a fundamental matrix does (intrinsics doubtful).
    Uncalibrated = 3,
    /// A homography explains nearly all: a plane, or a pure rotation.
    PlanarOrPanoramic = 6,
}

/// Settings of verification; the defaults follow COLMAP's, but for the
/// inlier share, which COLMAP only uses to bound RANSAC's iterations.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VerifyOptions {
    /// Largest error of an inlier in pixels.
    pub max_error: f64,
    /// Fewest inliers of a verified pair.
    pub min_inliers: usize,
    /// Smallest share of the matches a verified model must explain: a
    /// chance fit to a few hundred random matches of two photos that do
    /// not overlap stays below it, the widest true pairs (fountain-P11's
    /// first and last photos: 1 in 5) reach it.
    pub min_inlier_ratio: f64,
    /// E inliers / F inliers above this: the intrinsics are right.
    pub min_e_f_ratio: f64,
    /// H inliers / E (or F) inliers above this: planar or panoramic.
    pub max_h_ratio: f64,
    /// Match again under the verified geometry.
    pub guided: bool,
}

impl Default for VerifyOptions {
    fn default() -> VerifyOptions {
        VerifyOptions {
            max_error: 4.0,
            min_inliers: 15,
            min_inlier_ratio: 0.2,
            min_e_f_ratio: 0.95,
            max_h_ratio: 0.8,
            guided: true,
        }
    }
}

/// The verified geometry of a pair of photos.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TwoViewGeometry {
    /// Classification.
    pub kind: PairKind,
    /// Inlier matches (feature in the first photo, feature in the second).
    pub inliers: Vec<Match>,
    /// Fundamental matrix (pixels, x2ᵀ F x1 = 0).
    pub f: [[f64; 3]; 3],
    /// Essential matrix, for calibrated pairs.
    pub e: Option<[[f64; 3]; 3]>,
    /// Homography (pixels, x2 ~ H x1).
    pub h: [[f64; 3]; 3],
    /// Relative rotation (w, x, y, z) of the second camera, for calibrated pairs.
    pub rotation: Option<[f64; 4]>,
    /// Relative translation (unit length) of the second camera.
    pub translation: Option<[f64; 3]>,
}

impl TwoViewGeometry {
    /// Whether the pair passes (enough inliers of a real model).
    pub fn is_verified(&self) -> bool {
        self.kind != PairKind::Degenerate
    }

    /// A test of candidate matches between `x1` (first photo) and `x2`
    /// (second): whether they agree with this geometry to `max_error`
    /// pixels. Per-point terms are computed once, so each test is a few
    /// multiplications.
    pub fn guide(&self, x1: &[Point], x2: &[Point], max_error: f64) -> Guide {
        let limit = max_error * max_error;
        let h = |x: &Point| Vector3::new(x[0], x[1], 1.0);
        if self.kind == PairKind::PlanarOrPanoramic {
            let hm = matrix(&self.h);
            let mapped = x1
                .iter()
                .map(|x| {
                    let p = hm * h(x);
                    [p.x / p.z, p.y / p.z]
                })
                .collect();
            return Guide::Homography { mapped, x2: x2.to_vec(), limit };
        }
        let f = matrix(&self.f);
        let lines1: Vec<Vector3<f64>> = x1.iter().map(|x| f * h(x)).collect();
        let lines2: Vec<Vector3<f64>> = x2.iter().map(|x| f.transpose() * h(x)).collect();
        Guide::Epipolar { lines1, lines2, x2: x2.to_vec(), limit }
    }
}

/// Precomputed terms of the guided-matching test of a geometry.
#[derive(Debug, Clone)]
pub enum Guide {
    /// Sampson error under a fundamental matrix: `F x1` and `Fᵀ x2`.
    Epipolar {
        /// `F x1` for every point of the first photo.
        lines1: Vec<Vector3<f64>>,
        /// `Fᵀ x2` for every point of the second photo.
        lines2: Vec<Vector3<f64>>,
        /// Points of the second photo.
        x2: Vec<Point>,
        /// Largest squared error.
        limit: f64,
    },
    /// Transfer error under a homography: `H x1`, dehomogenised.
    Homography {
        /// `H x1` for every point of the first photo.
        mapped: Vec<Point>,
        /// Points of the second photo.
        x2: Vec<Point>,
        /// Largest squared error.
        limit: f64,
    },
}

impl Guide {
    /// Appends to `out` the features of the second photo (bucketed in
    /// `grid`) that may satisfy the test for feature `i` of the first: a
    /// band around its epipolar line three times as wide as the error
    /// allowed (the Sampson error is about the line distance over √2), or
    /// a disc around its mapped position.
    pub fn candidates(&self, i: usize, grid: &Grid, out: &mut Vec<usize>) {
        match self {
            Guide::Epipolar { lines1, limit, .. } => grid.near_line(&lines1[i], 3.0 * limit.sqrt(), out),
            Guide::Homography { mapped, limit, .. } => grid.near_point(&mapped[i], limit.sqrt(), out),
        }
    }

    /// Whether feature `i` of the first photo may match feature `j` of the
    /// second.
    pub fn allows(&self, i: usize, j: usize) -> bool {
        match self {
            Guide::Epipolar { lines1, lines2, x2, limit } => {
                let (l, m, b) = (&lines1[i], &lines2[j], &x2[j]);
                let residual = l.x * b[0] + l.y * b[1] + l.z;
                let denominator = l.x * l.x + l.y * l.y + m.x * m.x + m.y * m.y;
                residual * residual <= limit * denominator
            }
            Guide::Homography { mapped, x2, limit } => {
                let (p, b) = (&mapped[i], &x2[j]);
                (p[0] - b[0]).powi(2) + (p[1] - b[1]).powi(2) <= *limit
            }
        }
    }
}

/// Row-major array of a matrix.
fn rows(m: &Matrix3<f64>) -> [[f64; 3]; 3] {
    [[m[(0, 0)], m[(0, 1)], m[(0, 2)]], [m[(1, 0)], m[(1, 1)], m[(1, 2)]], [m[(2, 0)], m[(2, 1)], m[(2, 2)]]]
}

/// Matrix of a row-major array.
fn matrix(r: &[[f64; 3]; 3]) -> Matrix3<f64> {
    Matrix3::from_fn(|i, j| r[i][j])
}

/// Normalised coordinates `K⁻¹ x`.
fn normalised(k: &Intrinsics, x: &Point) -> Point {
    [(x[0] - k.cx) / k.focal, (x[1] - k.cy) / k.focal]
}

/// Indices where the mask is set.
fn selected(mask: &[bool]) -> Vec<usize> {
    mask.iter().enumerate().filter(|(_, in_)| **in_).map(|(i, _)| i).collect()
}

/// Verifies `matches` between points `x1` and `x2` (pixels of each photo)
/// of cameras `k1` and `k2`. Returns `None` below `min_inliers` matches.
pub fn verify_pair(
    (k1, x1): (&Intrinsics, &[Point]),
    (k2, x2): (&Intrinsics, &[Point]),
    matches: &[Match],
    options: &VerifyOptions,
    seed: u64,
) -> Option<TwoViewGeometry> {
    if matches.len() < options.min_inliers {
        return None;
    }
    let a: Vec<Point> = matches.iter().map(|&(i, _)| x1[i as usize]).collect();
    let b: Vec<Point> = matches.iter().map(|&(_, j)| x2[j as usize]).collect();
    let na: Vec<Point> = a.iter().map(|x| normalised(k1, x)).collect();
    let nb: Vec<Point> = b.iter().map(|x| normalised(k2, x)).collect();
    // E and F matter from the fewest inliers that verify the pair, H from
    // the share of those that would call it planar: searching longer for
    // models with fewer inliers cannot change the outcome.
    let fewest = options.min_inliers.max((options.min_inlier_ratio * matches.len() as f64).ceil() as usize);
    let fewest_ratio = fewest as f64 / matches.len() as f64;
    let ransac = RansacOptions {
        max_error: options.max_error,
        seed,
        min_inlier_ratio: fewest_ratio,
        ..RansacOptions::default()
    };
    let planar_ransac = RansacOptions { min_inlier_ratio: options.max_h_ratio * fewest_ratio, ..ransac };
    let pixels = Correspondences { x1: &a, x2: &b };
    let essential =
        EssentialEstimator { points: Correspondences { x1: &na, x2: &nb }, focal: (k1.focal + k2.focal) / 2.0 };
    let e = msac(&essential, &ransac);
    let f = msac(&FundamentalEstimator(pixels), &ransac)?;
    let h = msac(&HomographyEstimator(pixels), &planar_ransac);
    let count = |estimate: &Option<Estimate<Matrix3<f64>>>| estimate.as_ref().map_or(0, |e| e.inlier_count);
    let (e_count, f_count, h_count) = (count(&e), f.inlier_count, count(&h));
    // A model explaining only a small share of the matches fits
    // repeated structure or chance, not the scene.
    let enough = |n: usize| n >= fewest;
    let h_matrix = h.as_ref().map_or_else(Matrix3::identity, |h| h.model);
    let k1m = k1.matrix();
    let k2m = k2.matrix();

    let mut geometry = TwoViewGeometry {
        kind: PairKind::Degenerate,
        inliers: Vec::new(),
        f: rows(&f.model),
        e: None,
        h: rows(&h_matrix),
        rotation: None,
        translation: None,
    };
    let mut mask: &[bool];
    if e_count as f64 >= options.min_e_f_ratio * f_count as f64 && enough(e_count) {
        let e = e.as_ref()?;
        let inliers = selected(&e.inliers);
        let (p1, p2): (Vec<Point>, Vec<Point>) = inliers.iter().map(|&i| (na[i], nb[i])).unzip();
        if let Some((r, t, _)) = recover_pose(&e.model, &p1, &p2) {
            let q = UnitQuaternion::from_rotation_matrix(&r);
            geometry.rotation = Some([q.w, q.i, q.j, q.k]);
            geometry.translation = Some([t.x, t.y, t.z]);
        }
        geometry.e = Some(rows(&e.model));
        // The pixel fundamental matrix of the essential one.
        let f_of_e = k2m.try_inverse()?.transpose() * e.model * k1m.try_inverse()?;
        geometry.f = rows(&f_of_e);
        let planar = h_count as f64 > options.max_h_ratio * e_count as f64;
        geometry.kind = if planar { PairKind::PlanarOrPanoramic } else { PairKind::Calibrated };
        mask = &e.inliers;
    } else if enough(f_count) {
        let planar = h_count as f64 > options.max_h_ratio * f_count as f64;
        geometry.kind = if planar { PairKind::PlanarOrPanoramic } else { PairKind::Uncalibrated };
        mask = &f.inliers;
    } else {
        return Some(geometry);
    }
    if geometry.kind == PairKind::PlanarOrPanoramic && h_count > mask.iter().filter(|m| **m).count() {
        mask = &h.as_ref()?.inliers;
    }
    geometry.inliers = matches.iter().zip(mask).filter(|(_, in_)| **in_).map(|(m, _)| *m).collect();
    Some(geometry)
}
