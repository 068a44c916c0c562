//! SIFT features (Lowe 2004) written for this project: a Gaussian scale
//! space of 3 levels an octave, difference-of-Gaussian extrema refined to
//! sub-pixel, edge responses rejected, each keypoint's affine shape
//! adapted, and RootSIFT descriptors of the image in that shape's frame
//! (upright, or at up to two dominant orientations), stored as bytes the
//! way COLMAP stores them.

pub mod affine;
pub mod describe;
pub mod detect;
pub mod plane;
mod wide;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use affine::{Adapter, Level};
pub use describe::DESCRIPTOR_LEN;
use detect::{DetectOptions, find_extrema};
use plane::{Plane, blur};

use crate::edges::Segment;

/// Settings of the extractor; the defaults follow COLMAP's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SiftOptions {
    /// Most keypoints kept, strongest |response| first (each gives a
    /// feature per dominant orientation).
    pub max_features: usize,
    /// Longest side the image is reduced to before detection.
    pub max_image_size: u32,
    /// Scale levels per octave.
    pub scales_per_octave: usize,
    /// Smallest |DoG| kept, for images in 0..1 (divided by the levels per
    /// octave, as in VLFeat).
    pub peak_threshold: f32,
    /// Largest ratio of principal curvatures.
    pub edge_threshold: f32,
    /// Describe each keypoint once, with the photo's vertical as its up
    /// (as COLMAP's affine-adapted features are): more of them match
    /// between photos taken upright; `false` for photos held at any angle,
    /// each keypoint then described at its dominant orientations.
    pub upright: bool,
    /// Most orientations one keypoint may get when not upright.
    pub max_orientations: usize,
    /// Also detect on the image doubled in size (COLMAP's first octave
    /// -1) when the image's own octaves give fewer than `max_features`
    /// keypoints and the doubled image is within `max_image_size`: small
    /// photos then get as many features as large ones.
    pub upsample: bool,
}

impl Default for SiftOptions {
    fn default() -> SiftOptions {
        SiftOptions {
            max_features: 8192,
            max_image_size: 3200,
            scales_per_octave: 3,
            peak_threshold: 0.02 / 3.0,
            edge_threshold: 10.0,
            upright: true,
            max_orientations: 2,
            upsample: true,
        }
    }
}

/// One oriented keypoint, in pixels of the image it was found in, in
/// COLMAP's convention: the image's top-left corner is (0, 0), so the
/// first pixel's centre is (0.5, 0.5).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Keypoint {
    /// Column.
    pub x: f32,
    /// Row.
    pub y: f32,
    /// Scale (standard deviation of the Gaussian) in pixels.
    pub scale: f32,
    /// Orientation in radians, measured from +x towards +y (0 for upright
    /// features).
    pub orientation: f32,
    /// |DoG| at the extremum.
    pub response: f32,
}

/// Keypoints, their descriptors (`DESCRIPTOR_LEN` bytes each, in order)
/// and the photo's colour under each (for coloured point clouds).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Features {
    /// The keypoints.
    pub keypoints: Vec<Keypoint>,
    /// Descriptors, `keypoints.len() * DESCRIPTOR_LEN` bytes.
    pub descriptors: Vec<u8>,
    /// sRGB colour of the photo at each keypoint; empty when the features
    /// were found on a grey image alone.
    pub colors: Vec<[u8; 3]>,
    /// The photo's straight edges near its columns, then those near its
    /// rows, which may be vertical in the world (for finding up); empty
    /// when not looked for.
    pub edges: Vec<Segment>,
}

impl Features {
    /// Number of features.
    pub fn len(&self) -> usize {
        self.keypoints.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.keypoints.is_empty()
    }

    /// Descriptor `i`.
    pub fn descriptor(&self, i: usize) -> &[u8] {
        &self.descriptors[i * DESCRIPTOR_LEN..(i + 1) * DESCRIPTOR_LEN]
    }

    /// The same features with coordinates multiplied by `fx` and `fy` (for
    /// features found on a reduced copy of an image).
    pub fn rescaled(mut self, fx: f32, fy: f32) -> Features {
        for k in &mut self.keypoints {
            k.x *= fx;
            k.y *= fy;
            k.scale *= (fx * fy).sqrt();
        }
        for edge in &mut self.edges {
            *edge = edge.rescaled(fx, fy);
        }
        self
    }
}

/// Samples each side of the centre of a keypoint's descriptor patch: the
/// descriptor's window reaches 10.6 of its frame's units.
const PATCH_HALF: usize = 22;
/// Frame units between samples of the descriptor patch.
const PATCH_STEP: f32 = 0.5;

/// Blur the camera is assumed to have left in the input.
const INPUT_SIGMA: f32 = 0.5;
/// Blur of the first level of each octave.
const BASE_SIGMA: f32 = 1.6;

/// A keypoint before orientation, with the octave it belongs to.
struct Candidate {
    /// Index into the octaves.
    octave: usize,
    x: f32,
    y: f32,
    level: f32,
    response: f32,
}

/// One octave of the scale space: its Gaussian levels and how many image
/// pixels one of its samples spans.
struct Octave {
    levels: Vec<Plane>,
    factor: f32,
}

/// Blur (in samples of its octave) of scale level `level`.
fn level_sigma(level: f32, scales: usize) -> f32 {
    BASE_SIGMA * 2f32.powf(level / scales as f32)
}

/// Blurs `base` into the levels of one octave and finds the extrema of
/// their differences, as candidates of octave number `octave`.
fn scale_octave(base: Plane, octave: usize, options: &SiftOptions) -> (Vec<Plane>, Vec<Candidate>) {
    let scales = options.scales_per_octave;
    let detect = DetectOptions { peak_threshold: options.peak_threshold, edge_threshold: options.edge_threshold };
    let mut levels = vec![base];
    for i in 1..scales + 3 {
        let increment = (level_sigma(i as f32, scales).powi(2) - level_sigma(i as f32 - 1.0, scales).powi(2)).sqrt();
        let next = blur(&levels[i - 1], increment);
        levels.push(next);
    }
    let dog: Vec<Plane> = levels.windows(2).map(|pair| pair[1].difference(&pair[0])).collect();
    let candidates = find_extrema(&dog, &detect)
        .into_iter()
        .map(|e| Candidate { octave, x: e.x, y: e.y, level: e.level, response: e.response.abs() })
        .collect();
    (levels, candidates)
}

/// Extracts SIFT features from a grey plane (already reduced to the size
/// wanted).
pub fn extract(image: &Plane, options: &SiftOptions) -> Features {
    let scales = options.scales_per_octave;
    let mut octaves: Vec<Octave> = Vec::new();
    let mut candidates = Vec::new();
    let mut base = blur(image, (BASE_SIGMA * BASE_SIGMA - INPUT_SIGMA * INPUT_SIGMA).sqrt());
    let mut factor = 1.0;
    while base.width.min(base.height) >= 16 {
        let (levels, found) = scale_octave(base, octaves.len(), options);
        candidates.extend(found);
        base = levels[scales].decimate();
        octaves.push(Octave { levels, factor });
        factor *= 2.0;
    }
    // Strongest first.
    candidates.sort_by(|a, b| b.response.total_cmp(&a.response));
    let doubled_fits = 2 * image.width.max(image.height) <= options.max_image_size as usize;
    if options.upsample && doubled_fits && candidates.len() < options.max_features {
        // The input's blur doubles with its size. The doubled octave's
        // keypoints fill the cap after the image's own, coarsest first (as
        // COLMAP keeps them): the finest repeat least across viewpoints.
        let doubled = blur(&image.upsample(), (BASE_SIGMA * BASE_SIGMA - 4.0 * INPUT_SIGMA * INPUT_SIGMA).sqrt());
        let (levels, mut found) = scale_octave(doubled, octaves.len(), options);
        found.sort_by(|a, b| b.level.total_cmp(&a.level));
        candidates.extend(found);
        octaves.push(Octave { levels, factor: 0.5 });
    }
    // The cap counts keypoints; one with two dominant orientations gives
    // two features, as in COLMAP.
    candidates.truncate(options.max_features);
    let levels: Vec<Level> = octaves
        .iter()
        .flat_map(|o| {
            o.levels.iter().enumerate().map(|(i, plane)| Level {
                plane,
                factor: o.factor,
                blur: level_sigma(i as f32, scales) * o.factor,
            })
        })
        .collect();
    let adapter = Adapter::default();
    let describe_candidate = |&i: &usize| {
        let c = &candidates[i];
        let factor = octaves[c.octave].factor;
        let centre = [c.x * factor, c.y * factor];
        let sigma = level_sigma(c.level, scales) * factor;
        let frame = adapter.adapt(&levels, centre, sigma);
        let patch = affine::sample(&levels, centre, &frame, PATCH_HALF, PATCH_STEP, 1.0);
        let patch_sigma = 1.0 / PATCH_STEP;
        let middle = PATCH_HALF as f32;
        let angles = if options.upright {
            vec![0.0]
        } else {
            describe::orientations(&patch, middle, middle, patch_sigma, options.max_orientations)
        };
        angles.into_iter().map(move |angle| {
            let keypoint = Keypoint {
                x: centre[0] + 0.5,
                y: centre[1] + 0.5,
                scale: sigma,
                orientation: angle,
                response: c.response,
            };
            (i, keypoint, describe::descriptor(&patch, middle, middle, patch_sigma, angle))
        })
    };
    // Described tile by tile across the image, so that each keypoint's
    // patches read image rows its neighbours have just brought into the
    // cache (in strength order nearly every patch began with cache
    // misses, and sampling took a third of `heritage match`'s time); then
    // put back in strength order: the same features.
    let mut described: Vec<(usize, Keypoint, [u8; DESCRIPTOR_LEN])> =
        tile_order(&candidates, &octaves).par_iter().flat_map_iter(describe_candidate).collect();
    described.sort_by_key(|&(i, _, _)| i);
    let mut features = Features { keypoints: Vec::with_capacity(described.len()), ..Features::default() };
    features.descriptors.reserve(described.len() * DESCRIPTOR_LEN);
    for (_, keypoint, descriptor) in described {
        features.keypoints.push(keypoint);
        features.descriptors.extend_from_slice(&descriptor);
    }
    features
}

/// Side, in image pixels, of the tiles [`tile_order`] walks.
const ORDER_TILE: f32 = 128.0;

/// The candidates' indices ordered by the `ORDER_TILE` square of the
/// image they lie in, row of tiles by row, then as they came.
fn tile_order(candidates: &[Candidate], octaves: &[Octave]) -> Vec<usize> {
    let tile = |c: &Candidate| {
        let factor = octaves[c.octave].factor;
        ((c.y * factor / ORDER_TILE) as u32, (c.x * factor / ORDER_TILE) as u32)
    };
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by_key(|&i| tile(&candidates[i]));
    order
}

/// First bytes of a features file.
const MAGIC: &[u8; 8] = b"HSIFT004";

/// Why a features file could not be read.
#[derive(Debug, thiserror::Error)]
#[error("not a heritage features file (or a damaged one)")]
pub struct FeaturesFileError;

impl Features {
    /// The features of a `width` x `height` photo as a file: magic, size,
    /// count of keypoints and of edges, keypoints (5 little-endian `f32`
    /// each), descriptors, colours (3 bytes each, or none), edges (4 `f32`
    /// each).
    pub fn to_bytes(&self, width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::with_capacity(24 + self.len() * (23 + DESCRIPTOR_LEN) + self.edges.len() * 16);
        out.extend_from_slice(MAGIC);
        for v in [width, height, self.len() as u32, self.edges.len() as u32] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        let numbers = self.keypoints.iter().flat_map(|k| [k.x, k.y, k.scale, k.orientation, k.response]);
        out.extend(numbers.flat_map(f32::to_le_bytes));
        out.extend_from_slice(&self.descriptors);
        out.extend(self.colors.iter().flatten());
        out.extend(self.edges.iter().flat_map(|e| [e.a[0], e.a[1], e.b[0], e.b[1]]).flat_map(f32::to_le_bytes));
        out
    }

    /// Reads what [`Features::to_bytes`] wrote: the features and the
    /// photo's width and height.
    pub fn from_bytes(bytes: &[u8]) -> Result<(Features, u32, u32), FeaturesFileError> {
        let word = |i: usize| -> Result<usize, FeaturesFileError> {
            let word = bytes.get(i..i + 4).and_then(|s| s.try_into().ok()).ok_or(FeaturesFileError)?;
            Ok(u32::from_le_bytes(word) as usize)
        };
        if bytes.get(..8) != Some(MAGIC) {
            return Err(FeaturesFileError);
        }
        let (width, height, count, edge_count) = (word(8)?, word(12)?, word(16)?, word(20)?);
        let descriptors_at = 24 + count * 20;
        let colors_at = descriptors_at + count * DESCRIPTOR_LEN;
        let colors_len = bytes.len().checked_sub(colors_at + edge_count * 16).ok_or(FeaturesFileError)?;
        if colors_len != 0 && colors_len != count * 3 {
            return Err(FeaturesFileError);
        }
        let edges_at = colors_at + colors_len;
        let value = |i: usize| f32::from_le_bytes(bytes[i..i + 4].try_into().expect("four bytes"));
        let keypoints = (0..count)
            .map(|i| {
                let at = 24 + i * 20;
                Keypoint {
                    x: value(at),
                    y: value(at + 4),
                    scale: value(at + 8),
                    orientation: value(at + 12),
                    response: value(at + 16),
                }
            })
            .collect();
        let colors = bytes[colors_at..edges_at].chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
        let edges = (0..edge_count)
            .map(|i| {
                let at = edges_at + i * 16;
                Segment { a: [value(at), value(at + 4)], b: [value(at + 8), value(at + 12)] }
            })
            .collect();
        let descriptors = bytes[descriptors_at..colors_at].to_vec();
        Ok((Features { keypoints, descriptors, colors, edges }, width as u32, height as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_files_round_trip_and_damage_is_caught() {
        let keypoint = Keypoint { x: 1.5, y: 2.5, scale: 3.0, orientation: -1.0, response: 0.01 };
        let mut features = Features {
            keypoints: vec![keypoint; 3],
            descriptors: (0..3 * DESCRIPTOR_LEN).map(|i| i as u8).collect(),
            colors: Vec::new(),
            edges: Vec::new(),
        };
        let edges = vec![Segment { a: [1.0, 2.0], b: [3.0, 40.5] }, Segment { a: [-1.0, 0.0], b: [7.0, 8.0] }];
        let colors = vec![[1, 2, 3], [4, 5, 6], [7, 8, 9]];
        for (colors, edges) in [(vec![], vec![]), (colors.clone(), vec![]), (vec![], edges.clone()), (colors, edges)] {
            (features.colors, features.edges) = (colors, edges);
            let bytes = features.to_bytes(640, 480);
            let (back, w, h) = Features::from_bytes(&bytes).unwrap();
            assert_eq!((&back, w, h), (&features, 640, 480));
            assert!(Features::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        }
        assert!(Features::from_bytes(b"HSIFT004").is_err());
        assert!(Features::from_bytes(b"HSIFT001\0\0\0\0\0\0\0\0\0\0\0\0").is_err());
    }
}
