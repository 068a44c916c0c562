//! IIIF Presentation API 3.0 manifests: one per site, one canvas per
//! photo painted by its level-0 image service.

use heritage_archive::Localized;
use serde_json::{Value, json};

use crate::collect::PublishedSite;

/// A language map (`{"vi": [...], "en": [...]}`), languages with no text left out.
fn language_map(text: &Localized) -> Value {
    let mut map = serde_json::Map::new();
    for (lang, value) in [("vi", &text.vi), ("en", &text.en)] {
        if !value.is_empty() {
            map.insert(lang.to_string(), json!([value]));
        }
    }
    Value::Object(map)
}

/// The URL of the site's folder in the published website.
pub fn site_url(base_url: &str, slug: &str) -> String {
    format!("{}/sites/{slug}", base_url.trim_end_matches('/'))
}

/// The manifest of a site, its ids under `base_url`.
pub fn manifest(site: &PublishedSite, base_url: &str) -> Value {
    let root = site_url(base_url, site.slug.as_str());
    let canvases: Vec<Value> = site
        .photos
        .iter()
        .map(|p| {
            let canvas = format!("{root}/canvas/{}", p.id);
            let service = format!("{root}/photos/{}/image", p.id);
            json!({
                "id": canvas,
                "type": "Canvas",
                "label": { "none": [p.name] },
                "width": p.width,
                "height": p.height,
                "items": [{
                    "id": format!("{canvas}/page"),
                    "type": "AnnotationPage",
                    "items": [{
                        "id": format!("{canvas}/page/image"),
                        "type": "Annotation",
                        "motivation": "painting",
                        "target": canvas,
                        "body": {
                            "id": format!("{service}/full/max/0/default.jpg"),
                            "type": "Image",
                            "format": "image/jpeg",
                            "service": [{ "id": service, "type": "ImageService3", "profile": "level0" }]
                        }
                    }]
                }]
            })
        })
        .collect();
    let mut manifest = json!({
        "@context": "http://iiif.io/api/presentation/3/context.json",
        "id": format!("{root}/manifest.json"),
        "type": "Manifest",
        "label": language_map(&site.meta.title),
        "items": canvases,
    });
    if !site.meta.summary.vi.is_empty() || !site.meta.summary.en.is_empty() {
        manifest["summary"] = language_map(&site.meta.summary);
    }
    manifest
}
