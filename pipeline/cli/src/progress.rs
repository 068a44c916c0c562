//! Progress bars on a terminal, silence elsewhere.

use std::io::IsTerminal;
use std::sync::Mutex;

use heritage_archive::Progress;
use indicatif::{ProgressBar, ProgressStyle};

/// Draws one indicatif bar a phase on standard error, only when it is a
/// terminal and bars were not turned off (`--json`, `--quiet`).
pub struct Bars {
    enabled: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl Bars {
    /// Bars that show when `wanted` and standard error is a terminal.
    pub fn new(wanted: bool) -> Bars {
        Bars { enabled: wanted && std::io::stderr().is_terminal(), bar: Mutex::new(None) }
    }

    fn with_bar(&self, f: impl FnOnce(&ProgressBar)) {
        if let Some(bar) = self.bar.lock().expect("progress lock").as_ref() {
            f(bar);
        }
    }
}

impl Progress for Bars {
    fn start(&self, phase: &str, total: u64) {
        if !self.enabled {
            return;
        }
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{prefix:>12.cyan.bold} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(phase.to_string());
        *self.bar.lock().expect("progress lock") = Some(bar);
    }

    fn advance(&self, n: u64) {
        self.with_bar(|bar| bar.inc(n));
    }

    fn note(&self, message: &str) {
        self.with_bar(|bar| bar.set_message(message.to_string()));
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.lock().expect("progress lock").take() {
            bar.finish_and_clear();
        }
    }
}
