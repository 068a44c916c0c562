//! Absolute pose from 2D-3D correspondences: the P3P solver of Grunert
//! (in the form of Haralick et al. 1994: a quartic in the ratio of two
//! depths), absolute orientation of the three camera-frame points, a
//! Gauss-Newton refinement on many points, and the [`Estimator`] that
//! robust estimation draws samples with.

use nalgebra::{Matrix2x3, Matrix3, Matrix6, Rotation3, SMatrix, Vector2, Vector3, Vector6};

use crate::ransac::Estimator;

/// A pose: world-to-camera rotation and translation.
pub type Pose = (Rotation3<f64>, Vector3<f64>);

/// Real roots of `a4 x⁴ + a3 x³ + a2 x² + a1 x + a0` (companion matrix
/// eigenvalues, then two Newton steps each).
fn quartic_roots(a: [f64; 5]) -> Vec<f64> {
    let [a4, a3, a2, a1, a0] = a;
    if a4.abs() < 1e-14 * (a3.abs() + a2.abs() + a1.abs() + a0.abs()).max(1e-300) {
        return crate::twoview::real_cubic_roots(a3, a2, a1, a0);
    }
    let mut companion = nalgebra::Matrix4::zeros();
    companion[(0, 0)] = -a3 / a4;
    companion[(0, 1)] = -a2 / a4;
    companion[(0, 2)] = -a1 / a4;
    companion[(0, 3)] = -a0 / a4;
    companion[(1, 0)] = 1.0;
    companion[(2, 1)] = 1.0;
    companion[(3, 2)] = 1.0;
    if companion.iter().any(|v| !v.is_finite()) {
        return Vec::new();
    }
    let Some(schur) = nalgebra::linalg::Schur::try_new(companion, f64::EPSILON, 500) else { return Vec::new() };
    schur
        .complex_eigenvalues()
        .iter()
        .filter(|z| z.im.abs() <= 1e-3 * z.re.abs().max(1.0))
        .map(|z| {
            let mut x = z.re;
            for _ in 0..2 {
                let f = (((a4 * x + a3) * x + a2) * x + a1) * x + a0;
                let df = ((4.0 * a4 * x + 3.0 * a3) * x + 2.0 * a2) * x + a1;
                if df.abs() > 1e-300 {
                    x -= f / df;
                }
            }
            x
        })
        .collect()
}

/// The rotation and translation with `camera[i] = R world[i] + t` that fit
/// best (Kabsch), for three or more points.
pub fn absolute_orientation(world: &[Vector3<f64>], camera: &[Vector3<f64>]) -> Option<Pose> {
    let n = world.len() as f64;
    let cw = world.iter().sum::<Vector3<f64>>() / n;
    let cc = camera.iter().sum::<Vector3<f64>>() / n;
    let mut h = Matrix3::zeros();
    for (w, c) in world.iter().zip(camera) {
        h += (c - cc) * (w - cw).transpose();
    }
    let svd = h.svd(true, true);
    let (u, v_t) = (svd.u?, svd.v_t?);
    let mut d = Matrix3::identity();
    if (u * v_t).determinant() < 0.0 {
        d[(2, 2)] = -1.0;
    }
    let r = Rotation3::from_matrix_unchecked(u * d * v_t);
    Some((r, cc - r * cw))
}

/// Poses (up to four) that put world points `world` on the unit bearing
/// vectors `bearings` (camera frame, z forward).
pub fn p3p(bearings: &[Vector3<f64>; 3], world: &[Vector3<f64>; 3]) -> Vec<Pose> {
    let [f1, f2, f3] = bearings.map(|b| b.normalize());
    let [p1, p2, p3] = *world;
    let (a2, b2, c2) = ((p2 - p3).norm_squared(), (p1 - p3).norm_squared(), (p1 - p2).norm_squared());
    if b2 < 1e-18 || a2 < 1e-18 || c2 < 1e-18 {
        return Vec::new();
    }
    let (ca, cb, cg) = (f2.dot(&f3), f1.dot(&f3), f1.dot(&f2));
    let q = (a2 - c2) / b2;
    let (ac, ab, cb2) = ((a2 + c2) / b2, a2 / b2, c2 / b2);
    let coefficients = [
        (q - 1.0).powi(2) - 4.0 * cb2 * ca * ca,
        4.0 * (q * (1.0 - q) * cb - (1.0 - ac) * ca * cg + 2.0 * cb2 * ca * ca * cb),
        2.0 * (q * q - 1.0 + 2.0 * q * q * cb * cb + 2.0 * (b2 - c2) / b2 * ca * ca - 4.0 * ac * ca * cb * cg
            + 2.0 * (b2 - a2) / b2 * cg * cg),
        4.0 * (-q * (1.0 + q) * cb + 2.0 * ab * cg * cg * cb - (1.0 - ac) * ca * cg),
        (1.0 + q).powi(2) - 4.0 * ab * cg * cg,
    ];
    let mut poses = Vec::new();
    for v in quartic_roots(coefficients) {
        if v <= 0.0 {
            continue;
        }
        let denominator = 2.0 * (cg - v * ca);
        if denominator.abs() < 1e-12 {
            continue;
        }
        let u = ((-1.0 + q) * v * v - 2.0 * q * cb * v + 1.0 + q) / denominator;
        let s1_squared = b2 / (1.0 + v * v - 2.0 * v * cb);
        if u <= 0.0 || s1_squared <= 0.0 {
            continue;
        }
        let s1 = s1_squared.sqrt();
        let camera = [f1 * s1, f2 * (u * s1), f3 * (v * s1)];
        if let Some(pose) = absolute_orientation(&[p1, p2, p3], &camera) {
            poses.push(pose);
        }
    }
    poses
}

/// Normalised image coordinates of a world point, and their Jacobian with
/// respect to (ω, t) (rotation updated on the left).
fn project_with_jacobian(pose: &Pose, world: &Vector3<f64>) -> Option<(Vector2<f64>, SMatrix<f64, 2, 6>)> {
    let rotated = pose.0 * world;
    let p = rotated + pose.1;
    if p.z <= 1e-9 {
        return None;
    }
    let d_p = Matrix2x3::new(1.0 / p.z, 0.0, -p.x / (p.z * p.z), 0.0, 1.0 / p.z, -p.y / (p.z * p.z));
    let mut j = SMatrix::<f64, 2, 6>::zeros();
    j.fixed_view_mut::<2, 3>(0, 0).copy_from(&(d_p * -crate::pose::skew(&rotated)));
    j.fixed_view_mut::<2, 3>(0, 3).copy_from(&d_p);
    Some((Vector2::new(p.x / p.z, p.y / p.z), j))
}

/// Gauss-Newton (with a little damping) on the pose, minimising the
/// squared normalised reprojection errors of all correspondences.
pub fn refine_pose(pose: Pose, points: &[[f64; 2]], world: &[Vector3<f64>]) -> Pose {
    let mut pose = pose;
    for _ in 0..10 {
        let mut h = Matrix6::zeros();
        let mut g = Vector6::zeros();
        for (x, w) in points.iter().zip(world) {
            let Some((projected, j)) = project_with_jacobian(&pose, w) else { continue };
            let r = projected - Vector2::new(x[0], x[1]);
            h += j.transpose() * j;
            g += j.transpose() * r;
        }
        for i in 0..6 {
            h[(i, i)] *= 1.0 + 1e-6;
        }
        let Some(delta) = h.cholesky().map(|c| c.solve(&(-g))) else { break };
        pose.0 = Rotation3::new(Vector3::new(delta[0], delta[1], delta[2])) * pose.0;
        pose.1 += Vector3::new(delta[3], delta[4], delta[5]);
        if delta.norm() < 1e-12 {
            break;
        }
    }
    pose
}

/// 2D-3D correspondences for robust absolute pose: normalised image points
/// (`K⁻¹ x`) and world points; errors in pixels through `focal`.
pub struct AbsolutePoseEstimator<'a> {
    /// Normalised image coordinates.
    pub points: &'a [[f64; 2]],
    /// The matching world points.
    pub world: &'a [Vector3<f64>],
    /// Focal length in pixels.
    pub focal: f64,
}

impl Estimator for AbsolutePoseEstimator<'_> {
    type Model = Pose;
    const SAMPLE_SIZE: usize = 3;
    fn len(&self) -> usize {
        self.points.len()
    }
    fn fit(&self, sample: &[usize]) -> Vec<Pose> {
        let bearing = |i: usize| Vector3::new(self.points[i][0], self.points[i][1], 1.0).normalize();
        p3p(
            &[bearing(sample[0]), bearing(sample[1]), bearing(sample[2])],
            &[self.world[sample[0]], self.world[sample[1]], self.world[sample[2]]],
        )
    }
    /// Gauss-Newton from `pose` on the inliers.
    fn refit(&self, pose: &Pose, inliers: &[usize]) -> Option<Pose> {
        let (points, world): (Vec<[f64; 2]>, Vec<Vector3<f64>>) =
            inliers.iter().map(|&i| (self.points[i], self.world[i])).unzip();
        Some(refine_pose(*pose, &points, &world))
    }
    fn error(&self, pose: &Pose, i: usize) -> f64 {
        squared(pose, &self.points[i], &self.world[i]) * self.focal * self.focal
    }
}

/// Squared normalised reprojection error (huge behind the camera).
fn squared(pose: &Pose, x: &[f64; 2], world: &Vector3<f64>) -> f64 {
    let p = pose.0 * world + pose.1;
    if p.z <= 1e-9 {
        return f64::MAX / 4.0;
    }
    (p.x / p.z - x[0]).powi(2) + (p.y / p.z - x[1]).powi(2)
}
