//! Helpers shared by the geometry tests: repeatable noise and cameras.

#![allow(dead_code)] // Each test binary uses its own share of these.

use nalgebra::{Matrix3, Rotation3, Vector3};

/// Deterministic pseudo-random numbers in [-1, 1).
pub struct Noise(pub u64);

impl Noise {
    /// The next number.
    pub fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

/// A camera at `centre` looking at the origin, z up in the world and y
/// down in the image: world-to-camera rotation and translation.
pub fn look_at_origin(centre: Vector3<f64>) -> (Rotation3<f64>, Vector3<f64>) {
    let z = (-centre).normalize();
    let x = z.cross(&Vector3::z()).normalize();
    let y = z.cross(&x);
    let r = Rotation3::from_matrix_unchecked(Matrix3::from_rows(&[x.transpose(), y.transpose(), z.transpose()]));
    (r, -(r * centre))
}

/// Angle between two rotations in degrees (clamped against rounding).
pub fn rotation_error_deg(a: &Rotation3<f64>, b: &Rotation3<f64>) -> f64 {
    let trace = (a.inverse() * b).matrix().trace();
    ((trace - 1.0) / 2.0).clamp(-1.0, 1.0).acos().to_degrees()
}
