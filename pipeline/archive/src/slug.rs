//! Site slugs: short ASCII folder names made from Vietnamese titles.

use std::fmt;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Longest slug accepted, in bytes.
pub const MAX_SLUG_LEN: usize = 64;

/// A validated site slug: `[a-z0-9]` words joined by single hyphens.
///
/// A slug is always safe to use as one path component: it can never be
/// empty, `.`, `..`, absolute, or contain a separator or NUL.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slug(String);

/// Why a proposed slug was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SlugError {
    /// The slug was empty.
    #[error("the slug is empty: use lowercase ASCII letters, digits and hyphens, e.g. nha-tong-than")]
    Empty,
    /// The slug tries to climb out of its folder or name another one.
    #[error(
        "the slug {0:?} could leave the archive's sites folder (it contains '..', '/', '\\\\', NUL or is an absolute path): use lowercase ASCII letters, digits and hyphens, e.g. nha-tong-than"
    )]
    EscapesFolder(String),
    /// The slug has characters outside `[a-z0-9-]` or misplaced hyphens.
    #[error(
        "the slug {0:?} is not allowed: use lowercase ASCII letters, digits and single hyphens between words, e.g. nha-tong-than"
    )]
    BadCharacters(String),
    /// The slug is longer than [`MAX_SLUG_LEN`].
    #[error("the slug {0:?} is longer than {MAX_SLUG_LEN} characters: choose a shorter one")]
    TooLong(String),
}

impl Slug {
    /// Validates `text` as a slug exactly as given (no conversion).
    pub fn parse(text: &str) -> Result<Slug, SlugError> {
        if text.is_empty() {
            return Err(SlugError::Empty);
        }
        if text.contains("..")
            || text.contains('/')
            || text.contains('\\')
            || text.contains('\0')
            || text.starts_with('~')
        {
            return Err(SlugError::EscapesFolder(text.to_string()));
        }
        if text.len() > MAX_SLUG_LEN {
            return Err(SlugError::TooLong(text.to_string()));
        }
        let well_formed = text
            .split('-')
            .all(|word| !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        if !well_formed {
            return Err(SlugError::BadCharacters(text.to_string()));
        }
        Ok(Slug(text.to_string()))
    }

    /// Makes a slug from a title: diacritics dropped (`đ` becomes `d`),
    /// lowercased, every run of other characters turned into one hyphen.
    ///
    /// Returns [`SlugError::Empty`] when nothing usable is left (a title of
    /// only punctuation, say), so the caller can ask for `--slug`.
    pub fn from_title(title: &str) -> Result<Slug, SlugError> {
        let mut out = String::new();
        let mut pending_hyphen = false;
        for c in title.nfd().filter(|c| !is_combining_mark(*c)) {
            let c = match c {
                'đ' | 'Đ' => 'd',
                c => c.to_ascii_lowercase(),
            };
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                if pending_hyphen && !out.is_empty() {
                    out.push('-');
                }
                pending_hyphen = false;
                if out.len() < MAX_SLUG_LEN {
                    out.push(c);
                }
            } else {
                pending_hyphen = true;
            }
        }
        let trimmed = out.trim_end_matches('-');
        Slug::parse(trimmed)
    }

    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_titles_become_ascii_slugs() {
        let cases = [
            ("Nhà Tổng Thận", "nha-tong-than"),
            ("Đình Tân Lân", "dinh-tan-lan"),
            ("Chùa Tôn Thạnh (mô phỏng)", "chua-ton-thanh-mo-phong"),
            ("  Lăng Nguyễn Huỳnh Đức!!", "lang-nguyen-huynh-duc"),
            ("Ngôi nhà trăm cột, Cần Đước", "ngoi-nha-tram-cot-can-duoc"),
            ("Khu di tích Vàm Nhựt Tảo 1861", "khu-di-tich-vam-nhut-tao-1861"),
            ("Ư Ơ ư ơ", "u-o-u-o"),
        ];
        for (title, slug) in cases {
            assert_eq!(Slug::from_title(title).unwrap().as_str(), slug, "{title}");
        }
    }

    #[test]
    fn nfd_and_nfc_titles_give_the_same_slug() {
        let nfc: String = "Nhà Tổng Thận".nfc().collect();
        let nfd: String = "Nhà Tổng Thận".nfd().collect();
        assert_ne!(nfc, nfd);
        assert_eq!(Slug::from_title(&nfc), Slug::from_title(&nfd));
    }

    #[test]
    fn escaping_slugs_are_refused() {
        for bad in ["..", "../etc", "a/b", "/abs", "a\\b", "a\0b", "~root", "x/../y"] {
            assert!(matches!(Slug::parse(bad), Err(SlugError::EscapesFolder(_))), "{bad:?}");
        }
    }

    #[test]
    fn malformed_slugs_are_refused() {
        for bad in ["Nha", "nha tong", "-nha", "nha-", "nha--tong", "nhà", "."] {
            assert!(matches!(Slug::parse(bad), Err(SlugError::BadCharacters(_))), "{bad:?}");
        }
        assert_eq!(Slug::parse(""), Err(SlugError::Empty));
        assert!(matches!(Slug::parse(&"a".repeat(65)), Err(SlugError::TooLong(_))));
        assert!(Slug::parse("nha-tong-than-2").is_ok());
    }

    #[test]
    fn titles_without_letters_need_an_explicit_slug() {
        assert_eq!(Slug::from_title("!!! ..."), Err(SlugError::Empty));
        assert_eq!(Slug::from_title("../.."), Err(SlugError::Empty));
    }

    #[test]
    fn long_titles_are_cut_to_the_limit() {
        let slug = Slug::from_title(&"Nhà ".repeat(40)).unwrap();
        assert!(slug.as_str().len() <= MAX_SLUG_LEN);
    }
}
