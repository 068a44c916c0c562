//! Parallel folds whose result does not depend on the threads.
//!
//! Floating-point addition is not associative, so a parallel sum that
//! groups its terms as the threads happen to split the work (rayon's
//! `fold` and `reduce`) differs in its last bits from run to run, and a
//! bundle adjustment iterated on such sums ends with camera poses that
//! differ in their sixth digit. Here the items are cut into chunks that
//! depend only on how many there are, each chunk is folded in order, and
//! the chunks' results are combined in order: the same photos give the
//! same model, byte for byte, from run to run and on any number of
//! threads (on one machine: the matrix products' kernels follow the
//! processor).

use rayon::prelude::*;

/// Most chunks a fold is cut into (enough to keep many cores busy).
const CHUNKS: usize = 64;
/// Fewest items in a chunk (fewer would cost more to schedule than to fold).
const MIN_CHUNK: usize = 64;

/// Folds `items` with `fold` from `init()` in parallel chunks and
/// combines the chunks' results with `combine`, always in the same
/// grouping and order, whatever the threads.
pub fn fold_in_order<T, A>(
    items: &[T],
    init: impl Fn() -> A + Sync,
    fold: impl Fn(A, &T) -> A + Sync,
    combine: impl Fn(A, A) -> A,
) -> A
where
    T: Sync,
    A: Send,
{
    let chunk = items.len().div_ceil(CHUNKS).max(MIN_CHUNK);
    let parts: Vec<A> = items.par_chunks(chunk).map(|part| part.iter().fold(init(), &fold)).collect();
    parts.into_iter().reduce(combine).unwrap_or_else(init)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Terms whose sum depends on the grouping: large and small values
    /// mixed, so that a different split rounds differently.
    fn terms(n: usize) -> Vec<f64> {
        (0..n).map(|i| if i % 3 == 0 { 1e16 / (i + 1) as f64 } else { (i as f64).sqrt() * 1e-3 }).collect()
    }

    #[test]
    fn a_sum_is_the_same_bit_for_bit_whatever_the_threads() {
        let values = terms(100_000);
        let sum = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a thread pool");
            pool.install(|| fold_in_order(&values, || 0.0, |s, v| s + v, |a, b| a + b))
        };
        let one = sum(1);
        for threads in [2, 3, 7, 16] {
            for _ in 0..5 {
                assert_eq!(sum(threads).to_bits(), one.to_bits(), "{threads} threads");
            }
        }
        let exact: f64 = values.iter().sum();
        assert!((one - exact).abs() <= 1e-9 * exact.abs());
    }

    #[test]
    fn every_item_is_folded_once_and_nothing_gives_the_initial_value() {
        for n in [0, 1, 63, 64, 65, 4096, 4097, 10_000] {
            let items: Vec<usize> = (0..n).collect();
            let folded = fold_in_order(
                &items,
                Vec::new,
                |mut seen, &i| {
                    seen.push(i);
                    seen
                },
                |mut a, b| {
                    a.extend(b);
                    a
                },
            );
            assert_eq!(folded, items, "{n} items");
        }
    }
}
