//! The incremental mapper: start from the best calibrated pair, then add
//! one photo at a time (the one that sees most reconstructed points) by
//! robust absolute pose, triangulate what the new photo makes possible,
//! and bundle-adjust everything after each addition, dropping
//! observations that no longer fit.

mod adjust;
mod register;

use heritage_archive::Progress;
use nalgebra::{Rotation3, UnitQuaternion, Vector3};
use rayon::prelude::*;

use crate::absolute::Pose;
use crate::bundle::BaCamera;
use crate::frontend::PairMatches;
use crate::pose::{projection, seen_wide_enough, triangulate_views, triangulation_angle};
use crate::tracks::{Feature, build_tracks};
use crate::twoview::Point;
use crate::verify::PairKind;
use adjust::DAMPING;

/// Settings of the mapper.
#[derive(Debug, Clone)]
pub struct MapperOptions {
    /// Fewest points the initial pair must triangulate.
    pub init_min_points: usize,
    /// Smallest median triangulation angle (degrees) of the initial pair.
    pub init_min_angle: f64,
    /// Fewest 2D-3D inliers to register a photo.
    pub min_pose_inliers: usize,
    /// Smallest share of a photo's 2D-3D correspondences that must be
    /// inliers to register it (COLMAP's `abs_pose_min_inlier_ratio`): a
    /// photo whose points are mostly wrong, through repeated structure,
    /// can find a few wrong ones that agree on a wrong pose.
    pub min_pose_inlier_ratio: f64,
    /// Largest reprojection error (pixels) of a kept observation.
    pub max_error: f64,
    /// Smallest triangulation angle (degrees) of a new point.
    pub min_angle: f64,
    /// Refine focal length and k1, k2.
    pub refine_intrinsics: bool,
    /// Whether global adjustments refine the principal point too.
    pub principal_point: PrincipalPoint,
    /// Seed of the registrations' RANSAC sampling (0 by default).
    pub seed: u64,
}

/// Whether bundle adjustment refines each camera's principal point (with
/// the other intrinsics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrincipalPoint {
    /// Held at the photos' centre (or where `K.txt` puts it).
    Held,
    /// Held while the model grows, then refined where the photos fix it: a
    /// lens centre off the photo's centre and unknown (fountain-P11's, 23
    /// px off) is found, a centred one left alone (see
    /// `State::principal_points_found`).
    #[default]
    Tested,
    /// Refined in every global adjustment.
    Refined,
}

impl Default for MapperOptions {
    fn default() -> MapperOptions {
        MapperOptions {
            init_min_points: 50,
            init_min_angle: 2.0,
            min_pose_inliers: 15,
            min_pose_inlier_ratio: 0.25,
            max_error: 4.0,
            min_angle: 1.5,
            refine_intrinsics: true,
            principal_point: PrincipalPoint::default(),
            seed: 0,
        }
    }
}

/// A feature as the mapper uses it: where it is and how precisely.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measurement {
    /// Position in pixels.
    pub xy: Point,
    /// 1 / the standard deviation of the position relative to the most
    /// precise features' (1 for them, 1/2 for one twice as uncertain).
    pub weight: f64,
}

impl Measurement {
    /// The smallest keypoint scale (pixels) counted as the most precise:
    /// the finest octave's base blur.
    const FINEST_SCALE: f64 = 1.6;

    /// A keypoint at `xy` found at `scale` pixels: the uncertainty of its
    /// position grows with the square of its scale. A blob is located to a
    /// share of its size, but across views what moves its centre is the
    /// perspective between them, whose effect on the centre of a patch
    /// grows with the square of the patch's size (the second-order term of
    /// the warp). Measured against exact and ground-truth cameras, the
    /// square weighs the coarse features as the data bear out; the scale
    /// itself counted them too much (see docs/architecture.md).
    pub fn of_keypoint(xy: Point, scale: f64) -> Measurement {
        Measurement { xy, weight: (Measurement::FINEST_SCALE / scale).min(1.0).powi(2) }
    }
}

/// A reconstructed point and the features that see it.
#[derive(Debug, Clone, PartialEq)]
pub struct MapPoint {
    /// Position in the model frame.
    pub position: Vector3<f64>,
    /// The (photo, feature) observations that fit it, in photo order.
    pub observations: Vec<Feature>,
}

/// A sparse model: cameras, a pose per registered photo, points.
#[derive(Debug, Clone)]
pub struct Reconstruction {
    /// Refined intrinsics per camera.
    pub cameras: Vec<BaCamera>,
    /// World-to-camera pose of each photo, `None` if not registered.
    pub poses: Vec<Option<Pose>>,
    /// The points.
    pub points: Vec<MapPoint>,
}

/// Normalised coordinates of a pixel under a camera's intrinsics (radial
/// distortion removed by fixed-point iteration).
pub(crate) fn normalise(camera: &BaCamera, x: &Point) -> [f64; 2] {
    let (xd, yd) = ((x[0] - camera.cx) / camera.focal, (x[1] - camera.cy) / camera.focal);
    let (mut u, mut v) = (xd, yd);
    for _ in 0..10 {
        let r2 = u * u + v * v;
        let d = 1.0 + camera.k1 * r2 + camera.k2 * r2 * r2;
        let step = (xd / d - u).abs() + (yd / d - v).abs();
        (u, v) = (xd / d, yd / d);
        if step < 1e-12 {
            break;
        }
    }
    [u, v]
}

/// Reprojection error in pixels of `p` seen at `x` by `pose` and `camera`.
pub fn reprojection_error(camera: &BaCamera, pose: &Pose, p: &Vector3<f64>, x: &Point) -> f64 {
    let c = pose.0 * p + pose.1;
    if c.z <= 1e-9 {
        return f64::INFINITY;
    }
    let (u, v) = (c.x / c.z, c.y / c.z);
    let r2 = u * u + v * v;
    let d = 1.0 + camera.k1 * r2 + camera.k2 * r2 * r2;
    let (dx, dy) = (camera.focal * d * u + camera.cx - x[0], camera.focal * d * v + camera.cy - x[1]);
    (dx * dx + dy * dy).sqrt()
}

/// The mapper's working state.
struct State<'a> {
    cameras: Vec<BaCamera>,
    camera_of: &'a [usize],
    keypoints: &'a [Vec<Measurement>],
    tracks: Vec<Vec<Feature>>,
    /// Each photo's features that are in a track, with the track, by feature.
    photo_tracks: Vec<Vec<(u32, usize)>>,
    /// The first photo of the initial pair, which holds the frame.
    first: usize,
    /// The front end's pairs, for bridging by relative pose.
    pairs: &'a [PairMatches],
    poses: Vec<Option<Pose>>,
    /// Point of each track, with the observations that fit it (set
    /// through [`State::set_point`]).
    points: Vec<Option<MapPoint>>,
    /// For each photo, how many of its tracks have a point.
    points_seen: Vec<usize>,
    options: &'a MapperOptions,
    /// The cameras whose principal points global adjustments refine.
    free_principal: Vec<usize>,
}

impl State<'_> {
    /// The tracks `photo` is in.
    fn tracks_of(&self, photo: usize) -> impl Iterator<Item = usize> + '_ {
        self.photo_tracks[photo].iter().map(|&(_, t)| t)
    }

    /// Gives track `t` its point (or none), counting the points each
    /// photo of the track sees.
    fn set_point(&mut self, t: usize, point: Option<MapPoint>) {
        match (self.points[t].is_some(), point.is_some()) {
            (false, true) => self.tracks[t].iter().for_each(|&(photo, _)| self.points_seen[photo as usize] += 1),
            (true, false) => self.tracks[t].iter().for_each(|&(photo, _)| self.points_seen[photo as usize] -= 1),
            _ => {}
        }
        self.points[t] = point;
    }

    /// Forgets every pose and point.
    fn clear(&mut self) {
        self.poses.fill(None);
        self.points.fill(None);
        self.points_seen.fill(0);
    }

    fn camera(&self, photo: u32) -> &BaCamera {
        &self.cameras[self.camera_of[photo as usize]]
    }

    fn pixel(&self, (photo, feature): Feature) -> Point {
        self.keypoints[photo as usize][feature as usize].xy
    }

    /// Whether the photo of `f` is registered and sees `p` at `f` within
    /// the largest reprojection error.
    fn fits(&self, f: Feature, p: &Vector3<f64>) -> bool {
        self.poses[f.0 as usize]
            .as_ref()
            .is_some_and(|pose| reprojection_error(self.camera(f.0), pose, p, &self.pixel(f)) <= self.options.max_error)
    }

    /// Triangulates the tracks `tracks` (in parallel: each is on its own),
    /// keeping a track's point where triangulation fails.
    fn triangulate_all(&mut self, tracks: &[usize]) {
        let found: Vec<(usize, MapPoint)> =
            tracks.par_iter().filter_map(|&t| self.triangulated(t).map(|point| (t, point))).collect();
        for (t, point) in found {
            self.set_point(t, Some(point));
        }
    }

    /// The point of track `t` from its registered observations, if it fits
    /// at least two of them (those it fits are kept) and is seen from wide
    /// enough an angle.
    fn triangulated(&self, t: usize) -> Option<MapPoint> {
        let seen: Vec<Feature> =
            self.tracks[t].iter().copied().filter(|&(photo, _)| self.poses[photo as usize].is_some()).collect();
        if seen.len() < 2 {
            return None;
        }
        let views: Vec<_> = seen
            .iter()
            .map(|&f| {
                let pose = self.poses[f.0 as usize].expect("registered");
                (projection(&pose.0, &pose.1), normalise(self.camera(f.0), &self.pixel(f)))
            })
            .collect();
        let p = triangulate_views(&views)?;
        let fits: Vec<Feature> = seen.into_iter().filter(|&f| self.fits(f, &p)).collect();
        let centres: Vec<Vector3<f64>> = fits
            .iter()
            .map(|f| {
                let pose = self.poses[f.0 as usize].expect("registered");
                -(pose.0.inverse() * pose.1)
            })
            .collect();
        (fits.len() >= 2 && seen_wide_enough(&centres, &p, self.options.min_angle))
            .then_some(MapPoint { position: p, observations: fits })
    }

    /// Tries again every track that has no point yet (after adjustment,
    /// poses are better and some tracks now pass the checks), and
    /// completes the points that have one: features of their track in
    /// registered photos that do not see the point yet and now fit are added.
    fn retriangulate(&mut self) {
        let without: Vec<usize> = (0..self.tracks.len()).filter(|&t| self.points[t].is_none()).collect();
        self.triangulate_all(&without);
        let missing: Vec<(usize, Vec<Feature>)> = (0..self.tracks.len())
            .into_par_iter()
            .filter_map(|t| {
                let point = self.points[t].as_ref()?;
                // The observations are some of the track's features, both
                // in photo order: one walk finds those left out.
                let mut observed = point.observations.iter().peekable();
                let missing: Vec<Feature> = self.tracks[t]
                    .iter()
                    .copied()
                    .filter(|f| {
                        while observed.next_if(|o| o.0 < f.0).is_some() {}
                        observed.peek().is_none_or(|o| o.0 != f.0) && self.fits(*f, &point.position)
                    })
                    .collect();
                (!missing.is_empty()).then_some((t, missing))
            })
            .collect();
        for (t, features) in missing {
            let observations = &mut self.points[t].as_mut().expect("has a point").observations;
            observations.extend(features);
            observations.sort_unstable();
        }
    }
}

/// Global adjustment runs when the model has grown by this factor since
/// the last one (in between, adjustment is local). On 300 photos 1.2
/// measured as accurate and 22 % slower (COLMAP's 1.1 15 % slower than
/// that), 1.4 less accurate.
const GLOBAL_GROWTH: f64 = 1.3;
/// Photos adjusted with a newly registered one in local adjustment.
const LOCAL_NEIGHBOURS: usize = 6;
/// The first damping of the last adjustment, which starts from a model
/// adjusted already: nearly Gauss-Newton steps. From `DAMPING`, a long
/// chain of photos, which bends at little cost, was held back by the
/// damping and the iterations stopped short of the optimum (the 300-photo
/// garden lane: 10 iterations instead of 3, 0.7 s of its 2.3 s).
const SETTLED_DAMPING: f64 = 1e-8;
/// Fewest photos of a model worth keeping.
const MIN_MODEL_PHOTOS: usize = 3;

/// Reconstructs photos with `keypoints`, each taken by camera
/// `camera_of[i]`, from the front end's verified pairs: one model grown
/// from the best initial pair; `None` if no pair can start one.
pub fn reconstruct(
    cameras: &[BaCamera],
    camera_of: &[usize],
    keypoints: &[Vec<Measurement>],
    pairs: &[PairMatches],
    options: &MapperOptions,
    progress: &dyn Progress,
) -> Option<Reconstruction> {
    let counts: Vec<usize> = keypoints.iter().map(Vec::len).collect();
    let tracks = build_tracks(&counts, pairs);
    let mut photo_tracks = vec![Vec::new(); keypoints.len()];
    for (t, track) in tracks.iter().enumerate() {
        for &(photo, feature) in track {
            photo_tracks[photo as usize].push((feature, t));
        }
    }
    photo_tracks.iter_mut().for_each(|features| features.sort_unstable());
    let mut state = State {
        cameras: cameras.to_vec(),
        camera_of,
        keypoints,
        points: vec![None; tracks.len()],
        points_seen: vec![0; keypoints.len()],
        tracks,
        photo_tracks,
        first: 0,
        pairs,
        poses: vec![None; keypoints.len()],
        options,
        free_principal: match options.principal_point {
            PrincipalPoint::Refined => (0..cameras.len()).collect(),
            _ => Vec::new(),
        },
    };
    // The initial pair: calibrated, most inliers, wide enough an angle.
    let mut candidates: Vec<&PairMatches> = pairs
        .iter()
        .filter(|p| p.geometry.as_ref().is_some_and(|g| g.kind == PairKind::Calibrated && g.rotation.is_some()))
        .collect();
    candidates.sort_by_key(|p| std::cmp::Reverse(p.geometry.as_ref().map_or(0, |g| g.inliers.len())));
    state.first = candidates.into_iter().find_map(|pair| {
        let g = pair.geometry.as_ref()?;
        let [w, x, y, z] = g.rotation?;
        let [tx, ty, tz] = g.translation?;
        let rotation = UnitQuaternion::from_quaternion(nalgebra::Quaternion::new(w, x, y, z)).to_rotation_matrix();
        state.clear();
        state.poses[pair.a] = Some((Rotation3::identity(), Vector3::zeros()));
        state.poses[pair.b] = Some((rotation, Vector3::new(tx, ty, tz)));
        let tracks: Vec<usize> = state.tracks_of(pair.a).collect();
        state.triangulate_all(&tracks);
        let centres = [Vector3::zeros(), -(rotation.inverse() * Vector3::new(tx, ty, tz))];
        let mut angles: Vec<f64> =
            state.points.iter().flatten().map(|p| triangulation_angle(&centres, &p.position)).collect();
        angles.sort_by(f64::total_cmp);
        let median = angles.get(angles.len() / 2).copied().unwrap_or(0.0);
        (angles.len() >= options.init_min_points && median >= options.init_min_angle).then_some(pair.a)
    })?;
    state.adjust_all(DAMPING);
    progress.advance(2);
    let mut registered = 2;
    let mut at_last_global = registered;
    let mut failed = vec![false; keypoints.len()];
    loop {
        // The unregistered photo that sees most reconstructed points.
        debug_assert!(
            (0..keypoints.len())
                .all(|i| state.points_seen[i] == state.tracks_of(i).filter(|&t| state.points[t].is_some()).count()),
            "each photo's count of the points it sees is up to date"
        );
        let next = (0..keypoints.len())
            .filter(|&i| state.poses[i].is_none() && !failed[i])
            .map(|i| (state.points_seen[i], i))
            .filter(|&(seen, _)| seen >= options.min_pose_inliers)
            .max();
        let photo = match next {
            Some((_, photo)) => {
                if !state.register(photo) {
                    // Not enough agreeing points: leave it out and try the others.
                    failed[photo] = true;
                    continue;
                }
                photo
            }
            // No photo sees enough points: bridge one in by a pair.
            None => match state.bridge() {
                Some(photo) => photo,
                None => break,
            },
        };
        registered += 1;
        progress.advance(1);
        if registered <= 10 || registered as f64 >= GLOBAL_GROWTH * at_last_global as f64 {
            state.adjust_sampled();
            state.retriangulate();
            at_last_global = registered;
        } else {
            let mut variable = state.neighbours(photo, LOCAL_NEIGHBOURS);
            variable.push(photo);
            state.adjust_local(&variable);
        }
        // A photo that failed may succeed now that the model has grown.
        failed.fill(false);
    }
    // Final refinement: one global adjustment and retriangulation take in
    // the photos registered since the last global one, then every point is
    // adjusted. (COLMAP repeats the first two until the observations
    // settle; followed by the full adjustment, one round measured as
    // accurate as five on 300 photos and on fountain-P11.)
    state.adjust_sampled();
    state.retriangulate();
    state.adjust_all(SETTLED_DAMPING);
    // Then the principal points, where the photos fix them, from the
    // test's own adjustment (fountain-P11's, 23 px off: camera error 6.0
    // -> 2.0 mm, as the ground truth's principal point gives).
    let tested = options.refine_intrinsics && options.principal_point == PrincipalPoint::Tested;
    if let Some((cameras, found)) = tested.then(|| state.principal_points_found()).flatten() {
        state.cameras = cameras;
        state.free_principal = found;
        state.adjust_all(SETTLED_DAMPING);
    }
    Some(Reconstruction {
        cameras: state.cameras,
        poses: state.poses,
        points: state.points.into_iter().flatten().collect(),
    })
}

/// Reconstructs every model the photos allow: the largest first, then
/// again from the photos left out, until no pair can start a model. A
/// photo set that falls apart into groups gives one model per group
/// (models of fewer than three photos are dropped).
pub fn reconstruct_all(
    cameras: &[BaCamera],
    camera_of: &[usize],
    keypoints: &[Vec<Measurement>],
    pairs: &[PairMatches],
    options: &MapperOptions,
    progress: &dyn Progress,
) -> Vec<Reconstruction> {
    // The mapper runs on a thread of the pool: its many small parallel
    // steps then start on the thread that asks for them, instead of each
    // being handed to the pool and waited for (12 % of the mapping time of
    // 300 photos).
    rayon::scope(|_| {
        progress.start("mapping", keypoints.len() as u64);
        let mut taken = vec![false; keypoints.len()];
        let mut models = Vec::new();
        loop {
            let remaining: Vec<PairMatches> = pairs.iter().filter(|p| !taken[p.a] && !taken[p.b]).cloned().collect();
            let Some(model) = reconstruct(cameras, camera_of, keypoints, &remaining, options, progress) else { break };
            let photos: Vec<usize> = (0..keypoints.len()).filter(|&i| model.poses[i].is_some()).collect();
            for &i in &photos {
                taken[i] = true;
            }
            if photos.len() >= MIN_MODEL_PHOTOS {
                models.push(model);
            }
        }
        progress.finish();
        models
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keypoint_twice_as_coarse_counts_a_quarter_as_much() {
        let weight = |scale| Measurement::of_keypoint([10.0, 20.0], scale).weight;
        assert_eq!(weight(1.6), 1.0);
        assert!((weight(3.2) - 0.25).abs() < 1e-12);
        assert!((weight(6.4) - 1.0 / 16.0).abs() < 1e-12);
        // The doubled photo's finer keypoints are no more precise than the
        // photo's own finest (it adds no detail).
        assert_eq!(weight(0.8), 1.0);
    }
}
