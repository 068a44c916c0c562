//! The focal length of a camera without a prior (photos with no usable
//! EXIF), from the fundamental matrices of pairs of its photos. With the
//! right focal length f and principal point, `K(f)ᵀ F K(f)` is an
//! essential matrix, whose two non-zero singular values are equal
//! (Hartley's self-calibration criterion): the focal length where the
//! pairs' singular values agree best is the camera's. Guessed at COLMAP's
//! 1.2 times the longer side instead, a wide pair of a phone or a 35 mm
//! lens fits a fundamental matrix better than an essential one, and
//! cannot start or extend a model (Herz-Jesus-P8's every third photo).
//!
//! Where the optical axes of all photos meet in one point, or the camera
//! only slides sideways, every focal length fits: the search then finds
//! no clear minimum and leaves the guess to bundle adjustment.

use nalgebra::Matrix3;

/// Focal lengths searched, as multiples of the photo's longer side: from
/// a fisheye's field of view to a long telephoto's.
const SEARCH: (f64, f64) = (0.3, 3.0);
/// Focal lengths sampled over `SEARCH`, evenly in their logarithm (4 %
/// apart), before the best is refined.
const SAMPLES: usize = 64;
/// Largest asymmetry a pair may keep at its own best focal length and
/// still count: a fundamental matrix that no focal length with this
/// principal point makes essential was fitted to a near-planar scene or
/// to matches on a few lines, and says nothing about the focal length.
const MAX_PAIR_ASYMMETRY: f64 = 0.05;
/// A focal length a quarter longer or shorter than the best must leave the
/// pairs at least this many times as asymmetric, or the minimum is too
/// flat to trust (a degenerate layout of the photos).
const MIN_SHARPNESS: f64 = 2.0;
/// ... and at least this asymmetric on average (above the noise of the
/// fitted matrices).
const MIN_FLANK_ASYMMETRY: f64 = 0.005;
/// Golden-section steps refining the best sample (to 0.01 % of the focal
/// length).
const REFINE_STEPS: usize = 30;

/// A pair's fundamental matrix (pixels of a photo of the camera to pixels
/// of another) and the weight of its say, such as its inlier count.
#[derive(Debug, Clone, Copy)]
pub struct WeightedFundamental {
    /// x2ᵀ F x1 = 0.
    pub f: Matrix3<f64>,
    /// Its weight.
    pub weight: f64,
}

/// How far `K(focal)ᵀ F K(focal)` is from an essential matrix: the
/// difference of its two largest singular values over their sum (0 for an
/// essential matrix, 1 at most).
fn asymmetry(f: &Matrix3<f64>, focal: f64, principal: [f64; 2]) -> f64 {
    let k = Matrix3::new(focal, 0.0, principal[0], 0.0, focal, principal[1], 0.0, 0.0, 1.0);
    let mut s: Vec<f64> = (k.transpose() * f * k).singular_values().iter().copied().collect();
    s.sort_by(|a, b| b.total_cmp(a));
    if s[0] + s[1] <= 0.0 { 1.0 } else { (s[0] - s[1]) / (s[0] + s[1]) }
}

/// The focal length (pixels) that makes the fundamental matrices of
/// `pairs` most nearly essential, for photos of a camera with this
/// principal point and `long_side` (pixels); `None` when the pairs do not
/// fix it: none consistent with the principal point, the best at the edge
/// of the search, or a minimum too flat to trust (see the module notes).
pub fn focal_from_pairs(pairs: &[WeightedFundamental], principal: [f64; 2], long_side: f64) -> Option<f64> {
    let (low, high) = (SEARCH.0.ln(), SEARCH.1.ln());
    let focal_at = |k: usize| long_side * (low + (high - low) * k as f64 / (SAMPLES - 1) as f64).exp();
    let focals: Vec<f64> = (0..SAMPLES).map(focal_at).collect();
    // Each pair's asymmetry at the sampled focal lengths.
    let (consistent, curves): (Vec<&WeightedFundamental>, Vec<Vec<f64>>) = pairs
        .iter()
        .filter(|p| p.weight > 0.0)
        .map(|p| (p, focals.iter().map(|&focal| asymmetry(&p.f, focal, principal)).collect::<Vec<f64>>()))
        .filter(|(_, curve)| curve.iter().any(|&a| a < MAX_PAIR_ASYMMETRY))
        .unzip();
    let total_weight: f64 = consistent.iter().map(|p| p.weight).sum();
    if consistent.is_empty() || total_weight <= 0.0 {
        return None;
    }
    // The weighted mean asymmetry of the consistent pairs.
    let cost = |focal: f64| {
        consistent.iter().map(|p| p.weight * asymmetry(&p.f, focal, principal)).sum::<f64>() / total_weight
    };
    let costs: Vec<f64> = (0..SAMPLES)
        .map(|k| consistent.iter().zip(&curves).map(|(p, curve)| p.weight * curve[k]).sum::<f64>() / total_weight)
        .collect();
    let best = (0..SAMPLES).min_by(|&a, &b| costs[a].total_cmp(&costs[b]))?;
    if best == 0 || best == SAMPLES - 1 {
        return None;
    }
    let focal = golden_section(|log_focal| cost(log_focal.exp()), focals[best - 1].ln(), focals[best + 1].ln()).exp();
    let minimum = cost(focal);
    let flanks = [cost(focal / 1.25), cost(focal * 1.25)];
    flanks.iter().all(|&flank| flank > MIN_SHARPNESS * minimum && flank > MIN_FLANK_ASYMMETRY).then_some(focal)
}

/// The minimum of a unimodal `f` on `[a, b]` by golden-section search.
fn golden_section(f: impl Fn(f64) -> f64, mut a: f64, mut b: f64) -> f64 {
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    let mut c = b - ratio * (b - a);
    let mut d = a + ratio * (b - a);
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..REFINE_STEPS {
        if fc < fd {
            (b, d, fd) = (d, c, fc);
            c = b - ratio * (b - a);
            fc = f(c);
        } else {
            (a, c, fc) = (c, d, fd);
            d = a + ratio * (b - a);
            fd = f(d);
        }
    }
    (a + b) / 2.0
}

#[cfg(test)]
mod tests {
    use nalgebra::{Rotation3, Vector3};

    use super::*;

    const PRINCIPAL: [f64; 2] = [1536.0, 1024.0];
    const LONG: f64 = 3072.0;

    /// The fundamental matrix of two photos of a camera with focal length
    /// `focal`: the second at rotation `r` and translation `t`.
    fn fundamental(focal: f64, r: Rotation3<f64>, t: Vector3<f64>) -> Matrix3<f64> {
        let k = Matrix3::new(focal, 0.0, PRINCIPAL[0], 0.0, focal, PRINCIPAL[1], 0.0, 0.0, 1.0);
        let k_inv = k.try_inverse().unwrap();
        let e = t.cross_matrix() * r.matrix();
        k_inv.transpose() * e * k_inv
    }

    fn weighted(f: Matrix3<f64>) -> WeightedFundamental {
        WeightedFundamental { f, weight: 1.0 }
    }

    #[test]
    fn the_focal_length_of_photos_turned_every_way_is_found() {
        let pairs = [
            weighted(fundamental(2760.0, Rotation3::from_euler_angles(0.1, 0.3, 0.02), Vector3::new(-1.0, 0.1, 0.2))),
            weighted(fundamental(2760.0, Rotation3::from_euler_angles(-0.05, -0.4, 0.1), Vector3::new(0.9, -0.2, 0.3))),
        ];
        let focal = focal_from_pairs(&pairs, PRINCIPAL, LONG).expect("a clear minimum");
        assert!((focal / 2760.0 - 1.0).abs() < 1e-3, "{focal}");
    }

    #[test]
    fn a_pair_inconsistent_with_the_principal_point_has_no_say() {
        let good =
            weighted(fundamental(1800.0, Rotation3::from_euler_angles(0.1, 0.3, 0.02), Vector3::new(-1.0, 0.1, 0.2)));
        // A rank-2 matrix that no focal length makes essential.
        let bad = WeightedFundamental { f: Matrix3::new(1.0, 0.0, 0.0, 0.0, 0.01, 0.0, 0.0, 0.0, 0.0), weight: 10.0 };
        let focal = focal_from_pairs(&[good, bad], PRINCIPAL, LONG).expect("the good pair decides");
        assert!((focal / 1800.0 - 1.0).abs() < 1e-3, "{focal}");
        assert_eq!(focal_from_pairs(&[bad], PRINCIPAL, LONG), None);
    }

    #[test]
    fn photos_whose_optical_axes_meet_leave_the_focal_length_open() {
        // Level photos on a circle, all looking at its centre: every focal
        // length explains their pairs.
        let photo = |angle: f64| {
            let r = Rotation3::from_euler_angles(0.0, angle, 0.0);
            (r, Vector3::new(0.0, 0.0, 10.0))
        };
        let pairs: Vec<WeightedFundamental> = [(0.0, 0.3), (0.3, 0.6), (0.0, 0.6)]
            .iter()
            .map(|&(a, b)| {
                let ((ra, ta), (rb, tb)) = (photo(a), photo(b));
                let r = rb * ra.inverse();
                weighted(fundamental(2760.0, r, tb - r * ta))
            })
            .collect();
        assert_eq!(focal_from_pairs(&pairs, PRINCIPAL, LONG), None);
        // Sliding sideways, looking straight ahead, too.
        let sideways = weighted(fundamental(2760.0, Rotation3::identity(), Vector3::new(1.0, 0.0, 0.0)));
        assert_eq!(focal_from_pairs(&[sideways], PRINCIPAL, LONG), None);
    }
}
