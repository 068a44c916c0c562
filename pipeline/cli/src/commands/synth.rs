//! `heritage synth`: a synthetic photo set with ground truth.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Args;
use heritage_synthetic::{Layout, SynthOptions, synthesize};

use super::print_json;
use crate::progress::Bars;

/// The long help of `heritage synth` (shown by `--help`).
pub const SYNTH_HELP: &str = "Render a synthetic heritage site from known cameras.

A Vietnamese-style house with a tiled hip roof, wooden columns, brick
plinth, steps and a courtyard is ray-traced from the cameras a volunteer
would use: a ring around the house, a sweep along the facade and a few
close-ups. Writes OUT_DIR/photos/IMG_0001.jpg... (JPEG with EXIF: camera,
focal length, capture time, GPS around Tân An) and OUT_DIR/truth/ with
the true cameras as a COLMAP text model (cameras.txt, images.txt,
points3D.txt), the true surface as mesh.glb and mesh.ply, and scene.json
(frame, units, extent). The same seed gives byte-identical files.

--layout garden renders another site instead: a lane along a rock garden,
one photo every 0.6 m, so that more photos cover more ground rather than
the same house more densely (bench/scaling.sh measures both).

The GPS fixes are the true camera centres unless --gps-error gives them
a phone's chance errors (e.g. 3: about 3 m on the ground, 9 m in height),
to see how a model is oriented from poor fixes.

Dựng ảnh của một di tích mô phỏng từ các máy ảnh đã biết, kèm số liệu gốc
để đối chiếu mô hình.";

/// Arguments of `heritage synth`.
#[derive(Args, Debug)]
pub struct SynthArgs {
    /// Folder to write into.
    out_dir: PathBuf,
    /// Which site: the house (photos around it) or a rock garden (photos
    /// along a lane as long as the photos need).
    #[arg(long, default_value = "house", value_parser = parse_layout)]
    layout: Layout,
    /// Number of photos.
    #[arg(long, default_value_t = 24)]
    photos: usize,
    /// Photo size, WIDTHxHEIGHT.
    #[arg(long, default_value = "1600x1067", value_parser = parse_size)]
    size: (u32, u32),
    /// Seed of the camera path, exposure and sensor noise.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Radial lens distortion K1,K2 (COLMAP RADIAL), e.g. -0.05,0.01.
    #[arg(long, value_parser = parse_pair, allow_hyphen_values = true)]
    distortion: Option<(f64, f64)>,
    /// Chance error of the GPS fixes, metres on the ground (standard
    /// deviation; heights get three times as much); 0 keeps them exact.
    #[arg(long, default_value_t = 0.0, value_parser = parse_metres)]
    gps_error: f64,
    /// Photos held turned a quarter by a phone that records no EXIF
    /// orientation tag (their files show the site on its side), spread
    /// through the set: to see the coverage report name them and the
    /// website show them upright.
    #[arg(long, default_value_t = 0)]
    turned: usize,
    /// Print a summary as JSON.
    #[arg(long)]
    json: bool,
}

/// `WIDTHxHEIGHT` as two pixel counts, each 16 to 16384.
pub fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text.split_once(['x', 'X']).ok_or("give the size as WIDTHxHEIGHT, e.g. 1600x1067")?;
    let parse = |v: &str| v.trim().parse::<u32>().map_err(|_| format!("{v:?} is not a whole number of pixels"));
    let (w, h) = (parse(w)?, parse(h)?);
    if !(16..=16384).contains(&w) || !(16..=16384).contains(&h) {
        return Err("each side must be 16 to 16384 pixels".into());
    }
    Ok((w, h))
}

fn parse_layout(text: &str) -> Result<Layout, String> {
    match text {
        "house" => Ok(Layout::House),
        "garden" => Ok(Layout::Garden),
        _ => Err("the layouts are house and garden".into()),
    }
}

fn parse_metres(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(m) if (0.0..=1000.0).contains(&m) => Ok(m),
        _ => Err(format!("{text:?} is not a distance from 0 to 1000 metres")),
    }
}

fn parse_pair(text: &str) -> Result<(f64, f64), String> {
    let (a, b) = text.split_once(',').ok_or("give two numbers, K1,K2")?;
    let parse = |v: &str| v.trim().parse::<f64>().map_err(|_| format!("{v:?} is not a number"));
    Ok((parse(a)?, parse(b)?))
}

/// Runs `heritage synth`.
pub fn run(args: SynthArgs) -> Result<ExitCode> {
    if args.photos == 0 {
        bail!("--photos must be at least 1");
    }
    if args.turned > args.photos {
        bail!("--turned {} is more than the {} photos of --photos", args.turned, args.photos);
    }
    let options = SynthOptions {
        layout: args.layout,
        photos: args.photos,
        width: args.size.0,
        height: args.size.1,
        seed: args.seed,
        distortion: args.distortion.unwrap_or((0.0, 0.0)),
        gps_error: args.gps_error,
        turned: args.turned,
        ..SynthOptions::default()
    };
    let report = synthesize(&args.out_dir, &options, &Bars::new(!args.json))?;
    if args.json {
        print_json(&report)?;
    } else {
        println!(
            "Rendered {} photos of {}x{} ({} triangles) into {}/photos; ground truth in {}/truth.",
            report.photos.len(),
            options.width,
            options.height,
            report.triangles,
            args.out_dir.display(),
            args.out_dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
