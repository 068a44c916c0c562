//! End-to-end tests of `heritage tile`.

mod support;

use support::*;

#[test]
fn tile_writes_both_layouts_and_explains_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = put(dir.path(), "Cổng chính.jpg", &jpeg(&photo(1000, 700, 9), None));
    let out = dir.path().join("out");
    let text = heritage_ok(
        dir.path(),
        &["tile", input.to_str().unwrap(), out.to_str().unwrap(), "--base-url", "https://di-san.example/iiif"],
    );
    assert!(text.contains("1000x700 px, 11 levels"), "{text}");
    assert!(out.join("Cổng chính.dzi").exists());
    assert!(out.join("Cổng chính_files/10/3_2.jpg").exists());
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("Cổng chính/info.json")).unwrap()).unwrap();
    assert_eq!(info["id"], "https://di-san.example/iiif/Cổng chính");
    assert!(out.join("Cổng chính/full/max/0/default.jpg").exists());

    let json = heritage_json(
        dir.path(),
        &[
            "tile",
            input.to_str().unwrap(),
            out.to_str().unwrap(),
            "--layout",
            "dzi",
            "--name",
            "x",
            "--tile-size",
            "510",
            "--overlap",
            "0",
        ],
    );
    assert_eq!(json["dzi_tiles"], 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 4);
    assert_eq!(json["iiif_files"], 0);

    let bad = put(dir.path(), "bad.jpg", b"not a photo at all");
    let result = heritage(dir.path(), &["tile", bad.to_str().unwrap(), out.to_str().unwrap()]);
    assert_eq!(result.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&result.stderr).contains("cannot be tiled"));
    assert!(!out.join("bad.dzi").exists());
    let usage = heritage(dir.path(), &["tile", input.to_str().unwrap(), out.to_str().unwrap(), "--quality", "0"]);
    assert_eq!(usage.status.code(), Some(2));
}
