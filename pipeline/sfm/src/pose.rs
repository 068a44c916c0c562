//! Relative pose from an essential matrix, and triangulation.
//!
//! Points here are normalised image coordinates (`K⁻¹ x`), poses
//! world-to-camera with the first camera at the origin.

use nalgebra::{Matrix3, Matrix3x4, Matrix4, Rotation3, Vector3, Vector4};

/// The skew-symmetric matrix of the cross product with `v`.
pub fn skew(v: &Vector3<f64>) -> Matrix3<f64> {
    Matrix3::new(0.0, -v.z, v.y, v.z, 0.0, -v.x, -v.y, v.x, 0.0)
}

/// The essential matrix of the pose (R, t): E = [t]x R.
pub fn essential_from_pose(r: &Rotation3<f64>, t: &Vector3<f64>) -> Matrix3<f64> {
    skew(t) * r.matrix()
}

/// The four poses an essential matrix allows: two rotations times the two
/// signs of the unit translation.
pub fn decompose_essential(e: &Matrix3<f64>) -> Vec<(Rotation3<f64>, Vector3<f64>)> {
    let svd = e.svd(true, true);
    let (Some(mut u), Some(mut v_t)) = (svd.u, svd.v_t) else { return Vec::new() };
    if u.determinant() < 0.0 {
        u = -u;
    }
    if v_t.determinant() < 0.0 {
        v_t = -v_t;
    }
    let w = Matrix3::new(0.0, -1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0);
    let t: Vector3<f64> = u.column(2).into_owned();
    let r1 = Rotation3::from_matrix_unchecked(u * w * v_t);
    let r2 = Rotation3::from_matrix_unchecked(u * w.transpose() * v_t);
    vec![(r1, t), (r1, -t), (r2, t), (r2, -t)]
}

/// The 3x4 projection of a pose.
pub fn projection(r: &Rotation3<f64>, t: &Vector3<f64>) -> Matrix3x4<f64> {
    let mut p = Matrix3x4::zeros();
    p.fixed_view_mut::<3, 3>(0, 0).copy_from(r.matrix());
    p.set_column(3, t);
    p
}

/// The point seen at `x1` by `p1` and at `x2` by `p2` (linear DLT);
/// `None` at infinity.
pub fn triangulate(p1: &Matrix3x4<f64>, p2: &Matrix3x4<f64>, x1: &[f64; 2], x2: &[f64; 2]) -> Option<Vector3<f64>> {
    triangulate_views(&[(*p1, *x1), (*p2, *x2)])
}

/// The point seen by every (projection, normalised image point) pair, by
/// the linear DLT over all views (the normal equations of its rows);
/// `None` for fewer than two views or a point at infinity.
pub fn triangulate_views(views: &[(Matrix3x4<f64>, [f64; 2])]) -> Option<Vector3<f64>> {
    if views.len() < 2 {
        return None;
    }
    let mut normal = Matrix4::zeros();
    for (p, x) in views {
        for (axis, coordinate) in [(0, x[0]), (1, x[1])] {
            let row = p.row(2) * coordinate - p.row(axis);
            normal += row.transpose() * row;
        }
    }
    let h = smallest_eigenvector(&normal)?;
    (h[3].abs() > 1e-12).then(|| Vector3::new(h[0] / h[3], h[1] / h[3], h[2] / h[3]))
}

/// The unit eigenvector of the smallest eigenvalue of the 4x4 positive
/// semi-definite `normal`: by inverse iteration from the solution with
/// the last coordinate 1 (close to it when the other eigenvalues are far
/// larger, as for a triangulated point), or in full if that fails.
fn smallest_eigenvector(normal: &Matrix4<f64>) -> Option<Vector4<f64>> {
    let start = normal.fixed_view::<3, 3>(0, 0).into_owned().cholesky();
    let shifted = (normal + Matrix4::identity() * (1e-12 * normal.trace())).cholesky();
    if let (Some(start), Some(shifted)) = (start, shifted) {
        let mut h = start.solve(&-normal.fixed_view::<3, 1>(0, 3).into_owned()).push(1.0).normalize();
        for _ in 0..2 {
            h = shifted.solve(&h).normalize();
        }
        return Some(h);
    }
    let eigen = normal.symmetric_eigen();
    let (index, _) = eigen.eigenvalues.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1))?;
    Some(eigen.eigenvectors.column(index).into_owned())
}

/// The largest angle (degrees) between the rays from `centres` to `point`:
/// small angles mean a poorly determined depth.
pub fn triangulation_angle(centres: &[Vector3<f64>], point: &Vector3<f64>) -> f64 {
    // The widest angle has the smallest cosine: one arc cosine at the end.
    let smallest_cosine = ray_cosines(centres, point).fold(1.0, f64::min);
    smallest_cosine.clamp(-1.0, 1.0).acos().to_degrees()
}

/// Whether two of the rays from `centres` to `point` are at least
/// `min_angle` degrees apart (stops at the first such pair).
pub fn seen_wide_enough(centres: &[Vector3<f64>], point: &Vector3<f64>, min_angle: f64) -> bool {
    let widest_cosine = min_angle.to_radians().cos();
    ray_cosines(centres, point).any(|cosine| cosine <= widest_cosine)
}

/// The cosines of the angles between every two rays from `centres` to `point`.
fn ray_cosines(centres: &[Vector3<f64>], point: &Vector3<f64>) -> impl Iterator<Item = f64> {
    let rays: Vec<Vector3<f64>> = centres.iter().map(|c| (point - c).normalize()).collect();
    let n = rays.len();
    (0..n).flat_map(move |i| (i + 1..n).map(move |j| (i, j))).map(move |(i, j)| rays[i].dot(&rays[j]))
}

/// Of the four poses of `e`, the one that puts most correspondences in
/// front of both cameras, with that count.
pub fn recover_pose(
    e: &Matrix3<f64>,
    x1: &[[f64; 2]],
    x2: &[[f64; 2]],
) -> Option<(Rotation3<f64>, Vector3<f64>, usize)> {
    let first = projection(&Rotation3::identity(), &Vector3::zeros());
    decompose_essential(e)
        .into_iter()
        .map(|(r, t)| {
            let second = projection(&r, &t);
            let in_front = x1
                .iter()
                .zip(x2)
                .filter_map(|(a, b)| triangulate(&first, &second, a, b))
                .filter(|p| p.z > 0.0 && (r * p + t).z > 0.0)
                .count();
            (r, t, in_front)
        })
        .max_by_key(|(_, _, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_true_pose_is_recovered_from_its_essential_matrix() {
        let r = Rotation3::from_euler_angles(0.1, -0.25, 0.05);
        let t = Vector3::new(-0.9, 0.1, 0.2).normalize();
        let points: Vec<Vector3<f64>> = (0..30)
            .map(|i| Vector3::new((i % 5) as f64 - 2.0, (i / 5) as f64 * 0.4 - 1.0, 6.0 + (i % 3) as f64))
            .collect();
        let x1: Vec<[f64; 2]> = points.iter().map(|p| [p.x / p.z, p.y / p.z]).collect();
        let x2: Vec<[f64; 2]> = points
            .iter()
            .map(|p| {
                let c = r * p + t;
                [c.x / c.z, c.y / c.z]
            })
            .collect();
        let e = essential_from_pose(&r, &t);
        for (a, b) in x1.iter().zip(&x2) {
            let residual = Vector3::new(b[0], b[1], 1.0).dot(&(e * Vector3::new(a[0], a[1], 1.0)));
            assert!(residual.abs() < 1e-12);
        }
        let (rr, rt, n) = recover_pose(&(e * 3.7), &x1, &x2).unwrap();
        assert_eq!(n, points.len());
        assert!((rr.matrix() - r.matrix()).norm() < 1e-9);
        assert!((rt - t).norm() < 1e-9);
        let p =
            triangulate(&projection(&Rotation3::identity(), &Vector3::zeros()), &projection(&r, &t), &x1[7], &x2[7])
                .unwrap();
        assert!((p - points[7]).norm() < 1e-9);
    }

    #[test]
    fn many_views_triangulate_a_noisy_point_and_measure_its_angle() {
        let point = Vector3::new(0.3, -0.2, 6.0);
        let mut views = Vec::new();
        let mut centres = Vec::new();
        for i in 0..6 {
            let r = Rotation3::from_euler_angles(0.0, -0.05 * i as f64, 0.0);
            let centre = Vector3::new(0.5 * i as f64, 0.0, 0.0);
            let t = -(r * centre);
            let c = r * point + t;
            // Noise of about a pixel at a focal length of 1000.
            let noise = 1e-3 * if i % 2 == 0 { 1.0 } else { -1.0 };
            views.push((projection(&r, &t), [c.x / c.z + noise, c.y / c.z - noise]));
            centres.push(centre);
        }
        let found = triangulate_views(&views).unwrap();
        assert!((found - point).norm() < 0.05, "{found}");
        let exact: Vec<_> = views
            .iter()
            .map(|(p, _)| *p)
            .zip(views.iter().map(|(p, _)| {
                let h = p * point.push(1.0);
                [h.x / h.z, h.y / h.z]
            }))
            .collect();
        assert!((triangulate_views(&exact).unwrap() - point).norm() < 1e-9);
        assert!(triangulate_views(&exact[..1]).is_none());
        let angle = triangulation_angle(&centres, &point);
        // The widest pair: the first and the last centre.
        let (a, b) = ((point - centres[0]).normalize(), (point - centres[5]).normalize());
        let expected = a.dot(&b).acos().to_degrees();
        assert!((angle - expected).abs() < 1e-6, "{angle} vs {expected}");
        assert!(seen_wide_enough(&centres, &point, expected - 1e-6));
        assert!(!seen_wide_enough(&centres, &point, expected + 1e-6));
    }

    #[test]
    fn inverse_iteration_finds_the_smallest_eigenvector() {
        // Normal matrices of noisy two-view points, near and far.
        for (i, depth) in [2.0, 6.0, 40.0].into_iter().enumerate() {
            let r = Rotation3::from_euler_angles(0.02, -0.1, 0.01);
            let t = Vector3::new(-1.0, 0.1, 0.05);
            let point = Vector3::new(0.4, -0.3, depth);
            let mut normal = Matrix4::zeros();
            for (k, p) in [projection(&Rotation3::identity(), &Vector3::zeros()), projection(&r, &t)].iter().enumerate()
            {
                let h = p * point.push(1.0);
                let noise = 2e-3 * (k + i) as f64;
                for (axis, coordinate) in [(0, h.x / h.z + noise), (1, h.y / h.z - noise)] {
                    let row = p.row(2) * coordinate - p.row(axis);
                    normal += row.transpose() * row;
                }
            }
            let eigen = normal.symmetric_eigen();
            let (index, _) = eigen.eigenvalues.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1)).unwrap();
            let expected = eigen.eigenvectors.column(index);
            let found = smallest_eigenvector(&normal).unwrap();
            assert!((found.dot(&expected).abs() - 1.0).abs() < 1e-12, "depth {depth}: {found} vs {expected}");
        }
    }
}
