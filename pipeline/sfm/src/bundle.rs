//! Bundle adjustment: Levenberg-Marquardt over camera poses, intrinsics
//! (focal length and radial k1, k2 per camera; the principal point stays
//! fixed) and 3D points, with analytic Jacobians, the Schur complement on
//! the points (each point's 3x3 block is inverted on its own, so the
//! system to solve has only the camera parameters), and a Huber loss.
//!
//! The camera model is COLMAP's RADIAL: `x = f d(r²) (X/Z, Y/Z) + c` with
//! `d = 1 + k1 r² + k2 r⁴`. Rotations are updated on the left,
//! `R ← exp([ω]ₓ) R`.

use nalgebra::{DMatrix, DVector, Matrix2x3, Matrix3, Rotation3, SMatrix, Vector2, Vector3};
use rayon::prelude::*;

/// Intrinsics of one camera (RADIAL).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BaCamera {
    /// Focal length in pixels.
    pub focal: f64,
    /// Principal point x (fixed).
    pub cx: f64,
    /// Principal point y (fixed).
    pub cy: f64,
    /// First radial coefficient.
    pub k1: f64,
    /// Second radial coefficient.
    pub k2: f64,
}

/// One image: world-to-camera pose and its camera.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BaImage {
    /// Rotation world to camera.
    pub rotation: Rotation3<f64>,
    /// Translation world to camera.
    pub translation: Vector3<f64>,
    /// Index of its camera.
    pub camera: usize,
}

/// A point seen at pixel `xy` in an image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// Index of the image.
    pub image: usize,
    /// Index of the 3D point.
    pub point: usize,
    /// Measured pixel position.
    pub xy: [f64; 2],
}

/// A bundle adjustment problem; adjusting changes it in place.
#[derive(Debug, Clone)]
pub struct Problem {
    /// Cameras (intrinsics).
    pub cameras: Vec<BaCamera>,
    /// Images (poses).
    pub images: Vec<BaImage>,
    /// 3D points.
    pub points: Vec<Vector3<f64>>,
    /// Observations of points in images.
    pub observations: Vec<Observation>,
}

/// Settings of an adjustment.
#[derive(Debug, Clone)]
pub struct BaOptions {
    /// Most Levenberg-Marquardt iterations.
    pub max_iterations: usize,
    /// Residuals (pixels) beyond this count linearly (Huber); `None`: squares.
    pub huber: Option<f64>,
    /// Refine focal length and k1, k2 of every camera.
    pub refine_intrinsics: bool,
    /// Images whose pose stays fixed (at least one, to hold the frame).
    pub fixed_images: Vec<usize>,
    /// Stop when the cost falls by less than this share in an iteration.
    pub tolerance: f64,
}

impl Default for BaOptions {
    fn default() -> BaOptions {
        BaOptions {
            max_iterations: 50,
            huber: Some(4.0),
            refine_intrinsics: true,
            fixed_images: vec![0],
            tolerance: 1e-10,
        }
    }
}

/// What an adjustment did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BaReport {
    /// Iterations run.
    pub iterations: usize,
    /// Robust cost before.
    pub initial_cost: f64,
    /// Robust cost after.
    pub final_cost: f64,
    /// Root mean square reprojection error after, in pixels.
    pub rms_error: f64,
}

/// Parameters of a pose (ω, t) and of intrinsics (f, k1, k2).
const POSE: usize = 6;
const INTRINSICS: usize = 3;

/// Where each image's and camera's parameters sit in the reduced system.
struct Layout {
    pose: Vec<Option<usize>>,
    intrinsics: Vec<Option<usize>>,
    size: usize,
}

impl Layout {
    fn new(problem: &Problem, options: &BaOptions) -> Layout {
        let mut size = 0;
        let pose = (0..problem.images.len())
            .map(|i| {
                (!options.fixed_images.contains(&i)).then(|| {
                    size += POSE;
                    size - POSE
                })
            })
            .collect();
        let intrinsics = (0..problem.cameras.len())
            .map(|_| {
                options.refine_intrinsics.then(|| {
                    size += INTRINSICS;
                    size - INTRINSICS
                })
            })
            .collect();
        Layout { pose, intrinsics, size }
    }
}

/// One observation linearised: residual (predicted minus measured) and
/// Jacobians with respect to the pose (ω, t), the intrinsics (f, k1, k2)
/// and the point.
struct Linearised {
    residual: Vector2<f64>,
    d_pose: SMatrix<f64, 2, 6>,
    d_intrinsics: Matrix2x3<f64>,
    d_point: Matrix2x3<f64>,
}

/// What one point contributes: its 3x3 block `V`, its gradient and, per
/// observation, the camera-by-point block `W` (pose then intrinsics rows).
struct PointTerms {
    v: Matrix3<f64>,
    gradient: Vector3<f64>,
    w: Vec<(usize, SMatrix<f64, 9, 3>)>,
}

/// Rows of the stacked camera Jacobian that a block kind owns: pose (0)
/// or intrinsics (1).
fn span(kind: usize) -> (usize, usize) {
    if kind == 0 { (0, POSE) } else { (POSE, INTRINSICS) }
}

/// Linearises one observation; `None` if the point is behind the camera.
fn linearise(camera: &BaCamera, image: &BaImage, point: &Vector3<f64>, xy: &[f64; 2]) -> Option<Linearised> {
    let rotated = image.rotation * point;
    let p = rotated + image.translation;
    if p.z <= 1e-9 {
        return None;
    }
    let (u, v) = (p.x / p.z, p.y / p.z);
    let r2 = u * u + v * v;
    let d = 1.0 + camera.k1 * r2 + camera.k2 * r2 * r2;
    let predicted = Vector2::new(camera.focal * d * u + camera.cx, camera.focal * d * v + camera.cy);
    let residual = predicted - Vector2::new(xy[0], xy[1]);
    // d(pixel)/d(u, v).
    let dd = 2.0 * (camera.k1 + 2.0 * camera.k2 * r2);
    let f = camera.focal;
    let d_uv = nalgebra::Matrix2::new(f * (d + u * u * dd), f * u * v * dd, f * u * v * dd, f * (d + v * v * dd));
    // d(u, v)/d(p).
    let d_p = Matrix2x3::new(1.0 / p.z, 0.0, -p.x / (p.z * p.z), 0.0, 1.0 / p.z, -p.y / (p.z * p.z));
    let d_pixel_d_p = d_uv * d_p;
    // p = exp([ω]ₓ) R X + t: dp/dω = -[R X]ₓ, dp/dt = I, dp/dX = R.
    let skew = -crate::pose::skew(&rotated);
    let mut d_pose = SMatrix::<f64, 2, 6>::zeros();
    d_pose.fixed_view_mut::<2, 3>(0, 0).copy_from(&(d_pixel_d_p * skew));
    d_pose.fixed_view_mut::<2, 3>(0, 3).copy_from(&d_pixel_d_p);
    let d_intrinsics = Matrix2x3::new(d * u, f * r2 * u, f * r2 * r2 * u, d * v, f * r2 * v, f * r2 * r2 * v);
    let d_point = d_pixel_d_p * image.rotation.matrix();
    Some(Linearised { residual, d_pose, d_intrinsics, d_point })
}

/// Huber weight and robust cost of a residual of squared length `s`.
fn robust(s: f64, huber: Option<f64>) -> (f64, f64) {
    match huber {
        Some(delta) if s > delta * delta => {
            let r = s.sqrt();
            (delta / r, 2.0 * delta * r - delta * delta)
        }
        _ => (1.0, s),
    }
}

/// Robust cost and squared error sum of the whole problem.
fn cost(problem: &Problem, huber: Option<f64>) -> (f64, f64) {
    problem
        .observations
        .par_iter()
        .map(|o| {
            let image = &problem.images[o.image];
            match linearise(&problem.cameras[image.camera], image, &problem.points[o.point], &o.xy) {
                Some(l) => {
                    let s = l.residual.norm_squared();
                    (robust(s, huber).1, s)
                }
                None => (1e6, 1e6),
            }
        })
        .reduce(|| (0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1))
}

/// Camera-side Jacobian columns of one observation: (offset, column block).
fn camera_blocks(layout: &Layout, problem: &Problem, o: &Observation) -> Vec<(usize, usize)> {
    let mut blocks = Vec::with_capacity(2);
    if let Some(at) = layout.pose[o.image] {
        blocks.push((at, 0));
    }
    if let Some(at) = layout.intrinsics[problem.images[o.image].camera] {
        blocks.push((at, 1));
    }
    blocks
}

/// Adjusts `problem` in place.
pub fn adjust(problem: &mut Problem, options: &BaOptions) -> BaReport {
    let layout = Layout::new(problem, options);
    let n_points = problem.points.len();
    let mut by_point: Vec<Vec<usize>> = vec![Vec::new(); n_points];
    for (k, o) in problem.observations.iter().enumerate() {
        by_point[o.point].push(k);
    }
    let (initial_cost, _) = cost(problem, options.huber);
    let mut current = initial_cost;
    let mut lambda = 1e-4;
    let mut iterations = 0;
    for _ in 0..options.max_iterations {
        iterations += 1;
        // Per point: V, g_p and the W blocks; all camera-side terms go
        // into the dense reduced system S δc = b.
        let mut s = DMatrix::<f64>::zeros(layout.size, layout.size);
        let mut b = DVector::<f64>::zeros(layout.size);
        let mut point_terms: Vec<PointTerms> = Vec::with_capacity(n_points);
        for (j, observations) in by_point.iter().enumerate() {
            let mut v = Matrix3::zeros();
            let mut g_p = Vector3::zeros();
            let mut w_blocks: Vec<(usize, SMatrix<f64, 9, 3>)> = Vec::new();
            for &k in observations {
                let o = &problem.observations[k];
                let image = &problem.images[o.image];
                let Some(Linearised { residual: r, d_pose: j_pose, d_intrinsics: j_intr, d_point: j_point }) =
                    linearise(&problem.cameras[image.camera], image, &problem.points[j], &o.xy)
                else {
                    continue;
                };
                let (w, _) = robust(r.norm_squared(), options.huber);
                v += w * j_point.transpose() * j_point;
                g_p += w * j_point.transpose() * r;
                // The observation's camera-side Jacobian, stacked pose then
                // intrinsics (9 columns), with the offsets it owns.
                let mut j_cam = SMatrix::<f64, 2, 9>::zeros();
                j_cam.fixed_view_mut::<2, 6>(0, 0).copy_from(&j_pose);
                j_cam.fixed_view_mut::<2, 3>(0, 6).copy_from(&j_intr);
                let blocks = camera_blocks(&layout, problem, o);
                let u_local = w * j_cam.transpose() * j_cam;
                let g_local = w * j_cam.transpose() * r;
                for &(at_a, kind_a) in &blocks {
                    let (ra, na) = span(kind_a);
                    for i in 0..na {
                        b[at_a + i] -= g_local[ra + i];
                    }
                    for &(at_b, kind_b) in &blocks {
                        let (rb, nb) = span(kind_b);
                        for i in 0..na {
                            for jj in 0..nb {
                                s[(at_a + i, at_b + jj)] += u_local[(ra + i, rb + jj)];
                            }
                        }
                    }
                }
                w_blocks.push((k, w * j_cam.transpose() * j_point));
            }
            point_terms.push(PointTerms { v, gradient: g_p, w: w_blocks });
        }
        // Damping (Marquardt: scaled by the diagonal) on both sides.
        for i in 0..layout.size {
            s[(i, i)] *= 1.0 + lambda;
            s[(i, i)] += 1e-12;
        }
        let mut v_inverses = Vec::with_capacity(n_points);
        for PointTerms { v, gradient: g_p, w: w_blocks } in &point_terms {
            let mut v = *v;
            for i in 0..3 {
                v[(i, i)] = v[(i, i)] * (1.0 + lambda) + 1e-12;
            }
            let v_inv = v.try_inverse().unwrap_or_else(Matrix3::zeros);
            // S -= W V⁻¹ Wᵀ and b -= W V⁻¹ (-g_p), pair by pair.
            for (ka, wa) in w_blocks {
                let oa = &problem.observations[*ka];
                let left = wa * v_inv;
                let blocks_a = camera_blocks(&layout, problem, oa);
                let correction = left * (-g_p);
                for &(at_a, kind_a) in &blocks_a {
                    let (ra, na) = span(kind_a);
                    for i in 0..na {
                        b[at_a + i] -= correction[ra + i];
                    }
                }
                for (kb, wb) in w_blocks {
                    let ob = &problem.observations[*kb];
                    let product = left * wb.transpose();
                    for &(at_a, kind_a) in &blocks_a {
                        let (ra, na) = span(kind_a);
                        for &(at_b, kind_b) in &camera_blocks(&layout, problem, ob) {
                            let (rb, nb) = span(kind_b);
                            for i in 0..na {
                                for jj in 0..nb {
                                    s[(at_a + i, at_b + jj)] -= product[(ra + i, rb + jj)];
                                }
                            }
                        }
                    }
                }
            }
            v_inverses.push(v_inv);
        }
        let Some(delta_c) = s.cholesky().map(|c| c.solve(&b)) else {
            lambda *= 10.0;
            continue;
        };
        // Back-substitute the points: δp = V⁻¹ (-g_p - Wᵀ δc).
        let mut candidate = problem.clone();
        for (j, terms) in point_terms.iter().enumerate() {
            let mut rhs = -terms.gradient;
            for (k, w) in &terms.w {
                let o = &problem.observations[*k];
                for &(at, kind) in &camera_blocks(&layout, problem, o) {
                    let (r0, n) = span(kind);
                    for i in 0..n {
                        rhs -= w.row(r0 + i).transpose() * delta_c[at + i];
                    }
                }
            }
            candidate.points[j] += v_inverses[j] * rhs;
        }
        for (i, image) in candidate.images.iter_mut().enumerate() {
            if let Some(at) = layout.pose[i] {
                let omega = Vector3::new(delta_c[at], delta_c[at + 1], delta_c[at + 2]);
                image.rotation = Rotation3::new(omega) * image.rotation;
                image.translation += Vector3::new(delta_c[at + 3], delta_c[at + 4], delta_c[at + 5]);
            }
        }
        for (c, camera) in candidate.cameras.iter_mut().enumerate() {
            if let Some(at) = layout.intrinsics[c] {
                camera.focal += delta_c[at];
                camera.k1 += delta_c[at + 1];
                camera.k2 += delta_c[at + 2];
            }
        }
        let (new_cost, _) = cost(&candidate, options.huber);
        if new_cost < current {
            let gain = (current - new_cost) / current.max(f64::MIN_POSITIVE);
            *problem = candidate;
            current = new_cost;
            lambda = (lambda / 3.0).max(1e-12);
            if gain < options.tolerance {
                break;
            }
        } else {
            lambda *= 4.0;
            if lambda > 1e12 {
                break;
            }
        }
    }
    let (_, squared) = cost(problem, options.huber);
    BaReport {
        iterations,
        initial_cost,
        final_cost: current,
        rms_error: (squared / problem.observations.len().max(1) as f64).sqrt(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobians_match_finite_differences() {
        let camera = BaCamera { focal: 800.0, cx: 320.0, cy: 240.0, k1: -0.1, k2: 0.03 };
        let image = BaImage {
            rotation: Rotation3::from_euler_angles(0.1, -0.2, 0.3),
            translation: Vector3::new(0.3, -0.1, 4.0),
            camera: 0,
        };
        let point = Vector3::new(0.5, -0.4, 1.0);
        let xy = [0.0, 0.0];
        let Linearised { residual: r, d_pose, d_intrinsics: d_intr, d_point } =
            linearise(&camera, &image, &point, &xy).unwrap();
        let h = 1e-6;
        for k in 0..6 {
            let mut moved = image;
            let mut e = Vector3::zeros();
            if k < 3 {
                e[k] = h;
                moved.rotation = Rotation3::new(e) * image.rotation;
            } else {
                e[k - 3] = h;
                moved.translation += e;
            }
            let numeric = (linearise(&camera, &moved, &point, &xy).unwrap().residual - r) / h;
            assert!(
                (numeric - d_pose.column(k)).norm() < 1e-3 * (1.0 + numeric.norm()),
                "pose {k}: {numeric} vs {}",
                d_pose.column(k)
            );
        }
        for k in 0..3 {
            let mut moved = camera;
            match k {
                0 => moved.focal += h,
                1 => moved.k1 += h,
                _ => moved.k2 += h,
            }
            let numeric = (linearise(&moved, &image, &point, &xy).unwrap().residual - r) / h;
            assert!((numeric - d_intr.column(k)).norm() < 1e-3 * (1.0 + numeric.norm()), "intrinsics {k}");
            let mut e = Vector3::zeros();
            e[k] = h;
            let numeric = (linearise(&camera, &image, &(point + e), &xy).unwrap().residual - r) / h;
            assert!((numeric - d_point.column(k)).norm() < 1e-3 * (1.0 + numeric.norm()), "point {k}");
        }
    }
}
