//! Curated site metadata: `sites/<slug>/site.toml`.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// A text in Vietnamese (first) and English.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Localized {
    /// Vietnamese text, the first language of the project.
    #[serde(default)]
    pub vi: String,
    /// English text.
    #[serde(default)]
    pub en: String,
}

impl Localized {
    /// The text in `lang` (`"vi"` or `"en"`), falling back to the other
    /// language when that one is empty.
    pub fn get(&self, lang: &str) -> &str {
        let (first, second) = if lang == "en" { (&self.en, &self.vi) } else { (&self.vi, &self.en) };
        if first.is_empty() { second } else { first }
    }
}

/// Everything a curator says about a site.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SiteMeta {
    /// Whether the site appears in the published website.
    #[serde(default)]
    pub published: bool,
    /// Street address, free text.
    #[serde(default)]
    pub address: String,
    /// Latitude in degrees (WGS 84), north positive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    /// Longitude in degrees (WGS 84), east positive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
    /// The site's title.
    #[serde(default)]
    pub title: Localized,
    /// A short summary of the site.
    #[serde(default)]
    pub summary: Localized,
}

/// Normalises curator text to Unicode NFC, the form stored on disk.
pub fn nfc(text: &str) -> String {
    text.nfc().collect()
}

/// Checks a latitude/longitude pair, returning a message a curator
/// understands when it is out of range.
pub fn check_coordinates(latitude: Option<f64>, longitude: Option<f64>) -> Result<(), String> {
    if let Some(lat) = latitude
        && !(-90.0..=90.0).contains(&lat)
    {
        return Err(format!("latitude {lat} is outside -90..90 degrees"));
    }
    if let Some(lon) = longitude
        && !(-180.0..=180.0).contains(&lon)
    {
        return Err(format!("longitude {lon} is outside -180..180 degrees"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_meta_round_trips_through_toml() {
        let meta = SiteMeta {
            published: true,
            address: "Phường 1, Tân An, Long An".into(),
            latitude: Some(10.5357),
            longitude: Some(106.4132),
            title: Localized { vi: "Nhà Tổng Thận".into(), en: "Tong Than House".into() },
            summary: Localized::default(),
        };
        let text = toml::to_string(&meta).unwrap();
        assert!(text.contains("published = true"));
        assert_eq!(toml::from_str::<SiteMeta>(&text).unwrap(), meta);
    }

    #[test]
    fn localized_falls_back_to_the_other_language() {
        let text = Localized { vi: "Nhà".into(), en: String::new() };
        assert_eq!(text.get("en"), "Nhà");
        assert_eq!(text.get("vi"), "Nhà");
    }

    #[test]
    fn coordinates_are_range_checked() {
        assert!(check_coordinates(Some(10.5), Some(106.4)).is_ok());
        assert!(check_coordinates(Some(91.0), None).is_err());
        assert!(check_coordinates(None, Some(-181.0)).is_err());
    }
}
