//! End-to-end tests of `heritage tile`.

mod support;

use support::*;

#[test]
fn tile_writes_both_layouts_and_explains_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = put(dir.path(), "Cổng chính.jpg", &jpeg(&photo(1000, 700, 9), None));
    let out = dir.path().join("out");
    let (input_arg, out_arg) = (input.to_str().unwrap(), out.to_str().unwrap());
    let text = heritage_ok(dir.path(), &["tile", input_arg, out_arg, "--base-url", "https://di-san.example/iiif"]);
    assert!(text.contains("Cổng chính: 1000x700 px, 11 levels"), "{text}");
    assert!(out.join("Cổng chính.dzi").exists());
    assert!(out.join("Cổng chính_files/10/3_2.jpg").exists());
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("Cổng chính/info.json")).unwrap()).unwrap();
    assert_eq!(info["id"], "https://di-san.example/iiif/Cổng chính");
    assert!(out.join("Cổng chính/full/max/0/default.jpg").exists());

    let args = ["tile", input_arg, out_arg, "--layout", "dzi", "--name", "x", "--tile-size", "510", "--overlap", "0"];
    let json = heritage_json(dir.path(), &args);
    assert_eq!(json[0]["summary"]["dzi_tiles"], 10 + 4, "ten one-tile levels, then 2x2");
    assert_eq!(json[0]["summary"]["iiif_files"], 0);

    // Several images at once; a bad one fails alone.
    let second = put(dir.path(), "b.png", &png(&photo(640, 480, 2)));
    let bad = put(dir.path(), "bad.jpg", b"not a photo at all");
    let result = heritage(dir.path(), &["tile", input_arg, second.to_str().unwrap(), bad.to_str().unwrap(), out_arg]);
    assert_eq!(result.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&result.stderr).contains("cannot be tiled"));
    assert!(!out.join("bad.dzi").exists());
    assert!(out.join("b.dzi").exists() && out.join("b/info.json").exists());

    let usage = heritage(dir.path(), &["tile", input_arg, out_arg, "--quality", "0"]);
    assert_eq!(usage.status.code(), Some(2));
}
