//! The two-view models as [`Estimator`]s for robust estimation: minimal
//! samples go to the minimal solvers, larger inlier sets to linear least
//! squares.

use nalgebra::{Matrix3, Vector3};

use crate::fivepoint::essential_5point;
use crate::ransac::Estimator;
use crate::twoview::{Point, fundamental_7point, fundamental_8point, homography_4point, sampson_error, transfer_error};

/// Correspondences between two images, the points of each in one slice.
#[derive(Debug, Clone, Copy)]
pub struct Correspondences<'a> {
    /// Points in the first image.
    pub x1: &'a [Point],
    /// Matching points in the second image.
    pub x2: &'a [Point],
}

impl Correspondences<'_> {
    /// The correspondences with these indices, as two vectors.
    fn pick(&self, indices: &[usize]) -> (Vec<Point>, Vec<Point>) {
        indices.iter().map(|&i| (self.x1[i], self.x2[i])).unzip()
    }
}

/// Fundamental matrix, 7 points a sample (up to three solutions), the
/// 8-point least squares on larger sets; Sampson error in pixels squared.
pub struct FundamentalEstimator<'a>(pub Correspondences<'a>);

impl Estimator for FundamentalEstimator<'_> {
    type Model = Matrix3<f64>;
    const SAMPLE_SIZE: usize = 7;
    fn len(&self) -> usize {
        self.0.x1.len()
    }
    fn fit(&self, sample: &[usize]) -> Vec<Matrix3<f64>> {
        let (a, b) = self.0.pick(sample);
        fundamental_7point(&a, &b)
    }
    fn refit(&self, _: &Matrix3<f64>, inliers: &[usize]) -> Option<Matrix3<f64>> {
        let (a, b) = self.0.pick(inliers);
        fundamental_8point(&a, &b)
    }
    fn error(&self, f: &Matrix3<f64>, i: usize) -> f64 {
        sampson_error(f, &self.0.x1[i], &self.0.x2[i])
    }
}

/// Homography, 4 points a sample, transfer error in pixels squared.
pub struct HomographyEstimator<'a>(pub Correspondences<'a>);

impl Estimator for HomographyEstimator<'_> {
    type Model = Matrix3<f64>;
    const SAMPLE_SIZE: usize = 4;
    fn len(&self) -> usize {
        self.0.x1.len()
    }
    fn fit(&self, sample: &[usize]) -> Vec<Matrix3<f64>> {
        let (a, b) = self.0.pick(sample);
        homography_4point(&a, &b).into_iter().collect()
    }
    fn refit(&self, _: &Matrix3<f64>, inliers: &[usize]) -> Option<Matrix3<f64>> {
        let (a, b) = self.0.pick(inliers);
        homography_4point(&a, &b)
    }
    fn error(&self, h: &Matrix3<f64>, i: usize) -> f64 {
        transfer_error(h, &self.0.x1[i], &self.0.x2[i])
    }
}

/// Essential matrix from normalised coordinates, 5 points a sample; the
/// Sampson error is scaled by `focal` squared so thresholds stay in pixels.
pub struct EssentialEstimator<'a> {
    /// Normalised coordinates (`K⁻¹ x`).
    pub points: Correspondences<'a>,
    /// Focal length in pixels, to express errors in pixels.
    pub focal: f64,
}

impl Estimator for EssentialEstimator<'_> {
    type Model = Matrix3<f64>;
    const SAMPLE_SIZE: usize = 5;
    fn len(&self) -> usize {
        self.points.x1.len()
    }
    fn fit(&self, sample: &[usize]) -> Vec<Matrix3<f64>> {
        let (a, b) = self.points.pick(sample);
        essential_5point(&a, &b)
    }
    /// The 8-point solution, projected to an essential matrix (two equal
    /// singular values, the third zero).
    fn refit(&self, _: &Matrix3<f64>, inliers: &[usize]) -> Option<Matrix3<f64>> {
        let (a, b) = self.points.pick(inliers);
        let svd = fundamental_8point(&a, &b)?.svd(true, true);
        let s = (svd.singular_values[0] + svd.singular_values[1]) / 2.0;
        Some(svd.u? * Matrix3::from_diagonal(&Vector3::new(s, s, 0.0)) * svd.v_t?)
    }
    fn error(&self, e: &Matrix3<f64>, i: usize) -> f64 {
        sampson_error(e, &self.points.x1[i], &self.points.x2[i]) * self.focal * self.focal
    }
}
