//! Interchange formats: glTF 2.0 binary (`.glb`), binary PLY and COLMAP
//! text models, so that any glTF viewer, MeshLab or COLMAP can read what
//! heritage makes. Geometry comes in the site frame (x east, y north,
//! z up); glTF output is converted to glTF's y-up frame.

pub mod colmap;
pub mod glb;
pub mod ply;

/// A point of the site frame (x east, y north, z up) in glTF's frame
/// (y up, z towards the viewer, right-handed).
pub fn to_gltf_frame(p: [f64; 3]) -> [f32; 3] {
    [p[0] as f32, p[2] as f32, -p[1] as f32]
}
