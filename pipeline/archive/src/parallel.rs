//! Running heavy jobs a few at a time.
//!
//! Each job (a photo to decode and tile, say) may use all cores inside,
//! with rayon. Running the jobs themselves through rayon would let a
//! waiting worker start yet another job, holding more photos in memory
//! than there are cores to work on them. Here a fixed number of plain
//! threads take the jobs in turn, so at most that many are in flight.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Calls `f` on every item, at most `workers` at a time, and returns the
/// results in the items' order.
pub fn map_bounded<T: Sync, R: Send>(items: &[T], workers: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, items.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let result = f(item);
                    *results[i].lock().expect("no worker panics while holding it") = Some(result);
                }
            });
        }
    });
    results.into_iter().map(|r| r.into_inner().expect("not poisoned").expect("every item was taken")).collect()
}

/// The number of cores to use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_order_and_concurrency_is_bounded() {
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let items: Vec<u32> = (0..50).collect();
        let out = map_bounded(&items, 3, |&x| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::yield_now();
            running.fetch_sub(1, Ordering::SeqCst);
            x * 2
        });
        assert_eq!(out, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        assert!(peak.load(Ordering::SeqCst) <= 3);
        assert!(map_bounded(&[] as &[u32], 4, |x| *x).is_empty());
    }
}
