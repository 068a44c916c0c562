//! `heritage reconstruct`: from a folder of photos to oriented sparse
//! models (COLMAP text), coloured points (PLY), a glTF model with camera
//! frusta, the viewer's tour and a coverage report.

use std::process::ExitCode;

use anyhow::{Context, Result};
use heritage_archive::atomic::{commit_dir, temp_sibling};
use heritage_sfm::coverage::Coverage;
use heritage_sfm::orient::Frame;
use heritage_sfm::output::{Inputs, write_model_files};
use heritage_sfm::sparse::sparse;
use serde::Serialize;

use super::match_photos::{MatchArgs, Timings, match_folder};
use super::print_json;
use crate::progress::Bars;

/// Name of the model folder inside the output folder.
pub const MODEL_DIR: &str = "model";

/// What `heritage reconstruct --json` prints.
#[derive(Debug, Serialize)]
struct ReconstructReport<'a> {
    model: std::path::PathBuf,
    frame: Option<&'a Frame>,
    timings: Timings,
    #[serde(flatten)]
    coverage: &'a Coverage,
}

/// Runs `heritage reconstruct`.
pub fn run(args: MatchArgs) -> Result<ExitCode> {
    let bars = Bars::new(!args.json);
    let matched = match_folder(&args, &bars)?;
    let started = std::time::Instant::now();
    let result = sparse(&matched.photos, &matched.features, &matched.front, matched.given.is_some(), &bars);
    let timings = Timings { mapping: started.elapsed().as_secs_f64(), ..matched.timings };
    let inputs = Inputs { photos: &matched.photos, features: &matched.features, front: &matched.front };
    let model_dir = args.out_dir.join(MODEL_DIR);
    let temp = temp_sibling(&model_dir);
    std::fs::create_dir_all(&temp)?;
    write_model_files(&temp, &inputs, &result).with_context(|| format!("cannot write {}", temp.display()))?;
    commit_dir(&temp, &model_dir)?;
    if args.json {
        let frame = result.frames.first();
        print_json(&ReconstructReport { model: model_dir, frame, timings, coverage: &result.coverage })?;
    } else {
        print!("{}", result.coverage.to_text());
        match result.frames.first() {
            Some(Frame::EastNorthUp { latitude, longitude, gps_inliers, gps_photos, rms_error, .. }) => println!(
                "\nFrame: metres east, north and up of {latitude:.6}, {longitude:.6} ({gps_inliers} of {gps_photos} GPS fixes agree, {rms_error:.2} m RMS)."
            ),
            Some(Frame::Levelled) => println!("\nFrame: levelled by the photos (no usable GPS), arbitrary scale."),
            None => {}
        }
        println!(
            "Wrote {} (sparse/N: COLMAP text; points.ply, model.glb, tour.json, coverage.txt)",
            model_dir.display()
        );
    }
    Ok(if result.models.is_empty() { ExitCode::from(2) } else { ExitCode::SUCCESS })
}
