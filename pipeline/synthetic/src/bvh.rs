//! A bounding volume hierarchy over the scene's triangles, for ray casting.

use crate::scene::{Triangle, V3};

/// A ray: origin and unit direction.
#[derive(Debug, Clone, Copy)]
pub struct Ray {
    /// Where it starts.
    pub origin: V3,
    /// Where it goes (unit length).
    pub dir: V3,
}

/// The closest hit of a ray.
#[derive(Debug, Clone, Copy)]
pub struct Hit {
    /// Distance along the ray.
    pub t: f64,
    /// Index of the triangle.
    pub triangle: usize,
    /// Barycentric coordinates of the hit (weights of corners 1 and 2).
    pub b1: f64,
    /// See `b1`.
    pub b2: f64,
}

#[derive(Debug, Clone, Copy)]
struct Aabb {
    min: V3,
    max: V3,
}

impl Aabb {
    fn empty() -> Aabb {
        Aabb { min: V3::repeat(f64::INFINITY), max: V3::repeat(f64::NEG_INFINITY) }
    }
    fn grow(&mut self, p: &V3) {
        self.min = self.min.inf(p);
        self.max = self.max.sup(p);
    }
    fn merge(&mut self, o: &Aabb) {
        self.grow(&o.min);
        self.grow(&o.max);
    }
    fn area(&self) -> f64 {
        let d = self.max - self.min;
        if d.x < 0.0 { 0.0 } else { 2.0 * (d.x * d.y + d.y * d.z + d.z * d.x) }
    }
    /// Entry distance of the ray into the box, if it enters before `t_max`.
    fn hit(&self, origin: &V3, inv: &V3, t_max: f64) -> Option<f64> {
        let mut t0: f64 = 0.0;
        let mut t1 = t_max;
        for a in 0..3 {
            let (mut near, mut far) = ((self.min[a] - origin[a]) * inv[a], (self.max[a] - origin[a]) * inv[a]);
            if near > far {
                std::mem::swap(&mut near, &mut far);
            }
            t0 = t0.max(near);
            t1 = t1.min(far);
            if t0 > t1 {
                return None;
            }
        }
        Some(t0)
    }
}

#[derive(Debug, Clone, Copy)]
struct Node {
    bounds: Aabb,
    /// Leaf: first triangle index in `order`; inner: index of the left child
    /// (the right child follows the left subtree).
    start: u32,
    /// Leaf: number of triangles; inner: 0.
    count: u32,
    /// Inner: index of the right child.
    right: u32,
}

/// The hierarchy, built once per scene.
pub struct Bvh<'s> {
    triangles: &'s [Triangle],
    order: Vec<u32>,
    nodes: Vec<Node>,
}

const LEAF_SIZE: usize = 4;
const BINS: usize = 12;

impl<'s> Bvh<'s> {
    /// Builds the hierarchy with the surface area heuristic over binned
    /// centroids.
    pub fn build(triangles: &'s [Triangle]) -> Bvh<'s> {
        let mut bvh = Bvh { triangles, order: (0..triangles.len() as u32).collect(), nodes: Vec::new() };
        let bounds: Vec<Aabb> = triangles
            .iter()
            .map(|t| {
                let mut b = Aabb::empty();
                t.p.iter().for_each(|p| b.grow(p));
                b
            })
            .collect();
        let centroids: Vec<V3> = triangles.iter().map(|t| (t.p[0] + t.p[1] + t.p[2]) / 3.0).collect();
        if !triangles.is_empty() {
            bvh.split(0, triangles.len(), &bounds, &centroids);
        }
        bvh
    }

    fn split(&mut self, start: usize, end: usize, bounds: &[Aabb], centroids: &[V3]) -> u32 {
        let mut node_bounds = Aabb::empty();
        let mut centroid_bounds = Aabb::empty();
        for &i in &self.order[start..end] {
            node_bounds.merge(&bounds[i as usize]);
            centroid_bounds.grow(&centroids[i as usize]);
        }
        let index = self.nodes.len() as u32;
        self.nodes.push(Node { bounds: node_bounds, start: start as u32, count: (end - start) as u32, right: 0 });
        if end - start <= LEAF_SIZE {
            return index;
        }
        let extent = centroid_bounds.max - centroid_bounds.min;
        let axis = if extent.x >= extent.y && extent.x >= extent.z {
            0
        } else if extent.y >= extent.z {
            1
        } else {
            2
        };
        if extent[axis] <= 1e-12 {
            return index;
        }
        let bin_of = |i: u32| {
            let f = (centroids[i as usize][axis] - centroid_bounds.min[axis]) / extent[axis];
            ((f * BINS as f64) as usize).min(BINS - 1)
        };
        let mut bins = [(Aabb::empty(), 0usize); BINS];
        for &i in &self.order[start..end] {
            let b = bin_of(i);
            bins[b].0.merge(&bounds[i as usize]);
            bins[b].1 += 1;
        }
        let mut best = (f64::INFINITY, 0);
        for cut in 1..BINS {
            let (mut left, mut right) = (Aabb::empty(), Aabb::empty());
            let (mut nl, mut nr) = (0, 0);
            for (b, (bb, n)) in bins.iter().enumerate() {
                if *n == 0 {
                    continue;
                }
                if b < cut {
                    left.merge(bb);
                    nl += n;
                } else {
                    right.merge(bb);
                    nr += n;
                }
            }
            let cost = left.area() * nl as f64 + right.area() * nr as f64;
            if nl > 0 && nr > 0 && cost < best.0 {
                best = (cost, cut);
            }
        }
        if best.1 == 0 {
            return index;
        }
        let slice = &mut self.order[start..end];
        slice.sort_by_key(|&i| bin_of(i) >= best.1);
        let mid = start + slice.iter().filter(|&&i| bin_of(i) < best.1).count();
        self.split(start, mid, bounds, centroids);
        let right = self.split(mid, end, bounds, centroids);
        let node = &mut self.nodes[index as usize];
        node.count = 0;
        node.right = right;
        index
    }

    /// The closest triangle the ray hits before `t_max`.
    pub fn intersect(&self, ray: &Ray, t_max: f64) -> Option<Hit> {
        let inv = V3::new(1.0 / ray.dir.x, 1.0 / ray.dir.y, 1.0 / ray.dir.z);
        let mut best: Option<Hit> = None;
        let mut limit = t_max;
        let mut stack = [0u32; 64];
        let mut top = 0;
        if self.nodes.is_empty() || self.nodes[0].bounds.hit(&ray.origin, &inv, limit).is_none() {
            return None;
        }
        stack[0] = 0;
        top += 1;
        while top > 0 {
            top -= 1;
            let node = self.nodes[stack[top] as usize];
            if node.bounds.hit(&ray.origin, &inv, limit).is_none() {
                continue;
            }
            if node.count > 0 {
                for &i in &self.order[node.start as usize..(node.start + node.count) as usize] {
                    if let Some((t, b1, b2)) = intersect_triangle(ray, &self.triangles[i as usize], limit) {
                        limit = t;
                        best = Some(Hit { t, triangle: i as usize, b1, b2 });
                    }
                }
            } else {
                let (left, right) = (stack[top] + 1, node.right);
                stack[top] = right;
                stack[top + 1] = left;
                top += 2;
            }
        }
        best
    }

    /// True when anything blocks the ray before `t_max`.
    pub fn occluded(&self, ray: &Ray, t_max: f64) -> bool {
        self.intersect(ray, t_max).is_some()
    }
}

/// Möller-Trumbore ray/triangle intersection, both faces.
fn intersect_triangle(ray: &Ray, tri: &Triangle, t_max: f64) -> Option<(f64, f64, f64)> {
    let e1 = tri.p[1] - tri.p[0];
    let e2 = tri.p[2] - tri.p[0];
    let pv = ray.dir.cross(&e2);
    let det = e1.dot(&pv);
    if det.abs() < 1e-14 {
        return None;
    }
    let inv_det = 1.0 / det;
    let tv = ray.origin - tri.p[0];
    let b1 = tv.dot(&pv) * inv_det;
    if !(0.0..=1.0).contains(&b1) {
        return None;
    }
    let qv = tv.cross(&e1);
    let b2 = ray.dir.dot(&qv) * inv_det;
    if b2 < 0.0 || b1 + b2 > 1.0 {
        return None;
    }
    let t = e2.dot(&qv) * inv_det;
    (t > 1e-7 && t < t_max).then_some((t, b1, b2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::noise::Rng;
    use crate::texture::Material;

    #[test]
    fn bvh_agrees_with_brute_force() {
        let mut rng = Rng::new(&[3]);
        let mut tris = Vec::new();
        for _ in 0..500 {
            let c = V3::new(rng.range(-10.0, 10.0), rng.range(-10.0, 10.0), rng.range(-10.0, 10.0));
            let p = [0, 1, 2].map(|_| c + V3::new(rng.range(-1.0, 1.0), rng.range(-1.0, 1.0), rng.range(-1.0, 1.0)));
            tris.push(Triangle { p, uv: [[0.0; 2]; 3], material: Material::Stone, object: 0 });
        }
        let bvh = Bvh::build(&tris);
        for _ in 0..2000 {
            let origin = V3::new(rng.range(-15.0, 15.0), rng.range(-15.0, 15.0), rng.range(-15.0, 15.0));
            let dir = V3::new(rng.normal(), rng.normal(), rng.normal()).normalize();
            let ray = Ray { origin, dir };
            let brute = tris
                .iter()
                .enumerate()
                .filter_map(|(i, t)| intersect_triangle(&ray, t, f64::INFINITY).map(|h| (h.0, i)))
                .min_by(|a, b| a.0.total_cmp(&b.0));
            let fast = bvh.intersect(&ray, f64::INFINITY).map(|h| (h.t, h.triangle));
            assert_eq!(brute.map(|b| b.1), fast.map(|f| f.1));
        }
    }
}
