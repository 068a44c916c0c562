//! Puts a model in a meaningful frame. With GPS on three or more
//! registered photos: local east-north-up metres about the fixes' mean
//! position, by a similarity from camera centres to GPS that ignores a
//! few bad fixes. Without: levelled, centred on the cameras, scale
//! unchanged.
//!
//! Up comes from the photos held level ([`crate::upright`]) where they
//! were; GPS then gives only the heading, scale and place, from the
//! fixes seen from above, and the height from their median. A phone's
//! GPS height is often off by ten metres, and photos along one street
//! leave the roll about it to the fixes' chance errors: either would tilt
//! a model fitted to the fixes in three dimensions, which is kept for
//! photos held at any angle.

use nalgebra::{Rotation3, Vector3};
use serde::Serialize;

use crate::absolute::Pose;
use crate::edges::Segment;
use crate::geo::geodetic_to_enu;
use crate::mapper::{Reconstruction, normalise};
use crate::similarity::{Similarity, ground_distance, robust_heading_similarity, robust_similarity};
use crate::upright::{
    EdgePlane, levelling_rotation, turned_about, upright, upright_about, upright_by_camera_line,
    upright_by_camera_plane, upright_by_camera_plane_across, upright_by_common_pitch, upright_by_edges,
};

/// Largest distance (metres) between a camera and its GPS fix for the
/// fix to be trusted; phone GPS is often off by a few metres.
pub const MAX_GPS_ERROR: f64 = 8.0;

/// The frame a model was put in.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Frame {
    /// Metres east, north and up of a geographic origin.
    EastNorthUp {
        /// Latitude of the origin (degrees).
        latitude: f64,
        /// Longitude of the origin (degrees).
        longitude: f64,
        /// Altitude of the origin (metres).
        altitude: f64,
        /// Photos whose fix agreed with the model.
        gps_inliers: usize,
        /// Registered photos with a fix.
        gps_photos: usize,
        /// Root mean square distance (metres, seen from above) of the
        /// agreeing fixes from their cameras.
        rms_error: f64,
        /// Standard error of the scale as a share of it (and of the
        /// heading, in radians) that the fixes' scatter allows.
        scale_error: f64,
        /// Vertical edges in the photos that refined up (0: up from how
        /// the photos were held alone).
        vertical_edges: usize,
    },
    /// Levelled by the photos' up direction; arbitrary scale and heading.
    Levelled {
        /// Vertical edges in the photos that refined up (0: up from how
        /// the photos were held alone).
        vertical_edges: usize,
    },
}

/// World-to-camera pose after the world is mapped by `s`.
fn moved_pose((rotation, translation): &Pose, s: &Similarity) -> Pose {
    let r = rotation * s.rotation.inverse();
    (r, s.scale * translation - r * s.translation)
}

impl Reconstruction {
    /// Camera centre of photo `i` in the model frame, if registered.
    pub fn centre(&self, i: usize) -> Option<Vector3<f64>> {
        self.poses[i].as_ref().map(|(r, t)| -(r.inverse() * t))
    }

    /// The same model with its world mapped by `s`.
    pub fn transformed(&self, s: &Similarity) -> Reconstruction {
        let mut out = self.clone();
        for pose in out.poses.iter_mut().flatten() {
            *pose = moved_pose(pose, s);
        }
        for point in &mut out.points {
            point.position = s.apply(&point.position);
        }
        out
    }
}

/// The similarity that levels `model`: `up` (from the photos held level,
/// else their mean up direction, image -y) becomes +z, the mean centre the
/// origin.
fn levelling(model: &Reconstruction, up: Option<Vector3<f64>>) -> Similarity {
    let up = up.unwrap_or_else(|| model.poses.iter().flatten().map(|(r, _)| r.inverse() * -Vector3::y()).sum());
    let rotation = levelling_rotation(&up);
    let centres: Vec<Vector3<f64>> = (0..model.poses.len()).filter_map(|i| model.centre(i)).collect();
    let mean = centres.iter().sum::<Vector3<f64>>() / centres.len().max(1) as f64;
    Similarity { scale: 1.0, rotation, translation: -(rotation * mean) }
}

/// The similarity from camera centres `from` to fixes `to` (east-north-up
/// metres) and its inlier mask: levelled by the photos' `up` when they
/// were held level, then turned about the vertical; else fitted in three
/// dimensions. The fit in three dimensions is taken too where more fixes
/// agree with it, in three dimensions, than with the levelled one seen
/// from above: the photos' rotations can leave up undecided, as a drone's
/// passes straight down along one heading do (every x axis parallel, the
/// views taken for level ones), and then the fixes decide. Where up is
/// right, a fix within reach in three dimensions is within reach from
/// above, so the levelled fit keeps at least as many. Where both keep as
/// many, the fit in three dimensions is taken if it is far closer seen
/// from above ([`WRONG_UP_RMS_RATIO`]). The up it gives is then `refine`d
/// by the photos held about it, and the levelled fit about that taken
/// if it keeps as many fixes: the fixes' heights tilt a fit in three
/// dimensions.
fn fit_to_fixes(
    up: Option<Vector3<f64>>,
    from: &[Vector3<f64>],
    to: &[Vector3<f64>],
    refine: &dyn Fn(&Vector3<f64>) -> Option<Vector3<f64>>,
) -> Option<(Similarity, Vec<bool>)> {
    let Some(up) = up else {
        return robust_similarity(from, to, MAX_GPS_ERROR);
    };
    let level_fit_about = |up: &Vector3<f64>| {
        let tilt = levelling_rotation(up);
        let levelled: Vec<Vector3<f64>> = from.iter().map(|c| tilt * c).collect();
        robust_heading_similarity(&levelled, to, MAX_GPS_ERROR)
            .map(|(turn, inliers)| (Similarity { rotation: turn.rotation * tilt, ..turn }, inliers))
    };
    let level_fit = level_fit_about(&up);
    let agreeing =
        |fit: &Option<(Similarity, Vec<bool>)>| fit.as_ref().map_or(0, |(_, k)| k.iter().filter(|&&k| k).count());
    let spatial_fit = robust_similarity(from, to, MAX_GPS_ERROR);
    let (spatial, level) = (agreeing(&spatial_fit), agreeing(&level_fit));
    let closer_seen_from_above = || {
        let rms =
            |fit: &Option<(Similarity, Vec<bool>)>| fit.as_ref().map_or(f64::INFINITY, |f| ground_rms(f, from, to));
        rms(&spatial_fit) * WRONG_UP_RMS_RATIO < rms(&level_fit)
    };
    if spatial <= level && !(spatial == level && closer_seen_from_above()) {
        return level_fit;
    }
    // The fixes' heights tilt the fit in three dimensions: the photos,
    // held about the up it gives, tell up more closely.
    let refined = spatial_fit
        .as_ref()
        .and_then(|(s, _)| refine(&(s.rotation.inverse() * Vector3::z())))
        .map(|up| level_fit_about(&up));
    match refined {
        Some(fit) if agreeing(&fit) >= spatial => fit,
        _ => spatial_fit,
    }
}

/// Where the fixes agree alike with both fits (a site smaller than
/// [`MAX_GPS_ERROR`] holds every fix near any small model), the fit in
/// three dimensions is taken if its cameras lie this many times closer
/// to their fixes seen from above: on the right up the levelled fit is
/// the closest there, and on a wrong one it shrinks the model to fit.
const WRONG_UP_RMS_RATIO: f64 = 2.0;

/// Largest angle (degrees) between the up the fixes give in three
/// dimensions and the up the photos held about it give, for the latter to
/// be taken: beyond, the photos do not tell up (a drone looking down).
const MAX_REFINED_TURN_DEG: f64 = 15.0;

/// The agreeing cameras `from` placed by a fit (similarity and inlier
/// mask), each with its distance, seen from above, from its fix in `to`.
fn placed_by(
    (similarity, inliers): &(Similarity, Vec<bool>),
    from: &[Vector3<f64>],
    to: &[Vector3<f64>],
) -> Vec<(Vector3<f64>, f64)> {
    from.iter()
        .zip(to)
        .zip(inliers)
        .filter(|(_, keep)| **keep)
        .map(|((a, b), _)| {
            let placed = similarity.apply(a);
            (placed, ground_distance(&placed, b))
        })
        .collect()
}

/// Root mean square distance, seen from above, of the agreeing cameras
/// `from` placed by `fit` from their fixes `to`.
fn ground_rms(fit: &(Similarity, Vec<bool>), from: &[Vector3<f64>], to: &[Vector3<f64>]) -> f64 {
    let placed = placed_by(fit, from, to);
    (placed.iter().map(|(_, d)| d * d).sum::<f64>() / placed.len().max(1) as f64).sqrt()
}

/// Geographic alignment of `model`, whose photos' up is `up` if they were
/// held level, from `fixes` (latitude, longitude, altitude per photo), if
/// three or more registered photos have fixes that agree.
fn georeference(
    model: &Reconstruction,
    up: Option<Vector3<f64>>,
    fixes: &[Option<(f64, f64, f64)>],
    vertical_edges: usize,
    refine: &dyn Fn(&Vector3<f64>) -> Option<Vector3<f64>>,
) -> Option<(Similarity, Frame)> {
    let with_fix: Vec<(Vector3<f64>, (f64, f64, f64))> =
        (0..model.poses.len()).filter_map(|i| Some((model.centre(i)?, (*fixes.get(i)?)?))).collect();
    if with_fix.len() < 3 {
        return None;
    }
    let n = with_fix.len() as f64;
    let origin = with_fix.iter().fold((0.0, 0.0, 0.0), |o, (_, f)| (o.0 + f.0 / n, o.1 + f.1 / n, o.2 + f.2 / n));
    let from: Vec<Vector3<f64>> = with_fix.iter().map(|(c, _)| *c).collect();
    let to: Vec<Vector3<f64>> = with_fix.iter().map(|(_, f)| Vector3::from(geodetic_to_enu(origin, *f))).collect();
    let fit = fit_to_fixes(up, &from, &to, refine)?;
    let placed = placed_by(&fit, &from, &to);
    let (similarity, _) = fit;
    if placed.len() < 3 {
        return None;
    }
    let k = placed.len() as f64;
    let squares: f64 = placed.iter().map(|(_, d)| d * d).sum();
    let mean = placed.iter().map(|(p, _)| p).sum::<Vector3<f64>>() / k;
    let spread: f64 = placed.iter().map(|(p, _)| ground_distance(p, &mean).powi(2)).sum();
    // A similarity seen from above has four unknowns in 2k coordinates.
    let scatter = (squares / (2.0 * k - 4.0)).sqrt();
    let frame = Frame::EastNorthUp {
        latitude: origin.0,
        longitude: origin.1,
        altitude: origin.2,
        gps_inliers: placed.len(),
        gps_photos: with_fix.len(),
        rms_error: (squares / k).sqrt(),
        scale_error: scatter / spread.sqrt(),
        vertical_edges,
    };
    Some((similarity, frame))
}

impl Frame {
    /// For each photo of `model` (already in this frame) with a GPS fix,
    /// how far (metres, seen from above) its camera lies from the fix;
    /// none in a levelled frame.
    pub fn gps_offsets(&self, model: &Reconstruction, fixes: &[Option<(f64, f64, f64)>]) -> Vec<Option<f64>> {
        let Frame::EastNorthUp { latitude, longitude, altitude, .. } = *self else {
            return vec![None; model.poses.len()];
        };
        (0..model.poses.len())
            .map(|i| {
                let fix = Vector3::from(geodetic_to_enu((latitude, longitude, altitude), (*fixes.get(i)?)?));
                Some(ground_distance(&model.centre(i)?, &fix))
            })
            .collect()
    }
}

/// The straight edges of the photos, with the camera of each, to be seen
/// as planes in a model's world.
#[derive(Debug, Clone, Default)]
pub struct PhotoEdges<'a> {
    /// Each photo's camera (an index into a model's cameras).
    pub camera_of: &'a [usize],
    /// Each photo's edges that may be vertical, in its pixels (near its
    /// columns or near its rows, [`crate::edges::plumb_candidates`]).
    pub edges: Vec<&'a [Segment]>,
}

/// The planes of the edges of `photos` registered in `model` that may be
/// vertical about `up`: those near each photo's columns, or near its rows
/// where its rows lie nearer plumb than level (a photo turned a quarter).
fn edge_planes(model: &Reconstruction, photos: &PhotoEdges, up: &Vector3<f64>) -> Vec<EdgePlane> {
    let mut planes = Vec::new();
    for (i, edges) in photos.edges.iter().enumerate() {
        let Some((rotation, _)) = model.poses.get(i).copied().flatten() else { continue };
        let camera = &model.cameras[photos.camera_of[i]];
        let seen = |p: [f32; 2]| normalise(camera, &[f64::from(p[0]), f64::from(p[1])]);
        let plumb = edges.iter().filter(|s| s.near_axis(turned_about(&rotation, up)));
        planes.extend(plumb.map(|s| EdgePlane::seen(&rotation, seen(s.a), seen(s.b))));
    }
    planes
}

/// `model` in east-north-up metres when its GPS fixes allow, else
/// levelled; up from its photos held level, refined by the `edges` they
/// show.
pub fn orient(
    model: &Reconstruction,
    fixes: &[Option<(f64, f64, f64)>],
    edges: &PhotoEdges,
) -> (Reconstruction, Frame) {
    let rotations: Vec<Rotation3<f64>> = model.poses.iter().flatten().map(|(r, _)| *r).collect();
    let poses: Vec<&Pose> = model.poses.iter().flatten().collect();
    let (up, vertical_edges) = match upright(&rotations) {
        Some(up) => {
            let points: Vec<Vector3<f64>> = model.points.iter().map(|p| p.position).collect();
            let pitch = |up: &Vector3<f64>| upright_by_common_pitch(up, &rotations, &edge_planes(model, edges, up));
            let up = upright_by_camera_plane(&up, &poses, &points, &|up| pitch(up).0);
            let up = upright_by_camera_line(&up, &poses, &points, &|up| pitch(up).0);
            let up = upright_by_camera_plane_across(&up, &poses, &points, &|up| pitch(up).0);
            let (up, pitch_edges) = pitch(&up);
            let (up, used) = upright_by_edges(&up, &edge_planes(model, edges, &up));
            (Some(up), if used > 0 { used } else { pitch_edges })
        }
        None => (None, 0),
    };
    let refine = |coarse: &Vector3<f64>| {
        upright_about(coarse, &rotations).filter(|up| up.dot(coarse) > MAX_REFINED_TURN_DEG.to_radians().cos())
    };
    let (similarity, frame) = georeference(model, up, fixes, vertical_edges, &refine)
        .unwrap_or_else(|| (levelling(model, up), Frame::Levelled { vertical_edges }));
    (model.transformed(&similarity), frame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::BaCamera;
    use crate::mapper::MapPoint;
    use crate::upright::{held_along, house_edges};

    /// Where the test sites stand: Tân An.
    const ORIGIN: (f64, f64, f64) = (10.5357, 106.4132, 3.0);

    /// The pose of a camera at `centre` looking at `target`, rolled by
    /// `roll` (radians) about its view; world x east, y north, z up.
    fn look_at(centre: Vector3<f64>, target: Vector3<f64>, roll: f64) -> Pose {
        let r = held_along(&(target - centre), roll);
        (r, -(r * centre))
    }

    /// A model of the poses `poses` and one point at the origin.
    fn model(poses: Vec<Pose>) -> Reconstruction {
        let camera = BaCamera { focal: 1000.0, cx: 500.0, cy: 400.0, k1: 0.0, k2: 0.0 };
        let points = vec![MapPoint { position: Vector3::zeros(), observations: vec![(0, 0), (1, 0)] }];
        Reconstruction { cameras: vec![camera], poses: poses.into_iter().map(Some).collect(), points }
    }

    /// `n` cameras on a ring of radius 10 m, 1.6 m up, looking at the
    /// origin, each rolled by `roll(i)`.
    fn ring_rolled(n: usize, roll: impl Fn(usize) -> f64) -> Reconstruction {
        model(
            (0..n)
                .map(|i| {
                    let a = i as f64 * std::f64::consts::TAU / n as f64;
                    look_at(Vector3::new(10.0 * a.cos(), 10.0 * a.sin(), 1.6), Vector3::zeros(), roll(i))
                })
                .collect(),
        )
    }

    /// Eight level cameras on the ring.
    fn ring() -> Reconstruction {
        ring_rolled(8, |_| 0.0)
    }

    /// GPS fixes of the cameras of `truth` (east-north-up metres about
    /// `ORIGIN`), each moved by `error(i)` metres.
    fn fixes_of(truth: &Reconstruction, error: impl Fn(usize) -> Vector3<f64>) -> Vec<Option<(f64, f64, f64)>> {
        (0..truth.poses.len())
            .map(|i| {
                let c = truth.centre(i).unwrap() + error(i);
                let lat = ORIGIN.0 + c.y / 110_600.0;
                let lon = ORIGIN.1 + c.x / (111_320.0 * ORIGIN.0.to_radians().cos());
                Some((lat, lon, ORIGIN.2 + c.z))
            })
            .collect()
    }

    /// A phone's GPS errors: up to 2 m on the ground, 10 m in height.
    fn phone_error(i: usize) -> Vector3<f64> {
        let i = i as f64;
        Vector3::new(2.0 * (1.7 * i).sin(), 2.0 * (2.3 * i + 0.4).cos(), 10.0 * (0.9 * i + 1.0).sin())
    }

    /// Largest angle (degrees) between a camera's x axis in `oriented` and
    /// in `truth`, each seen from above, and largest tilt of an x axis
    /// out of level; the cameras of `truth` are held level.
    fn heading_and_tilt(oriented: &Reconstruction, truth: &Reconstruction) -> (f64, f64) {
        let x_axis = |m: &Reconstruction, i: usize| m.poses[i].unwrap().0.inverse() * Vector3::x();
        (0..truth.poses.len()).fold((0.0f64, 0.0f64), |(heading, tilt), i| {
            let (a, b) = (x_axis(oriented, i), x_axis(truth, i));
            let turn = (a.x * b.y - a.y * b.x).atan2(a.x * b.x + a.y * b.y).abs().to_degrees();
            (heading.max(turn), tilt.max(a.z.abs().asin().to_degrees()))
        })
    }

    /// An arbitrary similarity, as the mapper's frame would be.
    fn scramble() -> Similarity {
        Similarity {
            scale: 0.23,
            rotation: Rotation3::from_euler_angles(0.4, -1.1, 2.0),
            translation: Vector3::new(3.0, -1.0, 0.5),
        }
    }

    #[test]
    fn poses_follow_the_world_they_see() {
        let model = ring();
        let moved = model.transformed(&scramble());
        for i in 0..8 {
            let expected = scramble().apply(&model.centre(i).unwrap());
            assert!((moved.centre(i).unwrap() - expected).norm() < 1e-9);
            // The point still projects where it did.
            let project = |m: &Reconstruction| {
                let (r, t) = m.poses[i].unwrap();
                let c = r * m.points[0].position + t;
                (c.x / c.z, c.y / c.z)
            };
            let (a, b) = (project(&model), project(&moved));
            assert!((a.0 - b.0).abs() < 1e-9 && (a.1 - b.1).abs() < 1e-9);
        }
    }

    #[test]
    fn gps_puts_the_model_in_east_north_up_metres_despite_a_bad_fix() {
        let truth = ring();
        let mut fixes = fixes_of(&truth, |_| Vector3::zeros());
        fixes[3] = fixes[3].map(|(lat, lon, alt)| (lat + 0.0003, lon, alt)); // 33 m off
        fixes[5] = None;
        let (oriented, frame) = orient(&truth.transformed(&scramble()), &fixes, &PhotoEdges::default());
        let Frame::EastNorthUp { gps_inliers, gps_photos, rms_error, latitude, .. } = frame else {
            panic!("not georeferenced: {frame:?}")
        };
        assert_eq!((gps_inliers, gps_photos), (6, 7));
        assert!(rms_error < 0.2, "rms {rms_error}");
        // The fixes' mean is the origin, so compare centres about their mean.
        let mean = |m: &Reconstruction| (0..8).map(|i| m.centre(i).unwrap()).sum::<Vector3<f64>>() / 8.0;
        for i in 0..8 {
            let a = oriented.centre(i).unwrap() - mean(&oriented);
            let b = truth.centre(i).unwrap() - mean(&truth);
            assert!((a - b).norm() < 0.3, "photo {i}: {a:?} vs {b:?}");
        }
        assert!((latitude - ORIGIN.0).abs() < 1e-4);
        // The bad fix is told apart by its distance from its camera.
        let offsets = frame.gps_offsets(&oriented, &fixes);
        assert!((offsets[3].unwrap() - 33.2).abs() < 0.5, "{:?}", offsets[3]);
        assert_eq!(offsets[5], None);
        assert!(offsets.iter().enumerate().all(|(i, d)| i == 3 || d.is_none_or(|d| d < 0.3)), "{offsets:?}");
    }

    #[test]
    fn phone_gps_heights_do_not_tilt_the_model() {
        let truth = ring_rolled(12, |_| 0.0);
        let (oriented, frame) =
            orient(&truth.transformed(&scramble()), &fixes_of(&truth, phone_error), &PhotoEdges::default());
        let Frame::EastNorthUp { gps_inliers, rms_error, scale_error, .. } = frame else { panic!("{frame:?}") };
        assert_eq!(gps_inliers, 12);
        assert!(rms_error < 2.5, "rms {rms_error}");
        // The fixes' scatter (1.4 m a coordinate) over the ring's spread
        // (10 m, 12 photos) allows a scale about 4 % off; it is within that.
        let size = |m: &Reconstruction| {
            let centres: Vec<Vector3<f64>> = (0..12).map(|i| m.centre(i).unwrap()).collect();
            let mean = centres.iter().sum::<Vector3<f64>>() / 12.0;
            centres.iter().map(|c| (c - mean).norm()).sum::<f64>()
        };
        let scale = size(&oriented) / size(&truth);
        assert!((0.02..0.06).contains(&scale_error), "{scale_error}");
        assert!((scale - 1.0).abs() < 2.0 * scale_error, "scale {scale}, error {scale_error}");
        let (heading, tilt) = heading_and_tilt(&oriented, &truth);
        assert!(tilt < 1e-6 && heading < 2.0, "heading {heading}°, tilt {tilt}°");
        // Heights come from the median of the fixes' heights.
        let height = (0..12).map(|i| oriented.centre(i).unwrap().z).sum::<f64>() / 12.0;
        assert!(height.abs() < 3.0, "{height}");
    }

    #[test]
    fn photos_along_one_street_keep_their_roll() {
        // Along a street, looking at the fronts on its north side 8 m off,
        // square on and askew.
        let truth = model(
            (0..10)
                .map(|i| {
                    let x = 3.0 * i as f64;
                    let aim = [-6.0, 0.0, 6.0][i % 3];
                    look_at(Vector3::new(x, 0.0, 1.5), Vector3::new(x + aim, 8.0, 3.0), 0.0)
                })
                .collect(),
        );
        let (oriented, _) =
            orient(&truth.transformed(&scramble()), &fixes_of(&truth, phone_error), &PhotoEdges::default());
        let (heading, tilt) = heading_and_tilt(&oriented, &truth);
        assert!(tilt < 0.01 && heading < 3.0, "heading {heading}°, tilt {tilt}°");
    }

    #[test]
    fn photos_held_at_any_angle_are_fitted_to_the_fixes_in_three_dimensions() {
        let truth = ring_rolled(8, |i| 0.6 * i as f64);
        let (oriented, frame) =
            orient(&truth.transformed(&scramble()), &fixes_of(&truth, |_| Vector3::zeros()), &PhotoEdges::default());
        assert!(matches!(frame, Frame::EastNorthUp { gps_inliers: 8, .. }), "{frame:?}");
        for i in 0..8 {
            let (a, b) = (oriented.poses[i].unwrap().0, truth.poses[i].unwrap().0);
            assert!(a.angle_to(&b) < 1e-6, "photo {i}");
        }
    }

    #[test]
    fn without_gps_the_model_is_levelled() {
        let (oriented, frame) = orient(&ring().transformed(&scramble()), &[None; 8], &PhotoEdges::default());
        assert_eq!(frame, Frame::Levelled { vertical_edges: 0 });
        let mut up = Vector3::zeros();
        for i in 0..8 {
            let (r, _) = oriented.poses[i].unwrap();
            up += r.inverse() * -Vector3::y();
            // The ring's cameras are held straight: their x axis is level.
            assert!((r.inverse() * Vector3::x()).z.abs() < 1e-9);
            // They share one height, the mean.
            assert!((oriented.centre(i).unwrap().z).abs() < 1e-9);
        }
        assert!(up.normalize().z > 1.0 - 1e-12, "{up:?}");
        assert_eq!(frame.gps_offsets(&oriented, &[None; 8]), vec![None; 8]);
    }

    #[test]
    fn photos_mostly_turned_a_quarter_are_levelled_by_the_cameras_plane() {
        // Eleven photos along a quarter circle, as fountain-P11's, seven of
        // them turned a quarter without an EXIF orientation tag: their rows
        // are plumb, so the photos alone put up along the arc.
        let turned = |i: usize| [0, 1, 3, 4, 6, 8, 9].contains(&i);
        let truth = model(
            (0..11)
                .map(|i| {
                    let a = (45.0 + 9.0 * i as f64).to_radians();
                    let roll = if turned(i) { std::f64::consts::FRAC_PI_2 } else { 0.0 };
                    look_at(Vector3::new(10.0 * a.cos(), -10.0 * a.sin(), 1.6), Vector3::zeros(), roll)
                })
                .collect(),
        );
        let (oriented, _) = orient(&truth.transformed(&scramble()), &[None; 11], &PhotoEdges::default());
        for i in 0..11 {
            let (r, _) = oriented.poses[i].unwrap();
            let (rows, image_up) = (r.inverse() * Vector3::x(), r.inverse() * -Vector3::y());
            if turned(i) {
                // Plumb but for the 9° the cameras look down at the site.
                assert!((rows.z.abs() - 9.09f64.to_radians().cos()).abs() < 1e-3, "photo {i} turned: rows {rows:?}");
            } else {
                // Level but for the least roll the photos' fit allows.
                assert!(rows.z.abs() < 1e-4 && image_up.z > 0.98, "photo {i} level: rows {rows:?}, up {image_up:?}");
            }
        }
    }

    #[test]
    fn photos_looking_up_turned_either_way_are_levelled_by_the_cameras_plane() {
        // The same arc looking 20° up at the eaves, seven photos turned a
        // quarter either way: their rows lean 20° from plumb, and the rows
        // of the two kinds cross at right angles, which leaves the photos'
        // up along their views.
        let turn = |i: usize| match i {
            2 | 5 | 7 | 10 => 0.0,
            _ if i.is_multiple_of(2) => std::f64::consts::FRAC_PI_2,
            _ => -std::f64::consts::FRAC_PI_2,
        };
        let truth = model(
            (0..11)
                .map(|i| {
                    let a = (45.0 + 9.0 * i as f64).to_radians();
                    look_at(Vector3::new(10.0 * a.cos(), -10.0 * a.sin(), 1.6), Vector3::new(0.0, 0.0, 5.2), turn(i))
                })
                .collect(),
        );
        let (oriented, _) = orient(&truth.transformed(&scramble()), &[None; 11], &PhotoEdges::default());
        for i in 0..11 {
            let (r, _) = oriented.poses[i].unwrap();
            let (rows, image_up) = (r.inverse() * Vector3::x(), r.inverse() * -Vector3::y());
            let lean = if turn(i) == 0.0 { rows.z.abs() } else { (rows.z.abs() - 19.8f64.to_radians().cos()).abs() };
            assert!(lean < 1e-3, "photo {i}: rows {rows:?}");
            assert!(turn(i) != 0.0 || image_up.z > 0.9, "photo {i} upside down: {image_up:?}");
        }
    }

    /// Points of a site about the origin: the ground within 12 m, and the
    /// walls of a house 8 m square and 6 m tall.
    fn site_points() -> Vec<Vector3<f64>> {
        let mut points = Vec::new();
        for i in 0..400 {
            let (a, r) = (f64::from(i) * 2.4, 12.0 * (f64::from(i) / 400.0).sqrt());
            points.push(Vector3::new(r * a.cos(), r * a.sin(), 0.0));
        }
        for i in 0..400 {
            let (along, z) = (f64::from(i % 40) * 0.8 - 16.0, f64::from(i / 40) * 0.6);
            let side = |t: f64| t.clamp(-4.0, 4.0);
            points.push(Vector3::new(side(along + 8.0), side(along - 8.0).abs() - 4.0, z));
        }
        points
    }

    /// The cameras `poses` over the points of `site_points`, moved, then
    /// oriented without GPS or edges.
    fn oriented_over_site(poses: Vec<Pose>) -> Reconstruction {
        let count = poses.len();
        let points =
            site_points().into_iter().map(|position| MapPoint { position, observations: vec![(0, 0), (1, 0)] });
        let truth = Reconstruction { points: points.collect(), ..model(poses) };
        orient(&truth.transformed(&scramble()), &vec![None; count], &PhotoEdges::default()).0
    }

    /// Asserts that the cameras of `oriented` stand at one height, each
    /// photo's rows within `plumb` (a cosine) of plumb.
    fn assert_level_and_turned(oriented: &Reconstruction, plumb: f64) {
        for i in 0..oriented.poses.len() {
            let (r, _) = oriented.poses[i].unwrap();
            let (rows, centre) = (r.inverse() * Vector3::x(), oriented.centre(i).unwrap());
            assert!(rows.z.abs() > plumb && centre.z.abs() < 1e-6, "photo {i}: rows {rows:?}, centre {centre:?}");
        }
    }

    #[test]
    fn photos_all_turned_alike_are_levelled_by_the_plane_and_the_ground() {
        // Twelve photos around a house, every one turned a quarter the same
        // way without an EXIF orientation tag (a phone's portrait photos
        // stripped of it): the photos alone put up level, along their
        // columns. The cameras' plane finds the vertical; the ground, which
        // ends the points sharply below while the walls run on above, its
        // sign.
        for turn in [std::f64::consts::FRAC_PI_2, -std::f64::consts::FRAC_PI_2] {
            let poses = (0..12)
                .map(|i| {
                    let a = f64::from(i) * 0.52;
                    look_at(Vector3::new(15.0 * a.cos(), 15.0 * a.sin(), 1.6), Vector3::new(0.0, 0.0, 2.0), turn)
                })
                .collect();
            let oriented = oriented_over_site(poses);
            assert_level_and_turned(&oriented, 0.99);
            // Right way up: the ground 1.6 m below the cameras (scaled).
            let lowest = oriented.points.iter().map(|p| p.position.z).fold(f64::INFINITY, f64::min);
            assert!((lowest + 1.6 * 0.23).abs() < 1e-6, "{lowest}");
        }
    }

    #[test]
    fn photos_all_turned_alike_along_a_facade_are_turned_back() {
        // Ten photos along the house's front, looking 3° up at it, every
        // one turned a quarter the same way: the photos alone stand the
        // line of cameras on end. Turned back, they find up; the ground,
        // its sign.
        for turn in [std::f64::consts::FRAC_PI_2, -std::f64::consts::FRAC_PI_2] {
            let poses = (0..10)
                .map(|i| {
                    let centre = Vector3::new(f64::from(i) - 4.5, -14.0, 1.6);
                    look_at(centre, centre + Vector3::new(0.0, 10.0, 3f64.to_radians().tan() * 10.0), turn)
                })
                .collect();
            let oriented = oriented_over_site(poses);
            // Facing one way, the photos cannot tell their pitch from up's
            // lean: up leans with them, and their rows are plumb.
            assert_level_and_turned(&oriented, 1.0 - 1e-9);
            // Right way up: the ground below the cameras, the eaves above.
            let mean_z = |points: &[MapPoint]| points.iter().map(|p| p.position.z).sum::<f64>() / points.len() as f64;
            let (ground, eaves) = (mean_z(&oriented.points[..400]), mean_z(&oriented.points[760..]));
            assert!(ground < -0.3 && eaves > 0.5, "{ground} {eaves}");
        }
    }

    #[test]
    fn photos_all_turned_alike_looking_up_at_a_facade_are_set_by_its_edges() {
        // Eight photos along the house's front, 12 m from it, all looking
        // 20° up and all turned a quarter alike. Turned back, up leans 20°
        // with their views, which smears the ground's end below: no side
        // could be told, and the line of cameras stood on end. The house's
        // verticals take the pitch out first.
        for turn in [std::f64::consts::FRAC_PI_2, -std::f64::consts::FRAC_PI_2] {
            let poses: Vec<Pose> = (0..8)
                .map(|i| {
                    let centre = Vector3::new(-7.0 + 2.0 * f64::from(i), -18.0, 1.6);
                    look_at(centre, centre + Vector3::new(0.0, 1.0, 20f64.to_radians().tan()), turn)
                })
                .collect();
            let points = site_points().into_iter().map(|position| MapPoint { position, observations: vec![(0, 0)] });
            let truth = Reconstruction { points: points.collect(), ..model(poses) };
            let edges = house_edges_in_pixels(&truth);
            let seen = PhotoEdges { camera_of: &[0; 8], edges: edges.iter().map(|e| &e[..]).collect() };
            let without = tilt_when_oriented(&truth, &PhotoEdges::default());
            assert!(without > 15.0, "{without}");
            let with = tilt_when_oriented(&truth, &seen);
            assert!(with < 0.05, "turned {turn}: {with}");
        }
    }

    #[test]
    fn photos_mostly_turned_either_way_along_a_facade_are_turned_back() {
        // The same ten photos, seven of them turned a quarter, either way:
        // the rows cross at right angles, which leaves up only along the
        // views, as if the photos looked straight down at the ground.
        let turn = |i: i32| match i {
            0 | 3 | 8 => 0.0,
            _ if i % 2 == 0 => std::f64::consts::FRAC_PI_2,
            _ => -std::f64::consts::FRAC_PI_2,
        };
        let poses = (0..10)
            .map(|i| {
                let centre = Vector3::new(f64::from(i) - 4.5, -14.0, 1.6);
                look_at(centre, centre + Vector3::new(0.0, 10.0, 3f64.to_radians().tan() * 10.0), turn(i))
            })
            .collect();
        let oriented = oriented_over_site(poses);
        for i in 0..10 {
            let (r, _) = oriented.poses[i as usize].unwrap();
            let (rows, image_up) = (r.inverse() * Vector3::x(), r.inverse() * -Vector3::y());
            let centre = oriented.centre(i as usize).unwrap();
            assert!(centre.z.abs() < 1e-6, "photo {i}: centre {centre:?}");
            if turn(i) == 0.0 {
                assert!(rows.z.abs() < 1e-9 && image_up.z > 0.99, "photo {i} level: rows {rows:?}, up {image_up:?}");
            } else {
                assert!(rows.z.abs() > 1.0 - 1e-9, "photo {i} turned: rows {rows:?}");
            }
        }
    }

    /// Whether photo `i` of `oriented` looks level, its rows level and its
    /// top up, or, if `turned`, its rows plumb.
    fn held_as_taken(oriented: &Reconstruction, i: usize, turned: bool) -> bool {
        held_as_taken_within(oriented, i, turned, 1e-9)
    }

    /// [`held_as_taken`] to within `tolerance` (a sine).
    fn held_as_taken_within(oriented: &Reconstruction, i: usize, turned: bool, tolerance: f64) -> bool {
        let (r, _) = oriented.poses[i].unwrap();
        let (rows, image_up, view) =
            (r.inverse() * Vector3::x(), r.inverse() * -Vector3::y(), r.inverse() * Vector3::z());
        let rows_held = if turned {
            rows.z.abs() > 1.0 - tolerance
        } else {
            rows.z.abs() < tolerance && image_up.z > 1.0 - tolerance
        };
        view.z.abs() < tolerance && rows_held
    }

    #[test]
    fn photos_of_a_facade_row_by_row_turned_either_way_are_turned_back() {
        // Twelve photos of the house's front from a lift, four along each
        // of three rows 2.5 m apart, looking straight at it; one, four or
        // eight turned a quarter either way without an EXIF orientation
        // tag. The rows of the two kinds cross at right angles, which left
        // up along the views: the model lay on its back, the facade taken
        // for a floor. Where most are turned, their tops point opposite
        // ways, so the others are the level ones.
        for turned in [&[5][..], &[1, 4, 6, 11], &[0, 1, 2, 4, 5, 7, 9, 10]] {
            let turn = |i: usize| match turned.iter().position(|&t| t == i) {
                Some(k) if k % 2 == 0 => std::f64::consts::FRAC_PI_2,
                Some(_) => -std::f64::consts::FRAC_PI_2,
                None => 0.0,
            };
            let poses = (0..12)
                .map(|i| {
                    let centre = Vector3::new(4.0 * (i % 4) as f64 - 6.0, -10.0, 1.6 + 2.5 * (i / 4) as f64);
                    look_at(centre, centre + Vector3::y(), turn(i))
                })
                .collect();
            let oriented = oriented_over_site(poses);
            for i in 0..12 {
                assert!(held_as_taken(&oriented, i, turn(i) != 0.0), "turned {turned:?}: photo {i}");
            }
        }
    }

    #[test]
    fn fixes_decide_up_for_a_small_facade_row_by_row_mostly_turned_alike() {
        // The lift's twelve photos, eight turned a quarter all the same
        // way: the photos alone fit as well on the model's side. Their
        // fixes (off by up to 0.5 m on the ground, 3 m in height) all lie
        // within reach of any small model on this 12 m front, so both fits
        // keep every fix; the levelled one shrinks the model on its side,
        // and the fit in three dimensions, far closer seen from above, wins.
        let turned = |i: usize| [0, 1, 2, 4, 5, 7, 9, 10].contains(&i);
        let poses: Vec<Pose> = (0..12)
            .map(|i| {
                let centre = Vector3::new(4.0 * (i % 4) as f64 - 6.0, -10.0, 1.6 + 2.5 * (i / 4) as f64);
                look_at(centre, centre + Vector3::y(), if turned(i) { std::f64::consts::FRAC_PI_2 } else { 0.0 })
            })
            .collect();
        let truth = model(poses);
        let lift_error = |i: usize| phone_error(i).component_mul(&Vector3::new(0.25, 0.25, 0.3));
        let (oriented, frame) =
            orient(&truth.transformed(&scramble()), &fixes_of(&truth, lift_error), &PhotoEdges::default());
        let Frame::EastNorthUp { gps_inliers, scale_error, .. } = frame else { panic!("{frame:?}") };
        assert!(gps_inliers == 12 && scale_error < 0.1, "{frame:?}");
        for i in 0..12 {
            assert!(held_as_taken_within(&oriented, i, turned(i), 1e-6), "photo {i}");
        }
    }

    #[test]
    fn photos_looking_down_from_every_side_keep_up_along_their_views() {
        // A slab on the ground photographed from its four sides, three
        // photos a side, 70° down, each framed square with the slab: the
        // rows of the two pairs of sides cross at right angles, as those of
        // turned photos do, but their tops point every way, so none is
        // taken as turned and up stays along the views.
        let poses: Vec<Pose> = (0..12)
            .map(|i| {
                let side = f64::from(i / 3) * std::f64::consts::FRAC_PI_2;
                let (across, along) =
                    (Vector3::new(side.cos(), side.sin(), 0.0), Vector3::new(-side.sin(), side.cos(), 0.0));
                let centre = -0.6 * across + 0.4 * f64::from(i % 3 - 1) * along + Vector3::new(0.0, 0.0, 1.6);
                look_at(centre, centre + across * 20f64.to_radians().tan() - Vector3::z(), 0.0)
            })
            .collect();
        let truth = model(poses);
        assert!(tilt_when_oriented(&truth, &PhotoEdges::default()) < 1e-6);
    }

    #[test]
    fn edges_along_a_turned_photos_rows_may_be_vertical() {
        // Two level photos, the second turned a quarter, each showing an
        // edge down its middle column and one along its middle row: the
        // column's edge is the plumb one in the first, the row's in the
        // second.
        let truth = model(vec![
            look_at(Vector3::new(0.0, -10.0, 1.6), Vector3::new(0.0, 0.0, 1.6), 0.0),
            look_at(Vector3::new(10.0, 0.0, 1.6), Vector3::new(0.0, 0.0, 1.6), std::f64::consts::FRAC_PI_2),
        ]);
        let shown =
            [Segment { a: [500.0, 100.0], b: [500.0, 700.0] }, Segment { a: [100.0, 400.0], b: [900.0, 400.0] }];
        let photos = PhotoEdges { camera_of: &[0, 0], edges: vec![&shown[..], &shown[..]] };
        let planes = edge_planes(&truth, &photos, &Vector3::z());
        assert_eq!(planes.len(), 2);
        assert!(planes.iter().all(|p| p.normal.z.abs() < 1e-9), "{planes:?}");
    }

    #[test]
    fn the_edges_photos_show_level_photos_held_askew() {
        // Six photos of the house's front from 30 m, all rolled 1.5° the
        // same way, tilt up by about that much; its verticals level it.
        let poses: Vec<Pose> = (0..6)
            .map(|i| {
                let a = -1.57 + f64::from(i - 3) * 0.15;
                look_at(Vector3::new(30.0 * a.cos(), 30.0 * a.sin(), 1.6), Vector3::new(0.0, 0.0, 5.0), 0.026)
            })
            .collect();
        let truth = model(poses);
        let edges = house_edges_in_pixels(&truth);
        let tilt = |edges: PhotoEdges| tilt_when_oriented(&truth, &edges);
        assert!(tilt(PhotoEdges::default()) > 1.0, "{}", tilt(PhotoEdges::default()));
        let seen = PhotoEdges { camera_of: &[0; 6], edges: edges.iter().map(|e| &e[..]).collect() };
        assert!(tilt(seen.clone()) < 0.01, "{}", tilt(seen));
    }

    #[test]
    fn the_edges_take_out_the_pitch_of_photos_all_facing_the_house() {
        // Eight photos walking along the house's front, 12 m from it, all
        // looking up at it by 20°: up leans 20° until its verticals set it.
        let poses: Vec<Pose> = (0..8)
            .map(|i| {
                let centre = Vector3::new(-7.0 + 2.0 * f64::from(i), -18.0, 1.6);
                look_at(centre, centre + Vector3::new(0.0, 1.0, 20f64.to_radians().tan()), 0.0)
            })
            .collect();
        let truth = model(poses);
        let edges = house_edges_in_pixels(&truth);
        let tilt = |edges: PhotoEdges| tilt_when_oriented(&truth, &edges);
        assert!((tilt(PhotoEdges::default()) - 20.0).abs() < 0.5, "{}", tilt(PhotoEdges::default()));
        let seen = PhotoEdges { camera_of: &[0; 8], edges: edges.iter().map(|e| &e[..]).collect() };
        assert!(tilt(seen.clone()) < 0.05, "{}", tilt(seen));
    }

    /// The edges of the house ([`house_edges`]) in each photo of `truth`
    /// (1000 x 800 pixels), ends inside it.
    fn house_edges_in_pixels(truth: &Reconstruction) -> Vec<Vec<Segment>> {
        let camera = truth.cameras[0];
        let pixel = |(r, t): &Pose, x: &Vector3<f64>| {
            let c = r * x + t;
            let p = [camera.focal * c.x / c.z + camera.cx, camera.focal * c.y / c.z + camera.cy];
            (c.z > 0.0 && (0.0..1000.0).contains(&p[0]) && (0.0..800.0).contains(&p[1])).then_some(p.map(|v| v as f32))
        };
        truth
            .poses
            .iter()
            .flatten()
            .map(|pose| {
                house_edges()
                    .iter()
                    .filter_map(|(p, q)| Some(Segment { a: pixel(pose, p)?, b: pixel(pose, q)? }))
                    .collect()
            })
            .collect()
    }

    /// How far (degrees) `truth`'s vertical stands from up once its
    /// photos, in another frame and without fixes, are oriented with
    /// `edges`.
    fn tilt_when_oriented(truth: &Reconstruction, edges: &PhotoEdges) -> f64 {
        let (oriented, _) = orient(&truth.transformed(&scramble()), &vec![None; truth.poses.len()], edges);
        let (r, _) = oriented.poses[0].unwrap();
        let world = r.inverse() * truth.poses[0].unwrap().0;
        (world * Vector3::z()).angle(&Vector3::z()).to_degrees()
    }

    #[test]
    fn a_drones_passes_straight_down_are_levelled_by_their_fixes() {
        // Three passes of five photos 40 m up, straight down, the drone
        // turning back at each end: every x axis is parallel, so the
        // photos leave up undecided about them. A drone's fixes (0.5 m
        // off, its barometric heights too) decide it.
        let poses: Vec<Pose> = (0..15)
            .map(|i| {
                let (pass, step) = (i / 5, i % 5);
                let centre = Vector3::new(f64::from(step) * 8.0, f64::from(pass) * 12.0, 40.0);
                let heading = if pass % 2 == 0 { 0.0 } else { std::f64::consts::PI };
                let rows = [
                    Vector3::new(heading.cos(), heading.sin(), 0.0).transpose(),
                    Vector3::new(heading.sin(), -heading.cos(), 0.0).transpose(),
                    -Vector3::z().transpose(),
                ];
                let r = Rotation3::from_matrix_unchecked(nalgebra::Matrix3::from_rows(&rows));
                (r, -(r * centre))
            })
            .collect();
        let truth = model(poses);
        let drone_error = |i: usize| phone_error(i).component_mul(&Vector3::new(0.25, 0.25, 0.05));
        let (oriented, frame) =
            orient(&truth.transformed(&scramble()), &fixes_of(&truth, drone_error), &PhotoEdges::default());
        assert!(matches!(frame, Frame::EastNorthUp { gps_inliers: 15, .. }), "{frame:?}");
        let (r, _) = oriented.poses[0].unwrap();
        let world = r.inverse() * truth.poses[0].unwrap().0;
        let tilt = (world * Vector3::z()).angle(&Vector3::z()).to_degrees();
        assert!(tilt < 1.0, "tilted {tilt}°");
    }
}
