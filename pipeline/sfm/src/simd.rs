//! Which vector instructions the hot loops may use: the widest the
//! processor has, unless the environment variable `HERITAGE_SIMD` caps
//! them (`avx512`, `avx2` or `none`), as OpenBLAS's `OPENBLAS_CORETYPE`
//! does: to measure on a server how an ordinary laptop, which has AVX2
//! but neither AVX-512 nor AMX, would fare, or to rule the vector code
//! out when chasing a fault. Every level gives the same results.

use std::sync::OnceLock;

/// The environment variable that caps the vector instructions.
pub const VARIABLE: &str = "HERITAGE_SIMD";

/// A set of vector instructions, each level including those below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Plain code as built (SSE2 on x86-64).
    None,
    /// AVX2: 256-bit vectors.
    Avx2,
    /// AVX-512 (with VNNI for byte products): 512-bit vectors.
    Avx512,
    /// AMX tiles besides AVX-512: no cap.
    Amx,
}

impl Level {
    /// The level a value of [`VARIABLE`] names: `amx`, `avx512`, `avx2`
    /// or `none`, in any case.
    pub fn parse(value: &str) -> Result<Level, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "amx" => Ok(Level::Amx),
            "avx512" => Ok(Level::Avx512),
            "avx2" => Ok(Level::Avx2),
            "none" => Ok(Level::None),
            other => Err(format!(
                "{VARIABLE}={other:?} không hợp lệ: dùng amx, avx512, avx2 hoặc none / \
                 {VARIABLE}={other:?} is not a level: use amx, avx512, avx2 or none (or unset it)"
            )),
        }
    }

    /// The cap set by [`VARIABLE`], if it is set; an error if it names
    /// no level.
    pub fn from_env() -> Result<Option<Level>, String> {
        std::env::var_os(VARIABLE).map(|value| Level::parse(&value.to_string_lossy())).transpose()
    }
}

/// Whether the hot loops may use `level`'s instructions (when the
/// processor has them): read once from [`VARIABLE`]; an invalid value,
/// which the command line rejects before any work, caps nothing.
pub fn allows(level: Level) -> bool {
    static CAP: OnceLock<Level> = OnceLock::new();
    level <= *CAP.get_or_init(|| Level::from_env().ok().flatten().unwrap_or(Level::Amx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_in_any_case_and_order_by_width() {
        assert_eq!(Level::parse("AVX2"), Ok(Level::Avx2));
        assert_eq!(Level::parse(" none "), Ok(Level::None));
        assert_eq!(Level::parse("amx"), Ok(Level::Amx));
        assert!(Level::parse("sse4").unwrap_err().contains("use amx, avx512, avx2 or none"));
        assert!(Level::None < Level::Avx2 && Level::Avx2 < Level::Avx512 && Level::Avx512 < Level::Amx);
    }
}
