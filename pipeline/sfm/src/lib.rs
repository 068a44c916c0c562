//! Structure from motion, in COLMAP's conventions: world-to-camera
//! rotation and translation, camera axes x right, y down, z forward,
//! `f64` geometry.
//!
//! This crate grows stage by stage; it now holds the camera priors (from
//! EXIF or a `K.txt`), the two-view minimal solvers and robust estimation.

pub mod absolute;
pub mod bundle;
pub mod database;
pub mod estimators;
pub mod features;
pub mod fivepoint;
pub mod frontend;
pub mod geo;
pub mod grid;
pub mod intrinsics;
pub mod mapper;
pub mod matching;
pub mod pairs;
pub mod pose;
pub mod ransac;
pub mod sift;
pub mod similarity;
pub mod tracks;
pub mod twoview;
pub mod verify;
