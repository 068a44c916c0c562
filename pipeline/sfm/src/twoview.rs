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

/// The coefficients of `q̃ᵀ M p̃ = 0` (homogeneous points) in the entries
/// of `M`, row-major.
fn epipolar_equation(p: &Point, q: &Point) -> [f64; 9] {
    [q[0] * p[0], q[0] * p[1], q[0], q[1] * p[0], q[1] * p[1], q[1], p[0], p[1], 1.0]
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
            epipolar_equation(&[p.x, p.y], &[q.x, q.y])
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

/// An orthonormal basis of the vectors orthogonal to every one of the
/// (fewer than 9) `equations`: the last columns of the orthogonal factor
/// of their Householder QR, one per missing equation. Exact where a least
/// squares fit of `null_vector` is not needed, and a fraction of its cost.
fn orthogonal_complement(equations: &[[f64; 9]]) -> Vec<SVector<f64, 9>> {
    let mut columns = SMatrix::<f64, 9, 9>::zeros();
    for (c, equation) in equations.iter().enumerate().take(9) {
        columns.set_column(c, &SVector::<f64, 9>::from_row_slice(equation));
    }
    let q = columns.qr().q();
    (equations.len().min(9)..9).map(|c| q.column(c).into_owned()).collect()
}

/// An orthonormal basis of the matrices (as row-major 9-vectors) that
/// satisfy `x2ᵀ M x1 = 0` for the correspondences given (fewer than 9).
pub(crate) fn epipolar_null_space(x1: &[Point], x2: &[Point]) -> Vec<SVector<f64, 9>> {
    let equations: Vec<[f64; 9]> = x1.iter().zip(x2).map(|(p, q)| epipolar_equation(p, q)).collect();
    orthogonal_complement(&equations)
}

/// The one to three fundamental matrices through exactly 7
/// correspondences: F = a F1 + (1 - a) F2 from the two-dimensional null
/// space, with a from the cubic det(F) = 0.
pub fn fundamental_7point(x1: &[Point], x2: &[Point]) -> Vec<Matrix3<f64>> {
    if x1.len() != 7 || x2.len() != 7 {
        return Vec::new();
    }
    let (t1, t2) = (normaliser(x1), normaliser(x2));
    let normalised: (Vec<Point>, Vec<Point>) = x1
        .iter()
        .zip(x2)
        .map(|(p, q)| {
            let (p, q) = (apply(&t1, p), apply(&t2, q));
            ([p.x, p.y], [q.x, q.y])
        })
        .unzip();
    let basis = epipolar_null_space(&normalised.0, &normalised.1);
    let f1 = Matrix3::from_row_slice(basis[0].as_slice());
    let f2 = Matrix3::from_row_slice(basis[1].as_slice());
    // det(a F1 + (1 - a) F2) = c3 a^3 + c2 a^2 + c1 a + c0, found by sampling
    // the determinant at four values of a.
    let det = |a: f64| (f1 * a + f2 * (1.0 - a)).determinant();
    let (d0, d1, dm, d2) = (det(0.0), det(1.0), det(-1.0), det(2.0));
    let c0 = d0;
    let c2 = (d1 + dm) / 2.0 - d0;
    let c3 = (d2 - 2.0 * d1 + d0 - 2.0 * c2) / 6.0;
    let c1 = d1 - c0 - c2 - c3;
    real_cubic_roots(c3, c2, c1, c0)
        .into_iter()
        .filter_map(|a| {
            let f = t2.transpose() * (f1 * a + f2 * (1.0 - a)) * t1;
            let norm = f.norm();
            (norm > 1e-300 && f.iter().all(|v| v.is_finite())).then(|| f / norm)
        })
        .collect()
}

/// Real roots of c3 x^3 + c2 x^2 + c1 x + c0 (degree dropping when the
/// leading coefficients vanish), polished by Newton steps.
pub fn real_cubic_roots(c3: f64, c2: f64, c1: f64, c0: f64) -> Vec<f64> {
    let scale = c3.abs().max(c2.abs()).max(c1.abs()).max(c0.abs());
    if scale == 0.0 {
        return Vec::new();
    }
    if c3.abs() < 1e-12 * scale {
        if c2.abs() < 1e-12 * scale {
            return if c1.abs() < 1e-12 * scale { Vec::new() } else { vec![-c0 / c1] };
        }
        let disc = c1 * c1 - 4.0 * c2 * c0;
        if disc < 0.0 {
            return Vec::new();
        }
        let q = -0.5 * (c1 + c1.signum() * disc.sqrt());
        let mut roots = vec![q / c2];
        if q != 0.0 {
            roots.push(c0 / q);
        }
        return roots;
    }
    let (a, b, c) = (c2 / c3, c1 / c3, c0 / c3);
    let q = (a * a - 3.0 * b) / 9.0;
    let r = (2.0 * a * a * a - 9.0 * a * b + 27.0 * c) / 54.0;
    let mut roots = if r * r < q * q * q {
        let theta = (r / (q * q * q).sqrt()).clamp(-1.0, 1.0).acos();
        let m = -2.0 * q.sqrt();
        (0..3).map(|k| m * ((theta + std::f64::consts::TAU * f64::from(k)) / 3.0).cos() - a / 3.0).collect()
    } else {
        let big = -r.signum() * (r.abs() + (r * r - q * q * q).sqrt()).cbrt();
        let small = if big == 0.0 { 0.0 } else { q / big };
        vec![big + small - a / 3.0]
    };
    for x in &mut roots {
        for _ in 0..3 {
            let f = ((x.mul_add(1.0, a) * *x + b) * *x) + c;
            let df = (3.0 * *x + 2.0 * a) * *x + b;
            if df.abs() > 1e-300 {
                *x -= f / df;
            }
        }
    }
    roots
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
    let null = if rows.len() == 8 { orthogonal_complement(&rows)[0] } else { null_vector(&rows) };
    let hn = Matrix3::from_row_slice(null.as_slice());
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
