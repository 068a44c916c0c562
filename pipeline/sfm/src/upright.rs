//! Which way is up in a model, from its photos' orientations alone.
//!
//! People and camera gimbals hold the horizon level: a photo's x axis
//! (along its rows, photos being turned upright by their EXIF
//! orientation) is horizontal whatever the photo's pitch. Up is then the
//! direction most nearly perpendicular to every photo's x axis, which a
//! mean of the photos' up directions is not: photos pitched up at a tower
//! from one side tilt that mean towards the side they stand on.

use nalgebra::{Matrix3, Rotation3, Vector3};

/// A photo whose x axis leans more than this (degrees) from the level
/// found is held tilted on purpose, or turned by a wrong EXIF
/// orientation, and is left out of the next fit.
const MAX_ROLL_DEG: f64 = 15.0;

/// The spread of the pitch photos are taken at (degrees). Their viewing
/// directions join the fit as if level by chance errors of this size,
/// against the x axes' chance errors of the photos' roll: that decides up
/// where the x axes leave it undecided, as for photos all facing one way
/// (up is then perpendicular to their views, their own up), and costs
/// little elsewhere, the less the steadier the photos are held.
const PITCH_SPREAD_DEG: f64 = 20.0;

/// The roll (degrees) of a hand assumed in the first fit, before the
/// photos show theirs.
const FIRST_ROLL_DEG: f64 = 2.0;

/// The least roll (degrees) taken from the photos, so that their views
/// still decide where the x axes cannot.
const LEAST_ROLL_DEG: f64 = 0.1;

/// The up direction of photos with world-to-camera `rotations`, if at
/// least half of them (and two or more) are held level; `None` when the
/// photos were held at any angle, as photos of a floor or ceiling may be.
pub fn upright(rotations: &[Rotation3<f64>]) -> Option<Vector3<f64>> {
    // Camera axes in the world: the rows of world-to-camera rotations.
    let axes: Vec<(Vector3<f64>, Vector3<f64>, Vector3<f64>)> = rotations
        .iter()
        .map(|r| {
            let m = r.matrix();
            (m.row(0).transpose(), -m.row(1).transpose(), m.row(2).transpose())
        })
        .collect();
    let needed = (rotations.len().div_ceil(2)).max(2);
    let max_lean = MAX_ROLL_DEG.to_radians().sin();
    let mut keep = vec![true; axes.len()];
    let mut roll = FIRST_ROLL_DEG.to_radians();
    let mut up = Vector3::zeros();
    // Refit to the level photos, weighing their views by the roll they
    // show, until both settle.
    for _ in 0..8 {
        let view_weight = (roll / PITCH_SPREAD_DEG.to_radians()).powi(2);
        let mut scatter = Matrix3::zeros();
        let mut mean_up = Vector3::zeros();
        for ((x, photo_up, view), _) in axes.iter().zip(&keep).filter(|(_, k)| **k) {
            scatter += x * x.transpose() + view_weight * view * view.transpose();
            mean_up += photo_up;
        }
        let eigen = scatter.symmetric_eigen();
        up = eigen.eigenvectors.column(eigen.eigenvalues.imin()).normalize();
        if up.dot(&mean_up) < 0.0 {
            up = -up;
        }
        let leans: Vec<Option<f64>> =
            axes.iter().map(|(x, _, _)| Some(x.dot(&up)).filter(|lean| lean.abs() <= max_lean)).collect();
        let level: Vec<f64> = leans.iter().flatten().copied().collect();
        if level.len() < needed {
            return None;
        }
        let shown = (level.iter().map(|l| l * l).sum::<f64>() / level.len() as f64).sqrt().asin();
        let next_roll = shown.max(LEAST_ROLL_DEG.to_radians());
        let next_keep: Vec<bool> = leans.iter().map(Option::is_some).collect();
        let settled = next_keep == keep && (next_roll - roll).abs() < 0.1 * roll;
        (keep, roll) = (next_keep, next_roll);
        if settled {
            break;
        }
    }
    Some(up)
}

/// The rotation that turns `up` to +z by the shortest way.
pub fn levelling_rotation(up: &Vector3<f64>) -> Rotation3<f64> {
    Rotation3::rotation_between(up, &Vector3::z()).unwrap_or_else(|| {
        // Exactly opposite: turn half a circle about x.
        Rotation3::from_axis_angle(&Vector3::x_axis(), std::f64::consts::PI)
    })
}

/// World-to-camera rotation of a camera looking along `view`, rolled by
/// `roll` (radians) about it from level, world z up (for tests).
#[cfg(test)]
pub(crate) fn held_along(view: &Vector3<f64>, roll: f64) -> Rotation3<f64> {
    let view = view.normalize();
    let right = view.cross(&Vector3::z()).normalize();
    let down = view.cross(&right);
    let level =
        Rotation3::from_matrix_unchecked(Matrix3::from_rows(&[right.transpose(), down.transpose(), view.transpose()]));
    Rotation3::from_axis_angle(&Vector3::z_axis(), roll) * level
}

#[cfg(test)]
mod tests {
    use super::*;

    /// World-to-camera rotation of a camera looking along `heading`
    /// (radians from +x towards +y) pitched up by `pitch` and rolled by
    /// `roll` about its view (radians), world z up.
    fn camera(heading: f64, pitch: f64, roll: f64) -> Rotation3<f64> {
        let view = Vector3::new(heading.cos() * pitch.cos(), heading.sin() * pitch.cos(), pitch.sin());
        held_along(&view, roll)
    }

    fn angle_to_z(up: &Vector3<f64>) -> f64 {
        up.dot(&Vector3::z()).clamp(-1.0, 1.0).acos().to_degrees()
    }

    #[test]
    fn pitched_photos_from_one_side_still_find_up() {
        // Half a ring looking up at a tower, 20° up.
        let photos: Vec<_> = (0..9).map(|i| camera(f64::from(i) * 0.39, 20f64.to_radians(), 0.0)).collect();
        let up = upright(&photos).unwrap();
        assert!(angle_to_z(&up) < 0.01, "{}", angle_to_z(&up));
        // Their mean up leans by more than 10°.
        let mean: Vector3<f64> = photos.iter().map(|r| -r.matrix().row(1).transpose()).sum();
        assert!(angle_to_z(&mean.normalize()) > 10.0);
    }

    #[test]
    fn photos_facing_one_way_take_their_own_up() {
        let photos: Vec<_> = (0..5).map(|_| camera(1.0, 0.0, 0.0)).collect();
        assert!(angle_to_z(&upright(&photos).unwrap()) < 1e-9);
    }

    #[test]
    fn a_few_turned_photos_are_left_out_and_small_rolls_average() {
        let mut photos: Vec<_> =
            (0..12).map(|i| camera(f64::from(i) * 0.5, 0.1, 0.02 * (f64::from(i) * 2.1).sin())).collect();
        photos[3] = camera(1.5, 0.1, std::f64::consts::FRAC_PI_2);
        photos[8] = camera(4.0, -0.2, -0.8);
        // Rolls of up to 1.1° average out to 0.2°, as without the turned
        // ones, which would tilt up by degrees.
        let up = upright(&photos).unwrap();
        let without: Vec<_> = photos.iter().enumerate().filter(|(i, _)| *i != 3 && *i != 8).map(|(_, r)| *r).collect();
        assert!(angle_to_z(&up) < 0.3, "{}", angle_to_z(&up));
        assert!(up.angle(&upright(&without).unwrap()) < 1e-12);
        // The model upside down: up follows it.
        let flipped: Vec<_> = photos.iter().map(|r| r * Rotation3::from_axis_angle(&Vector3::x_axis(), 3.0)).collect();
        let turned = Rotation3::from_axis_angle(&Vector3::x_axis(), -3.0) * Vector3::z();
        assert!(upright(&flipped).unwrap().dot(&turned) > 0.999);
    }

    #[test]
    fn photos_held_at_any_angle_give_no_up() {
        let photos: Vec<_> = (0..12).map(|i| camera(f64::from(i) * 0.5, 0.3, f64::from(i) * 0.55)).collect();
        assert_eq!(upright(&photos), None);
        assert_eq!(upright(&photos[..1]), None);
    }

    #[test]
    fn levelling_turns_up_to_z() {
        for up in [Vector3::new(0.3, -0.2, 0.9).normalize(), -Vector3::z(), Vector3::z()] {
            assert!((levelling_rotation(&up) * up - Vector3::z()).norm() < 1e-12);
        }
    }
}
