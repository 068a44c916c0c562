//! Puts a model in a meaningful frame. With GPS on three or more
//! registered photos: local east-north-up metres about the fixes' mean
//! position, by a similarity from camera centres to GPS that ignores a
//! few bad fixes. Without: levelled so the photos' mean up direction is
//! +z, centred on the cameras, scale unchanged.

use nalgebra::{Rotation3, Vector3};
use serde::Serialize;

use crate::absolute::Pose;
use crate::geo::geodetic_to_enu;
use crate::mapper::Reconstruction;
use crate::similarity::{Similarity, robust_similarity};

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
        /// Root mean square distance (metres) of the agreeing fixes.
        rms_error: f64,
    },
    /// Levelled by the photos' up direction; arbitrary scale and heading.
    Levelled,
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

/// The similarity that levels `model`: the mean of its photos' up
/// directions (image -y axis) becomes +z, the mean centre the origin.
fn levelling(model: &Reconstruction) -> Similarity {
    let registered: Vec<&Pose> = model.poses.iter().flatten().collect();
    let up: Vector3<f64> = registered.iter().map(|(r, _)| r.inverse() * -Vector3::y()).sum();
    let rotation = Rotation3::rotation_between(&up, &Vector3::z()).unwrap_or_else(|| {
        // Exactly opposite: turn half a circle about x.
        Rotation3::from_axis_angle(&Vector3::x_axis(), std::f64::consts::PI)
    });
    let centres: Vec<Vector3<f64>> = (0..model.poses.len()).filter_map(|i| model.centre(i)).collect();
    let mean = centres.iter().sum::<Vector3<f64>>() / centres.len().max(1) as f64;
    Similarity { scale: 1.0, rotation, translation: -(rotation * mean) }
}

/// Geographic alignment from `fixes` (latitude, longitude, altitude per
/// photo), if three or more registered photos have fixes that agree.
fn georeference(model: &Reconstruction, fixes: &[Option<(f64, f64, f64)>]) -> Option<(Similarity, Frame)> {
    let with_fix: Vec<(Vector3<f64>, (f64, f64, f64))> =
        (0..model.poses.len()).filter_map(|i| Some((model.centre(i)?, (*fixes.get(i)?)?))).collect();
    if with_fix.len() < 3 {
        return None;
    }
    let n = with_fix.len() as f64;
    let origin = with_fix.iter().fold((0.0, 0.0, 0.0), |o, (_, f)| (o.0 + f.0 / n, o.1 + f.1 / n, o.2 + f.2 / n));
    let from: Vec<Vector3<f64>> = with_fix.iter().map(|(c, _)| *c).collect();
    let to: Vec<Vector3<f64>> = with_fix.iter().map(|(_, f)| Vector3::from(geodetic_to_enu(origin, *f))).collect();
    let (similarity, inliers) = robust_similarity(&from, &to, MAX_GPS_ERROR)?;
    let agreeing: Vec<f64> = from
        .iter()
        .zip(&to)
        .zip(&inliers)
        .filter(|(_, keep)| **keep)
        .map(|((a, b), _)| (similarity.apply(a) - b).norm_squared())
        .collect();
    if agreeing.len() < 3 {
        return None;
    }
    let rms_error = (agreeing.iter().sum::<f64>() / agreeing.len() as f64).sqrt();
    let frame = Frame::EastNorthUp {
        latitude: origin.0,
        longitude: origin.1,
        altitude: origin.2,
        gps_inliers: agreeing.len(),
        gps_photos: with_fix.len(),
        rms_error,
    };
    Some((similarity, frame))
}

impl Frame {
    /// For each photo of `model` (already in this frame) with a GPS fix,
    /// how far (metres) its camera lies from the fix; none in a levelled
    /// frame.
    pub fn gps_offsets(&self, model: &Reconstruction, fixes: &[Option<(f64, f64, f64)>]) -> Vec<Option<f64>> {
        let Frame::EastNorthUp { latitude, longitude, altitude, .. } = *self else {
            return vec![None; model.poses.len()];
        };
        (0..model.poses.len())
            .map(|i| {
                let fix = Vector3::from(geodetic_to_enu((latitude, longitude, altitude), (*fixes.get(i)?)?));
                Some((model.centre(i)? - fix).norm())
            })
            .collect()
    }
}

/// `model` in east-north-up metres when its GPS fixes allow, else levelled.
pub fn orient(model: &Reconstruction, fixes: &[Option<(f64, f64, f64)>]) -> (Reconstruction, Frame) {
    let (similarity, frame) = georeference(model, fixes).unwrap_or_else(|| (levelling(model), Frame::Levelled));
    (model.transformed(&similarity), frame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::BaCamera;
    use crate::mapper::MapPoint;

    /// Eight cameras on a ring of radius 10 m, 1.6 m up, looking at the
    /// origin, with a point at the origin; world x east, y north, z up.
    fn ring() -> Reconstruction {
        let poses = (0..8)
            .map(|i| {
                let a = i as f64 * std::f64::consts::TAU / 8.0;
                let centre = Vector3::new(10.0 * a.cos(), 10.0 * a.sin(), 1.6);
                let forward = (-centre).normalize();
                let right = forward.cross(&Vector3::z()).normalize();
                let down = forward.cross(&right);
                let r = Rotation3::from_matrix_unchecked(nalgebra::Matrix3::from_rows(&[
                    right.transpose(),
                    down.transpose(),
                    forward.transpose(),
                ]));
                Some((r, -(r * centre)))
            })
            .collect();
        let camera = BaCamera { focal: 1000.0, cx: 500.0, cy: 400.0, k1: 0.0, k2: 0.0 };
        let points = vec![MapPoint { position: Vector3::zeros(), observations: vec![(0, 0), (1, 0)] }];
        Reconstruction { cameras: vec![camera], poses, points }
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
        let origin = (10.5357, 106.4132, 3.0);
        // Fixes from the true centres: metres to degrees near the origin.
        let mut fixes: Vec<Option<(f64, f64, f64)>> = (0..8)
            .map(|i| {
                let c = truth.centre(i).unwrap();
                let lat = origin.0 + c.y / 110_600.0;
                let lon = origin.1 + c.x / (111_320.0 * origin.0.to_radians().cos());
                Some((lat, lon, origin.2 + c.z))
            })
            .collect();
        fixes[3] = fixes[3].map(|(lat, lon, alt)| (lat + 0.0003, lon, alt)); // 33 m off
        fixes[5] = None;
        let (oriented, frame) = orient(&truth.transformed(&scramble()), &fixes);
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
        assert!((latitude - origin.0).abs() < 1e-4);
        // The bad fix is told apart by its distance from its camera.
        let offsets = frame.gps_offsets(&oriented, &fixes);
        assert!((offsets[3].unwrap() - 33.2).abs() < 0.5, "{:?}", offsets[3]);
        assert_eq!(offsets[5], None);
        assert!(offsets.iter().enumerate().all(|(i, d)| i == 3 || d.is_none_or(|d| d < 0.3)), "{offsets:?}");
    }

    #[test]
    fn without_gps_the_model_is_levelled() {
        let (oriented, frame) = orient(&ring().transformed(&scramble()), &[None; 8]);
        assert_eq!(frame, Frame::Levelled);
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
}
