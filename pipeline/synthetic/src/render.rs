//! A CPU ray tracer: anti-aliased primary rays, sun light with hard
//! shadows, sky light, exposure and sensor noise.

use image::RgbImage;
use rayon::prelude::*;

use crate::bvh::{Bvh, Ray};
use crate::camera::Camera;
use crate::noise::{Rng, hash01};
use crate::scene::{Scene, V3};
use crate::texture::albedo;

/// Lighting and sensor settings of one photo.
#[derive(Debug, Clone)]
pub struct Exposure {
    /// Samples per pixel along each axis (2 gives 4 samples a pixel).
    pub samples: u32,
    /// Brightness factor of this photo (1 = nominal).
    pub gain: f64,
    /// Standard deviation of the sensor noise, in 8-bit levels.
    pub noise: f64,
    /// Seed of the sampling pattern and the noise.
    pub seed: i64,
}

impl Default for Exposure {
    fn default() -> Exposure {
        Exposure { samples: 2, gain: 1.0, noise: 1.5, seed: 0 }
    }
}

/// Direction towards the sun: morning, from the south-east, 50 degrees up.
pub fn sun_direction() -> V3 {
    let (azimuth, elevation) = (125f64.to_radians(), 50f64.to_radians());
    V3::new(azimuth.sin() * elevation.cos(), azimuth.cos() * elevation.cos(), elevation.sin())
}

/// Renders the scene as seen by `camera`.
pub fn render(scene: &Scene, bvh: &Bvh, camera: &Camera, exposure: &Exposure) -> RgbImage {
    let (w, h) = (camera.width, camera.height);
    let n = exposure.samples.max(1);
    let sun = sun_direction();
    let mut pixels = vec![0u8; w as usize * h as usize * 3];
    pixels.par_chunks_mut(w as usize * 3).enumerate().for_each(|(y, row)| {
        let mut rng = Rng::new(&[exposure.seed, y as i64, 0x5e45]);
        for x in 0..w as usize {
            let mut sum = [0.0; 3];
            for sy in 0..n {
                for sx in 0..n {
                    let jitter = |k: i64| hash01(&[exposure.seed, x as i64, y as i64, i64::from(sy * n + sx), k]);
                    let u = x as f64 + (f64::from(sx) + jitter(1)) / f64::from(n);
                    let v = y as f64 + (f64::from(sy) + jitter(2)) / f64::from(n);
                    let c = shade(scene, bvh, &camera.ray(u, v), &sun);
                    for k in 0..3 {
                        sum[k] += c[k];
                    }
                }
            }
            for k in 0..3 {
                let linear = sum[k] / f64::from(n * n) * exposure.gain;
                let value = to_srgb(linear) * 255.0 + exposure.noise * rng.normal();
                row[3 * x + k] = value.round().clamp(0.0, 255.0) as u8;
            }
        }
    });
    RgbImage::from_raw(w, h, pixels).expect("the buffer has w*h pixels")
}

/// Which object each pixel centre sees (`None` for the sky): a mask for
/// checking the renderer against the cameras.
pub fn object_ids(scene: &Scene, bvh: &Bvh, camera: &Camera) -> Vec<Option<u32>> {
    let (w, h) = (camera.width as usize, camera.height as usize);
    (0..w * h)
        .into_par_iter()
        .map(|i| {
            let ray = camera.ray((i % w) as f64 + 0.5, (i / w) as f64 + 0.5);
            bvh.intersect(&ray, f64::INFINITY).map(|hit| scene.triangles[hit.triangle].object)
        })
        .collect()
}

/// Linear radiance along one ray.
fn shade(scene: &Scene, bvh: &Bvh, ray: &Ray, sun: &V3) -> [f64; 3] {
    let Some(hit) = bvh.intersect(ray, f64::INFINITY) else {
        return sky(&ray.dir);
    };
    let tri = &scene.triangles[hit.triangle];
    let b0 = 1.0 - hit.b1 - hit.b2;
    let uv = [0, 1].map(|k| b0 * tri.uv[0][k] + hit.b1 * tri.uv[1][k] + hit.b2 * tri.uv[2][k]);
    let p = ray.origin + ray.dir * hit.t;
    let mut n = tri.normal();
    if n.dot(&ray.dir) > 0.0 {
        n = -n;
    }
    let color = albedo(tri.material, uv, &p, tri.object);
    let facing = n.dot(sun).max(0.0);
    let lit = if facing > 0.0 {
        let shadow_ray = Ray { origin: p + n * 1e-4, dir: *sun };
        if bvh.occluded(&shadow_ray, 1e3) { 0.0 } else { facing }
    } else {
        0.0
    };
    let sky_light = 0.55 + 0.35 * n.z;
    let light = [0.42 * sky_light + 2.2 * lit, 0.46 * sky_light + 2.05 * lit, 0.55 * sky_light + 1.8 * lit];
    [color[0] * light[0], color[1] * light[1], color[2] * light[2]]
}

/// The sky: pale at the horizon, blue above.
fn sky(dir: &V3) -> [f64; 3] {
    let t = dir.z.clamp(0.0, 1.0).sqrt();
    let (horizon, zenith) = ([0.8, 0.85, 0.9], [0.22, 0.4, 0.75]);
    [0, 1, 2].map(|k| horizon[k] + (zenith[k] - horizon[k]) * t)
}

/// Linear light to sRGB (0..1), with a soft shoulder instead of clipping.
fn to_srgb(linear: f64) -> f64 {
    let l = linear.max(0.0);
    let l = if l > 0.8 { 0.8 + 0.2 * (1.0 - (-(l - 0.8) * 5.0).exp()) } else { l };
    if l <= 0.003_130_8 { 12.92 * l } else { 1.055 * l.powf(1.0 / 2.4) - 0.055 }
}
