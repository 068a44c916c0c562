//! Bundle adjustment: Levenberg-Marquardt over camera poses, intrinsics
//! (focal length and radial k1, k2 per camera; the principal point too
//! when asked) and 3D points, with analytic Jacobians, the Schur complement on
//! the points (each point's 3x3 block is inverted on its own, so the
//! system to solve has only the camera parameters), and a Huber loss;
//! each observation weighted by its precision.
//!
//! The camera model is COLMAP's RADIAL: `x = f d(r²) (X/Z, Y/Z) + c` with
//! `d = 1 + k1 r² + k2 r⁴`. Rotations are updated on the left,
//! `R ← exp([ω]ₓ) R`.

mod direct;
mod iterative;
mod layout;
mod linearisation;
mod projection;

use nalgebra::{Matrix3, Rotation3, Vector2, Vector3};
use rayon::prelude::*;

use direct::{ReducedPattern, factoring_affordable};
use layout::{Layout, gather};
use linearisation::Linearisation;
use projection::{cost, observation_cost, pixel_jacobian, project, robust};

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
    /// How much the residual counts: 1 / the standard deviation of the
    /// measurement relative to the most precise ones (1 for those).
    pub weight: f64,
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
    /// The default, 2 px, is some six times the median error of the
    /// mapper's observations against true cameras: 3-4 % of them lie
    /// further (mismatched or poorly placed features; bench/sparse.sh,
    /// last table), and counted in squares up to the 4 px cut they pulled
    /// the cameras with `K.txt` 0.1-0.2 mm further from the truth.
    pub huber: Option<f64>,
    /// Refine focal length and k1, k2 of every camera.
    pub refine_intrinsics: bool,
    /// Cameras whose principal point is refined too (with
    /// `refine_intrinsics`).
    pub principal_points: Vec<usize>,
    /// Images whose pose stays fixed (at least one, to hold the frame).
    pub fixed_images: Vec<usize>,
    /// Stop when the cost falls by less than this share in an iteration.
    pub tolerance: f64,
    /// Levenberg-Marquardt's first damping, as a share of the diagonal.
    pub initial_damping: f64,
    /// How the reduced camera system is solved.
    pub solver: Solver,
}

impl Default for BaOptions {
    fn default() -> BaOptions {
        BaOptions {
            max_iterations: 50,
            huber: Some(2.0),
            refine_intrinsics: true,
            principal_points: Vec::new(),
            fixed_images: vec![0],
            tolerance: 1e-4,
            initial_damping: 1e-4,
            solver: Solver::Auto,
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

/// How the reduced camera system is solved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Solver {
    /// Direct while the factorisation is affordable, conjugate gradients beyond.
    #[default]
    Auto,
    /// Form the reduced system and factor it (envelope Cholesky after
    /// reverse Cuthill–McKee ordering of the photos).
    Direct,
    /// Conjugate gradients with a block-Jacobi preconditioner, matrix-free.
    Iterative,
}

/// What Levenberg-Marquardt makes of a step.
struct Verdict {
    /// The step lowered the cost: keep it.
    keep: bool,
    /// Stop iterating: the cost fell by less than the tolerance's share,
    /// or the damping grew past any use.
    stop: bool,
}

/// Judges a step from cost `current` to `new` and updates the damping
/// `lambda`: a third after a kept step, four times after a refused one.
fn judge(lambda: &mut f64, current: f64, new: f64, tolerance: f64) -> Verdict {
    if new < current {
        *lambda = (*lambda / 3.0).max(1e-12);
        Verdict { keep: true, stop: (current - new) / current.max(f64::MIN_POSITIVE) < tolerance }
    } else {
        *lambda *= 4.0;
        Verdict { keep: false, stop: *lambda > 1e12 }
    }
}

/// Adjusts each point on its own when every camera parameter is held:
/// the points are then independent, each a problem of three unknowns
/// with its own damping (the joint iteration would take the same steps
/// but accept or refuse them for all points at once).
fn adjust_each_point(problem: &mut Problem, by_point: &[Vec<usize>], options: &BaOptions) -> BaReport {
    let huber = options.huber;
    let estimate = &*problem;
    let cost_at = |p: &Vector3<f64>, ks: &[usize]| -> (f64, f64) {
        ks.iter()
            .map(|&k| observation_cost(estimate, p, &estimate.observations[k], huber))
            .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1))
    };
    let solved: Vec<(Vector3<f64>, usize, f64, f64, f64)> = by_point
        .par_iter()
        .enumerate()
        .map(|(j, ks)| {
            let mut point = estimate.points[j];
            let (initial, initial_squared) = cost_at(&point, ks);
            let (mut current, mut squared, mut lambda, mut iterations) = (initial, initial_squared, 1e-4, 0);
            for _ in 0..options.max_iterations {
                iterations += 1;
                let mut v = Matrix3::zeros();
                let mut gradient = Vector3::zeros();
                for &k in ks {
                    let o = &estimate.observations[k];
                    let image = &estimate.images[o.image];
                    let camera = &estimate.cameras[image.camera];
                    let Some(projected) = project(camera, image, &point) else { continue };
                    let error = projected.pixel - Vector2::new(o.xy[0], o.xy[1]);
                    let root = robust(error.norm_squared(), huber).0.sqrt() * o.weight;
                    let d_point = pixel_jacobian(camera, &projected) * image.rotation.matrix();
                    let (jp, residual) = (d_point * root, error * root);
                    v += jp.transpose() * jp;
                    gradient += jp.transpose() * residual;
                }
                for i in 0..3 {
                    v[(i, i)] = v[(i, i)] * (1.0 + lambda) + 1e-12;
                }
                let Some(inverse) = v.try_inverse() else { break };
                let candidate = point - inverse * gradient;
                let (new_cost, new_squared) = cost_at(&candidate, ks);
                let verdict = judge(&mut lambda, current, new_cost, options.tolerance);
                if verdict.keep {
                    (point, current, squared) = (candidate, new_cost, new_squared);
                }
                if verdict.stop {
                    break;
                }
            }
            (point, iterations, initial, current, squared)
        })
        .collect();
    let mut report = BaReport { iterations: 0, initial_cost: 0.0, final_cost: 0.0, rms_error: 0.0 };
    let mut squared = 0.0;
    for (point, (position, iterations, initial, last, point_squared)) in problem.points.iter_mut().zip(solved) {
        *point = position;
        report.iterations = report.iterations.max(iterations);
        report.initial_cost += initial;
        report.final_cost += last;
        squared += point_squared;
    }
    report.rms_error = (squared / problem.observations.len().max(1) as f64).sqrt();
    report
}

/// Adjusts `problem` in place.
pub fn adjust(problem: &mut Problem, options: &BaOptions) -> BaReport {
    let layout = Layout::new(problem, options);
    let mut by_point: Vec<Vec<usize>> = vec![Vec::new(); problem.points.len()];
    for (k, o) in problem.observations.iter().enumerate() {
        by_point[o.point].push(k);
    }
    if layout.size == 0 {
        return adjust_each_point(problem, &by_point, options);
    }
    let pattern = (options.solver != Solver::Iterative).then(|| ReducedPattern::new(problem, &layout, &by_point));
    if let Some(pattern) = &pattern {
        // Each point's observations in their poses' order (see `pose_rows`).
        by_point.par_iter_mut().for_each(|ks| {
            ks.sort_by_cached_key(|&k| pattern.column(layout.pose[problem.observations[k].image].unwrap_or(usize::MAX)))
        });
    }
    let direct = pattern
        .filter(|p| options.solver == Solver::Direct || factoring_affordable(&p.first, problem.observations.len()));
    let (initial_cost, _) = cost(problem, &problem.observations, options.huber);
    let mut current = initial_cost;
    let mut lambda = options.initial_damping;
    let mut iterations = 0;
    let mut linear = Linearisation::new(problem.points.len());
    for _ in 0..options.max_iterations {
        iterations += 1;
        linear.update(problem, &layout, &by_point, options, lambda, direct.is_some());
        let delta_c = match &direct {
            Some(pattern) => linear.solve_direct(pattern),
            None => Some(linear.solve_iterative(&layout)),
        };
        let Some(delta_c) = delta_c else {
            lambda *= 10.0;
            continue;
        };
        // Back-substitute the points: δp = V⁻¹ (-g_p - Wᵀ δc).
        // The candidate estimate (the observations stay with `problem`).
        let mut candidate = Problem {
            cameras: problem.cameras.clone(),
            images: problem.images.clone(),
            points: problem.points.clone(),
            observations: Vec::new(),
        };
        candidate.points.par_iter_mut().zip(&linear.points).for_each(|(point, terms)| {
            let mut rhs = -terms.gradient;
            for o in &terms.observations {
                rhs -= o.jp.transpose() * (o.jc * gather(&o.blocks, &delta_c));
            }
            *point += terms.v_inverse * rhs;
        });
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
            if let Some(at) = layout.principal[c] {
                camera.cx += delta_c[at];
                camera.cy += delta_c[at + 1];
            }
        }
        let (new_cost, _) = cost(&candidate, &problem.observations, options.huber);
        let verdict = judge(&mut lambda, current, new_cost, options.tolerance);
        if verdict.keep {
            candidate.observations = std::mem::take(&mut problem.observations);
            *problem = candidate;
            current = new_cost;
        }
        if verdict.stop {
            break;
        }
    }
    let (_, squared) = cost(problem, &problem.observations, options.huber);
    BaReport {
        iterations,
        initial_cost,
        final_cost: current,
        rms_error: (squared / problem.observations.len().max(1) as f64).sqrt(),
    }
}
