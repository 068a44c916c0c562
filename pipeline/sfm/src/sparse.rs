//! The back half of structure from motion in one call: the front end's
//! result goes in; models (oriented), their frames and the coverage
//! report come out.

use heritage_archive::Progress;

use crate::bundle::BaCamera;
use crate::coverage::{Coverage, coverage};
use crate::frontend::{FrontEnd, PhotoInfo, gps_fixes, points};
use crate::mapper::{MapperOptions, Measurement, Reconstruction, reconstruct_all};
use crate::orient::{Frame, PhotoEdges, orient};
use crate::sift::{Features, Keypoint};

/// What a sparse reconstruction found.
#[derive(Debug, Clone)]
pub struct Sparse {
    /// The models, largest first, each in its frame.
    pub models: Vec<Reconstruction>,
    /// The frame of each model.
    pub frames: Vec<Frame>,
    /// What was registered, how well, and what to reshoot.
    pub coverage: Coverage,
}

/// Maps `photos` (with their `features`) from the front end's result.
pub fn sparse(
    photos: &[PhotoInfo],
    features: &[Features],
    front: &FrontEnd,
    options: &MapperOptions,
    progress: &dyn Progress,
) -> Sparse {
    let cameras: Vec<BaCamera> = front
        .cameras
        .iter()
        .map(|c| BaCamera { focal: c.intrinsics.focal, cx: c.intrinsics.cx, cy: c.intrinsics.cy, k1: 0.0, k2: 0.0 })
        .collect();
    let measurements: Vec<Vec<Measurement>> = features
        .iter()
        .map(|f| {
            let at = |k: &Keypoint| Measurement::of_keypoint([f64::from(k.x), f64::from(k.y)], f64::from(k.scale));
            f.keypoints.iter().map(at).collect()
        })
        .collect();
    let mut found = reconstruct_all(&cameras, &front.camera_of, &measurements, &front.pairs, options, progress);
    found.sort_by_key(|m| std::cmp::Reverse(m.poses.iter().flatten().count()));
    let fixes = gps_fixes(photos);
    let edges = PhotoEdges { camera_of: &front.camera_of, edges: features.iter().map(|f| &f.edges[..]).collect() };
    let (models, frames): (Vec<Reconstruction>, Vec<Frame>) = found.iter().map(|m| orient(m, &fixes, &edges)).unzip();
    let gps_offsets = match (models.first(), frames.first()) {
        (Some(model), Some(frame)) => frame.gps_offsets(model, &fixes),
        _ => vec![None; photos.len()],
    };
    let keypoints: Vec<_> = features.iter().map(points).collect();
    let coverage = coverage(photos, &keypoints, &front.camera_of, &front.pairs, &models, &gps_offsets);
    Sparse { models, frames, coverage }
}
