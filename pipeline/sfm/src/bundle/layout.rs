//! Where the variable camera parameters sit in the reduced system, and
//! one observation's camera-side blocks.

use nalgebra::SVector;

use super::{BaOptions, Observation, Problem};

/// Parameters of a pose (ω, t), of intrinsics (f, k1, k2) and of the
/// principal point (cx, cy); one observation's camera-side Jacobian has
/// `LOCAL` columns, in that order.
pub(super) const POSE: usize = 6;
pub(super) const INTRINSICS: usize = 3;
pub(super) const PRINCIPAL: usize = 2;
pub(super) const LOCAL: usize = POSE + INTRINSICS + PRINCIPAL;

/// Where each image's and camera's parameters sit in the reduced system.
pub(super) struct Layout {
    pub(super) pose: Vec<Option<usize>>,
    pub(super) intrinsics: Vec<Option<usize>>,
    pub(super) principal: Vec<Option<usize>>,
    pub(super) size: usize,
}

impl Layout {
    pub(super) fn new(problem: &Problem, options: &BaOptions) -> Layout {
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
        let mut block = |wanted: &dyn Fn(usize) -> bool, n: usize| {
            (0..problem.cameras.len())
                .map(|c| {
                    wanted(c).then(|| {
                        size += n;
                        size - n
                    })
                })
                .collect()
        };
        let intrinsics = block(&|_| options.refine_intrinsics, INTRINSICS);
        let principal = block(&|c| options.refine_intrinsics && options.principal_points.contains(&c), PRINCIPAL);
        Layout { pose, intrinsics, principal, size }
    }

    /// Every variable parameter block as (offset, kind): poses (0), then
    /// intrinsics (1), then principal points (2).
    pub(super) fn blocks(&self) -> Vec<(usize, usize)> {
        let kind = |blocks: &[Option<usize>], kind: usize| {
            blocks.iter().flatten().map(move |&at| (at, kind)).collect::<Vec<_>>()
        };
        [kind(&self.pose, 0), kind(&self.intrinsics, 1), kind(&self.principal, 2)].concat()
    }
}

/// Rows of the stacked camera Jacobian that a block kind owns: pose (0),
/// intrinsics (1) or principal point (2).
pub(super) fn span(kind: usize) -> (usize, usize) {
    match kind {
        0 => (0, POSE),
        1 => (POSE, INTRINSICS),
        _ => (POSE + INTRINSICS, PRINCIPAL),
    }
}

/// The variable camera blocks of one observation, (offset, kind), held
/// inline: a pose, intrinsics and a principal point at most.
#[derive(Clone, Copy)]
pub(super) struct CameraBlocks {
    pub(super) items: [(usize, usize); 3],
    pub(super) len: usize,
}

impl std::ops::Deref for CameraBlocks {
    type Target = [(usize, usize)];
    fn deref(&self) -> &[(usize, usize)] {
        &self.items[..self.len]
    }
}

/// Camera-side Jacobian columns of one observation: (offset, column block).
pub(super) fn camera_blocks(layout: &Layout, problem: &Problem, o: &Observation) -> CameraBlocks {
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
pub(super) fn gather(blocks: &[(usize, usize)], x: &[f64]) -> SVector<f64, LOCAL> {
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
pub(super) fn scatter(blocks: &[(usize, usize)], local: &SVector<f64, LOCAL>, y: &mut [f64]) {
    for &(at, kind) in blocks {
        let (r0, n) = span(kind);
        for i in 0..n {
            y[at + i] += local[r0 + i];
        }
    }
}
