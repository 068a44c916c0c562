//! The pose of a photo bridged into a model by its relative pose to a
//! registered photo: the pair gives the rotation and the direction the
//! camera lies in, and the points the photo sees give how far along it.
//!
//! At the corner of a walk round a building the photo sees few of the
//! model's points, and many of those it does see may be wrong: tracks
//! joined through repeated structure (rows of tiles or windows matched to
//! the wrong ones) carry points from elsewhere. So the length is the one
//! most correspondences agree on, one correspondence proposing it at a
//! time (a one-parameter consensus), not their median: on the demo set
//! 11 of a photo's 52 correspondences were right and the median placed it
//! wrongly.

use nalgebra::{Rotation3, Vector3};

/// A camera whose rotation and direction of travel are known, not yet how
/// far it travelled: translation `base + length * direction`.
#[derive(Debug, Clone, Copy)]
pub struct Bridge {
    /// World-to-camera rotation.
    pub rotation: Rotation3<f64>,
    /// The translation at length 0.
    pub base: Vector3<f64>,
    /// The direction the translation grows in.
    pub direction: Vector3<f64>,
}

/// The length a bridge settles on and which correspondences fit it.
#[derive(Debug, Clone, PartialEq)]
pub struct Crossing {
    /// The translation's length along the direction.
    pub length: f64,
    /// Per correspondence, whether it fits within the error allowed.
    pub inliers: Vec<bool>,
}

/// Correspondences that propose a length, at most: spread evenly over the
/// rest when there are more (each proposal is checked against all).
const MAX_PROPOSALS: usize = 256;

impl Bridge {
    /// The translation at `length`.
    pub fn translation(&self, length: f64) -> Vector3<f64> {
        self.base + length * self.direction
    }

    /// The length at which point `p` is seen at normalised `x`: least
    /// squares on x × (R p + base + length d) = 0; `None` if moving along
    /// the direction does not move the point in the photo.
    fn proposal(&self, x: &[f64; 2], p: &Vector3<f64>) -> Option<f64> {
        let a = self.rotation * p + self.base;
        let d = self.direction;
        let e = [a.x - x[0] * a.z, a.y - x[1] * a.z];
        let f = [d.x - x[0] * d.z, d.y - x[1] * d.z];
        let ff = f[0] * f[0] + f[1] * f[1];
        (ff > 1e-12).then(|| -(e[0] * f[0] + e[1] * f[1]) / ff)
    }

    /// Whether `p` projects within `max_error` pixels (at `focal`) of its
    /// normalised observation `x` at `length`, in front of the camera.
    fn fits(&self, length: f64, x: &[f64; 2], p: &Vector3<f64>, focal: f64, max_error: f64) -> bool {
        let c = self.rotation * p + self.translation(length);
        if c.z <= 1e-9 {
            return false;
        }
        let (dx, dy) = (c.x / c.z - x[0], c.y / c.z - x[1]);
        focal * (dx * dx + dy * dy).sqrt() <= max_error
    }

    /// The length most of the correspondences (normalised `image_points`
    /// seeing `world` points) fit within `max_error` pixels at `focal`,
    /// refined to the median of the lengths its inliers propose; `None`
    /// unless at least `min_inliers` fit.
    pub fn cross(
        &self,
        image_points: &[[f64; 2]],
        world: &[Vector3<f64>],
        focal: f64,
        max_error: f64,
        min_inliers: usize,
    ) -> Option<Crossing> {
        let inliers_at = |length: f64| -> Vec<bool> {
            image_points.iter().zip(world).map(|(x, p)| self.fits(length, x, p, focal, max_error)).collect()
        };
        let count = |inliers: &[bool]| inliers.iter().filter(|&&k| k).count();
        let step = image_points.len().div_ceil(MAX_PROPOSALS).max(1);
        let (_, best) = image_points
            .iter()
            .zip(world)
            .step_by(step)
            .filter_map(|(x, p)| self.proposal(x, p))
            .map(|length| (count(&inliers_at(length)), length))
            .max_by_key(|&(inliers, _)| inliers)?;
        let mut agreed: Vec<f64> = image_points
            .iter()
            .zip(world)
            .zip(inliers_at(best))
            .filter(|(_, fit)| *fit)
            .filter_map(|((x, p), _)| self.proposal(x, p))
            .collect();
        agreed.sort_by(f64::total_cmp);
        let refined = agreed.get(agreed.len() / 2).copied().unwrap_or(best);
        // Keep the refinement only if it fits at least as many.
        let (length, inliers) = [refined, best]
            .into_iter()
            .map(|length| (length, inliers_at(length)))
            .max_by_key(|(_, inliers)| count(inliers))?;
        (count(&inliers) >= min_inliers).then_some(Crossing { length, inliers })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A camera 1.7 along `direction` from `base`, the points it sees, and
    /// their normalised observations: the first `right` exact, the rest
    /// seeing points from elsewhere.
    fn corner(right: usize, wrong: usize) -> (Bridge, Vec<[f64; 2]>, Vec<Vector3<f64>>) {
        let bridge = Bridge {
            rotation: Rotation3::from_euler_angles(0.1, -0.4, 0.05),
            base: Vector3::new(0.3, -0.2, 0.5),
            direction: Vector3::new(0.8, 0.1, -0.2).normalize(),
        };
        let t = bridge.translation(1.7);
        let mut image_points = Vec::new();
        let mut world = Vec::new();
        for i in 0..right + wrong {
            let f = i as f64;
            // Points 4-8 in front of the camera, spread over the view.
            let c = Vector3::new((f * 0.37).sin() * 2.0, (f * 0.91).cos() * 1.5, 4.0 + (f * 0.53).sin().abs() * 4.0);
            let p = bridge.rotation.inverse() * (c - t);
            let x = [c.x / c.z, c.y / c.z];
            if i < right {
                world.push(p);
            } else {
                // A like point elsewhere, a metre or two along the front
                // (the next window, the tile a row over).
                world.push(p + Vector3::new(1.0 + (f * 1.3).sin().abs(), 0.3 * (f * 2.1).cos(), 0.5 * (f * 0.7).sin()));
            }
            image_points.push(x);
        }
        (bridge, image_points, world)
    }

    #[test]
    fn the_length_is_found_when_most_correspondences_are_wrong() {
        // The demo set's corner: 11 of 52 right.
        let (bridge, image_points, world) = corner(11, 41);
        let crossing = bridge.cross(&image_points, &world, 1000.0, 4.0, 6).unwrap();
        assert!((crossing.length - 1.7).abs() < 1e-6, "length {}", crossing.length);
        assert!(crossing.inliers[..11].iter().all(|&k| k));
        assert!(crossing.inliers[11..].iter().filter(|&&k| k).count() <= 2, "{:?}", crossing.inliers);
        // Their median would not have found it.
        let mut proposals: Vec<f64> =
            image_points.iter().zip(&world).filter_map(|(x, p)| bridge.proposal(x, p)).collect();
        proposals.sort_by(f64::total_cmp);
        assert!((proposals[proposals.len() / 2] - 1.7).abs() > 0.05);
    }

    #[test]
    fn too_few_agreeing_correspondences_give_no_length() {
        let (bridge, image_points, world) = corner(4, 40);
        assert_eq!(bridge.cross(&image_points, &world, 1000.0, 4.0, 6), None);
    }

    #[test]
    fn noisy_correspondences_settle_on_their_median() {
        let (bridge, mut image_points, world) = corner(40, 0);
        // Half a pixel of noise at a focal length of 1000.
        for (i, x) in image_points.iter_mut().enumerate() {
            x[0] += 5e-4 * (i as f64 * 2.7).sin();
            x[1] += 5e-4 * (i as f64 * 1.9).cos();
        }
        let crossing = bridge.cross(&image_points, &world, 1000.0, 4.0, 6).unwrap();
        assert_eq!(crossing.inliers.iter().filter(|&&k| k).count(), 40);
        assert!((crossing.length - 1.7).abs() < 0.02, "length {}", crossing.length);
    }
}
