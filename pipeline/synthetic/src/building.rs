//! The site: a Vietnamese-style house on a brick plinth, with a veranda of
//! wooden columns, a tiled hip roof, front steps and a courtyard.

use crate::scene::{Scene, V3};
use crate::texture::Material::*;

fn v(x: f64, y: f64, z: f64) -> V3 {
    V3::new(x, y, z)
}

/// Builds the whole site. The house stands at the origin, its facade to
/// the south (-y); the plinth top is 0.6 m above the ground.
pub fn site() -> Scene {
    let mut s = Scene::default();
    ground(&mut s);
    plinth_and_steps(&mut s);
    walls(&mut s);
    veranda(&mut s);
    roof(&mut s);
    annex(&mut s);
    courtyard(&mut s);
    s
}

/// A lower kitchen wing against the west wall, under its own lean-to
/// roof, with a water jar: the house is not the same from both sides.
fn annex(s: &mut Scene) {
    s.object().cuboid(v(-11.0, 0.0, 0.0), v(-7.0, 4.0, 0.3), Stone);
    s.object().cuboid(v(-10.8, 0.2, 0.3), v(-7.0, 3.8, 2.6), Brick);
    s.object().quad(
        v(-10.82, 1.2, 0.35),
        v(-10.82, 2.2, 0.35),
        v(-10.82, 2.2, 2.1),
        v(-10.82, 1.2, 2.1),
        Wood,
        [5.0, 1.0],
    );
    s.object().quad(
        v(-11.4, -0.4, 2.5),
        v(-11.4, 4.4, 2.5),
        v(-7.0, 4.4, 3.6),
        v(-7.0, -0.4, 3.6),
        RoofTile,
        [140.0, 0.0],
    );
    s.object().frustum(v(-9.0, -1.0, 0.0), 0.35, 0.45, 0.7, 18, Ceramic);
    // A chimney on the north slope of the main roof.
    s.object().cuboid(v(2.5, 2.5, 5.0), v(3.1, 3.1, 7.4), Brick);
}

fn ground(s: &mut Scene) {
    // Gravel yard around the house, grass beyond.
    s.object().ground(-6..6, -6..6, |i, j| if (-2..2).contains(&i) && (-2..1).contains(&j) { Gravel } else { Grass });
}

fn plinth_and_steps(s: &mut Scene) {
    s.object().cuboid(v(-7.0, -4.5, 0.0), v(7.0, 4.5, 0.6), Brick);
    // The veranda floor: terracotta tiles just above the plinth top.
    s.object().quad(
        v(-6.9, -4.4, 0.601),
        v(6.9, -4.4, 0.601),
        v(6.9, -2.0, 0.601),
        v(-6.9, -2.0, 0.601),
        FloorTile,
        [0.0, 0.0],
    );
    for (height, depth) in [(0.45, 0.3), (0.3, 0.6), (0.15, 0.9)] {
        s.object().cuboid(v(-2.2, -4.5 - depth, 0.0), v(2.2, -4.5 - depth + 0.3, height), Stone);
    }
}

fn walls(s: &mut Scene) {
    let (z0, z1) = (0.6, 3.8);
    s.object().cuboid(v(-6.0, 3.75, z0), v(6.0, 4.0, z1), Plaster);
    s.object().cuboid(v(-6.0, -2.0, z0), v(-5.75, 3.75, z1), Plaster);
    s.object().cuboid(v(5.75, -2.0, z0), v(6.0, 3.75, z1), Plaster);
    // Windows on the side walls: dark wooden frames with bars.
    for (x, sign) in [(-6.02, -1.0), (6.02, 1.0)] {
        for yc in [-0.2, 2.2] {
            s.object();
            let (ya, yb) = (yc - 0.6, yc + 0.6);
            s.quad(v(x, ya, 1.6), v(x, yb, 1.6), v(x, yb, 2.8), v(x, ya, 2.8), Wood, [yc * 3.0 + x * 2.0, 0.0]);
            for k in 0..5 {
                let y = ya + 0.2 * f64::from(k + 1);
                s.cuboid(v(x + sign * 0.05 - 0.03, y - 0.025, 1.6), v(x + sign * 0.05 + 0.03, y + 0.025, 2.8), Wood);
            }
        }
    }
    // The front: carved wooden wall with five lacquered doors.
    s.object().cuboid(v(-5.75, -2.0, z0), v(5.75, -1.85, z1), CarvedWood);
    for k in 0..5 {
        let xc = -4.4 + 2.2 * f64::from(k);
        s.object().quad(
            v(xc - 0.8, -2.01, 0.65),
            v(xc + 0.8, -2.01, 0.65),
            v(xc + 0.8, -2.01, 3.0),
            v(xc - 0.8, -2.01, 3.0),
            Lacquer,
            [xc * 2.0, 0.0],
        );
    }
    // A frieze of carved panels above the doors.
    s.object().quad(
        v(-5.75, -2.02, 3.1),
        v(5.75, -2.02, 3.1),
        v(5.75, -2.02, 3.7),
        v(-5.75, -2.02, 3.7),
        CarvedWood,
        [40.0, 3.0],
    );
}

fn veranda(s: &mut Scene) {
    for k in 0..6 {
        let x = -5.5 + 2.2 * f64::from(k);
        s.object().cuboid(v(x - 0.22, -3.97, 0.6), v(x + 0.22, -3.53, 0.8), Stone);
        s.cylinder(v(x, -3.75, 0.8), 0.15, 3.2, 20, Wood);
    }
    // Beams over the columns, and under the eaves.
    s.object().cuboid(v(-6.2, -3.9, 4.0), v(6.2, -3.6, 4.25), Wood);
    s.object().cuboid(v(-6.2, -3.8, 3.7), v(6.2, -3.7, 4.0), CarvedWood);
}

fn roof(s: &mut Scene) {
    s.object();
    let (xe, ye, ze) = (7.8, 5.4, 4.2);
    let (xr, zr) = (4.2, 7.0);
    let (a, b, c, d) = (v(-xe, -ye, ze), v(xe, -ye, ze), v(xe, ye, ze), v(-xe, ye, ze));
    let (r0, r1) = (v(-xr, 0.0, zr), v(xr, 0.0, zr));
    s.quad(a, b, r1, r0, RoofTile, [0.0, 0.0]);
    s.quad(c, d, r0, r1, RoofTile, [31.0, 0.0]);
    s.triangle(b, c, r1, RoofTile, [57.0, 0.0]);
    s.triangle(d, a, r0, RoofTile, [83.0, 0.0]);
    // Ridge, with upturned ends in the southern Vietnamese manner.
    s.object().cuboid(v(-xr - 0.1, -0.15, zr - 0.05), v(xr + 0.1, 0.15, zr + 0.3), Brick);
    for x in [-xr - 0.1, xr + 0.1] {
        s.cuboid(v(x - 0.25, -0.15, zr + 0.2), v(x + 0.25, 0.15, zr + 0.75), Plaster);
    }
    // The roof's soffit, seen from below.
    s.object().quad(d, c, b, a, Wood, [0.0, 0.0]);
}

fn courtyard(s: &mut Scene) {
    // Two large glazed pots with clipped shrubs, as in front of many
    // southern houses.
    for x in [-4.5, 4.5] {
        s.object().frustum(v(x, -9.0, 0.0), 0.45, 0.6, 0.8, 24, Ceramic);
        s.cylinder(v(x, -9.0, 0.8), 0.07, 0.35, 10, Wood);
        s.frustum(v(x, -9.0, 1.1), 0.35, 0.7, 0.35, 20, Leaves);
        s.frustum(v(x, -9.0, 1.45), 0.7, 0.2, 0.55, 20, Leaves);
    }
    // A stone stele on a base.
    s.object().cuboid(v(-9.5, -7.0, 0.0), v(-8.3, -6.4, 0.3), Stone);
    s.cuboid(v(-9.3, -6.85, 0.3), v(-8.5, -6.55, 1.9), Stone);
    // A small shrine on a pillar.
    s.object().cuboid(v(8.8, -7.2, 0.0), v(9.2, -6.8, 1.1), Brick);
    s.cuboid(v(8.5, -7.5, 1.1), v(9.5, -6.5, 1.8), Lacquer);
    s.frustum(v(9.0, -7.0, 1.8), 0.8, 0.0, 0.5, 4, RoofTile);
    // A low brick wall with a stone bench along the east of the yard.
    s.object().cuboid(v(11.0, -12.0, 0.0), v(11.4, -2.0, 0.9), Brick);
    s.object().cuboid(v(-12.0, -11.0, 0.0), v(-10.0, -10.5, 0.45), Stone);
}
