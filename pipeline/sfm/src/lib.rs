//! Structure from motion, in COLMAP's conventions: world-to-camera
//! rotation and translation, camera axes x right, y down, z forward,
//! `f64` geometry.
//!
//! This crate grows stage by stage; it now holds the camera priors (from
//! EXIF or a `K.txt`), the two-view minimal solvers and robust estimation.

pub mod estimators;
pub mod fivepoint;
pub mod intrinsics;
pub mod pose;
pub mod ransac;
pub mod twoview;
