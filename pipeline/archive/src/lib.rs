//! The heritage archive: a plain folder a curator can back up and read.
//!
//! It owns the on-disk layout (sites, photo sets, originals), checksum
//! manifests and fixity checks, the archive lock, atomic writes, and the
//! content-addressed build cache. It knows nothing of pixels or geometry.

pub mod atomic;
pub mod cache;
pub mod fixity;
pub mod layout;
pub mod lock;
pub mod manifest;
pub mod parallel;
pub mod progress;
pub mod site;
pub mod slug;

pub use layout::{Archive, PhotosetDir, SiteDir};
pub use manifest::{Manifest, Sha256Hex, sha256_file, sha256_hex};
pub use progress::{NoProgress, Progress};
pub use site::{Localized, SiteMeta};
pub use slug::{Slug, SlugError};
