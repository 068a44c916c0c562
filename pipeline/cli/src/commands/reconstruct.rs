//! `heritage reconstruct`: from a folder of photos to oriented sparse
//! models (COLMAP text), coloured points (PLY), a glTF model with camera
//! frusta, the viewer's tour and a coverage report.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use heritage_archive::atomic::{commit_dir, temp_sibling};
use heritage_sfm::coverage::Coverage;
use heritage_sfm::mapper::{MapperOptions, PrincipalPoint};
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

/// The long help of `heritage reconstruct` (shown by `--help`).
pub const RECONSTRUCT_HELP: &str = "Find the cameras and a sparse 3D point cloud of a folder of photos (like
COLMAP's automatic_reconstructor without dense reconstruction).

Matches the photos as `heritage match` does, then places them one by one
(structure from motion with bundle adjustment). Writes OUT_DIR/database.db
and OUT_DIR/model/: COLMAP text models (sparse/0, sparse/1... when the
photos fall into groups), points.ply, model.glb (points and cameras),
tour.json and coverage.txt, which says which photos could not be placed
and why, and where more photos are needed. With GPS in the photos, the
model is in metres east, north and up; without, it is levelled.

Dựng vị trí máy ảnh và đám mây điểm 3D; coverage.txt cho biết ảnh nào
không ghép được và nên chụp thêm ở đâu.";

/// Arguments of `heritage reconstruct`.
#[derive(Args, Debug)]
pub struct ReconstructArgs {
    #[command(flatten)]
    matching: MatchArgs,
    /// Refine each camera's principal point (lens centre) in every
    /// adjustment. By default it stays at the photo's centre while the
    /// model grows and is refined at the end only where the photos fix it
    /// (six or more photos of the camera, and a clearly better fit):
    /// fountain-P11's, 23 px off, is found (camera error 6.0 -> 2.0 mm),
    /// a centred one left alone.
    #[arg(long, conflicts_with = "hold_principal_point")]
    refine_principal_point: bool,
    /// Keep each camera's principal point at the photo's centre (or where
    /// K.txt puts it), as COLMAP does by default.
    #[arg(long)]
    hold_principal_point: bool,
}

/// Runs `heritage reconstruct`.
pub fn run(args: ReconstructArgs) -> Result<ExitCode> {
    let ReconstructArgs { matching: args, refine_principal_point, hold_principal_point } = args;
    let principal_point = match (refine_principal_point, hold_principal_point) {
        (true, _) => PrincipalPoint::Refined,
        (_, true) => PrincipalPoint::Held,
        _ => PrincipalPoint::Tested,
    };
    let bars = Bars::new(!args.json);
    let matched = match_folder(&args, &bars)?;
    let started = std::time::Instant::now();
    // A camera matrix from K.txt is known: keep it.
    let options = MapperOptions {
        refine_intrinsics: matched.given.is_none(),
        principal_point,
        seed: args.seed,
        ..Default::default()
    };
    let mut result = sparse(&matched.photos, &matched.features, &matched.front, &options, &bars);
    result.coverage.unreadable = matched.unreadable;
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
            Some(Frame::EastNorthUp {
                latitude,
                longitude,
                gps_inliers,
                gps_photos,
                rms_error,
                scale_error,
                vertical_edges,
                ..
            }) => {
                println!(
                    "\nHệ toạ độ / frame: mét về phía đông, bắc và lên quanh / metres east, north and up of \
                     {latitude:.6}, {longitude:.6}; {gps_inliers} / {gps_photos} vị trí GPS khớp / GPS fixes agree, \
                     lệch / off by {rms_error:.2} m RMS (nhìn từ trên / seen from above)."
                );
                let (percent, degrees) = (100.0 * scale_error, scale_error.to_degrees());
                println!(
                    "Với độ lệch ấy, tỉ lệ sai khoảng ±{percent:.1} % và hướng ±{degrees:.1}° / with that scatter, \
                     the scale is good to about ±{percent:.1} % and the heading to ±{degrees:.1}°."
                );
                println!("{}.", up_source(*vertical_edges));
            }
            Some(Frame::Levelled { vertical_edges }) => println!(
                "\nHệ toạ độ / frame: không có GPS dùng được, tỉ lệ tùy ý / no usable GPS, arbitrary scale. {}.",
                up_source(*vertical_edges)
            ),
            None => {}
        }
        println!(
            "Đã ghi / wrote {} (sparse/N: COLMAP text; points.ply, model.glb, tour.json, coverage.txt)",
            model_dir.display()
        );
    }
    Ok(if result.models.is_empty() { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// Where the model's up came from, in Vietnamese then English.
fn up_source(vertical_edges: usize) -> String {
    if vertical_edges == 0 {
        "Chiều đứng theo cách cầm máy / up from how the photos were held".to_string()
    } else {
        format!(
            "Chiều đứng theo cách cầm máy và {vertical_edges} cạnh thẳng đứng trong ảnh / up from how the photos \
             were held and {vertical_edges} vertical edges they show"
        )
    }
}
