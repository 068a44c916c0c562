//! The pages of the website, from the templates in `viewer/src/` and the
//! UI strings in `assets/strings.json`. Every piece of curator text is
//! escaped; both languages go into the page.

use heritage_archive::Localized;
use serde_json::{Value, json};

use crate::collect::{PublishedPhoto, PublishedSite};
use crate::html::{escape, fill, script_json};

const HOME: &str = include_str!("../../../viewer/src/home.html");
const SITE: &str = include_str!("../../../viewer/src/site.html");
const MODEL: &str = include_str!("../../../viewer/src/model.html");
/// The import map of site pages: three.js's addons import it as `three`.
const IMPORT_MAP: &str = r#"{"imports":{"three":"../../viewer/lib/three/build/three.module.js"}}"#;
const STRINGS: &str = include_str!("../../../assets/strings.json");

/// The UI strings, vi and en.
struct Strings(Value);

impl Strings {
    fn load() -> Strings {
        Strings(serde_json::from_str(STRINGS).expect("assets/strings.json is valid JSON (checked by a test)"))
    }

    fn get<'a>(&'a self, lang: &str, key: &'a str) -> &'a str {
        self.0[lang][key].as_str().unwrap_or(key)
    }

    /// The string in both languages as one escaped attribute value.
    fn attribute(&self, key: &str) -> String {
        escape(&format!("{} / {}", self.get("vi", key), self.get("en", key)))
    }

    /// The string in both languages, each in its own element.
    fn both(&self, key: &str) -> String {
        bilingual(self.get("vi", key), self.get("en", key))
    }
}

/// `vi` and `en` text (escaped here) as two spans the stylesheet chooses
/// between; one span when they are the same.
fn bilingual(vi: &str, en: &str) -> String {
    if vi == en {
        return escape(vi);
    }
    format!("<span lang=\"vi\">{}</span><span lang=\"en\">{}</span>", escape(vi), escape(en))
}

/// A curator's localized text in both languages.
fn localized(text: &Localized) -> String {
    bilingual(text.get("vi"), text.get("en"))
}

/// The home page: a card per site.
pub fn home_page(sites: &[PublishedSite]) -> String {
    let strings = Strings::load();
    let cards: Vec<String> = sites
        .iter()
        .map(|site| {
            let slug = site.slug.as_str();
            let cover = site.photos.first().map_or(String::new(), |p| {
                format!(
                    "<img src=\"sites/{slug}/photos/{}/thumb.jpg\" alt=\"{}\" loading=\"lazy\" width=\"400\" height=\"267\">",
                    p.id,
                    escape(site.meta.title.get("vi"))
                )
            });
            format!(
                "    <li><a href=\"sites/{slug}/index.html\">{cover}<h2>{}</h2><p>{}</p><p>{} {}</p></a></li>",
                localized(&site.meta.title),
                localized(&site.meta.summary),
                site.photos.len(),
                strings.both("photos"),
            )
        })
        .collect();
    fill(
        HOME,
        &[
            ("site_name_plain", &escape(strings.get("vi", "site_name"))),
            ("site_name", &strings.both("site_name")),
            ("language", &strings.both("language")),
            ("tagline", &strings.both("tagline")),
            ("search", &strings.both("search")),
            ("search_placeholder_plain", &escape(strings.get("vi", "search_placeholder"))),
            ("no_results", &strings.both("no_results")),
            ("cards", &cards.join("\n")),
        ],
    )
}

/// A photo's caption: its name, when it was taken, who took it.
fn caption(photo: &PublishedPhoto) -> String {
    let mut parts = vec![photo.name.clone()];
    parts.extend(photo.captured.clone());
    parts.extend(photo.contributor.clone());
    parts.join(" · ")
}

/// The Content-Security-Policy source that allows the import map (inline
/// scripts are otherwise refused): its SHA-256 in base64.
fn import_map_hash() -> String {
    use base64::Engine;
    use sha2::Digest;
    format!("sha256-{}", base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(IMPORT_MAP)))
}

/// The 3D section of a site page, if the site has a model: the canvas
/// with a poster (the first photo's preview) and the tour's buttons.
fn model_section(site: &PublishedSite, strings: &Strings) -> String {
    let (Some(_), Some(first)) = (&site.model, site.photos.first()) else { return String::new() };
    let poster = format!("photos/{}/preview.jpg", first.id);
    let keys = [
        "model_heading",
        "tour_left",
        "tour_right",
        "tour_closer",
        "tour_farther",
        "tour_detail",
        "tour_overview",
        "tour_hint",
        "no_webgl",
    ];
    let texts: Vec<(&str, String)> = keys.iter().map(|&k| (k, strings.both(k))).collect();
    let mut values: Vec<(&str, &str)> = texts.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (poster_alt, canvas_label) = (strings.attribute("poster_alt"), strings.attribute("canvas_label"));
    values.extend([("poster", poster.as_str()), ("poster_alt", &poster_alt), ("canvas_label", &canvas_label)]);
    fill(MODEL, &values)
}

/// The page of one site: text, facts, 3D model and photo tour (when the
/// site has a model), gallery and the deep-zoom viewer.
pub fn site_page(site: &PublishedSite) -> String {
    let strings = Strings::load();
    let meta = &site.meta;
    let mut facts = Vec::new();
    let mut fact = |key: &str, value: String| {
        facts.push(format!("    <dt>{}</dt><dd>{value}</dd>", strings.both(key)));
    };
    if !meta.address.is_empty() {
        fact("address", escape(&meta.address));
    }
    if let (Some(lat), Some(lon)) = (meta.latitude, meta.longitude) {
        fact(
            "coordinates",
            format!(
                "{lat:.5}, {lon:.5} (<a href=\"https://www.openstreetmap.org/?mlat={lat}&amp;mlon={lon}#map=18/{lat}/{lon}\" rel=\"noopener\">{}</a>)",
                strings.both("map")
            ),
        );
    }
    let mut contributors: Vec<&str> = site.photos.iter().filter_map(|p| p.contributor.as_deref()).collect();
    contributors.sort_unstable();
    contributors.dedup();
    if !contributors.is_empty() {
        fact("contributors", escape(&contributors.join(", ")));
    }
    let mut dates: Vec<&str> =
        site.photos.iter().filter_map(|p| p.captured.as_deref()).map(|d| &d[..d.len().min(10)]).collect();
    dates.sort_unstable();
    if let (Some(first), Some(last)) = (dates.first(), dates.last()) {
        fact("dates", escape(&if first == last { first.to_string() } else { format!("{first} – {last}") }));
    }
    let items: Vec<String> = site
        .photos
        .iter()
        .map(|p| {
            format!(
                "    <li><a href=\"photos/{id}/preview.jpg\" aria-label=\"{} {}\"><img src=\"photos/{id}/thumb.jpg\" alt=\"{}\" loading=\"lazy\" width=\"400\" height=\"267\"></a></li>",
                escape(strings.get("vi", "open_photo")),
                escape(&p.name),
                escape(&caption(p)),
                id = p.id,
            )
        })
        .collect();
    let photos: Vec<Value> = site
        .photos
        .iter()
        .map(|p| json!({ "id": p.id, "dzi": format!("photos/{}/image.dzi", p.id), "caption": caption(p), "turn": p.turn }))
        .collect();
    let gallery = if items.is_empty() {
        format!("    <li class=\"note\">{}</li>", strings.both("no_photos"))
    } else {
        items.join("\n")
    };
    fill(
        SITE,
        &[
            ("title_plain", &escape(meta.title.get("vi"))),
            ("title", &localized(&meta.title)),
            ("summary", &localized(&meta.summary)),
            ("meta", &facts.join("\n")),
            ("gallery_items", &gallery),
            ("photos_json", &script_json(&Value::Array(photos))),
            ("model", &model_section(site, &strings)),
            ("importmap", IMPORT_MAP),
            ("importmap_hash", &import_map_hash()),
            ("home", &strings.both("home")),
            ("language", &strings.both("language")),
            ("iiif", &strings.both("iiif")),
            ("gallery", &strings.both("gallery")),
            ("previous", &strings.both("previous")),
            ("next", &strings.both("next")),
            ("zoom_in", &strings.both("zoom_in")),
            ("zoom_out", &strings.both("zoom_out")),
            ("close", &strings.both("close")),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_string_exists_in_both_languages() {
        let strings = Strings::load();
        let vi = strings.0["vi"].as_object().unwrap();
        let en = strings.0["en"].as_object().unwrap();
        let mut keys: Vec<&String> = vi.keys().collect();
        keys.sort();
        let mut en_keys: Vec<&String> = en.keys().collect();
        en_keys.sort();
        assert_eq!(keys, en_keys);
        for template in [HOME, SITE, MODEL] {
            let placeholders = template.matches("{{").count();
            assert!(placeholders > 5);
        }
    }
}
