//! The camera model and one observation's residual, Jacobians and
//! robust cost.

use nalgebra::{Matrix2x3, SMatrix, Vector2, Vector3};

use super::{BaCamera, BaImage, Observation, Problem};
use crate::ordered::fold_in_order;

/// A point projected by a camera: in the camera frame, normalised, the
/// distortion factor and the pixel.
pub(super) struct Projected {
    pub(super) p: Vector3<f64>,
    pub(super) rotated: Vector3<f64>,
    pub(super) u: f64,
    pub(super) v: f64,
    pub(super) r2: f64,
    pub(super) d: f64,
    pub(super) pixel: Vector2<f64>,
}

/// Projects `point`; `None` if it is behind the camera.
#[inline]
pub(super) fn project(camera: &BaCamera, image: &BaImage, point: &Vector3<f64>) -> Option<Projected> {
    let rotated = image.rotation * point;
    let p = rotated + image.translation;
    if p.z <= 1e-9 {
        return None;
    }
    let (u, v) = (p.x / p.z, p.y / p.z);
    let r2 = u * u + v * v;
    let d = 1.0 + camera.k1 * r2 + camera.k2 * r2 * r2;
    let pixel = Vector2::new(camera.focal * d * u + camera.cx, camera.focal * d * v + camera.cy);
    Some(Projected { p, rotated, u, v, r2, d, pixel })
}

/// The derivative of the pixel with respect to the point in the camera
/// frame, `d(pixel)/d(p)`, at `projected`.
pub(super) fn pixel_jacobian(camera: &BaCamera, projected: &Projected) -> Matrix2x3<f64> {
    let Projected { p, u, v, r2, d, .. } = *projected;
    // d(pixel)/d(u, v).
    let dd = 2.0 * (camera.k1 + 2.0 * camera.k2 * r2);
    let f = camera.focal;
    let d_uv = nalgebra::Matrix2::new(f * (d + u * u * dd), f * u * v * dd, f * u * v * dd, f * (d + v * v * dd));
    // d(u, v)/d(p).
    let d_p = Matrix2x3::new(1.0 / p.z, 0.0, -p.x / (p.z * p.z), 0.0, 1.0 / p.z, -p.y / (p.z * p.z));
    d_uv * d_p
}

/// One observation linearised: residual (predicted minus measured) and
/// Jacobians with respect to the pose (ω, t), the intrinsics (f, k1, k2)
/// and the point.
pub(super) struct Linearised {
    pub(super) residual: Vector2<f64>,
    pub(super) d_pose: SMatrix<f64, 2, 6>,
    pub(super) d_intrinsics: Matrix2x3<f64>,
    pub(super) d_point: Matrix2x3<f64>,
}

/// Linearises one observation; `None` if the point is behind the camera.
pub(super) fn linearise(camera: &BaCamera, image: &BaImage, point: &Vector3<f64>, xy: &[f64; 2]) -> Option<Linearised> {
    let projected = project(camera, image, point)?;
    let d_pixel_d_p = pixel_jacobian(camera, &projected);
    let Projected { rotated, u, v, r2, d, pixel, .. } = projected;
    let residual = pixel - Vector2::new(xy[0], xy[1]);
    let f = camera.focal;
    // p = exp([ω]ₓ) R X + t: dp/dω = -[R X]ₓ, dp/dt = I, dp/dX = R.
    let skew = -crate::pose::skew(&rotated);
    let mut d_pose = SMatrix::<f64, 2, 6>::zeros();
    d_pose.fixed_view_mut::<2, 3>(0, 0).copy_from(&(d_pixel_d_p * skew));
    d_pose.fixed_view_mut::<2, 3>(0, 3).copy_from(&d_pixel_d_p);
    let d_intrinsics = Matrix2x3::new(d * u, f * r2 * u, f * r2 * r2 * u, d * v, f * r2 * v, f * r2 * r2 * v);
    let d_point = d_pixel_d_p * image.rotation.matrix();
    Some(Linearised { residual, d_pose, d_intrinsics, d_point })
}

/// Huber weight and robust cost of a residual of squared length `s`.
pub(super) fn robust(s: f64, huber: Option<f64>) -> (f64, f64) {
    match huber {
        Some(delta) if s > delta * delta => {
            let r = s.sqrt();
            (delta / r, 2.0 * delta * r - delta * delta)
        }
        _ => (1.0, s),
    }
}

/// Robust cost (weighted) and squared error of observation `o` of `point`.
pub(super) fn observation_cost(
    problem: &Problem,
    point: &Vector3<f64>,
    o: &Observation,
    huber: Option<f64>,
) -> (f64, f64) {
    let image = &problem.images[o.image];
    match project(&problem.cameras[image.camera], image, point) {
        Some(projected) => {
            let s = (projected.pixel - Vector2::new(o.xy[0], o.xy[1])).norm_squared();
            (robust(s, huber).1 * o.weight * o.weight, s)
        }
        None => (1e6, 1e6),
    }
}

/// Robust cost and squared error sum of `observations` at the estimate
/// of `problem` (its cameras, images and points).
pub(super) fn cost(problem: &Problem, observations: &[Observation], huber: Option<f64>) -> (f64, f64) {
    fold_in_order(
        observations,
        || (0.0, 0.0),
        |sum, o| {
            let (cost, squared) = observation_cost(problem, &problem.points[o.point], o, huber);
            (sum.0 + cost, sum.1 + squared)
        },
        |a, b| (a.0 + b.0, a.1 + b.1),
    )
}

#[cfg(test)]
mod tests {
    use nalgebra::Rotation3;

    use super::*;

    #[test]
    fn jacobians_match_finite_differences() {
        let camera = BaCamera { focal: 800.0, cx: 320.0, cy: 240.0, k1: -0.1, k2: 0.03 };
        let image = BaImage {
            rotation: Rotation3::from_euler_angles(0.1, -0.2, 0.3),
            translation: Vector3::new(0.3, -0.1, 4.0),
            camera: 0,
        };
        let point = Vector3::new(0.5, -0.4, 1.0);
        let xy = [0.0, 0.0];
        let Linearised { residual: r, d_pose, d_intrinsics: d_intr, d_point } =
            linearise(&camera, &image, &point, &xy).unwrap();
        let h = 1e-6;
        for k in 0..6 {
            let mut moved = image;
            let mut e = Vector3::zeros();
            if k < 3 {
                e[k] = h;
                moved.rotation = Rotation3::new(e) * image.rotation;
            } else {
                e[k - 3] = h;
                moved.translation += e;
            }
            let numeric = (linearise(&camera, &moved, &point, &xy).unwrap().residual - r) / h;
            assert!(
                (numeric - d_pose.column(k)).norm() < 1e-3 * (1.0 + numeric.norm()),
                "pose {k}: {numeric} vs {}",
                d_pose.column(k)
            );
        }
        for k in 0..3 {
            let mut moved = camera;
            match k {
                0 => moved.focal += h,
                1 => moved.k1 += h,
                _ => moved.k2 += h,
            }
            let numeric = (linearise(&moved, &image, &point, &xy).unwrap().residual - r) / h;
            assert!((numeric - d_intr.column(k)).norm() < 1e-3 * (1.0 + numeric.norm()), "intrinsics {k}");
            let mut e = Vector3::zeros();
            e[k] = h;
            let numeric = (linearise(&camera, &image, &(point + e), &xy).unwrap().residual - r) / h;
            assert!((numeric - d_point.column(k)).norm() < 1e-3 * (1.0 + numeric.norm()), "point {k}");
        }
    }
}
