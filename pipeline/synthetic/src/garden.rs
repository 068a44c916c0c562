//! A second site, one that grows with its photos: a lane along a rock
//! garden, walked at a steady pace, so that more photos cover more ground
//! at the same density instead of the same house more densely. Every rock
//! has its own shape, size and texture, so no stretch of the lane looks
//! like another (rows of like buildings are the repeated structure that
//! every incremental mapper stacks on one another).

use std::collections::HashMap;

use crate::camera::Camera;
use crate::noise::{Rng, fbm2, hash01};
use crate::paths::FOCAL_35MM;
use crate::scene::{Scene, V3};
use crate::texture::Material::{Boulder, Grass};

/// Metres of lane per photo.
pub const STEP: f64 = 0.6;

/// Rocks stand north of the lane, from this far...
const NEAR: f64 = 3.0;
/// ...to this far (metres).
const FAR: f64 = 14.0;

/// How far north the lane lies at `x`: it winds gently (2.5 m either way,
/// every 40 m), so that the cameras do not stand on one line, about which
/// an alignment of their centres alone could not tell the model's roll.
fn lane_y(x: f64) -> f64 {
    2.5 * (x * std::f64::consts::TAU / 40.0).sin()
}

/// The lane's length for `photos` photos, at least 12 m.
fn lane_length(photos: usize) -> f64 {
    (photos as f64 * STEP).max(12.0)
}

/// The garden for a walk of `photos` photos: grass, and rocks north of
/// the lane (which runs along x, winding about y = 0) a little beyond
/// both ends.
pub fn garden(photos: usize, seed: i64) -> Scene {
    let mut s = Scene::default();
    let half = lane_length(photos) / 2.0 + 8.0;
    let tiles = (half / 10.0).ceil() as i32;
    s.object().ground(-tiles..tiles, -1..2, |_, _| Grass);
    // Rocks on a jittered grid of 2.2 m cells, about two cells in three.
    let cell = 2.2;
    let (columns, rows) = ((2.0 * half / cell) as i64, ((FAR - NEAR) / cell) as i64);
    let sphere = Icosphere::new(2);
    for i in 0..columns {
        for j in 0..rows {
            let h = |k: i64| hash01(&[seed, i, j, k, 0x60c]);
            if h(0) > 0.68 {
                continue;
            }
            let x = -half + (i as f64 + 0.2 + 0.6 * h(1)) * cell;
            let depth = NEAR + (j as f64 + 0.2 + 0.6 * h(2)) * cell;
            let y = lane_y(x) + depth;
            // Farther rocks are larger, so the far rows show over the near.
            let size = 0.35 + 0.5 * (depth - NEAR) / (FAR - NEAR) + 0.45 * h(3);
            let radii = V3::new(size * (0.8 + 0.5 * h(4)), size * (0.8 + 0.5 * h(5)), size * (0.5 + 0.6 * h(6)));
            let rock =
                Rock { centre: V3::new(x, y, radii.z * 0.3), radii, turn: h(7) * std::f64::consts::TAU, seed: h(8) };
            s.object().solid(&rock.vertices(&sphere), &sphere.faces, Boulder);
        }
    }
    s
}

/// A boulder: an ellipsoid turned about the vertical, its surface pushed
/// in and out by noise of its own.
struct Rock {
    centre: V3,
    radii: V3,
    turn: f64,
    seed: f64,
}

impl Rock {
    /// The sphere's vertices moved onto this rock.
    fn vertices(&self, sphere: &Icosphere) -> Vec<V3> {
        let (sin, cos) = self.turn.sin_cos();
        let offset = 1000.0 * self.seed;
        sphere
            .vertices
            .iter()
            .map(|d| {
                let bump = fbm2(d.x * 1.6 + d.z * 0.9 + offset, d.y * 1.6 - d.z * 0.7, 3, 0x60d);
                let p = d.component_mul(&self.radii) * (0.8 + 0.45 * bump);
                self.centre + V3::new(p.x * cos - p.y * sin, p.x * sin + p.y * cos, p.z)
            })
            .collect()
    }
}

/// A unit sphere of triangles: an icosahedron with each face split in
/// four `levels` times.
struct Icosphere {
    vertices: Vec<V3>,
    faces: Vec<[usize; 3]>,
}

impl Icosphere {
    fn new(levels: u32) -> Icosphere {
        let t = (1.0 + 5f64.sqrt()) / 2.0;
        let mut vertices: Vec<V3> = [
            (-1.0, t, 0.0),
            (1.0, t, 0.0),
            (-1.0, -t, 0.0),
            (1.0, -t, 0.0),
            (0.0, -1.0, t),
            (0.0, 1.0, t),
            (0.0, -1.0, -t),
            (0.0, 1.0, -t),
            (t, 0.0, -1.0),
            (t, 0.0, 1.0),
            (-t, 0.0, -1.0),
            (-t, 0.0, 1.0),
        ]
        .iter()
        .map(|&(x, y, z)| V3::new(x, y, z).normalize())
        .collect();
        let mut faces = vec![
            [0, 11, 5],
            [0, 5, 1],
            [0, 1, 7],
            [0, 7, 10],
            [0, 10, 11],
            [1, 5, 9],
            [5, 11, 4],
            [11, 10, 2],
            [10, 7, 6],
            [7, 1, 8],
            [3, 9, 4],
            [3, 4, 2],
            [3, 2, 6],
            [3, 6, 8],
            [3, 8, 9],
            [4, 9, 5],
            [2, 4, 11],
            [6, 2, 10],
            [8, 6, 7],
            [9, 8, 1],
        ];
        for _ in 0..levels {
            let mut middles = HashMap::new();
            let mut middle = |a: usize, b: usize, vertices: &mut Vec<V3>| {
                *middles.entry((a.min(b), a.max(b))).or_insert_with(|| {
                    vertices.push((vertices[a] + vertices[b]).normalize());
                    vertices.len() - 1
                })
            };
            faces = faces
                .iter()
                .flat_map(|&[a, b, c]| {
                    let (ab, bc, ca) =
                        (middle(a, b, &mut vertices), middle(b, c, &mut vertices), middle(c, a, &mut vertices));
                    [[a, ab, ca], [b, bc, ab], [c, ca, bc], [ab, bc, ca]]
                })
                .collect();
        }
        Icosphere { vertices, faces }
    }
}

/// The cameras of a walk of `count` photos along the lane, west to east,
/// one every `STEP` metres, each turned towards the rocks with a hand's
/// unsteadiness (up to about 20 degrees either way), every fourth along
/// the lane.
pub fn lane_walk(count: usize, width: u32, height: u32, seed: i64) -> Vec<Camera> {
    let mut rng = Rng::new(&[seed, 0x1a4e]);
    let focal = FOCAL_35MM / 36.0 * f64::from(width.max(height));
    let length = lane_length(count);
    (0..count)
        .map(|i| {
            let x = -length / 2.0 + length * (i as f64 + 0.5) / count as f64;
            let eye = V3::new(x + rng.range(-0.1, 0.1), lane_y(x) + rng.range(-0.3, 0.3), rng.range(1.3, 2.0));
            // Every fourth photo looks obliquely along the lane, ahead or
            // back, and sees rocks that photos 10-20 m away see too.
            let along = match i % 8 {
                2 => 7.0,
                6 => -7.0,
                _ => 0.0,
            };
            let target = V3::new(
                x + along + rng.range(-2.5, 2.5),
                lane_y(x + along) + 7.0 + rng.range(-1.0, 1.0),
                rng.range(0.0, 0.8),
            );
            Camera::look_at(width, height, focal, eye, target)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_icosphere_is_closed_and_round() {
        let sphere = Icosphere::new(2);
        assert_eq!((sphere.vertices.len(), sphere.faces.len()), (162, 320));
        assert!(sphere.vertices.iter().all(|v| (v.norm() - 1.0).abs() < 1e-12));
        // Closed: every edge is shared by exactly two faces, once each way.
        let mut edges = HashMap::new();
        for f in &sphere.faces {
            for k in 0..3 {
                *edges.entry((f[k], f[(k + 1) % 3])).or_insert(0) += 1;
            }
        }
        assert!(edges.iter().all(|(&(a, b), &n)| n == 1 && edges.get(&(b, a)) == Some(&1)));
        // Faces wind outwards.
        let outward = sphere.faces.iter().all(|&[a, b, c]| {
            let (a, b, c) = (sphere.vertices[a], sphere.vertices[b], sphere.vertices[c]);
            (b - a).cross(&(c - a)).dot(&(a + b + c)) > 0.0
        });
        assert!(outward);
    }

    #[test]
    fn the_garden_grows_with_the_walk_and_every_photo_faces_rocks() {
        let (small, large) = (garden(50, 3), garden(300, 3));
        let rocks = |s: &Scene| s.triangles.iter().filter(|t| t.object > 1).count() / 320;
        assert!(rocks(&large) > 4 * rocks(&small), "{} rocks against {}", rocks(&large), rocks(&small));
        let cameras = lane_walk(300, 640, 427, 3);
        let spacing = (cameras[299].center().x - cameras[0].center().x) / 299.0;
        assert!((spacing - STEP).abs() < 0.01, "{spacing}");
        for camera in &cameras {
            let seen = large.triangles.iter().filter(|t| t.object > 1).filter(|t| {
                camera.project(&t.p[0]).is_some_and(|(u, v)| u >= 0.0 && v >= 0.0 && u < 640.0 && v < 427.0)
            });
            assert!(seen.count() > 500, "a photo of grass alone");
        }
    }
}
