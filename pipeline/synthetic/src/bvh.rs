//! A bounding volume hierarchy over the scene's triangles, for ray casting:
//! built two-way by the surface area heuristic, then collapsed into nodes
//! of four children whose boxes a ray is tested against together, nearest
//! first.

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
}

/// A node of the two-way hierarchy, while building.
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

/// Marks a child that is a leaf: its other bits are the first triangle's
/// index into `order`.
const LEAF: u32 = 1 << 31;

/// Up to four children's boxes side by side, axis by axis, in single
/// precision rounded outwards.
#[derive(Debug, Clone, Copy)]
struct Wide {
    min: [[f32; 4]; 3],
    max: [[f32; 4]; 3],
    /// An inner child's node index, or `LEAF` and its first triangle.
    child: [u32; 4],
    /// A leaf child's number of triangles.
    count: [u32; 4],
    /// How many of the four lanes hold a child (the first ones).
    used: usize,
}

impl Wide {
    fn empty() -> Wide {
        Wide { min: [[0.0; 4]; 3], max: [[0.0; 4]; 3], child: [0; 4], count: [0; 4], used: 0 }
    }

    /// Where the ray (`origin`, inverse direction `inv`) enters each
    /// child's box, for the children it enters before `t_max`.
    #[inline]
    fn entries(&self, origin: &[f32; 3], inv: &[f32; 3], t_max: f32) -> [Option<f32>; 4] {
        let mut near = [0.0f32; 4];
        let mut far = [t_max; 4];
        for a in 0..3 {
            for l in 0..4 {
                let t0 = (self.min[a][l] - origin[a]) * inv[a];
                let t1 = (self.max[a][l] - origin[a]) * inv[a];
                let (lo, hi) = if t0 < t1 { (t0, t1) } else { (t1, t0) };
                near[l] = if lo > near[l] { lo } else { near[l] };
                far[l] = if hi < far[l] { hi } else { far[l] };
            }
        }
        std::array::from_fn(|l| (near[l] <= far[l]).then_some(near[l]))
    }
}

/// Most children a traversal holds: three more a level of the four-way
/// hierarchy, whose depth `build` bounds.
const STACK: usize = 64;

/// The hierarchy, built once per scene.
pub struct Bvh {
    order: Vec<u32>,
    /// The triangles' corners and edges in `order`, so that a leaf's lie
    /// side by side.
    corners: Vec<Corners>,
    nodes: Vec<Wide>,
}

const LEAF_SIZE: usize = 4;
const BINS: usize = 12;

impl Bvh {
    /// Builds the hierarchy with the surface area heuristic over binned
    /// centroids.
    pub fn build(triangles: &[Triangle]) -> Bvh {
        let bounds: Vec<Aabb> = triangles
            .iter()
            .map(|t| {
                let mut b = Aabb::empty();
                t.p.iter().for_each(|p| b.grow(p));
                b
            })
            .collect();
        let centroids: Vec<V3> = triangles.iter().map(|t| (t.p[0] + t.p[1] + t.p[2]) / 3.0).collect();
        let mut binary = Binary { order: (0..triangles.len() as u32).collect(), nodes: Vec::new() };
        let mut bvh = Bvh { order: Vec::new(), corners: Vec::new(), nodes: Vec::new() };
        if !triangles.is_empty() {
            binary.split(0, triangles.len(), &bounds, &centroids);
            let depth = bvh.collapse(&binary.nodes, 0, 1);
            assert!(3 * depth < STACK, "the scene's hierarchy is {depth} levels deep, too deep to traverse");
        }
        bvh.corners = binary.order.iter().map(|&i| Corners::of(&triangles[i as usize])).collect();
        bvh.order = binary.order;
        bvh
    }

    /// Adds the four-way node standing for binary node `index` and the
    /// inner nodes it takes in, at `depth`, then its children; returns
    /// the depth of the deepest.
    fn collapse(&mut self, binary: &[Node], index: usize, depth: usize) -> usize {
        let at = self.nodes.len();
        self.nodes.push(Wide::empty());
        // The inner node with the largest box is opened until four are held.
        let mut held = vec![index];
        while held.len() < 4 {
            let open = held
                .iter()
                .enumerate()
                .filter(|&(_, &n)| binary[n].count == 0)
                .max_by(|a, b| binary[*a.1].bounds.area().total_cmp(&binary[*b.1].bounds.area()));
            let Some((k, &n)) = open else { break };
            held.splice(k..=k, [n + 1, binary[n].right as usize]);
        }
        let mut wide = Wide { used: held.len(), ..Wide::empty() };
        let mut deepest = depth;
        for (lane, &n) in held.iter().enumerate() {
            let node = &binary[n];
            for a in 0..3 {
                wide.min[a][lane] = round_down(node.bounds.min[a]);
                wide.max[a][lane] = round_up(node.bounds.max[a]);
            }
            if node.count > 0 {
                (wide.child[lane], wide.count[lane]) = (LEAF | node.start, node.count);
            } else {
                wide.child[lane] = self.nodes.len() as u32;
                deepest = deepest.max(self.collapse(binary, n, depth + 1));
            }
        }
        self.nodes[at] = wide;
        deepest
    }

    /// The closest triangle the ray hits before `t_max`.
    pub fn intersect(&self, ray: &Ray, t_max: f64) -> Option<Hit> {
        self.traverse(ray, t_max, false)
    }

    /// True when anything blocks the ray before `t_max`.
    pub fn occluded(&self, ray: &Ray, t_max: f64) -> bool {
        self.traverse(ray, t_max, true).is_some()
    }

    /// The closest hit before `t_max`, or with `any` the first one found.
    /// Children are visited nearest first, and one the ray enters only
    /// beyond the closest hit so far is passed over.
    fn traverse(&self, ray: &Ray, t_max: f64, any: bool) -> Option<Hit> {
        if self.nodes.is_empty() {
            return None;
        }
        let origin = [0, 1, 2].map(|a| ray.origin[a] as f32);
        let inv = [0, 1, 2].map(|a| (1.0 / ray.dir[a]) as f32);
        let mut best: Option<Hit> = None;
        let mut limit = t_max;
        // Children still to visit (node, or leaf and its triangles' count)
        // and where the ray enters them; the root first.
        let mut stack = [(0u32, 0u32, 0.0f32); STACK];
        let mut top = 1;
        while top > 0 {
            top -= 1;
            let (child, count, entry) = stack[top];
            if f64::from(entry) > limit {
                continue;
            }
            if child & LEAF != 0 {
                let start = (child & !LEAF) as usize;
                for k in start..start + count as usize {
                    if let Some((t, b1, b2)) = self.corners[k].intersect(ray, limit) {
                        limit = t;
                        best = Some(Hit { t, triangle: self.order[k] as usize, b1, b2 });
                        if any {
                            return best;
                        }
                    }
                }
                continue;
            }
            let node = &self.nodes[child as usize];
            // Pushed farthest first, so that the nearest is visited next.
            let mut entered = [(0u32, 0u32, 0.0f32); 4];
            let mut n = 0;
            for (lane, entry) in node.entries(&origin, &inv, limit as f32).into_iter().take(node.used).enumerate() {
                let Some(t) = entry else { continue };
                let mut k = n;
                while k > 0 && entered[k - 1].2 < t {
                    entered[k] = entered[k - 1];
                    k -= 1;
                }
                entered[k] = (node.child[lane], node.count[lane], t);
                n += 1;
            }
            for &e in &entered[..n] {
                stack[top] = e;
                top += 1;
            }
        }
        best
    }
}

/// The two-way hierarchy the four-way one is collapsed from.
struct Binary {
    order: Vec<u32>,
    nodes: Vec<Node>,
}

impl Binary {
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
}

/// `x` in single precision, rounded down.
fn round_down(x: f64) -> f32 {
    let y = x as f32;
    if f64::from(y) > x { y.next_down() } else { y }
}

/// `x` in single precision, rounded up.
fn round_up(x: f64) -> f32 {
    let y = x as f32;
    if f64::from(y) < x { y.next_up() } else { y }
}

/// A triangle's first corner and the edges from it to the other two.
#[derive(Debug, Clone, Copy)]
struct Corners {
    p0: V3,
    e1: V3,
    e2: V3,
}

impl Corners {
    fn of(tri: &Triangle) -> Corners {
        Corners { p0: tri.p[0], e1: tri.p[1] - tri.p[0], e2: tri.p[2] - tri.p[0] }
    }

    /// Möller-Trumbore ray/triangle intersection, both faces: distance and
    /// barycentric coordinates of a hit before `t_max`.
    #[inline]
    fn intersect(&self, ray: &Ray, t_max: f64) -> Option<(f64, f64, f64)> {
        let pv = ray.dir.cross(&self.e2);
        let det = self.e1.dot(&pv);
        if det.abs() < 1e-14 {
            return None;
        }
        let inv_det = 1.0 / det;
        let tv = ray.origin - self.p0;
        let b1 = tv.dot(&pv) * inv_det;
        if !(0.0..=1.0).contains(&b1) {
            return None;
        }
        let qv = tv.cross(&self.e1);
        let b2 = ray.dir.dot(&qv) * inv_det;
        if b2 < 0.0 || b1 + b2 > 1.0 {
            return None;
        }
        let t = self.e2.dot(&qv) * inv_det;
        (t > 1e-7 && t < t_max).then_some((t, b1, b2))
    }
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
                .filter_map(|(i, t)| Corners::of(t).intersect(&ray, f64::INFINITY).map(|h| (h.0, i)))
                .min_by(|a, b| a.0.total_cmp(&b.0));
            let fast = bvh.intersect(&ray, f64::INFINITY).map(|h| (h.t, h.triangle));
            assert_eq!(brute.map(|b| b.1), fast.map(|f| f.1));
        }
    }

    /// The demo site seen by its photos' cameras: every ray finds the
    /// nearest surface brute force finds (where two triangles meet at the
    /// hit, either may be named), and is blocked exactly when it hits.
    #[test]
    fn the_site_is_seen_as_brute_force_sees_it() {
        let scene = crate::building::site();
        let bvh = Bvh::build(&scene.triangles);
        let mut rng = Rng::new(&[5]);
        for camera in crate::paths::volunteer_walk(24, 400, 267, 11) {
            for _ in 0..1000 {
                let ray = camera.ray(rng.range(0.0, 400.0), rng.range(0.0, 267.0));
                let brute = scene
                    .triangles
                    .iter()
                    .filter_map(|t| Corners::of(t).intersect(&ray, f64::INFINITY))
                    .map(|h| h.0)
                    .min_by(f64::total_cmp);
                let fast = bvh.intersect(&ray, f64::INFINITY).map(|h| h.t);
                let same = match (brute, fast) {
                    (Some(b), Some(f)) => (b - f).abs() < 1e-9,
                    (b, f) => b.is_none() && f.is_none(),
                };
                assert!(same, "{ray:?}: brute force {brute:?}, hierarchy {fast:?}");
                let limit = brute.unwrap_or(1e3);
                assert!(bvh.occluded(&ray, limit * 1.0001) == brute.is_some() && !bvh.occluded(&ray, limit * 0.9999));
            }
        }
    }
}
