//! `photoset.toml`: who handed the photo set in, when, and what each
//! photo is (size, format, EXIF summary).

use std::path::Path;

use anyhow::{Context, Result};
use heritage_archive::atomic::write_atomic;
use heritage_archive::{PhotosetDir, Sha256Hex};
use heritage_imaging::ExifSummary;
use serde::{Deserialize, Serialize};

/// One photo of a photo set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoRecord {
    /// Path below `originals/`, as in the manifest.
    pub path: String,
    /// Path in the folder that was handed in.
    pub source: String,
    /// SHA-256 of the file.
    pub sha256: Sha256Hex,
    /// File size in bytes.
    pub bytes: u64,
    /// File format: JPEG, PNG or TIFF.
    pub format: String,
    /// Stored pixel width (before EXIF orientation).
    pub width: u32,
    /// Stored pixel height (before EXIF orientation).
    pub height: u32,
    /// When it was ingested (RFC 3339, UTC).
    pub ingested: String,
    /// EXIF summary, when the file has EXIF.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exif: Option<ExifSummary>,
}

impl PhotoRecord {
    /// EXIF orientation (1 when unknown).
    pub fn orientation(&self) -> u8 {
        self.exif.as_ref().map_or(1, |e| e.orientation)
    }

    /// Width and height as the photo is meant to be seen.
    pub fn display_size(&self) -> (u32, u32) {
        if self.orientation() >= 5 { (self.height, self.width) } else { (self.width, self.height) }
    }
}

/// The whole `photoset.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhotosetRecord {
    /// Who took or handed in the photos.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contributor: Option<String>,
    /// When the photo set was created (RFC 3339, UTC).
    #[serde(default)]
    pub created: String,
    /// When photos were last added (RFC 3339, UTC).
    #[serde(default)]
    pub updated: String,
    /// The photos, sorted by path.
    #[serde(default)]
    pub photos: Vec<PhotoRecord>,
}

impl PhotosetRecord {
    /// Reads `photoset.toml` (an empty record when it does not exist).
    pub fn load(photoset: &PhotosetDir) -> Result<PhotosetRecord> {
        load_from(&photoset.record_path())
    }

    /// Writes `photoset.toml` atomically, photos sorted by path.
    pub fn save(&mut self, photoset: &PhotosetDir) -> Result<()> {
        self.photos.sort_by(|a, b| a.path.cmp(&b.path));
        let text = toml::to_string(self)?;
        write_atomic(&photoset.record_path(), text.as_bytes())
            .with_context(|| format!("writing {}", photoset.record_path().display()))
    }
}

fn load_from(path: &Path) -> Result<PhotosetRecord> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            toml::from_str(&text).with_context(|| format!("{} is not valid: restore it from a backup", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(PhotosetRecord::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The current time as RFC 3339 in UTC, to the second.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Today's date in UTC as `YYYY-MM-DD`.
pub fn today() -> String {
    now_rfc3339().chars().take(10).collect()
}
