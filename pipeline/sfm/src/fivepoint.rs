//! The calibrated 5-point relative pose solver (Stewénius, Engels and
//! Nistér's Gröbner-basis formulation).
//!
//! The essential matrices through five correspondences form
//! `E = x X + y Y + z Z + W`, with X, Y, Z, W spanning the null space of
//! the epipolar equations. The ten cubic constraints `det E = 0` and
//! `2 E Eᵀ E - tr(E Eᵀ) E = 0` are reduced (Gauss-Jordan) against their ten
//! cubic monomials; what is left gives the action matrix of
//! multiplication by `x` on the quotient basis, whose real eigenvectors
//! are the (up to ten) solutions.

use nalgebra::linalg::Schur;
use nalgebra::{Matrix3, SMatrix, SVector};

use crate::twoview::epipolar_null_space;

/// Monomials of degree 3 or less in x, y, z, in graded reverse
/// lexicographic order: the ten cubics first, then the basis of the
/// quotient ring `x², xy, xz, y², yz, z², x, y, z, 1`.
const MONOMIALS: [(u8, u8, u8); 20] = [
    (3, 0, 0),
    (2, 1, 0),
    (2, 0, 1),
    (1, 2, 0),
    (1, 1, 1),
    (1, 0, 2),
    (0, 3, 0),
    (0, 2, 1),
    (0, 1, 2),
    (0, 0, 3),
    (2, 0, 0),
    (1, 1, 0),
    (1, 0, 1),
    (0, 2, 0),
    (0, 1, 1),
    (0, 0, 2),
    (1, 0, 0),
    (0, 1, 0),
    (0, 0, 1),
    (0, 0, 0),
];

/// Index of the first monomial of degree 1 or less (x, y, z, 1).
const LINEAR: usize = 16;

/// A polynomial of degree 3 or less, coefficients in `MONOMIALS` order.
#[derive(Clone, Copy)]
struct Poly([f64; 20]);

/// `PRODUCT[i][j]`: the index of the product of monomials `i` and `j`
/// (`u8::MAX` where its degree exceeds 3, which no product here reaches).
const PRODUCT: [[u8; 20]; 20] = {
    let mut table = [[u8::MAX; 20]; 20];
    let mut i = 0;
    while i < 20 {
        let mut j = 0;
        while j < 20 {
            let (a, b) = (MONOMIALS[i], MONOMIALS[j]);
            let product = (a.0 + b.0, a.1 + b.1, a.2 + b.2);
            let mut k = 0;
            while k < 20 {
                let m = MONOMIALS[k];
                if m.0 == product.0 && m.1 == product.1 && m.2 == product.2 {
                    table[i][j] = k as u8;
                }
                k += 1;
            }
            j += 1;
        }
        i += 1;
    }
    table
};

impl Poly {
    fn zero() -> Poly {
        Poly([0.0; 20])
    }

    /// `a x + b y + c z + d`.
    fn linear(a: f64, b: f64, c: f64, d: f64) -> Poly {
        let mut p = Poly::zero();
        p.0[LINEAR..].copy_from_slice(&[a, b, c, d]);
        p
    }

    /// The product with a linear polynomial (every product the
    /// constraints need has one linear factor).
    fn times_linear(&self, linear: &Poly) -> Poly {
        let mut out = Poly::zero();
        for (i, &a) in self.0.iter().enumerate() {
            if a != 0.0 {
                for (j, &b) in linear.0.iter().enumerate().skip(LINEAR) {
                    out.0[PRODUCT[i][j] as usize] += a * b;
                }
            }
        }
        out
    }

    fn add(&self, other: &Poly) -> Poly {
        let mut out = *self;
        for (o, b) in out.0.iter_mut().zip(other.0) {
            *o += b;
        }
        out
    }

    fn scale(&self, s: f64) -> Poly {
        Poly(self.0.map(|v| v * s))
    }
}

/// The essential matrices through five correspondences of normalised
/// image coordinates (`x2ᵀ E x1 = 0`), each of unit Frobenius norm.
pub fn essential_5point(x1: &[[f64; 2]], x2: &[[f64; 2]]) -> Vec<Matrix3<f64>> {
    if x1.len() != 5 || x2.len() != 5 {
        return Vec::new();
    }
    let basis = epipolar_null_space(x1, x2);
    // E as a 3x3 matrix of linear polynomials in x, y, z.
    let e: Vec<Vec<Poly>> = (0..3)
        .map(|r| {
            (0..3)
                .map(|c| {
                    let k = 3 * r + c;
                    Poly::linear(basis[0][k], basis[1][k], basis[2][k], basis[3][k])
                })
                .collect()
        })
        .collect();
    let eet: Vec<Vec<Poly>> = (0..3)
        .map(|i| (0..3).map(|j| (0..3).fold(Poly::zero(), |acc, k| acc.add(&e[i][k].times_linear(&e[j][k])))).collect())
        .collect();
    let trace = eet[0][0].add(&eet[1][1]).add(&eet[2][2]);
    let mut m = SMatrix::<f64, 10, 20>::zeros();
    for n in 0..9 {
        let (i, j) = (n / 3, n % 3);
        let eete = (0..3).fold(Poly::zero(), |acc, k| acc.add(&eet[i][k].times_linear(&e[k][j])));
        let row = eete.scale(2.0).add(&trace.times_linear(&e[i][j]).scale(-1.0));
        m.row_mut(n).copy_from_slice(&row.0);
    }
    let minor = |a: usize, b: usize, c: usize, d: usize| {
        e[1][a].times_linear(&e[2][b]).add(&e[1][c].times_linear(&e[2][d]).scale(-1.0))
    };
    let det = minor(1, 2, 2, 1)
        .times_linear(&e[0][0])
        .add(&minor(0, 2, 2, 0).times_linear(&e[0][1]).scale(-1.0))
        .add(&minor(0, 1, 1, 0).times_linear(&e[0][2]));
    m.row_mut(9).copy_from_slice(&det.0);

    // Reduce against the ten cubic monomials: [I | B].
    let lead = m.fixed_view::<10, 10>(0, 0).into_owned();
    let rest = m.fixed_view::<10, 10>(0, 10).into_owned();
    let Some(b) = lead.lu().solve(&rest) else { return Vec::new() };
    // Multiplication by x on the basis (x², xy, xz, y², yz, z², x, y, z, 1)
    // gives x³, x²y, x²z, xy², xyz, xz² (rows 0-5 of the reduction) and
    // x², xy, xz, x (basis elements 0, 1, 2, 6).
    let mut action = SMatrix::<f64, 10, 10>::zeros();
    for r in 0..6 {
        action.row_mut(r).copy_from(&(-b.row(r)));
    }
    for (r, basis_index) in [(6, 0), (7, 1), (8, 2), (9, 6)] {
        action[(r, basis_index)] = 1.0;
    }
    // A bounded Schur iteration: nalgebra's unbounded one never returns on
    // some degenerate (nearly rank-deficient) samples.
    if action.iter().any(|v| !v.is_finite()) {
        return Vec::new();
    }
    let Some(schur) = Schur::try_new(action, f64::EPSILON, 500) else { return Vec::new() };
    let mut solutions = Vec::new();
    for lambda in schur.complex_eigenvalues().iter() {
        if lambda.im.abs() > 1e-8 * lambda.re.abs().max(1.0) {
            continue;
        }
        // The eigenvector (the basis monomials evaluated at the solution)
        // by two steps of inverse iteration.
        let Some(v) = eigenvector(&action, lambda.re) else { continue };
        if v[9].abs() < 1e-12 {
            continue;
        }
        let (x, y, z) = (v[6] / v[9], v[7] / v[9], v[8] / v[9]);
        let flat = basis[0] * x + basis[1] * y + basis[2] * z + basis[3];
        let e = Matrix3::from_row_slice(flat.as_slice());
        let norm = e.norm();
        if norm > 1e-12 && e.iter().all(|v| v.is_finite()) {
            solutions.push(e / norm);
        }
    }
    solutions
}

/// The unit eigenvector of `matrix` for its real eigenvalue `lambda`, by
/// two steps of inverse iteration; `None` if `matrix - lambda I` is
/// exactly singular.
fn eigenvector(matrix: &SMatrix<f64, 10, 10>, lambda: f64) -> Option<SVector<f64, 10>> {
    let lu = (matrix - SMatrix::<f64, 10, 10>::identity() * lambda).lu();
    let v = lu.solve(&SVector::<f64, 10>::repeat(1.0))?;
    lu.solve(&(v / v.amax())).map(|v| v.normalize())
}
