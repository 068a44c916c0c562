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

use nalgebra::{DMatrix, DVector, Matrix2x3, Matrix3, Rotation3, SMatrix, SVector, Vector2, Vector3};
use rayon::prelude::*;

use crate::envelope::{Envelope, RowBlock, reverse_cuthill_mckee};
use crate::ordered::fold_in_order;

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
    pub huber: Option<f64>,
    /// Refine focal length and k1, k2 of every camera.
    pub refine_intrinsics: bool,
    /// Refine the principal point too (with `refine_intrinsics`).
    pub refine_principal_point: bool,
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
            huber: Some(4.0),
            refine_intrinsics: true,
            refine_principal_point: false,
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

/// Parameters of a pose (ω, t), of intrinsics (f, k1, k2) and of the
/// principal point (cx, cy); one observation's camera-side Jacobian has
/// `LOCAL` columns, in that order.
const POSE: usize = 6;
const INTRINSICS: usize = 3;
const PRINCIPAL: usize = 2;
const LOCAL: usize = POSE + INTRINSICS + PRINCIPAL;

/// Where each image's and camera's parameters sit in the reduced system.
struct Layout {
    pose: Vec<Option<usize>>,
    intrinsics: Vec<Option<usize>>,
    principal: Vec<Option<usize>>,
    size: usize,
}

impl Layout {
    fn new(problem: &Problem, options: &BaOptions) -> Layout {
        let mut size = 0;
        let mut held = vec![false; problem.images.len()];
        options.fixed_images.iter().for_each(|&i| held[i] = true);
        let pose = (0..problem.images.len())
            .map(|i| {
                (!held[i]).then(|| {
                    size += POSE;
                    size - POSE
                })
            })
            .collect();
        let mut block = |wanted: bool, n: usize| {
            (0..problem.cameras.len())
                .map(|_| {
                    wanted.then(|| {
                        size += n;
                        size - n
                    })
                })
                .collect()
        };
        let intrinsics = block(options.refine_intrinsics, INTRINSICS);
        let principal = block(options.refine_intrinsics && options.refine_principal_point, PRINCIPAL);
        Layout { pose, intrinsics, principal, size }
    }

    /// Every variable parameter block as (offset, kind): poses (0), then
    /// intrinsics (1), then principal points (2).
    fn blocks(&self) -> Vec<(usize, usize)> {
        let kind = |blocks: &[Option<usize>], kind: usize| {
            blocks.iter().flatten().map(move |&at| (at, kind)).collect::<Vec<_>>()
        };
        [kind(&self.pose, 0), kind(&self.intrinsics, 1), kind(&self.principal, 2)].concat()
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

/// One observation linearised and weighted (Jacobians and residual
/// multiplied by its weight and the square root of its Huber weight), with
/// where its camera parameters sit in the reduced system.
struct WeightedObservation {
    /// Camera-side Jacobian, pose then intrinsics columns.
    jc: SMatrix<f64, 2, LOCAL>,
    /// Point Jacobian.
    jp: Matrix2x3<f64>,
    /// Residual.
    residual: Vector2<f64>,
    /// Offsets and kinds of its variable camera blocks.
    blocks: CameraBlocks,
}

/// The variable camera blocks of one observation, (offset, kind), held
/// inline: a pose, intrinsics and a principal point at most.
#[derive(Clone, Copy)]
struct CameraBlocks {
    items: [(usize, usize); 3],
    len: usize,
}

impl std::ops::Deref for CameraBlocks {
    type Target = [(usize, usize)];
    fn deref(&self) -> &[(usize, usize)] {
        &self.items[..self.len]
    }
}

/// What one point contributes: its damped, inverted 3x3 block `V⁻¹`, its
/// gradient and its observations, and for each observation the columns
/// of `Y = W L` (`W` its pose's 6x3 block of `Jcᵀ Jp`, `L Lᵀ = V⁻¹`), so
/// that two poses' block of `W V⁻¹ Wᵀ` is `Y_a Y_bᵀ`.
struct PointTerms {
    v_inverse: Matrix3<f64>,
    gradient: Vector3<f64>,
    observations: Vec<WeightedObservation>,
    pose_factors: Vec<PoseFactor>,
}

/// One observation's columns of `Y` (see [`PointTerms`]), with where its
/// pose sits in the layout (`usize::MAX` if held): all that forming the
/// poses' rows of the reduced system reads, kept close together. Single
/// precision: forming those rows reads each factor once per pair of
/// observations of its point and is limited by memory traffic; the
/// factors enter only the system's matrix, not its right-hand side, so
/// their rounding can change the steps a little but not the optimum
/// (same models to four digits on fountain-P11, Herz-Jesus-P8 and 300
/// synthetic photos, 4 % faster mapping there).
struct PoseFactor {
    at: usize,
    y: [[f32; POSE]; 3],
}

/// Rows of the stacked camera Jacobian that a block kind owns: pose (0),
/// intrinsics (1) or principal point (2).
fn span(kind: usize) -> (usize, usize) {
    match kind {
        0 => (0, POSE),
        1 => (POSE, INTRINSICS),
        _ => (POSE + INTRINSICS, PRINCIPAL),
    }
}

/// A point projected by a camera: in the camera frame, normalised, the
/// distortion factor and the pixel.
struct Projected {
    p: Vector3<f64>,
    rotated: Vector3<f64>,
    u: f64,
    v: f64,
    r2: f64,
    d: f64,
    pixel: Vector2<f64>,
}

/// Projects `point`; `None` if it is behind the camera.
#[inline]
fn project(camera: &BaCamera, image: &BaImage, point: &Vector3<f64>) -> Option<Projected> {
    let rotated = image.rotation * point;
    let p = rotated + image.translation;
    if p.z <= 1e-9 {
        return None;
    }
    let (u, v) = (p.x / p.z, p.y / p.z);
    let r2 = u * u + v * v;
    let d = 1.0 + camera.k1 * r2 + camera.k2 * r2 * r2;
    let pixel = Vector2::new(camera.focal * d * u + camera.cx, camera.focal * d * v + camera.cy);
    Some(Projected { p, rotated, u, v, r2, d, pixel })
}

/// The derivative of the pixel with respect to the point in the camera
/// frame, `d(pixel)/d(p)`, at `projected`.
fn pixel_jacobian(camera: &BaCamera, projected: &Projected) -> Matrix2x3<f64> {
    let Projected { p, u, v, r2, d, .. } = *projected;
    // d(pixel)/d(u, v).
    let dd = 2.0 * (camera.k1 + 2.0 * camera.k2 * r2);
    let f = camera.focal;
    let d_uv = nalgebra::Matrix2::new(f * (d + u * u * dd), f * u * v * dd, f * u * v * dd, f * (d + v * v * dd));
    // d(u, v)/d(p).
    let d_p = Matrix2x3::new(1.0 / p.z, 0.0, -p.x / (p.z * p.z), 0.0, 1.0 / p.z, -p.y / (p.z * p.z));
    d_uv * d_p
}

/// Linearises one observation; `None` if the point is behind the camera.
fn linearise(camera: &BaCamera, image: &BaImage, point: &Vector3<f64>, xy: &[f64; 2]) -> Option<Linearised> {
    let projected = project(camera, image, point)?;
    let d_pixel_d_p = pixel_jacobian(camera, &projected);
    let Projected { rotated, u, v, r2, d, pixel, .. } = projected;
    let residual = pixel - Vector2::new(xy[0], xy[1]);
    let f = camera.focal;
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

/// Robust cost (weighted) and squared error of observation `o` of `point`.
fn observation_cost(problem: &Problem, point: &Vector3<f64>, o: &Observation, huber: Option<f64>) -> (f64, f64) {
    let image = &problem.images[o.image];
    match project(&problem.cameras[image.camera], image, point) {
        Some(projected) => {
            let s = (projected.pixel - Vector2::new(o.xy[0], o.xy[1])).norm_squared();
            (robust(s, huber).1 * o.weight * o.weight, s)
        }
        None => (1e6, 1e6),
    }
}

/// Robust cost and squared error sum of `observations` at the estimate
/// of `problem` (its cameras, images and points).
fn cost(problem: &Problem, observations: &[Observation], huber: Option<f64>) -> (f64, f64) {
    fold_in_order(
        observations,
        || (0.0, 0.0),
        |sum, o| {
            let (cost, squared) = observation_cost(problem, &problem.points[o.point], o, huber);
            (sum.0 + cost, sum.1 + squared)
        },
        |a, b| (a.0 + b.0, a.1 + b.1),
    )
}

/// Camera-side Jacobian columns of one observation: (offset, column block).
fn camera_blocks(layout: &Layout, problem: &Problem, o: &Observation) -> CameraBlocks {
    let camera = problem.images[o.image].camera;
    let mut blocks = CameraBlocks { items: [(0, 0); 3], len: 0 };
    let candidates = [layout.pose[o.image], layout.intrinsics[camera], layout.principal[camera]];
    for (kind, at) in candidates.into_iter().enumerate() {
        if let Some(at) = at {
            blocks.items[blocks.len] = (at, kind);
            blocks.len += 1;
        }
    }
    blocks
}

/// The camera parameters of `blocks` gathered from `x` into the 9 local
/// slots (pose then intrinsics; zeros where fixed).
fn gather(blocks: &[(usize, usize)], x: &[f64]) -> SVector<f64, LOCAL> {
    let mut local = SVector::<f64, LOCAL>::zeros();
    for &(at, kind) in blocks {
        let (r0, n) = span(kind);
        for i in 0..n {
            local[r0 + i] = x[at + i];
        }
    }
    local
}

/// Adds the 9 local values of `blocks` into `y`.
fn scatter(blocks: &[(usize, usize)], local: &SVector<f64, LOCAL>, y: &mut [f64]) {
    for &(at, kind) in blocks {
        let (r0, n) = span(kind);
        for i in 0..n {
            y[at + i] += local[r0 + i];
        }
    }
}

/// Sum of two vectors of the same length (for parallel folds).
fn add_vectors(mut a: Vec<f64>, b: Vec<f64>) -> Vec<f64> {
    a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
    a
}

/// Asks for the cache line at `p` ahead of its use (x86-64; elsewhere
/// the processor's own prefetching is left to it).
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint; it does not fault on any address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `Solver::Auto` factors the reduced system when that takes at most this
/// many multiply-adds (a tenth of a second on two cores), or at most
/// [`DIRECT_COST_PER_OBSERVATION`] times the observations, ...
const DIRECT_COST_LIMIT: f64 = 2e9;
/// ... since a conjugate-gradient step reads every observation tens to
/// hundreds of times (600 synthetic photos, 981,868 observations: the
/// dense system of 3,597 unknowns factors in 0.24 s a step, and the last
/// adjustment took 2.3 s instead of 12.8 s by conjugate gradients), ...
const DIRECT_COST_PER_OBSERVATION: f64 = 20_000.0;
/// ... and it stores at most this many values (240 MB); beyond, it solves
/// the system by conjugate gradients without forming it.
const DIRECT_SIZE_LIMIT: usize = 30_000_000;
/// Most conjugate-gradient iterations per step.
const MAX_CG_ITERATIONS: usize = 200;
/// Conjugate gradients stop when the residual has fallen by this factor
/// (an inexact step is enough: Levenberg-Marquardt checks each step).
const CG_TOLERANCE: f64 = 1e-3;

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

/// Where the reduced camera system's nonzeros can be: its parameter
/// blocks reordered so that photos sharing points sit close (poses by
/// reverse Cuthill–McKee, intrinsics last, as every pose touches them),
/// and the envelope this gives.
struct ReducedPattern {
    /// Parameter blocks in their new order: (offset in the layout, kind).
    blocks: Vec<(usize, usize)>,
    /// Where each block's rows start in the new order, then the size.
    bounds: Vec<usize>,
    /// The points each block (in the new order) sees.
    points: Vec<Vec<usize>>,
    /// New index of each parameter of the layout.
    position: Vec<usize>,
    /// First stored column of each reordered row.
    first: Vec<usize>,
}

impl ReducedPattern {
    fn new(problem: &Problem, layout: &Layout, by_point: &[Vec<usize>]) -> ReducedPattern {
        let blocks = layout.blocks();
        let poses = layout.pose.iter().flatten().count();
        let mut node_at = vec![usize::MAX; layout.size];
        for (v, &(at, _)) in blocks.iter().enumerate() {
            node_at[at] = v;
        }
        let point_nodes: Vec<Vec<usize>> = by_point
            .par_iter()
            .map(|ks| {
                let mut nodes: Vec<usize> = ks
                    .iter()
                    .flat_map(|&k| {
                        let blocks = camera_blocks(layout, problem, &problem.observations[k]);
                        (0..blocks.len).map(move |i| blocks.items[i].0)
                    })
                    .map(|at| node_at[at])
                    .collect();
                nodes.sort_unstable();
                nodes.dedup();
                nodes
            })
            .collect();
        let mut points_of_node = vec![Vec::new(); blocks.len()];
        for (j, nodes) in point_nodes.iter().enumerate() {
            for &v in nodes {
                points_of_node[v].push(j);
            }
        }
        let adjacency: Vec<Vec<usize>> = (0..blocks.len())
            .into_par_iter()
            .map_init(
                || vec![usize::MAX; blocks.len()],
                |mark, v| {
                    let mut neighbours = Vec::new();
                    for &j in &points_of_node[v] {
                        for &w in &point_nodes[j] {
                            if w != v && mark[w] != v {
                                mark[w] = v;
                                neighbours.push(w);
                            }
                        }
                    }
                    neighbours
                },
            )
            .collect();
        let pose_graph: Vec<Vec<usize>> =
            adjacency[..poses].iter().map(|ws| ws.iter().copied().filter(|&w| w < poses).collect()).collect();
        let order: Vec<usize> = reverse_cuthill_mckee(&pose_graph).into_iter().chain(poses..blocks.len()).collect();
        let mut bounds = Vec::with_capacity(order.len() + 1);
        let mut start = vec![0; blocks.len()];
        let mut next = 0;
        for &v in &order {
            bounds.push(next);
            start[v] = next;
            next += span(blocks[v].1).1;
        }
        bounds.push(next);
        let mut position = vec![0; layout.size];
        let mut first = vec![0; layout.size];
        for (v, &(at, kind)) in blocks.iter().enumerate() {
            let row_first = adjacency[v].iter().map(|&w| start[w]).fold(start[v], usize::min);
            for k in 0..span(kind).1 {
                position[at + k] = start[v] + k;
                first[start[v] + k] = row_first;
            }
        }
        ReducedPattern {
            blocks: order.iter().map(|&v| blocks[v]).collect(),
            bounds,
            points: order.iter().map(|&v| std::mem::take(&mut points_of_node[v])).collect(),
            position,
            first,
        }
    }

    /// Where the pose at layout offset `at` starts in the new order;
    /// `usize::MAX` for a held pose (`at` is `usize::MAX`).
    fn column(&self, at: usize) -> usize {
        self.position.get(at).copied().unwrap_or(usize::MAX)
    }
}

/// Whether `Solver::Auto` factors a reduced system whose rows start at
/// the columns `first`, in a problem of `observations` observations.
fn factoring_affordable(first: &[usize], observations: usize) -> bool {
    let stored: usize = first.iter().enumerate().map(|(i, f)| i - f + 1).sum();
    let cost_limit = DIRECT_COST_LIMIT.max(DIRECT_COST_PER_OBSERVATION * observations as f64);
    stored <= DIRECT_SIZE_LIMIT && Envelope::factor_cost(first) <= cost_limit
}

/// The problem linearised at the current estimate with damping `lambda`:
/// per point its terms, the reduced right-hand side `b`, the diagonal of
/// the camera block `U` (which the damping scales) and `U`'s 6x6 blocks
/// of the poses (row-major, the pose at layout offset `at` from `6 at`).
struct Linearisation {
    points: Vec<PointTerms>,
    rhs: Vec<f64>,
    u_diagonal: Vec<f64>,
    u_poses: Vec<f64>,
    lambda: f64,
}

impl PointTerms {
    fn new() -> PointTerms {
        PointTerms {
            v_inverse: Matrix3::zeros(),
            gradient: Vector3::zeros(),
            observations: Vec::new(),
            pose_factors: Vec::new(),
        }
    }

    /// Linearises point `j`, seen by observations `ks`, into these terms
    /// (their buffers are reused from one iteration to the next).
    fn update(&mut self, problem: &Problem, layout: &Layout, j: usize, ks: &[usize], huber: Option<f64>, lambda: f64) {
        let mut v = Matrix3::zeros();
        self.gradient = Vector3::zeros();
        self.observations.clear();
        self.observations.reserve(ks.len());
        for &k in ks {
            let o = &problem.observations[k];
            let image = &problem.images[o.image];
            let Some(l) = linearise(&problem.cameras[image.camera], image, &problem.points[j], &o.xy) else { continue };
            let root = robust(l.residual.norm_squared(), huber).0.sqrt() * o.weight;
            let mut jc = SMatrix::<f64, 2, LOCAL>::zeros();
            jc.fixed_view_mut::<2, 6>(0, 0).copy_from(&(l.d_pose * root));
            jc.fixed_view_mut::<2, 3>(0, POSE).copy_from(&(l.d_intrinsics * root));
            // The principal point moves the pixel one for one.
            jc[(0, POSE + INTRINSICS)] = root;
            jc[(1, POSE + INTRINSICS + 1)] = root;
            let (jp, residual) = (l.d_point * root, l.residual * root);
            v += jp.transpose() * jp;
            self.gradient += jp.transpose() * residual;
            self.observations.push(WeightedObservation { jc, jp, residual, blocks: camera_blocks(layout, problem, o) });
        }
        for i in 0..3 {
            v[(i, i)] = v[(i, i)] * (1.0 + lambda) + 1e-12;
        }
        self.v_inverse = v.try_inverse().unwrap_or_else(Matrix3::zeros);
    }

    /// The pose factors of these terms (only forming the reduced system
    /// directly reads them).
    fn factor_poses(&mut self) {
        let l = self.v_inverse.cholesky().map_or_else(Matrix3::zeros, |c| c.unpack());
        self.pose_factors.clear();
        self.pose_factors.extend(self.observations.iter().map(|o| {
            let y = o.jc.fixed_columns::<POSE>(0).transpose() * (o.jp * l);
            let at = match o.blocks.first() {
                Some(&(at, 0)) => at,
                _ => usize::MAX,
            };
            PoseFactor { at, y: [0, 1, 2].map(|k| std::array::from_fn(|r| y[(r, k)] as f32)) }
        }));
    }
}

impl Linearisation {
    /// Room for the terms of `points` points, filled by [`Linearisation::update`].
    fn new(points: usize) -> Linearisation {
        Linearisation {
            points: (0..points).map(|_| PointTerms::new()).collect(),
            rhs: Vec::new(),
            u_diagonal: Vec::new(),
            u_poses: Vec::new(),
            lambda: 0.0,
        }
    }

    /// Linearises `problem` at its estimate with damping `lambda`, with the
    /// pose factors if the reduced system is to be formed (`direct`).
    fn update(
        &mut self,
        problem: &Problem,
        layout: &Layout,
        by_point: &[Vec<usize>],
        options: &BaOptions,
        lambda: f64,
        direct: bool,
    ) {
        self.points.par_iter_mut().zip(by_point).enumerate().for_each(|(j, (terms, ks))| {
            terms.update(problem, layout, j, ks, options.huber, lambda);
            if direct {
                terms.factor_poses();
            }
        });
        let n = layout.size;
        let pose_values = layout.pose.iter().flatten().count() * POSE * POSE;
        let zero = || (vec![0.0; n], vec![0.0; n], vec![0.0; pose_values]);
        (self.rhs, self.u_diagonal, self.u_poses) = fold_in_order(
            &self.points,
            zero,
            |(mut rhs, mut diagonal, mut poses), terms| {
                // b = -g_c + W V⁻¹ g_p, observation by observation.
                let q = terms.v_inverse * terms.gradient;
                for o in &terms.observations {
                    let local = o.jc.transpose() * (o.jp * q - o.residual);
                    scatter(&o.blocks, &local, &mut rhs);
                    let squares = SVector::<f64, LOCAL>::from_fn(|c, _| o.jc.column(c).norm_squared());
                    scatter(&o.blocks, &squares, &mut diagonal);
                    if let Some(&(at, 0)) = o.blocks.first() {
                        let jc = o.jc.fixed_columns::<POSE>(0);
                        let block = &mut poses[at * POSE..(at + POSE) * POSE];
                        for (i, value) in block.iter_mut().enumerate() {
                            *value += jc.column(i / POSE).dot(&jc.column(i % POSE));
                        }
                    }
                }
                (rhs, diagonal, poses)
            },
            |a, b| (add_vectors(a.0, b.0), add_vectors(a.1, b.1), add_vectors(a.2, b.2)),
        );
        self.lambda = lambda;
    }

    /// Damping added to the diagonal of `U`.
    fn damping(&self, i: usize) -> f64 {
        self.lambda * self.u_diagonal[i] + 1e-12
    }

    /// The rows of `S` of pose block `k` (in `pattern`'s order), from
    /// the points it sees. Left of the diagonal are only poses (intrinsics
    /// come last), each seen by one observation of a point; a point's
    /// observations are in column order (see [`ReducedPattern::column`]),
    /// so those left of `k`'s own are the ones its products are formed with.
    fn pose_rows(&self, pattern: &ReducedPattern, k: usize, rows: &mut RowBlock) {
        let (at, row0) = (pattern.blocks[k].0, pattern.bounds[k]);
        let u = &self.u_poses[at * POSE..(at + POSE) * POSE];
        rows.add_block(row0, row0, POSE, POSE, |r, c| u[r * POSE + c]);
        let points = &pattern.points[k];
        for (n, &j) in points.iter().enumerate() {
            if let Some(&ahead) = points.get(n + 16) {
                prefetch(&self.points[ahead]);
            }
            if let Some(&ahead) = points.get(n + 8) {
                prefetch(self.points[ahead].pose_factors.as_ptr());
            }
            let terms = &self.points[j];
            let factors = &terms.pose_factors;
            let own_index = factors.partition_point(|f| pattern.column(f.at) < row0);
            let Some(ya) = factors.get(own_index).filter(|f| pattern.column(f.at) == row0) else { continue };
            let ya = ya.y.map(|column| column.map(f64::from));
            for yb in factors.iter().take_while(|f| pattern.column(f.at) <= row0) {
                rows.subtract_outer(row0, pattern.column(yb.at), &ya, &yb.y);
            }
        }
    }

    /// The rows of `S` of a shared block `k` (a camera's intrinsics or
    /// principal point), dense over all columns in `pattern`'s order, from
    /// every point it sees (in parallel: such a block sees most points).
    fn shared_rows(&self, pattern: &ReducedPattern, k: usize) -> Vec<f64> {
        let (at_a, kind_a) = pattern.blocks[k];
        let (ra, na) = span(kind_a);
        let size = self.rhs.len();
        let add = |dense: &mut [f64], column: usize, nb: usize, value: &dyn Fn(usize, usize) -> f64| {
            for r in 0..na {
                for c in 0..nb {
                    dense[r * size + column + c] += value(r, c);
                }
            }
        };
        fold_in_order(
            &pattern.points[k],
            || (vec![0.0; na * size], Vec::new()),
            |(mut dense, mut w), &j| {
                let terms = &self.points[j];
                // Each observation's W = Jcᵀ Jp (formed once, kept for
                // the second sum); this block's part of W summed over
                // the observations it takes part in, and of U.
                w.clear();
                w.extend(terms.observations.iter().map(|o| o.jc.transpose() * o.jp));
                let mut wa = SMatrix::<f64, LOCAL, 3>::zeros();
                for (o, wo) in terms.observations.iter().zip(&w).filter(|(o, _)| o.blocks.iter().any(|b| b.0 == at_a)) {
                    wa += wo;
                    for &(at_b, kind_b) in o.blocks.iter() {
                        let (rb, nb) = span(kind_b);
                        add(&mut dense, pattern.position[at_b], nb, &|r, c| {
                            o.jc[(0, ra + r)] * o.jc[(0, rb + c)] + o.jc[(1, ra + r)] * o.jc[(1, rb + c)]
                        });
                    }
                }
                // -W_a V⁻¹ W_bᵀ, observation by observation (a block
                // seen by several gets their sum).
                let left = wa * terms.v_inverse;
                for (o, wo) in terms.observations.iter().zip(&w) {
                    for &(at_b, kind_b) in o.blocks.iter() {
                        let (rb, nb) = span(kind_b);
                        add(&mut dense, pattern.position[at_b], nb, &|r, c| {
                            -(left[(ra + r, 0)] * wo[(rb + c, 0)]
                                + left[(ra + r, 1)] * wo[(rb + c, 1)]
                                + left[(ra + r, 2)] * wo[(rb + c, 2)])
                        });
                    }
                }
                (dense, w)
            },
            |a, b| (add_vectors(a.0, b.0), a.1),
        )
        .0
    }

    /// The reduced system `S = U - W V⁻¹ Wᵀ` formed in `pattern`'s order
    /// (block rows in parallel, each from the points its block sees) and
    /// factored; `None` if not positive definite.
    fn solve_direct(&self, pattern: &ReducedPattern) -> Option<Vec<f64>> {
        let at = |i: usize| pattern.position[i];
        let mut s = Envelope::zeros(pattern.first.clone());
        s.fill_rows(&pattern.bounds, |k, rows| {
            if pattern.blocks[k].1 == 0 {
                self.pose_rows(pattern, k, rows);
            }
        });
        let size = self.rhs.len();
        for k in (0..pattern.blocks.len()).filter(|&k| pattern.blocks[k].1 != 0) {
            let dense = self.shared_rows(pattern, k);
            let row0 = pattern.bounds[k];
            for (r, values) in dense.chunks_exact(size).enumerate() {
                for (c, &value) in values[..=row0 + r].iter().enumerate() {
                    s.add_lower(row0 + r, c, value);
                }
            }
        }
        for i in 0..self.rhs.len() {
            s.add_lower(at(i), at(i), self.damping(i));
        }
        if !s.factor() {
            return None;
        }
        let mut x = vec![0.0; self.rhs.len()];
        for (i, b) in self.rhs.iter().enumerate() {
            x[at(i)] = *b;
        }
        s.solve(&mut x);
        Some((0..self.rhs.len()).map(|i| x[at(i)]).collect())
    }

    /// `S x` without forming `S`: `U x - W V⁻¹ Wᵀ x`, point by point.
    fn multiply(&self, x: &[f64]) -> Vec<f64> {
        let n = x.len();
        let mut y = fold_in_order(
            &self.points,
            || vec![0.0; n],
            |mut y, terms| {
                let projected: Vec<Vector2<f64>> =
                    terms.observations.iter().map(|o| o.jc * gather(&o.blocks, x)).collect();
                let z: Vector3<f64> =
                    terms.observations.iter().zip(&projected).map(|(o, r)| o.jp.transpose() * r).sum();
                let q = terms.v_inverse * z;
                for (o, r) in terms.observations.iter().zip(&projected) {
                    scatter(&o.blocks, &(o.jc.transpose() * (r - o.jp * q)), &mut y);
                }
                y
            },
            add_vectors,
        );
        for (i, yi) in y.iter_mut().enumerate() {
            *yi += self.damping(i) * x[i];
        }
        y
    }

    /// The inverses of the diagonal blocks of `S` (6x6 per pose, 3x3 per
    /// camera's intrinsics), as (offset, inverse).
    fn block_jacobi(&self, layout: &Layout) -> Vec<(usize, DMatrix<f64>)> {
        let starts: Vec<(usize, usize)> = layout.blocks().into_iter().map(|(at, kind)| (at, span(kind).1)).collect();
        let mut index = vec![usize::MAX; layout.size];
        for (b, &(at, _)) in starts.iter().enumerate() {
            index[at] = b;
        }
        let zero = || starts.iter().map(|&(_, n)| DMatrix::<f64>::zeros(n, n)).collect::<Vec<_>>();
        let blocks = fold_in_order(
            &self.points,
            zero,
            |mut blocks, terms| {
                // Per block this point touches: its part of W, summed.
                let mut w: Vec<(usize, usize, SMatrix<f64, LOCAL, 3>)> = Vec::new();
                for o in &terms.observations {
                    let u = o.jc.transpose() * o.jc;
                    let wo = o.jc.transpose() * o.jp;
                    for &(at, kind) in o.blocks.iter() {
                        let (r0, n) = span(kind);
                        let block = &mut blocks[index[at]];
                        for i in 0..n {
                            for j in 0..n {
                                block[(i, j)] += u[(r0 + i, r0 + j)];
                            }
                        }
                        match w.iter_mut().find(|(a, _, _)| *a == at) {
                            Some(entry) => entry.2 += wo,
                            None => w.push((at, kind, wo)),
                        }
                    }
                }
                for (at, kind, wb) in w {
                    let (r0, n) = span(kind);
                    let product = wb * terms.v_inverse * wb.transpose();
                    let block = &mut blocks[index[at]];
                    for i in 0..n {
                        for j in 0..n {
                            block[(i, j)] -= product[(r0 + i, r0 + j)];
                        }
                    }
                }
                blocks
            },
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                a
            },
        );
        starts
            .iter()
            .zip(blocks)
            .map(|(&(at, n), mut block)| {
                for i in 0..n {
                    block[(i, i)] += self.damping(at + i);
                }
                let inverse = block.clone().cholesky().map(|c| c.inverse()).unwrap_or_else(|| {
                    DMatrix::from_diagonal(&block.diagonal().map(|d| if d > 0.0 { 1.0 / d } else { 0.0 }))
                });
                (at, inverse)
            })
            .collect()
    }

    /// Preconditioned conjugate gradients on the reduced system.
    fn solve_iterative(&self, layout: &Layout) -> Vec<f64> {
        let preconditioner = self.block_jacobi(layout);
        let precondition = |r: &[f64]| {
            let mut z = vec![0.0; r.len()];
            for (at, inverse) in &preconditioner {
                let n = inverse.nrows();
                let local = inverse * DVector::from_column_slice(&r[*at..at + n]);
                z[*at..at + n].copy_from_slice(local.as_slice());
            }
            z
        };
        let mut x = vec![0.0; self.rhs.len()];
        let mut r = self.rhs.clone();
        let mut z = precondition(&r);
        let mut p = z.clone();
        let mut rz = dot(&r, &z);
        let target = CG_TOLERANCE * dot(&self.rhs, &self.rhs).sqrt();
        for _ in 0..MAX_CG_ITERATIONS {
            let q = self.multiply(&p);
            let curvature = dot(&p, &q);
            if curvature <= 0.0 {
                break;
            }
            let alpha = rz / curvature;
            x.iter_mut().zip(&p).for_each(|(xi, pi)| *xi += alpha * pi);
            r.iter_mut().zip(&q).for_each(|(ri, qi)| *ri -= alpha * qi);
            if dot(&r, &r).sqrt() <= target {
                break;
            }
            z = precondition(&r);
            let rz_next = dot(&r, &z);
            let beta = rz_next / rz;
            rz = rz_next;
            p.iter_mut().zip(&z).for_each(|(pi, zi)| *pi = zi + beta * *pi);
        }
        x
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dense_system_is_factored_when_the_observations_make_conjugate_gradients_dearer() {
        // 600 photos that all share points: 3,600 unknowns, dense.
        let dense = vec![0; 3600];
        assert!(factoring_affordable(&dense, 1_000_000));
        assert!(!factoring_affordable(&dense, 100_000));
        // A band of 60 unknowns is cheap whatever the observations.
        let band: Vec<usize> = (0..3600usize).map(|i| i.saturating_sub(60)).collect();
        assert!(factoring_affordable(&band, 0));
        // 8,000 dense unknowns would store 32 million values: too many.
        assert!(!factoring_affordable(&vec![0; 8000], 100_000_000));
    }

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
