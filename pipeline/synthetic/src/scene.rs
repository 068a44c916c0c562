//! The scene: textured triangles, built from a few primitives.

use nalgebra::Vector3;

use crate::texture::Material;

/// A point or direction in the site's frame: x east, y north, z up, metres.
pub type V3 = Vector3<f64>;

/// One triangle with its material and surface coordinates.
#[derive(Debug, Clone)]
pub struct Triangle {
    /// Corners, counter-clockwise seen from the front.
    pub p: [V3; 3],
    /// Surface coordinates (metres along the surface) of the corners.
    pub uv: [[f64; 2]; 3],
    /// What it is made of.
    pub material: Material,
    /// Which object it belongs to (0 = ground).
    pub object: u32,
}

impl Triangle {
    /// The unit normal (by the corner order).
    pub fn normal(&self) -> V3 {
        (self.p[1] - self.p[0]).cross(&(self.p[2] - self.p[0])).normalize()
    }
}

/// Collects triangles, one object at a time.
#[derive(Debug, Default)]
pub struct Scene {
    /// Every triangle.
    pub triangles: Vec<Triangle>,
    object: u32,
}

impl Scene {
    /// Starts a new object; the triangles added next belong to it.
    pub fn object(&mut self) -> &mut Self {
        self.object += 1;
        self
    }

    /// A planar quad `a b c d` (in order around it), with surface
    /// coordinates running from `a` along `a->b` and `a->d`, offset by `uv0`.
    pub fn quad(&mut self, a: V3, b: V3, c: V3, d: V3, material: Material, uv0: [f64; 2]) -> &mut Self {
        let eu = (b - a).normalize();
        let ev = (d - a) - eu * (d - a).dot(&eu);
        let ev = if ev.norm() > 1e-12 { ev.normalize() } else { eu.cross(&V3::z()).normalize() };
        let uv = |p: V3| [uv0[0] + (p - a).dot(&eu), uv0[1] + (p - a).dot(&ev)];
        let object = self.object;
        self.triangles.push(Triangle { p: [a, b, c], uv: [uv(a), uv(b), uv(c)], material, object });
        self.triangles.push(Triangle { p: [a, c, d], uv: [uv(a), uv(c), uv(d)], material, object });
        self
    }

    /// A triangle with surface coordinates from its first edge.
    pub fn triangle(&mut self, a: V3, b: V3, c: V3, material: Material, uv0: [f64; 2]) -> &mut Self {
        let eu = (b - a).normalize();
        let ev = (c - a) - eu * (c - a).dot(&eu);
        let ev = ev.normalize();
        let uv = |p: V3| [uv0[0] + (p - a).dot(&eu), uv0[1] + (p - a).dot(&ev)];
        let object = self.object;
        self.triangles.push(Triangle { p: [a, b, c], uv: [uv(a), uv(b), uv(c)], material, object });
        self
    }

    /// Flat ground at z = 0 in tiles of 10 m (so that texture coordinates
    /// stay small), tile `(i, j)` from `(10 i, 10 j)`, of `material(i, j)`.
    pub fn ground(
        &mut self,
        columns: std::ops::Range<i32>,
        rows: std::ops::Range<i32>,
        material: impl Fn(i32, i32) -> Material,
    ) -> &mut Self {
        for i in columns {
            for j in rows.clone() {
                let (x0, y0) = (f64::from(i) * 10.0, f64::from(j) * 10.0);
                let c = |x: f64, y: f64| V3::new(x0 + x, y0 + y, 0.0);
                self.quad(c(0.0, 0.0), c(10.0, 0.0), c(10.0, 10.0), c(0.0, 10.0), material(i, j), [x0, y0]);
            }
        }
        self
    }

    /// A closed mesh of `faces` (indices into `vertices`, wound
    /// counter-clockwise seen from outside), each face's texture projected
    /// on the axis plane it most faces, so that neighbouring faces continue
    /// one another's texture.
    pub fn solid(&mut self, vertices: &[V3], faces: &[[usize; 3]], material: Material) -> &mut Self {
        let object = self.object;
        for &[a, b, c] in faces {
            let p = [vertices[a], vertices[b], vertices[c]];
            let n = (p[1] - p[0]).cross(&(p[2] - p[0]));
            let uv = |q: &V3| match n.iamax() {
                0 => [q.y, q.z],
                1 => [q.x, q.z],
                _ => [q.x, q.y],
            };
            self.triangles.push(Triangle { p, uv: p.each_ref().map(uv), material, object });
        }
        self
    }

    /// An axis-aligned box without its bottom face. Each face's texture
    /// starts at its own offset, far from the others' (more than any face
    /// is long), so no two faces show the same stretch of texture: a
    /// plinth whose four sides repeated each other would pair photos of
    /// different sides.
    pub fn cuboid(&mut self, min: V3, max: V3, material: Material) -> &mut Self {
        let c = |x: f64, y: f64, z: f64| V3::new(x, y, z);
        let (x0, y0, z0, x1, y1, z1) = (min.x, min.y, min.z, max.x, max.y, max.z);
        let o = |k: f64| [min.x * 1.7 + min.y * 0.3 + 61.3 * k, min.z + 23.7 * k];
        self.quad(c(x0, y0, z0), c(x1, y0, z0), c(x1, y0, z1), c(x0, y0, z1), material, o(0.0)); // south
        self.quad(c(x1, y1, z0), c(x0, y1, z0), c(x0, y1, z1), c(x1, y1, z1), material, o(1.0)); // north
        self.quad(c(x1, y0, z0), c(x1, y1, z0), c(x1, y1, z1), c(x1, y0, z1), material, o(2.0)); // east
        self.quad(c(x0, y1, z0), c(x0, y0, z0), c(x0, y0, z1), c(x0, y1, z1), material, o(3.0)); // west
        self.quad(c(x0, y0, z1), c(x1, y0, z1), c(x1, y1, z1), c(x0, y1, z1), material, o(4.0)) // top
    }

    /// A vertical cylinder with a top cap.
    pub fn cylinder(&mut self, base: V3, radius: f64, height: f64, segments: u32, material: Material) -> &mut Self {
        self.frustum(base, radius, radius, height, segments, material)
    }

    /// A vertical truncated cone (radius `r0` at the base, `r1` at the top)
    /// with a top cap; `r1 = 0` makes a cone. Its texture starts at an
    /// offset taken from where it stands, so that two pots or columns of
    /// the same make still differ in every mark, as real ones do (twins
    /// paired photos of opposite sides of the yard).
    pub fn frustum(&mut self, base: V3, r0: f64, r1: f64, height: f64, segments: u32, material: Material) -> &mut Self {
        let ring = |r: f64, z: f64, i: u32| {
            let a = std::f64::consts::TAU * f64::from(i) / f64::from(segments);
            base + V3::new(r * a.cos(), r * a.sin(), z)
        };
        let circumference = std::f64::consts::TAU * r0.max(r1);
        let offset = [base.x * 5.3 + base.y * 2.9 + 97.0, base.y * 1.3 - base.x * 0.7 + base.z];
        let object = self.object;
        for i in 0..segments {
            let (u0, u1) = (
                offset[0] + circumference * f64::from(i) / f64::from(segments),
                offset[0] + circumference * f64::from(i + 1) / f64::from(segments),
            );
            let (v0, v1) = (offset[1], offset[1] + height);
            let (a, b, c, d) = (ring(r0, 0.0, i), ring(r0, 0.0, i + 1), ring(r1, height, i + 1), ring(r1, height, i));
            self.triangles.push(Triangle { p: [a, b, c], uv: [[u0, v0], [u1, v0], [u1, v1]], material, object });
            if r1 > 0.0 {
                self.triangles.push(Triangle { p: [a, c, d], uv: [[u0, v0], [u1, v1], [u0, v1]], material, object });
                let top = base + V3::new(0.0, 0.0, height);
                let uv = |p: V3| [p.x - base.x + offset[0] + 50.0, p.y - base.y + offset[1]];
                self.triangles.push(Triangle { p: [top, d, c], uv: [uv(top), uv(d), uv(c)], material, object });
            }
        }
        self
    }
}
