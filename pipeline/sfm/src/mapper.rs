//! The incremental mapper: start from the best calibrated pair, then add
//! one photo at a time (the one that sees most reconstructed points) by
//! robust absolute pose, triangulate what the new photo makes possible,
//! and bundle-adjust everything after each addition, dropping
//! observations that no longer fit.

use std::borrow::Cow;

use heritage_archive::Progress;
use nalgebra::{Rotation3, UnitQuaternion, Vector3};
use rayon::prelude::*;

use crate::absolute::{AbsolutePoseEstimator, Pose, refine_pose};
use crate::bridge::Bridge;
use crate::bundle::{BaCamera, BaImage, BaOptions, Observation, Problem, adjust};
use crate::frontend::PairMatches;
use crate::pose::{projection, seen_wide_enough, triangulate_views, triangulation_angle};
use crate::ransac::{RansacOptions, msac};
use crate::tracks::{Feature, build_tracks};
use crate::twoview::Point;
use crate::verify::PairKind;

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
    /// Refine the principal point too (in global adjustment).
    pub refine_principal_point: bool,
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
            refine_principal_point: false,
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

    /// The normalised observations of `photo` whose tracks have points,
    /// with those points.
    fn correspondences(&self, photo: usize) -> (Vec<[f64; 2]>, Vec<Vector3<f64>>) {
        let camera = self.cameras[self.camera_of[photo]];
        let mut image_points = Vec::new();
        let mut world = Vec::new();
        for &(feature, t) in &self.photo_tracks[photo] {
            let Some(point) = &self.points[t] else { continue };
            image_points.push(normalise(&camera, &self.keypoints[photo][feature as usize].xy));
            world.push(point.position);
        }
        (image_points, world)
    }

    /// Registers `photo` from the points its features see; false if it cannot be.
    fn register(&mut self, photo: usize) -> bool {
        let (image_points, world) = self.correspondences(photo);
        if image_points.len() < self.options.min_pose_inliers {
            return false;
        }
        let focal = self.cameras[self.camera_of[photo]].focal;
        let estimator = AbsolutePoseEstimator { points: &image_points, world: &world, focal };
        let ransac = RansacOptions { max_error: self.options.max_error, seed: photo as u64, ..Default::default() };
        let Some(estimate) = msac(&estimator, &ransac) else { return false };
        let share = estimate.inlier_count as f64 / image_points.len() as f64;
        if estimate.inlier_count < self.options.min_pose_inliers || share < self.options.min_pose_inlier_ratio {
            return false;
        }
        self.place(photo, estimate.model, &image_points, &world, &estimate.inliers);
        true
    }

    /// Sets `photo`'s pose, refined on the `inliers` among its
    /// correspondences, and triangulates the tracks it extends or starts.
    fn place(&mut self, photo: usize, pose: Pose, image_points: &[[f64; 2]], world: &[Vector3<f64>], inliers: &[bool]) {
        let (inlier_points, inlier_world): (Vec<[f64; 2]>, Vec<Vector3<f64>>) =
            image_points.iter().zip(world).zip(inliers).filter(|(_, keep)| **keep).map(|((x, w), _)| (*x, *w)).unzip();
        self.poses[photo] = Some(refine_pose(pose, &inlier_points, &inlier_world));
        let tracks: Vec<usize> = self.tracks_of(photo).collect();
        self.triangulate_all(&tracks);
    }

    /// Registers an unregistered photo that sees too few points for
    /// absolute pose, by its relative pose to a registered photo it is
    /// paired with (a calibrated pair): the rotation and the direction of
    /// the translation come from the pair, the length from the few points
    /// it does see. This bridges the corners of a walk around a building,
    /// where neighbouring photos share little. Returns the photo.
    fn bridge(&mut self) -> Option<usize> {
        let mut candidates: Vec<(usize, usize, &PairMatches)> = self
            .pairs
            .iter()
            .filter_map(|p| {
                let g = p.geometry.as_ref().filter(|g| g.kind == PairKind::Calibrated && g.rotation.is_some())?;
                match (self.poses[p.a].is_some(), self.poses[p.b].is_some()) {
                    (true, false) => Some((g.inliers.len(), p.b, p)),
                    (false, true) => Some((g.inliers.len(), p.a, p)),
                    _ => None,
                }
            })
            .collect();
        candidates.sort_by_key(|c| std::cmp::Reverse(c.0));
        for (_, photo, pair) in candidates {
            if let Some((pose, image_points, world, inliers)) = self.pose_from_pair(photo, pair) {
                self.place(photo, pose, &image_points, &world, &inliers);
                return Some(photo);
            }
        }
        None
    }

    /// `photo`'s pose from its calibrated `pair` with a registered photo,
    /// scaled by the points it sees (the length most of them agree on);
    /// with the correspondences and which of them fit, if at least
    /// `MIN_BRIDGE_POINTS` do.
    #[allow(clippy::type_complexity)]
    fn pose_from_pair(
        &self,
        photo: usize,
        pair: &PairMatches,
    ) -> Option<(Pose, Vec<[f64; 2]>, Vec<Vector3<f64>>, Vec<bool>)> {
        let g = pair.geometry.as_ref()?;
        let [w, x, y, z] = g.rotation?;
        let relative = UnitQuaternion::from_quaternion(nalgebra::Quaternion::new(w, x, y, z)).to_rotation_matrix();
        let direction = Vector3::from(g.translation?);
        // x_b = R x_a + t; turned round when the photo is `a`.
        let (other, rotation, direction) = if pair.b == photo {
            (pair.a, relative, direction)
        } else {
            (pair.b, relative.inverse(), -(relative.inverse() * direction))
        };
        let (r_other, t_other) = self.poses[other]?;
        let bridge = Bridge { rotation: rotation * r_other, base: rotation * t_other, direction };
        let (image_points, world) = self.correspondences(photo);
        let focal = self.cameras[self.camera_of[photo]].focal;
        let crossing = bridge.cross(&image_points, &world, focal, self.options.max_error, MIN_BRIDGE_POINTS)?;
        let pose = (bridge.rotation, bridge.translation(crossing.length));
        Some((pose, image_points, world, crossing.inliers))
    }

    /// Registered photos that share most points with `photo`, best first.
    fn neighbours(&self, photo: usize, count: usize) -> Vec<usize> {
        let mut shared = vec![0; self.poses.len()];
        for t in self.tracks_of(photo) {
            for &(other, _) in self.points[t].iter().flat_map(|p| &p.observations) {
                shared[other as usize] += 1;
            }
        }
        shared[photo] = 0;
        let mut ranked: Vec<(usize, usize)> =
            shared.into_iter().enumerate().filter(|&(_, n)| n > 0).map(|(i, n)| (n, i)).collect();
        ranked.sort_unstable_by(|a, b| b.cmp(a));
        ranked.into_iter().take(count).map(|(_, i)| i).collect()
    }

    /// Global bundle adjustment: every registered pose, every point and
    /// (if asked) the intrinsics, with the first photo holding the frame,
    /// from Levenberg-Marquardt's first `damping`. Then drops the
    /// observations that do not fit and the points left with fewer than two.
    fn adjust_all(&mut self, damping: f64) {
        let point_ids: Vec<usize> = (0..self.points.len()).filter(|&t| self.points[t].is_some()).collect();
        self.adjust_points(&point_ids, &[], true, Tracks::Whole, damping);
    }

    /// Global adjustment while the model grows: every pose and the
    /// intrinsics with a sample of the points (see
    /// [`State::longest_tracks`]; the cameras' constraints without the cost
    /// of every point), then the other points refitted to the adjusted
    /// cameras, which hold still.
    fn adjust_sampled(&mut self) {
        let registered: Vec<usize> = (0..self.poses.len()).filter(|&i| self.poses[i].is_some()).collect();
        let sample = self.longest_tracks(&registered);
        let mut chosen = vec![false; self.points.len()];
        sample.iter().for_each(|&t| chosen[t] = true);
        let rest: Vec<usize> = (0..self.points.len()).filter(|&t| self.points[t].is_some() && !chosen[t]).collect();
        self.adjust_points(&sample, &[], true, Tracks::Thinned, DAMPING);
        self.adjust_points(&rest, &[], false, Tracks::Whole, DAMPING);
    }

    /// Local adjustment after a registration: the poses of `variable`
    /// with a sample of the points they see (see [`State::longest_tracks`]),
    /// the other photos that see those points holding still.
    fn adjust_local(&mut self, variable: &[usize]) {
        let sample = self.longest_tracks(variable);
        self.adjust_points(&sample, variable, false, Tracks::Thinned, DAMPING);
    }

    /// The points (tracks, in order) of each of `photos` with the longest
    /// tracks, up to `SAMPLED_POINTS_PER_PHOTO` per photo: they tie most
    /// photos together.
    fn longest_tracks(&self, photos: &[usize]) -> Vec<usize> {
        let mut chosen = Vec::new();
        for &photo in photos {
            let mut seen: Vec<(usize, usize)> = self
                .tracks_of(photo)
                .filter_map(|t| self.points[t].as_ref().map(|p| (p.observations.len(), t)))
                .collect();
            if seen.len() > SAMPLED_POINTS_PER_PHOTO {
                seen.select_nth_unstable_by(SAMPLED_POINTS_PER_PHOTO - 1, |a, b| b.cmp(a));
                seen.truncate(SAMPLED_POINTS_PER_PHOTO);
            }
            chosen.extend(seen.into_iter().map(|(_, t)| t));
        }
        chosen.sort_unstable();
        chosen.dedup();
        chosen
    }

    /// Adjusts the points `point_ids` with the poses of `variable` (every
    /// pose when `global`, with the first photo holding the frame; else the
    /// other photos that see the points hold still), from the first
    /// `damping`, then drops the observations that do not fit and the
    /// points left with fewer than two.
    fn adjust_points(&mut self, point_ids: &[usize], variable: &[usize], global: bool, tracks: Tracks, damping: f64) {
        if point_ids.is_empty() {
            return;
        }
        // Thinned, a long track takes part through a spread of its
        // observations (a point costs the square of its track); after a
        // global adjustment such points are refitted to all of theirs (after
        // a local one the next global adjustment does it: refitting after
        // each local one measured no more accurate, a third slower).
        let taken: Vec<Cow<[Feature]>> = point_ids
            .par_iter()
            .map(|&t| {
                let observations = &self.points[t].as_ref().expect("kept").observations;
                if matches!(tracks, Tracks::Thinned) && observations.len() > THINNED_TRACK {
                    Cow::Owned(spread(t, observations, variable))
                } else {
                    Cow::Borrowed(observations.as_slice())
                }
            })
            .collect();
        let thinned: Vec<usize> = if global {
            point_ids.iter().zip(&taken).filter(|(_, fs)| matches!(fs, Cow::Owned(_))).map(|(&t, _)| t).collect()
        } else {
            Vec::new()
        };
        let mut images: Vec<usize> =
            taken.iter().flat_map(|fs| fs.iter()).map(|f| f.0 as usize).chain(variable.iter().copied()).collect();
        images.sort_unstable();
        images.dedup();
        let mut index = vec![usize::MAX; self.poses.len()];
        for (k, &i) in images.iter().enumerate() {
            index[i] = k;
        }
        let anchor = if images.contains(&self.first) { self.first } else { images[0] };
        let mut fixed: Vec<usize> =
            if global { vec![anchor] } else { images.iter().copied().filter(|i| !variable.contains(i)).collect() };
        if fixed.is_empty() {
            fixed.push(anchor);
        }
        let mut problem = Problem {
            cameras: self.cameras.clone(),
            images: images
                .iter()
                .map(|&i| {
                    let pose = self.poses[i].expect("registered");
                    BaImage { rotation: pose.0, translation: pose.1, camera: self.camera_of[i] }
                })
                .collect(),
            points: point_ids.iter().map(|&t| self.points[t].as_ref().expect("kept").position).collect(),
            observations: Vec::new(),
        };
        for (k, features) in taken.iter().enumerate() {
            for &f in features.iter() {
                let measured = self.keypoints[f.0 as usize][f.1 as usize];
                let image = index[f.0 as usize];
                problem.observations.push(Observation { image, point: k, xy: measured.xy, weight: measured.weight });
            }
        }
        let options = BaOptions {
            fixed_images: fixed.iter().map(|&i| index[i]).collect(),
            refine_intrinsics: global && self.options.refine_intrinsics && images.len() >= 4,
            refine_principal_point: self.options.refine_principal_point,
            max_iterations: if global { 30 } else { 15 },
            initial_damping: damping,
            ..Default::default()
        };
        adjust(&mut problem, &options);
        self.cameras = problem.cameras;
        for (k, &i) in images.iter().enumerate() {
            self.poses[i] = Some((problem.images[k].rotation, problem.images[k].translation));
        }
        let fitting: Vec<Vec<Feature>> = point_ids
            .par_iter()
            .zip(&problem.points)
            .map(|(&t, position)| {
                let observations = &self.points[t].as_ref().expect("kept").observations;
                observations.iter().copied().filter(|&f| self.fits(f, position)).collect()
            })
            .collect();
        for ((&t, position), kept) in point_ids.iter().zip(problem.points).zip(fitting) {
            self.set_point(t, (kept.len() >= 2).then_some(MapPoint { position, observations: kept }));
        }
        let refit: Vec<usize> = thinned.into_iter().filter(|&t| self.points[t].is_some()).collect();
        self.adjust_points(&refit, &[], false, Tracks::Whole, DAMPING);
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
/// Points per photo in the local adjustments and the global ones before
/// the last (which takes every point).
const SAMPLED_POINTS_PER_PHOTO: usize = 200;
/// Observations of a long track that take part in a thinned adjustment.
const THINNED_TRACK: usize = 12;
/// Photos adjusted with a newly registered one in local adjustment.
const LOCAL_NEIGHBOURS: usize = 6;
/// Fewest points that must agree on the scale of a photo bridged in by
/// its relative pose to a registered one.
const MIN_BRIDGE_POINTS: usize = 6;
/// Levenberg-Marquardt's first damping (a share of the diagonal) in the
/// mapper's adjustments.
const DAMPING: f64 = 1e-4;
/// The first damping of the last adjustment, which starts from a model
/// adjusted already: nearly Gauss-Newton steps. From `DAMPING`, a long
/// chain of photos, which bends at little cost, was held back by the
/// damping and the iterations stopped short of the optimum (the 300-photo
/// garden lane: 10 iterations instead of 3, 0.7 s of its 2.3 s).
const SETTLED_DAMPING: f64 = 1e-8;
/// Fewest photos of a model worth keeping.
const MIN_MODEL_PHOTOS: usize = 3;

/// Which observations of each point an adjustment takes.
#[derive(Clone, Copy)]
enum Tracks {
    /// All of them.
    Whole,
    /// At most `THINNED_TRACK`, chosen by [`spread`].
    Thinned,
}

/// `THINNED_TRACK` of the observations of track `t`: those of the photos
/// in `variable` first, then the others in an order mixed by track and
/// photo, so that the ones left out fall evenly on the photos.
fn spread(t: usize, observations: &[Feature], variable: &[usize]) -> Vec<Feature> {
    let mix = |photo: u32| (u64::from(photo) ^ (t as u64).rotate_left(32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut ranked: Vec<(bool, u64, Feature)> =
        observations.iter().map(|&f| (!variable.contains(&(f.0 as usize)), mix(f.0), f)).collect();
    ranked.sort_unstable();
    ranked.into_iter().take(THINNED_TRACK).map(|(_, _, f)| f).collect()
}

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

    /// The pose `register` gives a photo whose 100 correspondences are
    /// `right` points seen by the true pose and the rest points elsewhere
    /// (up to 2 m away); `None` if it refuses the photo.
    fn registered_with(right: usize) -> Option<Pose> {
        let camera = BaCamera { focal: 1000.0, cx: 600.0, cy: 400.0, k1: 0.0, k2: 0.0 };
        let truth: Pose = (Rotation3::from_euler_angles(0.1, -0.2, 0.05), Vector3::new(0.3, -0.1, 4.0));
        let (mut keypoints, mut points) = (Vec::new(), Vec::new());
        for i in 0..100 {
            let f = i as f64;
            let c = Vector3::new((f * 0.37).sin() * 2.0, (f * 0.91).cos() * 1.5, 5.0 + (f * 0.53).sin());
            keypoints.push(Measurement { xy: [1000.0 * c.x / c.z + 600.0, 1000.0 * c.y / c.z + 400.0], weight: 1.0 });
            let elsewhere = Vector3::new((f * 1.3).sin(), (f * 2.1).cos(), (f * 0.7).sin()) * 2.0;
            let position = truth.0.inverse() * (c - truth.1) + if i < right { Vector3::zeros() } else { elsewhere };
            points.push(Some(MapPoint { position, observations: Vec::new() }));
        }
        let keypoints = [keypoints];
        let options = MapperOptions::default();
        let mut state = State {
            cameras: vec![camera],
            camera_of: &[0],
            keypoints: &keypoints,
            tracks: (0..100).map(|i| vec![(0, i)]).collect(),
            photo_tracks: vec![(0..100).map(|i| (i as u32, i)).collect()],
            first: 0,
            pairs: &[],
            poses: vec![None],
            points,
            points_seen: vec![100],
            options: &options,
        };
        state.register(0).then(|| state.poses[0].expect("registered"))
    }

    #[test]
    fn a_photo_registers_only_where_a_quarter_of_its_points_agree() {
        let (r, t) = registered_with(30).unwrap();
        let truth = Rotation3::from_euler_angles(0.1, -0.2, 0.05);
        assert!(r.angle_to(&truth).to_degrees() < 0.01, "{}", r.angle_to(&truth).to_degrees());
        assert!((t - Vector3::new(0.3, -0.1, 4.0)).norm() < 1e-3, "{t}");
        // 20 agreeing points are more than the 15 needed, but a fifth: a
        // minority that repeated structure can make agree on a wrong pose.
        assert_eq!(registered_with(20), None);
    }

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

    #[test]
    fn a_thinned_track_keeps_the_variable_photos_and_leaves_out_others_evenly() {
        let observations: Vec<Feature> = (0..30).map(|photo| (photo, photo * 7)).collect();
        let variable = [3, 17, 29];
        let mut left_out = [0; 30];
        for t in 0..600 {
            let kept = spread(t, &observations, &variable);
            assert_eq!(kept.len(), THINNED_TRACK);
            assert!(variable.iter().all(|&v| kept.contains(&(v as u32, v as u32 * 7))), "track {t}: {kept:?}");
            let mut distinct = kept.clone();
            distinct.sort_unstable();
            distinct.dedup();
            assert_eq!(distinct.len(), THINNED_TRACK);
            for &(photo, _) in &observations {
                if !kept.iter().any(|f| f.0 == photo) {
                    left_out[photo as usize] += 1;
                }
            }
        }
        // Each of the 27 others is left out 600 * 18 / 27 = 400 times on average.
        for (photo, &count) in left_out.iter().enumerate() {
            if variable.contains(&photo) {
                assert_eq!(count, 0);
            } else {
                assert!((300..=500).contains(&count), "photo {photo} left out {count} times");
            }
        }
    }
}
