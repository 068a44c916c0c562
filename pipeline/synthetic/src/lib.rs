//! A synthetic heritage site with exact ground truth.
//!
//! A Vietnamese-style house (brick plinth, ochre plaster walls, wooden
//! columns, lacquered doors, tiled hip roof, courtyard) is built as a
//! textured triangle mesh and ray-traced on the CPU from the cameras a
//! volunteer would use. Out come JPEGs with real EXIF (camera, focal
//! length, capture time, GPS around Tân An) and the truth: a COLMAP text
//! model of the cameras, the mesh as `.glb` and `.ply`, and the scene's
//! extent. The same seed gives byte-identical files. A second layout, a
//! lane along a rock garden, grows with its photos (`garden`).

pub mod building;
pub mod bvh;
pub mod camera;
pub mod garden;
pub mod geo;
pub mod noise;
pub mod output;
pub mod paths;
pub mod render;
pub mod scene;
pub mod texture;

pub use output::{Layout, SynthOptions, SynthReport, synthesize};
