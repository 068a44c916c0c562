//! `heritage publish` and `heritage serve` end to end: only published
//! sites appear, curator text stays text, the IIIF manifests are complete,
//! photos held turned show upright, the preview server never leaves its
//! folder, and missing viewer libraries are named before any work.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use support::*;

const HOSTILE: &str = "<script>alert(1)</script>";

/// An archive with three sites of two photos each: `nha-tong-than`
/// (published), a published site with a hostile title, and `dinh-bi-mat`
/// (not published).
fn archive_with_sites(dir: &Path) -> PathBuf {
    let archive = archive_with_site(dir);
    heritage_ok(&archive, &["site", "add", "Đình Bí Mật"]);
    heritage_ok(&archive, &["site", "add", "Hostile", "--slug", "hostile"]);
    heritage_ok(
        &archive,
        &["site", "set", "nha-tong-than", "--published", "true", "--lat", "10.5357", "--lon", "106.4132"],
    );
    heritage_ok(
        &archive,
        &["site", "set", "hostile", "--title-vi", HOSTILE, "--summary-en", "\"quoted\" & <b>", "--published", "true"],
    );
    heritage_ok(&archive, &["site", "set", "dinh-bi-mat", "--published", "false"]);
    for (i, site) in ["nha-tong-than", "hostile", "dinh-bi-mat"].into_iter().enumerate() {
        let folder = dir.join(format!("photos-{site}"));
        for k in 0..2 {
            put(&folder, &format!("p{k}.jpg"), &jpeg(&photo(700, 500, (10 * i + k) as u32), None));
        }
        heritage_ok(&archive, &["ingest", folder.to_str().unwrap(), "--site", site, "--contributor", "Lê Thị B"]);
    }
    heritage_ok(&archive, &["build"]);
    archive
}

/// A stand-in for the viewer's `node_modules` (publishing only copies
/// it): every library file the website needs, and OpenSeadragon's images.
fn fake_viewer_libs(dir: &Path) -> PathBuf {
    let libs = dir.join("node_modules");
    for file in heritage_publish::LIBRARY_FILES {
        let path = libs.join(file);
        put(path.parent().unwrap(), path.file_name().unwrap().to_str().unwrap(), b"/* library stand-in */");
    }
    put(&libs.join("openseadragon/build/openseadragon/images"), "home_rest.png", b"png");
    libs
}

/// Every file below `dir`, with its contents as text (lossy).
fn all_files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(all_files(&path));
        } else {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            out.push((path, text));
        }
    }
    out
}

fn publish(archive: &Path, out: &Path, libs: &Path) -> serde_json::Value {
    let (out, libs) = (out.to_str().unwrap(), libs.to_str().unwrap());
    heritage_json(
        archive,
        &["publish", "--out", out, "--base-url", "https://example.org/heritage", "--viewer-libs", libs],
    )
}

#[test]
fn only_published_sites_appear_and_their_text_is_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let archive = archive_with_sites(dir.path());
    let out = dir.path().join("site");
    let libs = fake_viewer_libs(dir.path());
    let report = publish(&archive, &out, &libs);
    assert_eq!(report["sites"], serde_json::json!([["hostile", 2], ["nha-tong-than", 2]]));

    for (path, text) in all_files(&out) {
        let name = path.to_string_lossy();
        assert!(!name.contains("dinh-bi-mat"), "{name}");
        assert!(!text.contains("dinh-bi-mat") && !text.contains("Đình Bí Mật"), "unpublished site in {name}");
        // JSON keeps the text as data (IIIF viewers escape it); pages never
        // carry it raw.
        assert!(!name.ends_with(".html") || !text.contains(HOSTILE), "raw hostile title in {name}");
    }
    let home = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(home.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{home}");
    assert!(home.contains("href=\"sites/nha-tong-than/index.html\""));
    let page = std::fs::read_to_string(out.join("sites/hostile/index.html")).unwrap();
    assert!(page.contains("&quot;quoted&quot; &amp; &lt;b&gt;"));
    assert!(page.contains("Content-Security-Policy"));
    assert!(!page.contains("http://") || page.contains("openstreetmap"), "links are relative");
    let page = std::fs::read_to_string(out.join("sites/nha-tong-than/index.html")).unwrap();
    assert!(page.contains("<span lang=\"vi\">Nhà Tổng Thận</span>") || page.contains("Nhà Tổng Thận"));
    assert!(page.contains("openstreetmap.org/?mlat=10.5357&amp;mlon=106.4132"));

    // Unpublishing a site and publishing again removes every trace of it.
    heritage_ok(&archive, &["site", "set", "hostile", "--published", "false"]);
    let report = publish(&archive, &out, &libs);
    assert_eq!(report["sites"], serde_json::json!([["nha-tong-than", 2]]));
    assert!(!out.join("sites/hostile").exists());
    assert!(all_files(&out).iter().all(|(_, text)| !text.contains("alert(1)")), "the hostile site is gone");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(leftovers.iter().all(|n| !n.to_string_lossy().contains("heritage-tmp")), "{leftovers:?}");
}

/// Without the viewer's libraries, `publish` and `demo` stop at once and
/// say how to install them: the demo before minutes of rendering and
/// building, and before touching its folder.
#[test]
fn missing_viewer_libraries_are_named_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let archive = archive_with_sites(dir.path());
    let missing = dir.path().join("no-node-modules");
    let out = dir.path().join("site");
    let demo_dir = dir.path().join("demo");
    for args in [
        vec!["publish", "--out", out.to_str().unwrap(), "--viewer-libs", missing.to_str().unwrap()],
        vec!["demo", "--no-serve", "--dir", demo_dir.to_str().unwrap(), "--viewer-libs", missing.to_str().unwrap()],
    ] {
        let output = heritage(&archive, &args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} succeeded");
        assert!(stderr.contains("npm ci --prefix viewer"), "{args:?}: {stderr}");
    }
    assert!(!out.exists() && !demo_dir.exists());
}

#[test]
fn iiif_manifests_have_every_required_field() {
    let dir = tempfile::tempdir().unwrap();
    let archive = archive_with_sites(dir.path());
    let out = dir.path().join("site");
    publish(&archive, &out, &fake_viewer_libs(dir.path()));
    let root = "https://example.org/heritage/sites/nha-tong-than";
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("sites/nha-tong-than/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["@context"], "http://iiif.io/api/presentation/3/context.json");
    assert_eq!(manifest["id"], format!("{root}/manifest.json"));
    assert_eq!(manifest["type"], "Manifest");
    assert_eq!(manifest["label"]["vi"][0], "Nhà Tổng Thận");
    let canvases = manifest["items"].as_array().unwrap();
    assert_eq!(canvases.len(), 2);
    for canvas in canvases {
        assert_eq!(canvas["type"], "Canvas");
        assert!(canvas["id"].as_str().unwrap().starts_with(&format!("{root}/canvas/")));
        assert_eq!((canvas["width"].as_u64(), canvas["height"].as_u64()), (Some(700), Some(500)));
        let page = &canvas["items"][0];
        assert_eq!(page["type"], "AnnotationPage");
        let annotation = &page["items"][0];
        assert_eq!(annotation["type"], "Annotation");
        assert_eq!(annotation["motivation"], "painting");
        assert_eq!(annotation["target"], canvas["id"]);
        let body = &annotation["body"];
        assert_eq!((body["type"].as_str(), body["format"].as_str()), (Some("Image"), Some("image/jpeg")));
        let service = &body["service"][0];
        assert_eq!((service["type"].as_str(), service["profile"].as_str()), (Some("ImageService3"), Some("level0")));
        // The service is there, with its public id, and its full image too.
        let local = service["id"].as_str().unwrap().strip_prefix(root).unwrap().trim_start_matches('/');
        let info_path = out.join("sites/nha-tong-than").join(local).join("info.json");
        let info: serde_json::Value = serde_json::from_slice(&std::fs::read(&info_path).unwrap()).unwrap();
        assert_eq!(info["id"], service["id"]);
        let full = body["id"].as_str().unwrap().strip_prefix(root).unwrap().trim_start_matches('/');
        assert!(out.join("sites/nha-tong-than").join(full).is_file(), "{full}");
    }
}

/// Sends a raw request and returns the status code.
fn status_of(port: u16, target: &str) -> u16 {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn the_server_refuses_to_leave_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let public = dir.path().join("public");
    put(&public, "index.html", b"<!doctype html><title>ok</title>");
    put(&public.join("sites"), "a.dzi", b"<Image/>");
    put(dir.path(), "secret.txt", b"secret");
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), public.join("out.txt")).unwrap();
    let mut server = Command::new(heritage_bin())
        .args(["serve", "--port", "0", "--dir", public.to_str().unwrap()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    let port: u16 = line.split("127.0.0.1:").nth(1).unwrap().split('/').next().unwrap().parse().unwrap();
    let outcomes: Vec<(u16, &str)> = [
        "/",
        "/sites/a.dzi",
        "/../secret.txt",
        "/sites/%2e%2e/%2e%2e/secret.txt",
        "/sites%2f..%2f..%2fsecret.txt",
        "/out.txt",
        "/nothing",
    ]
    .into_iter()
    .map(|t| (status_of(port, t), t))
    .collect();
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(
        outcomes.iter().map(|o| o.0).collect::<Vec<_>>(),
        vec![200, 200, 403, 403, 403, 403, 404],
        "{outcomes:?}"
    );
}

/// Photos held turned by a phone that records no EXIF orientation tag are
/// published upright: the coverage report names them, their thumbnails
/// and previews are turned, and the page and the tour tell the viewers
/// how far to turn their deep-zoom tiles and views.
#[test]
fn photos_held_turned_are_published_upright() {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("set");
    // The 5th photo of 16 held turned clockwise, the 13th anticlockwise.
    let args = ["synth", set.to_str().unwrap(), "--layout", "garden", "--photos", "16", "--size", "640x427"];
    heritage_json(dir.path(), &[&args[..], &["--turned", "2"]].concat());
    let archive = archive_with_site(dir.path());
    heritage_ok(&archive, &["ingest", set.join("photos").to_str().unwrap(), "--site", "nha-tong-than"]);
    heritage_ok(&archive, &["build"]);
    heritage_ok(&archive, &["site", "set", "nha-tong-than", "--published", "true"]);
    let status = heritage_json(&archive, &["status"]);
    let turned = &status["sites"][0]["model"]["turned"];
    let turned: Vec<(&str, i64)> = turned
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, turn)| (&name[name.len() - 12..], turn.as_i64().unwrap()))
        .collect();
    assert_eq!(turned, [("IMG_0005.jpg", -90), ("IMG_0013.jpg", 90)]);

    let out = dir.path().join("public");
    publish(&archive, &out, &fake_viewer_libs(dir.path()));
    let site = out.join("sites/nha-tong-than");
    let tour: serde_json::Value =
        serde_json::from_slice(&std::fs::read(site.join("model/tour.json")).unwrap()).unwrap();
    let page = std::fs::read_to_string(site.join("index.html")).unwrap();
    for photo in tour["photos"].as_array().unwrap() {
        let (name, id, turn) =
            (photo["name"].as_str().unwrap(), photo["id"].as_str().unwrap(), photo["turn"].as_i64().unwrap());
        let expected = turned.iter().find(|(file, _)| name.ends_with(file)).map_or(0, |&(_, turn)| turn);
        assert_eq!(turn, expected, "{name}");
        assert!(page.contains(&format!("\"id\":\"{id}\",\"turn\":{turn}")), "{name} in the page's photo list");
        // Every thumbnail and preview is landscape, as the site is.
        let open = |file: &str| image::open(site.join("photos").join(id).join(file)).unwrap().to_rgb8();
        let (thumb, preview) = (open("thumb.jpg"), open("preview.jpg"));
        assert_eq!((thumb.dimensions(), preview.dimensions()), ((400, 267), (640, 427)), "{name}");
        if turn != 0 {
            // The preview is the photo as handed in, turned back.
            let file = image::open(set.join("photos").join(&name[name.len() - 12..])).unwrap().to_rgb8();
            let upright = if turn > 0 { image::imageops::rotate90(&file) } else { image::imageops::rotate270(&file) };
            let difference: u64 =
                upright.as_raw().iter().zip(preview.as_raw()).map(|(&a, &b)| u64::from(a.abs_diff(b))).sum();
            let mean = difference as f64 / upright.as_raw().len() as f64;
            // Encoded twice at quality 85 (preview, then turned) over fine
            // texture: about 4 levels; turned the wrong way, about 70.
            assert!(mean < 8.0, "{name}: mean difference {mean} levels");
        }
    }
}
