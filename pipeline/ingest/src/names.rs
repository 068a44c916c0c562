//! Names of stored originals: the handed-in relative path, made safe.

use std::collections::HashSet;
use std::path::Path;

use unicode_normalization::UnicodeNormalization;

/// The stored name for a file at `relative` in the handed-in folder:
/// components joined by `/`, each in Unicode NFC (so a name typed on a
/// Mac and one typed on Windows are the same), control characters and
/// backslashes replaced by `_`, and `.`/`..` components impossible.
pub fn stored_name(relative: &Path) -> String {
    let parts: Vec<String> = relative
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(part) => Some(part.to_string_lossy()),
            _ => None,
        })
        .map(|part| {
            let clean: String = part.nfc().map(|c| if c.is_control() || c == '\\' { '_' } else { c }).collect();
            if clean.trim_matches('.').is_empty() { format!("_{clean}") } else { clean }
        })
        .collect();
    if parts.is_empty() { "_".to_string() } else { parts.join("/") }
}

/// Makes `wanted` unique among `taken` by adding `-2`, `-3`, ... before
/// the extension, and records the result as taken.
pub fn unique_name(wanted: &str, taken: &mut HashSet<String>) -> String {
    if taken.insert(wanted.to_string()) {
        return wanted.to_string();
    }
    let (dir, file) = match wanted.rsplit_once('/') {
        Some((dir, file)) => (format!("{dir}/"), file),
        None => (String::new(), wanted),
    };
    let (stem, ext) = match file.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem, format!(".{ext}")),
        _ => (file, String::new()),
    };
    (2..)
        .map(|n| format!("{dir}{stem}-{n}{ext}"))
        .find(|candidate| taken.insert(candidate.clone()))
        .expect("an unbounded range always finds a free name")
}

#[cfg(test)]
mod tests {
    use super::*;
    use heritage_archive::manifest::is_safe_relative_path;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn nfd_names_are_stored_as_nfc() {
        let nfd: String = "Mặt tiền/Cột gỗ.jpg".nfd().collect();
        let stored = stored_name(Path::new(&nfd));
        assert_eq!(stored, "Mặt tiền/Cột gỗ.jpg".nfc().collect::<String>());
    }

    #[test]
    fn odd_names_become_safe_paths() {
        for raw in [&b"a\nb.jpg"[..], b"tab\there.jpg", b"back\\slash.jpg", b"bad\xffutf8.jpg", b"...", b"sub/../x.jpg"]
        {
            let stored = stored_name(Path::new(OsStr::from_bytes(raw)));
            assert!(is_safe_relative_path(&stored), "{raw:?} -> {stored:?}");
        }
    }

    #[test]
    fn names_are_made_unique() {
        let mut taken = HashSet::new();
        assert_eq!(unique_name("a/IMG.jpg", &mut taken), "a/IMG.jpg");
        assert_eq!(unique_name("a/IMG.jpg", &mut taken), "a/IMG-2.jpg");
        assert_eq!(unique_name("a/IMG.jpg", &mut taken), "a/IMG-3.jpg");
        assert_eq!(unique_name("README", &mut taken), "README");
        assert_eq!(unique_name("README", &mut taken), "README-2");
        assert_eq!(unique_name(".hidden", &mut taken), ".hidden");
        assert_eq!(unique_name(".hidden", &mut taken), ".hidden-2");
    }
}
