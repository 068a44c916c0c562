//! Structure from motion, in COLMAP's conventions: world-to-camera
//! rotation and translation, camera axes x right, y down, z forward,
//! `f64` geometry.
//!
//! From photos to a sparse model: camera priors (EXIF or `K.txt`), SIFT,
//! pair selection and matching, two-view verification, the incremental
//! mapper with bundle adjustment, orientation (GPS or levelling), the
//! coverage report, and the model's files (COLMAP text, PLY, glTF, tour).

pub mod absolute;
pub mod bridge;
pub mod bundle;
pub mod consensus;
pub mod coverage;
pub mod database;
pub mod dots;
pub mod edges;
pub mod envelope;
pub mod estimators;
pub mod features;
pub mod fivepoint;
pub mod focal;
pub mod frontend;
pub mod geo;
pub mod grid;
pub mod intrinsics;
pub mod mapper;
pub mod matching;
pub mod ordered;
pub mod orient;
pub mod output;
pub mod pairs;
pub mod pose;
pub mod ransac;
pub mod sift;
pub mod simd;
pub mod similarity;
pub mod sparse;
pub mod tracks;
pub mod twoview;
pub mod upright;
pub mod verify;
