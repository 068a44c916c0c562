//! The reduced camera system solved by conjugate gradients without
//! forming it, with a block-Jacobi preconditioner.

use nalgebra::{DMatrix, DVector, SMatrix, Vector2, Vector3};

use super::layout::{LOCAL, Layout, gather, scatter, span};
use super::linearisation::{Linearisation, add_vectors};
use crate::ordered::fold_in_order;

/// Most conjugate-gradient iterations per step.
pub(super) const MAX_CG_ITERATIONS: usize = 200;
/// Conjugate gradients stop when the residual has fallen by this factor
/// (an inexact step is enough: Levenberg-Marquardt checks each step).
pub(super) const CG_TOLERANCE: f64 = 1e-3;

impl Linearisation {
    /// `S x` without forming `S`: `U x - W V⁻¹ Wᵀ x`, point by point.
    pub(super) fn multiply(&self, x: &[f64]) -> Vec<f64> {
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
    pub(super) fn block_jacobi(&self, layout: &Layout) -> Vec<(usize, DMatrix<f64>)> {
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
    pub(super) fn solve_iterative(&self, layout: &Layout) -> Vec<f64> {
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

pub(super) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
