//! Where a volunteer stands: a ring around the house, a sweep along the
//! facade, and a few close-ups, at eye height with a hand's unsteadiness.

use crate::camera::Camera;
use crate::noise::Rng;
use crate::scene::V3;

/// A phone-like lens: 26 mm equivalent (about 69 degrees across).
pub const FOCAL_35MM: f64 = 26.0;

/// The cameras of a photo set of `count` photos of `width` x `height`.
pub fn volunteer_walk(count: usize, width: u32, height: u32, seed: i64) -> Vec<Camera> {
    let mut rng = Rng::new(&[seed, 0xca11]);
    let focal = FOCAL_35MM / 36.0 * f64::from(width.max(height));
    let ring = (count as f64 * 0.7).round() as usize;
    let sweep = (count as f64 * 0.2).round() as usize;
    let close = count.saturating_sub(ring + sweep);
    let mut cameras = Vec::with_capacity(count);
    let mut shoot = |eye: V3, target: V3, rng: &mut Rng| {
        let jitter = V3::new(rng.range(-0.15, 0.15), rng.range(-0.15, 0.15), rng.range(-0.1, 0.1));
        let aim = V3::new(rng.range(-0.3, 0.3), rng.range(-0.3, 0.3), rng.range(-0.2, 0.2));
        cameras.push(Camera::look_at(width, height, focal, eye + jitter, target + aim));
    };
    // A ring around the house, starting in front, going anticlockwise.
    for i in 0..ring {
        let angle = -std::f64::consts::FRAC_PI_2 + std::f64::consts::TAU * i as f64 / ring.max(1) as f64;
        let radius = 17.0 + rng.range(-0.8, 0.8);
        // Volunteers hold the phone low or high and tilt it as they go.
        let eye = V3::new(radius * angle.cos(), radius * angle.sin(), rng.range(1.3, 2.3));
        shoot(eye, V3::new(0.0, 0.0, rng.range(1.8, 3.6)), &mut rng);
    }
    // A sweep along the facade, looking at it square on.
    for i in 0..sweep {
        let x = -7.0 + 14.0 * (i as f64 + 0.5) / sweep.max(1) as f64;
        shoot(V3::new(x, -11.5, 1.7), V3::new(x * 0.7, -2.0, 2.4), &mut rng);
    }
    // Closer views of the columns and doors, the stele and the shrine.
    let details = [
        (V3::new(-3.0, -8.5, 1.7), V3::new(-3.3, -3.0, 2.0)),
        (V3::new(2.5, -8.0, 1.6), V3::new(1.1, -2.5, 1.8)),
        (V3::new(-7.5, -11.5, 1.6), V3::new(-8.9, -6.7, 1.2)),
        (V3::new(7.0, -11.5, 1.7), V3::new(9.0, -7.0, 1.5)),
    ];
    for i in 0..close {
        let (eye, target) = details[i % details.len()];
        shoot(eye + V3::new(0.4 * (i / details.len()) as f64, 0.0, 0.0), target, &mut rng);
    }
    cameras
}
