//! BagIt-style checksum manifests: one `<sha256>  <relative path>` a line.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::atomic::write_atomic;

/// A SHA-256 digest as 64 lowercase hex characters.
pub type Sha256Hex = String;

/// SHA-256 of a byte slice, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> Sha256Hex {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 of a file's content, streamed, as lowercase hex.
pub fn sha256_file(path: &Path) -> io::Result<Sha256Hex> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// A checksum manifest: relative path (with `/` separators, NFC) to digest.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Manifest {
    entries: BTreeMap<String, Sha256Hex>,
}

impl Manifest {
    /// Reads a manifest; a missing file is an empty manifest.
    pub fn load(path: &Path) -> Result<Manifest> {
        match std::fs::read_to_string(path) {
            Ok(text) => Manifest::parse(&text).with_context(|| format!("reading manifest {}", path.display())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Manifest::default()),
            Err(e) => Err(e).with_context(|| format!("reading manifest {}", path.display())),
        }
    }

    /// Parses manifest text; blank lines are ignored.
    pub fn parse(text: &str) -> Result<Manifest> {
        let mut entries = BTreeMap::new();
        for (number, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let Some((digest, path)) = line.split_once("  ") else {
                bail!("line {}: expected '<sha256>  <path>'", number + 1);
            };
            if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                bail!("line {}: {digest:?} is not a SHA-256 digest", number + 1);
            }
            if !is_safe_relative_path(path) {
                bail!("line {}: the path {path:?} is not a plain relative path", number + 1);
            }
            entries.insert(path.to_string(), digest.to_ascii_lowercase());
        }
        Ok(Manifest { entries })
    }

    /// The manifest as text, sorted by path.
    pub fn to_text(&self) -> String {
        self.entries.iter().map(|(path, digest)| format!("{digest}  {path}\n")).collect()
    }

    /// Writes the manifest atomically.
    pub fn save(&self, path: &Path) -> io::Result<()> {
        write_atomic(path, self.to_text().as_bytes())
    }

    /// Records `path` with its digest, replacing an older entry.
    pub fn insert(&mut self, path: String, digest: Sha256Hex) {
        self.entries.insert(path, digest);
    }

    /// The digest recorded for `path`.
    pub fn get(&self, path: &str) -> Option<&Sha256Hex> {
        self.entries.get(path)
    }

    /// Every (path, digest), sorted by path.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Sha256Hex)> {
        self.entries.iter()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the manifest lists nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// True for a `/`-separated relative path with no empty, `.` or `..`
/// component and no control characters: safe to join under a folder.
pub fn is_safe_relative_path(path: &str) -> bool {
    !path.is_empty()
        && !path.chars().any(char::is_control)
        && !path.contains('\\')
        && path.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_known_vectors() {
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        assert_eq!(sha256_file(&path).unwrap(), sha256_hex(&data));
    }

    #[test]
    fn manifest_round_trips_sorted_with_unicode_paths() {
        let mut m = Manifest::default();
        m.insert("b/Nhà Tổng Thận.jpg".into(), "a".repeat(64));
        m.insert("a.jpg".into(), "b".repeat(64));
        let text = m.to_text();
        assert!(text.starts_with(&format!("{}  a.jpg\n", "b".repeat(64))));
        assert_eq!(Manifest::parse(&text).unwrap(), m);
    }

    #[test]
    fn manifest_rejects_bad_lines() {
        assert!(Manifest::parse("nothex  a.jpg").is_err());
        assert!(Manifest::parse(&format!("{}  ../a.jpg", "a".repeat(64))).is_err());
        assert!(Manifest::parse(&format!("{} a.jpg", "a".repeat(64))).is_err());
        assert!(Manifest::parse("\n\n").unwrap().is_empty());
    }

    #[test]
    fn safe_paths() {
        assert!(is_safe_relative_path("a/b c/Ảnh.jpg"));
        for bad in ["", "/a", "a//b", "./a", "a/../b", "a\nb", "a\\b"] {
            assert!(!is_safe_relative_path(bad), "{bad:?}");
        }
    }
}
