//! Progress reporting that libraries call and the binary draws.

/// Receives progress of long work. Implementations must be cheap and
/// thread-safe: `advance` is called from rayon workers.
pub trait Progress: Sync {
    /// A new phase begins with `total` steps.
    fn start(&self, phase: &str, total: u64);
    /// `n` more steps are done.
    fn advance(&self, n: u64);
    /// A line of news for someone watching (shown above the bar).
    fn note(&self, _message: &str) {}
    /// The current phase is over.
    fn finish(&self);
}

/// Progress that goes nowhere (tests, scripts).
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _phase: &str, _total: u64) {}
    fn advance(&self, _n: u64) {}
    fn finish(&self) {}
}
