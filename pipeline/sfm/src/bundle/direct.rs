//! The reduced camera system formed block row by block row and factored
//! in envelope form after reordering the photos.

use nalgebra::SMatrix;
use rayon::prelude::*;

use super::Problem;
use super::layout::{LOCAL, Layout, POSE, camera_blocks, span};
use super::linearisation::{Linearisation, add_vectors};
use crate::envelope::{Envelope, RowBlock, reverse_cuthill_mckee};
use crate::ordered::fold_in_order;

/// `Solver::Auto` factors the reduced system when that takes at most this
/// many multiply-adds (a tenth of a second on two cores), or at most
/// [`DIRECT_COST_PER_OBSERVATION`] times the observations, ...
pub(super) const DIRECT_COST_LIMIT: f64 = 2e9;
/// ... since a conjugate-gradient step reads every observation tens to
/// hundreds of times (600 synthetic photos, 981,868 observations: the
/// dense system of 3,597 unknowns factors in 0.24 s a step, and the last
/// adjustment took 2.3 s instead of 12.8 s by conjugate gradients), ...
pub(super) const DIRECT_COST_PER_OBSERVATION: f64 = 20_000.0;
/// ... and it stores at most this many values (240 MB); beyond, it solves
/// the system by conjugate gradients without forming it.
pub(super) const DIRECT_SIZE_LIMIT: usize = 30_000_000;

/// Where the reduced camera system's nonzeros can be: its parameter
/// blocks reordered so that photos sharing points sit close (poses by
/// reverse Cuthill–McKee, intrinsics last, as every pose touches them),
/// and the envelope this gives.
pub(super) struct ReducedPattern {
    /// Parameter blocks in their new order: (offset in the layout, kind).
    pub(super) blocks: Vec<(usize, usize)>,
    /// Where each block's rows start in the new order, then the size.
    pub(super) bounds: Vec<usize>,
    /// The points each block (in the new order) sees.
    pub(super) points: Vec<Vec<usize>>,
    /// New index of each parameter of the layout.
    pub(super) position: Vec<usize>,
    /// First stored column of each reordered row.
    pub(super) first: Vec<usize>,
}

impl ReducedPattern {
    pub(super) fn new(problem: &Problem, layout: &Layout, by_point: &[Vec<usize>]) -> ReducedPattern {
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
    pub(super) fn column(&self, at: usize) -> usize {
        self.position.get(at).copied().unwrap_or(usize::MAX)
    }
}

/// Whether `Solver::Auto` factors a reduced system whose rows start at
/// the columns `first`, in a problem of `observations` observations.
pub(super) fn factoring_affordable(first: &[usize], observations: usize) -> bool {
    let stored: usize = first.iter().enumerate().map(|(i, f)| i - f + 1).sum();
    let cost_limit = DIRECT_COST_LIMIT.max(DIRECT_COST_PER_OBSERVATION * observations as f64);
    stored <= DIRECT_SIZE_LIMIT && Envelope::factor_cost(first) <= cost_limit
}

impl Linearisation {
    /// The rows of `S` of pose block `k` (in `pattern`'s order), from
    /// the points it sees. Left of the diagonal are only poses (intrinsics
    /// come last), each seen by one observation of a point; a point's
    /// observations are in column order (see [`ReducedPattern::column`]),
    /// so those left of `k`'s own are the ones its products are formed with.
    pub(super) fn pose_rows(&self, pattern: &ReducedPattern, k: usize, rows: &mut RowBlock) {
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
    pub(super) fn shared_rows(&self, pattern: &ReducedPattern, k: usize) -> Vec<f64> {
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
    pub(super) fn solve_direct(&self, pattern: &ReducedPattern) -> Option<Vec<f64>> {
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
}

/// Asks for the cache line at `p` ahead of its use (x86-64; elsewhere
/// the processor's own prefetching is left to it).
#[inline(always)]
pub(super) fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint; it does not fault on any address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
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
}
