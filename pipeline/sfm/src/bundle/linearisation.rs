//! The problem linearised at its estimate: per point its Schur terms,
//! and the reduced right-hand side and camera diagonal summed over them.

use nalgebra::{Matrix2x3, Matrix3, SMatrix, SVector, Vector2, Vector3};
use rayon::prelude::*;

use super::layout::{CameraBlocks, INTRINSICS, LOCAL, Layout, POSE, camera_blocks, scatter};
use super::projection::{linearise, robust};
use super::{BaOptions, Problem};
use crate::ordered::fold_in_order;

/// The problem linearised at the current estimate with damping `lambda`:
/// per point its terms, the reduced right-hand side `b`, the diagonal of
/// the camera block `U` (which the damping scales) and `U`'s 6x6 blocks
/// of the poses (row-major, the pose at layout offset `at` from `6 at`).
pub(super) struct Linearisation {
    pub(super) points: Vec<PointTerms>,
    pub(super) rhs: Vec<f64>,
    pub(super) u_diagonal: Vec<f64>,
    pub(super) u_poses: Vec<f64>,
    pub(super) lambda: f64,
}

/// One observation linearised and weighted (Jacobians and residual
/// multiplied by its weight and the square root of its Huber weight), with
/// where its camera parameters sit in the reduced system.
pub(super) struct WeightedObservation {
    /// Camera-side Jacobian, pose then intrinsics columns.
    pub(super) jc: SMatrix<f64, 2, LOCAL>,
    /// Point Jacobian.
    pub(super) jp: Matrix2x3<f64>,
    /// Residual.
    pub(super) residual: Vector2<f64>,
    /// Offsets and kinds of its variable camera blocks.
    pub(super) blocks: CameraBlocks,
}

/// What one point contributes: its damped, inverted 3x3 block `V⁻¹`, its
/// gradient and its observations, and for each observation the columns
/// of `Y = W L` (`W` its pose's 6x3 block of `Jcᵀ Jp`, `L Lᵀ = V⁻¹`), so
/// that two poses' block of `W V⁻¹ Wᵀ` is `Y_a Y_bᵀ`.
pub(super) struct PointTerms {
    pub(super) v_inverse: Matrix3<f64>,
    pub(super) gradient: Vector3<f64>,
    pub(super) observations: Vec<WeightedObservation>,
    pub(super) pose_factors: Vec<PoseFactor>,
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
pub(super) struct PoseFactor {
    pub(super) at: usize,
    pub(super) y: [[f32; POSE]; 3],
}

impl PointTerms {
    pub(super) fn new() -> PointTerms {
        PointTerms {
            v_inverse: Matrix3::zeros(),
            gradient: Vector3::zeros(),
            observations: Vec::new(),
            pose_factors: Vec::new(),
        }
    }

    /// Linearises point `j`, seen by observations `ks`, into these terms
    /// (their buffers are reused from one iteration to the next).
    pub(super) fn update(
        &mut self,
        problem: &Problem,
        layout: &Layout,
        j: usize,
        ks: &[usize],
        huber: Option<f64>,
        lambda: f64,
    ) {
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
    pub(super) fn factor_poses(&mut self) {
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
    pub(super) fn new(points: usize) -> Linearisation {
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
    pub(super) fn update(
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
    pub(super) fn damping(&self, i: usize) -> f64 {
        self.lambda * self.u_diagonal[i] + 1e-12
    }
}

/// Sum of two vectors of the same length (for parallel folds).
pub(super) fn add_vectors(mut a: Vec<f64>, b: Vec<f64>) -> Vec<f64> {
    a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
    a
}
