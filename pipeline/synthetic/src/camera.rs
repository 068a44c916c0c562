//! Pinhole cameras with radial distortion, in COLMAP's convention:
//! world-to-camera rotation `R` and translation `t`, camera axes x right,
//! y down, z forward, pixel centres at `(i + 0.5, j + 0.5)`.

use nalgebra::{Matrix3, Rotation3, UnitQuaternion};

use crate::bvh::Ray;
use crate::scene::V3;

/// A camera: intrinsics and pose.
#[derive(Debug, Clone, PartialEq)]
pub struct Camera {
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// Focal length in pixels.
    pub focal: f64,
    /// Principal point x.
    pub cx: f64,
    /// Principal point y.
    pub cy: f64,
    /// Radial distortion: `x_d = x (1 + k1 r^2 + k2 r^4)` (COLMAP RADIAL).
    pub k1: f64,
    /// See `k1`.
    pub k2: f64,
    /// World-to-camera rotation.
    pub rotation: Rotation3<f64>,
    /// World-to-camera translation.
    pub translation: V3,
}

impl Camera {
    /// A camera at `eye` looking at `target`, with the world's z up; the
    /// principal point at the image centre and no distortion.
    pub fn look_at(width: u32, height: u32, focal: f64, eye: V3, target: V3) -> Camera {
        let forward = (target - eye).normalize();
        let right = forward.cross(&V3::z()).normalize();
        let down = forward.cross(&right);
        let rotation = Rotation3::from_matrix_unchecked(Matrix3::from_rows(&[
            right.transpose(),
            down.transpose(),
            forward.transpose(),
        ]));
        Camera {
            width,
            height,
            focal,
            cx: f64::from(width) / 2.0,
            cy: f64::from(height) / 2.0,
            k1: 0.0,
            k2: 0.0,
            translation: -(rotation * eye),
            rotation,
        }
    }

    /// The same camera held turned a quarter about its axis, clockwise
    /// or not: its photo is this one's turned as much (width and height
    /// swapped), as a phone held upright takes it.
    pub fn turned(&self, clockwise: bool) -> Camera {
        // The turned photo's columns and rows in terms of this one's: a
        // clockwise turn takes pixel (u, v) to (height - v, u).
        let (axes, cx, cy) = if clockwise {
            (Matrix3::new(0.0, -1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0), f64::from(self.height) - self.cy, self.cx)
        } else {
            (Matrix3::new(0.0, 1.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 1.0), self.cy, f64::from(self.width) - self.cx)
        };
        Camera {
            width: self.height,
            height: self.width,
            cx,
            cy,
            rotation: Rotation3::from_matrix_unchecked(axes * self.rotation.matrix()),
            translation: axes * self.translation,
            ..self.clone()
        }
    }

    /// The camera centre in world coordinates.
    pub fn center(&self) -> V3 {
        -(self.rotation.inverse() * self.translation)
    }

    /// The rotation as COLMAP's quaternion `(w, x, y, z)`.
    pub fn quaternion(&self) -> [f64; 4] {
        let q = UnitQuaternion::from_rotation_matrix(&self.rotation);
        let q = if q.w < 0.0 { -q.into_inner() } else { q.into_inner() };
        [q.w, q.i, q.j, q.k]
    }

    /// Where world point `p` appears, in pixels, if it is in front.
    pub fn project(&self, p: &V3) -> Option<(f64, f64)> {
        let c = self.rotation * p + self.translation;
        if c.z <= 1e-9 {
            return None;
        }
        let (x, y) = (c.x / c.z, c.y / c.z);
        let d = self.distortion(x * x + y * y);
        Some((self.focal * x * d + self.cx, self.focal * y * d + self.cy))
    }

    fn distortion(&self, r2: f64) -> f64 {
        1.0 + self.k1 * r2 + self.k2 * r2 * r2
    }

    /// The ray through pixel position `(u, v)` (distortion removed by
    /// fixed-point iteration).
    pub fn ray(&self, u: f64, v: f64) -> Ray {
        let (xd, yd) = ((u - self.cx) / self.focal, (v - self.cy) / self.focal);
        let (mut x, mut y) = (xd, yd);
        if self.k1 != 0.0 || self.k2 != 0.0 {
            for _ in 0..20 {
                let d = self.distortion(x * x + y * y);
                (x, y) = (xd / d, yd / d);
            }
        }
        let dir_cam = V3::new(x, y, 1.0).normalize();
        Ray { origin: self.center(), dir: self.rotation.inverse() * dir_cam }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_and_rays_are_inverse() {
        let mut cam = Camera::look_at(800, 533, 600.0, V3::new(3.0, -12.0, 1.6), V3::new(0.0, 0.0, 2.5));
        cam.k1 = -0.08;
        cam.k2 = 0.01;
        for (u, v) in [(0.5, 0.5), (400.0, 266.5), (799.5, 532.5), (123.4, 456.7)] {
            let ray = cam.ray(u, v);
            let p = ray.origin + ray.dir * 7.3;
            let (pu, pv) = cam.project(&p).unwrap();
            assert!((pu - u).abs() < 1e-6 && (pv - v).abs() < 1e-6, "{u},{v} -> {pu},{pv}");
        }
        let target = cam.project(&V3::new(0.0, 0.0, 2.5)).unwrap();
        assert!((target.0 - 400.0).abs() < 1e-9 && (target.1 - 266.5).abs() < 1e-9);
        assert!((cam.center() - V3::new(3.0, -12.0, 1.6)).norm() < 1e-12);
    }

    #[test]
    fn a_turned_camera_sees_the_photo_turned() {
        let mut cam = Camera::look_at(800, 533, 600.0, V3::new(3.0, -12.0, 1.6), V3::new(0.0, 0.0, 2.5));
        cam.cx = 390.0;
        cam.k1 = -0.08;
        let (clockwise, anticlockwise) = (cam.turned(true), cam.turned(false));
        assert_eq!((clockwise.width, clockwise.height), (533, 800));
        assert_eq!(clockwise.center(), cam.center());
        for p in [V3::new(0.0, 0.0, 2.5), V3::new(1.5, 2.0, 0.3), V3::new(-2.0, 1.0, 4.0)] {
            let (u, v) = cam.project(&p).unwrap();
            let (cu, cv) = clockwise.project(&p).unwrap();
            assert!((cu - (533.0 - v)).abs() < 1e-9 && (cv - u).abs() < 1e-9);
            let (au, av) = anticlockwise.project(&p).unwrap();
            assert!((au - v).abs() < 1e-9 && (av - (800.0 - u)).abs() < 1e-9);
        }
        // Turned clockwise, the photo has the sky at its right.
        let (sky, _) = clockwise.project(&V3::new(0.0, 0.0, 6.0)).unwrap();
        assert!(sky > 400.0, "{sky}");
    }

    #[test]
    fn up_in_the_world_is_up_in_the_image() {
        let cam = Camera::look_at(100, 100, 100.0, V3::new(0.0, -10.0, 1.0), V3::new(0.0, 0.0, 1.0));
        let (_, high) = cam.project(&V3::new(0.0, 0.0, 2.0)).unwrap();
        let (_, low) = cam.project(&V3::new(0.0, 0.0, 0.0)).unwrap();
        assert!(high < low);
        let (east, _) = cam.project(&V3::new(1.0, 0.0, 1.0)).unwrap();
        assert!(east > 50.0, "east is to the right when looking north");
    }
}
