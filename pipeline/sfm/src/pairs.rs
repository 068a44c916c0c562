//! Which photos to match with which. Small sets: every pair. Larger sets:
//! each photo's most similar photos by a global descriptor (VLAD over a
//! small vocabulary learnt from the set itself), plus its nearest photos
//! by GPS when EXIF has positions, so the work grows about linearly.

use rayon::prelude::*;

use crate::matching::UnitDescriptors;
use crate::sift::DESCRIPTOR_LEN;

/// Settings of pair selection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairOptions {
    /// Sets up to this size are matched exhaustively.
    pub exhaustive_max: usize,
    /// Most similar photos matched with each photo beyond that.
    pub retrieval_neighbours: usize,
    /// Nearest photos by GPS matched with each photo.
    pub gps_neighbours: usize,
}

impl Default for PairOptions {
    fn default() -> PairOptions {
        PairOptions { exhaustive_max: 50, retrieval_neighbours: 25, gps_neighbours: 10 }
    }
}

/// Words of the VLAD vocabulary.
const WORDS: usize = 64;
/// Descriptors per photo used to learn the vocabulary.
const TRAINING_PER_PHOTO: usize = 200;
/// Descriptors per photo aggregated into its VLAD vector (the strongest).
const AGGREGATED_PER_PHOTO: usize = 3000;

/// The pairs (i < j) to match among `descriptors.len()` photos;
/// `positions` are local metres (east, north, up) where GPS is known.
pub fn select_pairs(
    descriptors: &[UnitDescriptors],
    positions: &[Option<[f64; 3]>],
    options: &PairOptions,
) -> Vec<(usize, usize)> {
    let n = descriptors.len();
    if n <= options.exhaustive_max {
        return (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j))).collect();
    }
    let mut pairs = Vec::new();
    let vlad = vlad_vectors(descriptors);
    for (i, row) in similarity_ranks(&vlad).into_iter().enumerate() {
        pairs.extend(row.into_iter().take(options.retrieval_neighbours).map(|j| (i.min(j), i.max(j))));
    }
    for (i, p) in positions.iter().enumerate() {
        let Some(p) = p else { continue };
        let mut near: Vec<(f64, usize)> = positions
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .filter_map(|(j, q)| q.map(|q| ((0..3).map(|k| (p[k] - q[k]).powi(2)).sum::<f64>(), j)))
            .collect();
        near.sort_by(|a, b| a.0.total_cmp(&b.0));
        pairs.extend(near.into_iter().take(options.gps_neighbours).map(|(_, j)| (i.min(j), i.max(j))));
    }
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

/// For each photo, the others from most to least similar.
fn similarity_ranks(vlad: &[Vec<f32>]) -> Vec<Vec<usize>> {
    vlad.par_iter()
        .enumerate()
        .map(|(i, v)| {
            let mut scores: Vec<(f32, usize)> = vlad
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(j, w)| (v.iter().zip(w).map(|(a, b)| a * b).sum(), j))
                .collect();
            scores.sort_by(|a, b| b.0.total_cmp(&a.0));
            scores.into_iter().map(|(_, j)| j).collect()
        })
        .collect()
}

/// A deterministic spread of `count` indices over `0..len`.
fn spread(len: usize, count: usize) -> impl Iterator<Item = usize> {
    let step = (len / count.max(1)).max(1);
    (0..len).step_by(step).take(count)
}

/// VLAD vectors (Jégou et al. 2010) with intra- and power normalisation.
fn vlad_vectors(descriptors: &[UnitDescriptors]) -> Vec<Vec<f32>> {
    let training: Vec<[f32; DESCRIPTOR_LEN]> =
        descriptors.iter().flat_map(|d| spread(d.len(), TRAINING_PER_PHOTO).map(move |i| d.unit_row(i))).collect();
    let words = kmeans(&training, WORDS, 12);
    let dim = DESCRIPTOR_LEN;
    descriptors
        .par_iter()
        .map(|d| {
            let mut v = vec![0.0f32; words.len() * dim];
            for i in 0..d.len().min(AGGREGATED_PER_PHOTO) {
                let x = d.unit_row(i);
                let w = nearest(&words, &x);
                for (acc, (a, c)) in v[w * dim..(w + 1) * dim].iter_mut().zip(x.iter().zip(&words[w])) {
                    *acc += a - c;
                }
            }
            for block in v.chunks_mut(dim) {
                normalise(block);
            }
            v.iter_mut().for_each(|x| *x = x.signum() * x.abs().sqrt());
            normalise(&mut v);
            v
        })
        .collect()
}

/// Scales `v` to unit length (zero stays zero).
fn normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Index of the centre closest to `x` (largest dot product: all are unit
/// or near-unit vectors).
fn nearest(centres: &[Vec<f32>], x: &[f32]) -> usize {
    let dot = |c: &Vec<f32>| c.iter().zip(x).map(|(a, b)| a * b).sum::<f32>();
    (0..centres.len()).max_by(|&a, &b| dot(&centres[a]).total_cmp(&dot(&centres[b]))).unwrap_or(0)
}

/// Spherical k-means with deterministic initialisation.
fn kmeans(points: &[[f32; DESCRIPTOR_LEN]], k: usize, iterations: usize) -> Vec<Vec<f32>> {
    let k = k.min(points.len()).max(1);
    let mut centres: Vec<Vec<f32>> = spread(points.len(), k).map(|i| points[i].to_vec()).collect();
    for _ in 0..iterations {
        let assignment: Vec<usize> = points.par_iter().map(|p| nearest(&centres, p)).collect();
        let mut sums = vec![vec![0.0f32; points.first().map_or(0, |p| p.len())]; centres.len()];
        for (p, &a) in points.iter().zip(&assignment) {
            sums[a].iter_mut().zip(p.iter()).for_each(|(s, v)| *s += v);
        }
        for (centre, mut sum) in centres.iter_mut().zip(sums) {
            if sum.iter().any(|v| *v != 0.0) {
                normalise(&mut sum);
                *centre = sum;
            }
        }
    }
    centres
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_sets_are_matched_exhaustively() {
        let d = vec![UnitDescriptors::default(); 4];
        let pairs = select_pairs(&d, &[None; 4], &PairOptions::default());
        assert_eq!(pairs, vec![(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]);
    }

    #[test]
    fn gps_neighbours_are_paired() {
        let d = vec![UnitDescriptors::default(); 6];
        let positions: Vec<Option<[f64; 3]>> = (0..6).map(|i| Some([i as f64 * 10.0, 0.0, 0.0])).collect();
        let options = PairOptions { exhaustive_max: 2, retrieval_neighbours: 0, gps_neighbours: 1 };
        let pairs = select_pairs(&d, &positions, &options);
        assert_eq!(pairs, vec![(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]);
    }
}
