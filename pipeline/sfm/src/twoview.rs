//! Two-view geometry: the normalised 8-point fundamental matrix and the
//! 4-point homography (both by DLT on Hartley-normalised points), with the
//! error measures robust estimation scores them by.

use nalgebra::{Matrix3, SMatrix, SVector, Vector3};

/// A point in pixels.
pub type Point = [f64; 2];

/// A similarity taking points to zero mean and mean distance sqrt(2), for
/// well-conditioned linear solves (Hartley).
fn normaliser(points: &[Point]) -> Matrix3<f64> {
    let n = points.len() as f64;
    let (mx, my) = points.iter().fold((0.0, 0.0), |(a, b), p| (a + p[0] / n, b + p[1] / n));
    let mean_dist = points.iter().map(|p| ((p[0] - mx).powi(2) + (p[1] - my).powi(2)).sqrt()).sum::<f64>() / n;
    let s = if mean_dist > 1e-12 { std::f64::consts::SQRT_2 / mean_dist } else { 1.0 };
    Matrix3::new(s, 0.0, -s * mx, 0.0, s, -s * my, 0.0, 0.0, 1.0)
}

fn apply(t: &Matrix3<f64>, p: &Point) -> Vector3<f64> {
    t * Vector3::new(p[0], p[1], 1.0)
}

/// The unit vector minimising |A x| for the rows given: the eigenvector
/// of AᵀA with the smallest eigenvalue.
fn null_vector(rows: &[[f64; 9]]) -> SVector<f64, 9> {
    let mut ata = SMatrix::<f64, 9, 9>::zeros();
    for r in rows {
        let v = SVector::<f64, 9>::from_row_slice(r);
        ata += v * v.transpose();
    }
    let eigen = ata.symmetric_eigen();
    let (index, _) = eigen.eigenvalues.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1)).expect("nine eigenvalues");
    eigen.eigenvectors.column(index).into_owned()
}

/// The fundamental matrix (x2ᵀ F x1 = 0) from 8 or more correspondences,
/// with rank 2 enforced. `None` for degenerate input.
pub fn fundamental_8point(x1: &[Point], x2: &[Point]) -> Option<Matrix3<f64>> {
    if x1.len() < 8 || x1.len() != x2.len() {
        return None;
    }
    let (t1, t2) = (normaliser(x1), normaliser(x2));
    let rows: Vec<[f64; 9]> = x1
        .iter()
        .zip(x2)
        .map(|(a, b)| {
            let (p, q) = (apply(&t1, a), apply(&t2, b));
            [q.x * p.x, q.x * p.y, q.x, q.y * p.x, q.y * p.y, q.y, p.x, p.y, 1.0]
        })
        .collect();
    let f = Matrix3::from_row_slice(null_vector(&rows).as_slice());
    let svd = f.svd(true, true);
    let (u, v_t) = (svd.u?, svd.v_t?);
    let mut s = svd.singular_values;
    s[2] = 0.0;
    let f = u * Matrix3::from_diagonal(&s) * v_t;
    let f = t2.transpose() * f * t1;
    let norm = f.norm();
    (norm > 1e-300 && f.iter().all(|v| v.is_finite())).then(|| f / norm)
}

/// The homography (x2 ~ H x1) from 4 or more correspondences.
pub fn homography_4point(x1: &[Point], x2: &[Point]) -> Option<Matrix3<f64>> {
    if x1.len() < 4 || x1.len() != x2.len() {
        return None;
    }
    let (t1, t2) = (normaliser(x1), normaliser(x2));
    let mut rows = Vec::with_capacity(2 * x1.len());
    for (a, b) in x1.iter().zip(x2) {
        let (p, q) = (apply(&t1, a), apply(&t2, b));
        rows.push([-p.x, -p.y, -1.0, 0.0, 0.0, 0.0, q.x * p.x, q.x * p.y, q.x]);
        rows.push([0.0, 0.0, 0.0, -p.x, -p.y, -1.0, q.y * p.x, q.y * p.y, q.y]);
    }
    let hn = Matrix3::from_row_slice(null_vector(&rows).as_slice());
    let h = t2.try_inverse()? * hn * t1;
    let scale = h[(2, 2)];
    (scale.abs() > 1e-12 && h.iter().all(|v| v.is_finite())).then(|| h / scale)
}

/// Sampson's first-order approximation of the squared distance of a
/// correspondence to the epipolar geometry of `f`, in pixels squared.
pub fn sampson_error(f: &Matrix3<f64>, a: &Point, b: &Point) -> f64 {
    let (p, q) = (Vector3::new(a[0], a[1], 1.0), Vector3::new(b[0], b[1], 1.0));
    let fp = f * p;
    let ftq = f.transpose() * q;
    let e = q.dot(&fp);
    let d = fp.x * fp.x + fp.y * fp.y + ftq.x * ftq.x + ftq.y * ftq.y;
    if d <= 0.0 { f64::INFINITY } else { e * e / d }
}

/// The squared distance in the second image between `b` and `a` mapped by
/// the homography `h`.
pub fn transfer_error(h: &Matrix3<f64>, a: &Point, b: &Point) -> f64 {
    let m = h * Vector3::new(a[0], a[1], 1.0);
    if m.z.abs() < 1e-12 {
        return f64::INFINITY;
    }
    (m.x / m.z - b[0]).powi(2) + (m.y / m.z - b[1]).powi(2)
}
