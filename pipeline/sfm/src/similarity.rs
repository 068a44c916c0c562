//! Similarity transforms (scale, rotation, translation) between point
//! sets: Umeyama's closed form, one turned about the vertical only, and
//! robust versions that tolerate a few bad points (GPS fixes off by tens
//! of metres) by sampling triples and refitting to the inliers.

use nalgebra::{Matrix3, Rotation3, Vector3};

/// `y = scale * rotation * x + translation`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    /// Scale factor.
    pub scale: f64,
    /// Rotation.
    pub rotation: Rotation3<f64>,
    /// Translation.
    pub translation: Vector3<f64>,
}

impl Similarity {
    /// The transform applied to a point.
    pub fn apply(&self, x: &Vector3<f64>) -> Vector3<f64> {
        self.scale * (self.rotation * x) + self.translation
    }
}

/// The least-squares similarity taking `from[i]` to `to[i]` (Umeyama
/// 1991); `None` for fewer than three points or points on a line.
pub fn umeyama(from: &[Vector3<f64>], to: &[Vector3<f64>]) -> Option<Similarity> {
    let n = from.len();
    if n < 3 || to.len() != n {
        return None;
    }
    let mean_from = from.iter().sum::<Vector3<f64>>() / n as f64;
    let mean_to = to.iter().sum::<Vector3<f64>>() / n as f64;
    let mut covariance = Matrix3::zeros();
    let mut variance = 0.0;
    for (a, b) in from.iter().zip(to) {
        covariance += (b - mean_to) * (a - mean_from).transpose();
        variance += (a - mean_from).norm_squared();
    }
    covariance /= n as f64;
    variance /= n as f64;
    let svd = covariance.svd(true, true);
    let (u, v_t) = (svd.u?, svd.v_t?);
    let mut s = Matrix3::identity();
    if u.determinant() * v_t.determinant() < 0.0 {
        s[(2, 2)] = -1.0;
    }
    let singular = svd.singular_values;
    // Points on a line leave the rotation about it undetermined.
    if variance < 1e-18 || singular[1] < 1e-9 * singular[0] {
        return None;
    }
    let rotation = Rotation3::from_matrix_unchecked(u * s * v_t);
    let scale = (singular[0] * s[(0, 0)] + singular[1] * s[(1, 1)] + singular[2] * s[(2, 2)]) / variance;
    Some(Similarity { scale, rotation, translation: mean_to - scale * (rotation * mean_from) })
}

/// The similarity turned about the vertical only that takes `from[i]` to
/// `to[i]`: the turn about z, the scale and the x, y shift by least
/// squares on x and y, the z shift by the median difference of heights
/// (GPS heights are the poorest part of a fix). `None` for fewer than two
/// points or points that coincide.
pub fn heading_similarity(from: &[Vector3<f64>], to: &[Vector3<f64>]) -> Option<Similarity> {
    let n = from.len();
    if n < 2 || to.len() != n {
        return None;
    }
    let flat = |v: &Vector3<f64>| Vector3::new(v.x, v.y, 0.0);
    let mean_from = from.iter().map(flat).sum::<Vector3<f64>>() / n as f64;
    let mean_to = to.iter().map(flat).sum::<Vector3<f64>>() / n as f64;
    let (mut along, mut across, mut variance) = (0.0, 0.0, 0.0);
    for (a, b) in from.iter().zip(to) {
        let (a, b) = (flat(a) - mean_from, flat(b) - mean_to);
        along += a.dot(&b);
        across += a.x * b.y - a.y * b.x;
        variance += a.norm_squared();
    }
    if variance < 1e-18 {
        return None;
    }
    let rotation = Rotation3::from_axis_angle(&Vector3::z_axis(), across.atan2(along));
    let scale = along.hypot(across) / variance;
    let mut heights: Vec<f64> = from.iter().zip(to).map(|(a, b)| b.z - scale * a.z).collect();
    heights.sort_by(f64::total_cmp);
    let middle = heights.len() / 2;
    let height = if heights.len() % 2 == 1 { heights[middle] } else { 0.5 * (heights[middle - 1] + heights[middle]) };
    let mut translation = mean_to - scale * (rotation * mean_from);
    translation.z = height;
    Some(Similarity { scale, rotation, translation })
}

/// Distance between two points seen from above (x and y only).
pub fn ground_distance(a: &Vector3<f64>, b: &Vector3<f64>) -> f64 {
    (a.x - b.x).hypot(a.y - b.y)
}

/// A similarity fitted to the pairs that agree to `max_error` (in `to`'s
/// units), found by trying triples; returns it with the inlier mask.
pub fn robust_similarity(
    from: &[Vector3<f64>],
    to: &[Vector3<f64>],
    max_error: f64,
) -> Option<(Similarity, Vec<bool>)> {
    robust_fit(from, to, max_error, umeyama, |a, b| (a - b).norm())
}

/// A similarity turned about the vertical only ([`heading_similarity`])
/// fitted to the pairs that agree to `max_error` seen from above; returns
/// it with the inlier mask.
pub fn robust_heading_similarity(
    from: &[Vector3<f64>],
    to: &[Vector3<f64>],
    max_error: f64,
) -> Option<(Similarity, Vec<bool>)> {
    robust_fit(from, to, max_error, heading_similarity, ground_distance)
}

/// A least-squares fit of a similarity to point pairs.
type Fit = fn(&[Vector3<f64>], &[Vector3<f64>]) -> Option<Similarity>;

/// The transform of `fit` to the pairs within `max_error` by `distance`,
/// the inliers found from fits to triples and refitted until they settle.
fn robust_fit(
    from: &[Vector3<f64>],
    to: &[Vector3<f64>],
    max_error: f64,
    fit: Fit,
    distance: fn(&Vector3<f64>, &Vector3<f64>) -> f64,
) -> Option<(Similarity, Vec<bool>)> {
    let agreeing = |t: &Similarity| -> Vec<bool> {
        from.iter().zip(to).map(|(a, b)| distance(&t.apply(a), b) <= max_error).collect()
    };
    let n = from.len();
    let mut best: Option<(usize, Vec<bool>)> = None;
    // Every triple for small sets, an even spread of them for large ones.
    let step = (n * n * n / 2000).max(1);
    let mut count = 0usize;
    for i in 0..n {
        for j in i + 1..n {
            for k in j + 1..n {
                count += 1;
                if !count.is_multiple_of(step) {
                    continue;
                }
                let Some(t) = fit(&[from[i], from[j], from[k]], &[to[i], to[j], to[k]]) else { continue };
                let mask = agreeing(&t);
                let inliers = mask.iter().filter(|m| **m).count();
                if best.as_ref().is_none_or(|(b, _)| inliers > *b) {
                    best = Some((inliers, mask));
                }
            }
        }
    }
    let (_, mut mask) = best?;
    let refit = |mask: &[bool]| {
        let (a, b): (Vec<Vector3<f64>>, Vec<Vector3<f64>>) =
            from.iter().zip(to).zip(mask).filter(|(_, m)| **m).map(|((a, b), _)| (*a, *b)).unzip();
        fit(&a, &b)
    };
    // Refit to the inliers until the set stops changing.
    for _ in 0..5 {
        let t = refit(&mask)?;
        let next = agreeing(&t);
        if next == mask {
            return Some((t, mask));
        }
        mask = next;
    }
    refit(&mask).map(|t| (t, mask))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth() -> Similarity {
        Similarity {
            scale: 3.7,
            rotation: Rotation3::from_euler_angles(0.3, -0.5, 1.2),
            translation: Vector3::new(10.0, -4.0, 2.5),
        }
    }

    fn points(n: usize) -> Vec<Vector3<f64>> {
        (0..n)
            .map(|i| Vector3::new((i as f64 * 0.7).sin() * 5.0, (i as f64 * 1.3).cos() * 4.0, (i % 5) as f64))
            .collect()
    }

    #[test]
    fn umeyama_recovers_an_exact_similarity() {
        let from = points(12);
        let to: Vec<Vector3<f64>> = from.iter().map(|p| truth().apply(p)).collect();
        let t = umeyama(&from, &to).unwrap();
        assert!((t.scale - 3.7).abs() < 1e-9);
        assert!((t.rotation.matrix() - truth().rotation.matrix()).norm() < 1e-9);
        assert!((t.translation - truth().translation).norm() < 1e-8);
        let line: Vec<Vector3<f64>> = (0..5).map(|i| Vector3::new(i as f64, 0.0, 0.0)).collect();
        assert!(umeyama(&line, &line).is_none(), "a line does not fix the rotation");
    }

    #[test]
    fn robust_fit_ignores_bad_gps_fixes() {
        let from = points(30);
        let mut to: Vec<Vector3<f64>> = from
            .iter()
            .enumerate()
            .map(|(i, p)| {
                truth().apply(p) + Vector3::new(((i * 7) % 5) as f64 - 2.0, ((i * 3) % 5) as f64 - 2.0, 0.0) * 0.1
            })
            .collect();
        for i in [2, 9, 17, 25] {
            to[i] += Vector3::new(40.0, -25.0, 8.0);
        }
        let (t, mask) = robust_similarity(&from, &to, 1.0).unwrap();
        assert_eq!(mask.iter().filter(|m| !**m).count(), 4);
        assert!(!mask[2] && !mask[9] && !mask[17] && !mask[25]);
        assert!((t.scale / 3.7 - 1.0).abs() < 0.01, "scale {}", t.scale);
        let angle = (t.rotation.inverse() * truth().rotation).matrix().trace();
        assert!(((angle - 1.0) / 2.0).clamp(-1.0, 1.0).acos().to_degrees() < 0.5);
    }

    #[test]
    fn a_turn_about_the_vertical_fits_a_line_and_ignores_bad_heights() {
        let truth = Similarity {
            scale: 0.4,
            rotation: Rotation3::from_axis_angle(&Vector3::z_axis(), 2.5),
            translation: Vector3::new(-3.0, 7.0, 1.5),
        };
        // Points on one line, which fixes no turn in three dimensions.
        let from: Vec<Vector3<f64>> = (0..9).map(|i| Vector3::new(f64::from(i), 0.5 * f64::from(i), 2.0)).collect();
        assert!(umeyama(&from, &from).is_none());
        let mut to: Vec<Vector3<f64>> = from.iter().map(|p| truth.apply(p)).collect();
        // Heights off by metres on a few of them.
        for (i, dz) in [(1, 9.0), (4, -6.0), (7, 12.0)] {
            to[i].z += dz;
        }
        let t = heading_similarity(&from, &to).unwrap();
        assert!((t.scale - 0.4).abs() < 1e-12);
        assert!((t.rotation.matrix() - truth.rotation.matrix()).norm() < 1e-12);
        assert!((t.translation - truth.translation).norm() < 1e-12, "{:?}", t.translation);
        assert!(heading_similarity(&from[..1], &to[..1]).is_none());
        assert!((ground_distance(&Vector3::new(1.0, 2.0, 50.0), &Vector3::new(4.0, 6.0, 0.0)) - 5.0).abs() < 1e-12);
    }

    #[test]
    fn robust_turn_about_the_vertical_ignores_bad_fixes() {
        let truth = Similarity {
            scale: 2.0,
            rotation: Rotation3::from_axis_angle(&Vector3::z_axis(), -0.7),
            translation: Vector3::new(5.0, 1.0, -2.0),
        };
        let from = points(20);
        let mut to: Vec<Vector3<f64>> = from.iter().map(|p| truth.apply(p)).collect();
        to[6] += Vector3::new(30.0, 0.0, 0.0);
        to[13] += Vector3::new(0.0, 0.0, 30.0); // a bad height alone is no bad fix
        let (t, mask) = robust_heading_similarity(&from, &to, 1.0).unwrap();
        assert_eq!(mask.iter().filter(|m| !**m).count(), 1);
        assert!(!mask[6]);
        assert!((t.scale - 2.0).abs() < 1e-9 && (t.translation - truth.translation).norm() < 1e-9);
    }
}
