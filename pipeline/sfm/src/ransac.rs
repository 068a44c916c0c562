//! Robust estimation: LO-MSAC. Samples are scored as in MSAC (inliers by
//! their error, outliers by the threshold); every new best model is
//! refitted to all its inliers until that stops helping (the local
//! optimisation of LO-RANSAC), and the number of iterations adapts to the
//! inlier ratio found, bounded by the smallest ratio of use to the caller.

/// A model family that minimal samples can be fitted to.
pub trait Estimator {
    /// The model.
    type Model;
    /// Correspondences in a minimal sample.
    const SAMPLE_SIZE: usize;
    /// Number of correspondences.
    fn len(&self) -> usize;
    /// True when there are no correspondences.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Models fitted to a minimal sample (`SAMPLE_SIZE` indices).
    fn fit(&self, sample: &[usize]) -> Vec<Self::Model>;
    /// The model fitted by least squares to a larger set: `inliers`, the
    /// correspondences `model` fits (an iterative fit starts from it).
    fn refit(&self, model: &Self::Model, inliers: &[usize]) -> Option<Self::Model>;
    /// Squared error of correspondence `i` under `model`.
    fn error(&self, model: &Self::Model, i: usize) -> f64;
}

/// Settings of a robust estimation.
#[derive(Debug, Clone, Copy)]
pub struct RansacOptions {
    /// Largest error (not squared) of an inlier.
    pub max_error: f64,
    /// Wanted probability of having drawn an all-inlier sample.
    pub confidence: f64,
    /// Fewest iterations.
    pub min_iterations: usize,
    /// Most iterations.
    pub max_iterations: usize,
    /// The smallest share of inliers a model must have to be of use: the
    /// iterations stop once a model with that share would have been drawn
    /// with `confidence` (0: no such bound). COLMAP bounds its iterations
    /// the same way.
    pub min_inlier_ratio: f64,
    /// Seed of the sampling (estimates are repeatable).
    pub seed: u64,
}

impl Default for RansacOptions {
    fn default() -> RansacOptions {
        RansacOptions {
            max_error: 4.0,
            confidence: 0.9999,
            min_iterations: 50,
            max_iterations: 10_000,
            min_inlier_ratio: 0.0,
            seed: 42,
        }
    }
}

/// The sampling seed of the `index`th estimate of a run started from
/// `seed` (the user's `--seed`): `index` itself for seed 0, so each pair
/// or photo draws its own samples and runs repeat exactly; another seed
/// moves every estimate's samples at once.
pub fn seed_of(seed: u64, index: u64) -> u64 {
    index.wrapping_add(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// The best model found and its inliers.
#[derive(Debug, Clone)]
pub struct Estimate<M> {
    /// The model.
    pub model: M,
    /// Whether each correspondence is an inlier.
    pub inliers: Vec<bool>,
    /// Number of inliers.
    pub inlier_count: usize,
    /// Iterations run.
    pub iterations: usize,
}

/// SplitMix64: small, fast and deterministic.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Runs MSAC; `None` when there are too few correspondences or no sample
/// gave a model.
pub fn msac<E: Estimator>(estimator: &E, options: &RansacOptions) -> Option<Estimate<E::Model>> {
    let n = estimator.len();
    let k = E::SAMPLE_SIZE;
    if n < k {
        return None;
    }
    let threshold = options.max_error * options.max_error;
    let mut rng = SplitMix(options.seed);
    let mut best: Option<(f64, E::Model, usize)> = None;
    let most = adaptive_iterations(options.min_inlier_ratio, k, options.confidence).min(options.max_iterations);
    let mut needed = most;
    let mut iterations = 0;
    let mut sample = Vec::with_capacity(k);
    while iterations < needed.max(options.min_iterations).min(options.max_iterations) {
        iterations += 1;
        sample.clear();
        while sample.len() < k {
            let i = rng.below(n);
            if !sample.contains(&i) {
                sample.push(i);
            }
        }
        for model in estimator.fit(&sample) {
            let bound = best.as_ref().map_or(f64::INFINITY, |b| b.0);
            if let Some((cost, count)) = score(estimator, &model, threshold, bound) {
                let (cost, model, count) = local_optimization(estimator, (cost, model, count), threshold);
                needed = adaptive_iterations(count as f64 / n as f64, k, options.confidence).min(most);
                best = Some((cost, model, count));
            }
        }
    }
    let (_, model, _) = best?;
    let inliers: Vec<bool> = (0..n).map(|i| estimator.error(&model, i) < threshold).collect();
    let inlier_count = inliers.iter().filter(|&&b| b).count();
    Some(Estimate { model, inliers, inlier_count, iterations })
}

/// MSAC cost and inlier count of `model` if its cost is below `bound`
/// (the best so far); scoring stops as soon as it cannot be, since every
/// correspondence adds to the cost.
fn score<E: Estimator>(estimator: &E, model: &E::Model, threshold: f64, bound: f64) -> Option<(f64, usize)> {
    let (mut cost, mut count) = (0.0, 0);
    for i in 0..estimator.len() {
        let e = estimator.error(model, i);
        if e < threshold {
            cost += e;
            count += 1;
        } else {
            cost += threshold;
        }
        if cost >= bound {
            return None;
        }
    }
    Some((cost, count))
}

/// Refits a model to all its inliers while that lowers the cost.
fn local_optimization<E: Estimator>(
    estimator: &E,
    mut best: (f64, E::Model, usize),
    threshold: f64,
) -> (f64, E::Model, usize) {
    for _ in 0..4 {
        let inliers: Vec<usize> = (0..estimator.len()).filter(|&i| estimator.error(&best.1, i) < threshold).collect();
        if inliers.len() <= E::SAMPLE_SIZE {
            break;
        }
        let Some(refit) = estimator
            .refit(&best.1, &inliers)
            .and_then(|m| score(estimator, &m, threshold, best.0).map(|(cost, count)| (cost, m, count)))
        else {
            break;
        };
        best = refit;
    }
    best
}

/// Iterations needed to draw an all-inlier sample of `k` with probability
/// `confidence` when a fraction `ratio` of the data are inliers.
pub fn adaptive_iterations(ratio: f64, k: usize, confidence: f64) -> usize {
    let good = ratio.powi(k as i32);
    if good >= 1.0 - 1e-12 {
        return 1;
    }
    if good <= 1e-12 {
        return usize::MAX;
    }
    ((1.0 - confidence).ln() / (1.0 - good).ln()).ceil() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value on a line: samples of one, error the squared difference.
    struct Constant(Vec<f64>);

    impl Estimator for Constant {
        type Model = f64;
        const SAMPLE_SIZE: usize = 1;
        fn len(&self) -> usize {
            self.0.len()
        }
        fn fit(&self, sample: &[usize]) -> Vec<f64> {
            vec![self.0[sample[0]]]
        }
        fn refit(&self, _: &f64, inliers: &[usize]) -> Option<f64> {
            Some(inliers.iter().map(|&i| self.0[i]).sum::<f64>() / inliers.len() as f64)
        }
        fn error(&self, model: &f64, i: usize) -> f64 {
            (self.0[i] - model).powi(2)
        }
    }

    #[test]
    fn the_smallest_useful_inlier_share_bounds_the_iterations() {
        // Values a unit apart, inliers within half a unit: every model
        // explains one value, so only the bounds stop the search.
        let spread = Constant((0..2000).map(f64::from).collect());
        let options = RansacOptions { max_error: 0.5, ..Default::default() };
        assert_eq!(msac(&spread, &options).unwrap().iterations, options.max_iterations);
        // A model worth having explains a tenth: ln(1e-4) / ln(0.9) = 87.4.
        let bounded = msac(&spread, &RansacOptions { min_inlier_ratio: 0.1, ..options }).unwrap();
        assert_eq!(bounded.iterations, 88);
        assert_eq!(bounded.inlier_count, 1);
        // A model with more inliers than the bound still ends the search early.
        let mut clustered = spread.0.clone();
        clustered[..1000].fill(7.0);
        let found = msac(&Constant(clustered), &RansacOptions { min_inlier_ratio: 0.1, ..options }).unwrap();
        assert_eq!((found.model, found.inlier_count), (7.0, 1000));
        assert_eq!(found.iterations, options.min_iterations);
    }

    #[test]
    fn seeds_move_the_samples_but_not_a_clear_answer() {
        assert_eq!((0..5).map(|i| seed_of(0, i)).collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);
        let seeds: std::collections::HashSet<u64> = (0..4).flat_map(|s| (0..100).map(move |i| seed_of(s, i))).collect();
        assert_eq!(seeds.len(), 400, "each run seed gives every estimate its own samples");
        // Three values in four agree: any seed finds them.
        let data = Constant((0..400).map(|i| if i % 4 == 0 { f64::from(i) } else { 5.0 }).collect());
        for seed in 0..4 {
            let options = RansacOptions { max_error: 0.5, seed: seed_of(seed, 7), ..Default::default() };
            let found = msac(&data, &options).unwrap();
            assert_eq!((found.model, found.inlier_count), (5.0, 300));
        }
    }

    #[test]
    fn iteration_counts_follow_the_formula() {
        assert_eq!(adaptive_iterations(1.0, 8, 0.99), 1);
        // 50 % inliers, 4-point samples, 99 %: log(0.01)/log(1-1/16) = 71.4.
        assert_eq!(adaptive_iterations(0.5, 4, 0.99), 72);
        assert_eq!(adaptive_iterations(0.0, 4, 0.99), usize::MAX);
    }
}
