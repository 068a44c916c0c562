//! Procedural materials: rich, non-repeating detail so that feature
//! detectors find many stable points, in linear RGB.

use nalgebra::Vector3;

use crate::noise::{fbm2, hash01, value2};

/// The materials of the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Material {
    /// Fired brick with mortar joints.
    Brick,
    /// Terracotta floor tiles.
    FloorTile,
    /// Ochre lime plaster with stains and rain streaks.
    Plaster,
    /// Dark hardwood with grain.
    Wood,
    /// Wood with a carved lattice pattern.
    CarvedWood,
    /// Red lacquer with gold motifs (doors).
    Lacquer,
    /// Curved clay roof tiles with moss.
    RoofTile,
    /// Courtyard gravel.
    Gravel,
    /// Grass and earth.
    Grass,
    /// Grey granite.
    Stone,
    /// Weathered boulders: patches of light and dark, lichen, pits.
    Boulder,
    /// Blue-and-white glazed ceramic.
    Ceramic,
    /// Foliage of the potted trees.
    Leaves,
}

impl Material {
    /// A representative colour (linear RGB), for exports without textures.
    pub fn base_color(self) -> [f64; 3] {
        match self {
            Material::Brick => [0.42, 0.16, 0.08],
            Material::FloorTile => [0.5, 0.22, 0.12],
            Material::Plaster => [0.7, 0.52, 0.24],
            Material::Wood => [0.16, 0.08, 0.035],
            Material::CarvedWood => [0.2, 0.1, 0.045],
            Material::Lacquer => [0.4, 0.04, 0.03],
            Material::RoofTile => [0.38, 0.15, 0.08],
            Material::Gravel => [0.42, 0.38, 0.32],
            Material::Grass => [0.12, 0.2, 0.05],
            Material::Stone => [0.33, 0.33, 0.32],
            Material::Boulder => [0.32, 0.3, 0.27],
            Material::Ceramic => [0.6, 0.65, 0.72],
            Material::Leaves => [0.06, 0.16, 0.04],
        }
    }
}

fn mix(a: [f64; 3], b: [f64; 3], t: f64) -> [f64; 3] {
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t]
}

fn scale(c: [f64; 3], s: f64) -> [f64; 3] {
    [c[0] * s, c[1] * s, c[2] * s]
}

/// The albedo (linear RGB) of `material` at surface coordinates `uv`
/// (metres along the surface) and world position `p` on object `object`.
/// Each object's texture starts at its own random offset, so that twin
/// objects (the two pots, the six columns) never look the same.
pub fn albedo(material: Material, uv: [f64; 2], p: &Vector3<f64>, object: u32) -> [f64; 3] {
    let id = i64::from(object);
    let [u, v] = [uv[0] + 100.0 * hash01(&[id, 1]), uv[1] + 100.0 * hash01(&[id, 2])];
    // Weathering that varies over the whole site, in brightness and in
    // hue, so that no two places are alike and the house looks different from
    // each side (a symmetric site would fool structure from motion).
    let grime = 0.78 + 0.44 * fbm2(p.x * 0.35 + p.z * 0.2, p.y * 0.35 - p.z * 0.3, 3, 11);
    let hue = [
        1.0 + 0.12 * (p.x * 0.21 + 0.5).sin(),
        1.0 + 0.1 * (p.y * 0.27 - 0.3).sin(),
        1.0 + 0.12 * (p.x * 0.13 - p.y * 0.19).cos(),
    ];
    // Weathering at the scale of a hand (5-20 cm), different at every spot
    // of every object: without it, bricks and tiles repeat so exactly that
    // matching pairs photos of different walls.
    let weather = 0.72 + 0.56 * fbm2(u * 5.0 + 17.0, v * 5.0 - 3.0, 4, 12);
    let base = match material {
        Material::Brick => brick(u, v),
        Material::FloorTile => floor_tile(u, v),
        Material::Plaster => plaster(u, v),
        Material::Wood => wood(u, v, 0),
        Material::CarvedWood => carved(u, v),
        Material::Lacquer => lacquer(u, v),
        Material::RoofTile => roof_tile(u, v),
        Material::Gravel => gravel(u, v),
        Material::Grass => grass(u, v),
        Material::Stone => stone(u, v),
        Material::Boulder => boulder(u, v),
        Material::Ceramic => ceramic(u, v),
        Material::Leaves => leaves(u, v),
    };
    let k = grime * weather * chips(u, v);
    [base[0] * k * hue[0], base[1] * k * hue[1], base[2] * k * hue[2]]
}

/// The cell of a hand-laid row holding `x` (in cell widths): bricks and
/// tiles are not all the same size, so each joint is moved by up to a
/// sixth of a cell, differently in every `row`. Returns the cell's index
/// and `x` from its start.
fn jittered_cell(x: f64, row: i64) -> (i64, f64) {
    let joint = |k: i64| k as f64 + 0.33 * (hash01(&[k, row, 7]) - 0.5);
    let mut k = x.floor() as i64;
    if x < joint(k) {
        k -= 1;
    } else if x >= joint(k + 1) {
        k += 1;
    }
    (k, x - joint(k))
}

fn brick(u: f64, v: f64) -> [f64; 3] {
    let (bw, bh, joint) = (0.23, 0.07, 0.012);
    let (row, row_offset) = jittered_cell(v / bh, i64::MIN);
    let (col, offset) = jittered_cell(u / bw, row);
    let (row, col) = (row as f64, col as f64);
    let (fu, fv) = (offset * bw, row_offset * bh);
    // Weathered mortar is close to the bricks' colour, and the bricks
    // differ a lot (fired unevenly, some replaced): what tells one part of
    // a wall from another is the bricks, not the joints' grid.
    let id = [col as i64, row as i64, 1];
    let mortar = scale([0.36, 0.22, 0.15], 0.8 + 0.3 * value2(u * 80.0, v * 80.0, 3));
    if fu < joint || fv < joint {
        return mortar;
    }
    // Each brick its own: an even spread of shades and hues, and a mark of
    // its own (a burnt spot, a chip, a lime stain) at its own place.
    let shade = 0.4 + 1.0 * hash01(&id);
    let hue = hash01(&[col as i64, row as i64, 2]);
    let burnt = mix([0.55, 0.22, 0.09], [0.25, 0.13, 0.1], hue);
    let speckle = 0.8 + 0.4 * value2(u * 120.0, v * 120.0, 4);
    let mark = [hash01(&[col as i64, row as i64, 3]), hash01(&[col as i64, row as i64, 5])];
    let (mu, mv) = (offset - (0.2 + 0.6 * mark[0]), row_offset - (0.2 + 0.6 * mark[1]));
    let spot = (mu * bw).hypot(mv * bh * 1.5) < 0.012 + 0.02 * hash01(&[col as i64, row as i64, 6]);
    let kind = hash01(&[col as i64, row as i64, 8]);
    let colour = if spot && kind < 0.4 {
        scale(burnt, 0.35)
    } else if spot && kind < 0.6 {
        [0.62, 0.58, 0.5]
    } else {
        burnt
    };
    scale(colour, shade * speckle)
}

fn floor_tile(u: f64, v: f64) -> [f64; 3] {
    let size = 0.3;
    let (cu, cv) = ((u / size).floor(), (v / size).floor());
    let (fu, fv) = (u / size - cu, v / size - cv);
    if fu < 0.03 || fv < 0.03 {
        return [0.25, 0.22, 0.19];
    }
    let shade = 0.75 + 0.4 * hash01(&[cu as i64, cv as i64, 5]);
    let wear = 0.8 + 0.35 * fbm2(u * 9.0, v * 9.0, 3, 6);
    scale([0.5, 0.22, 0.12], shade * wear)
}

fn plaster(u: f64, v: f64) -> [f64; 3] {
    let ochre = [0.72, 0.53, 0.24];
    let stain = fbm2(u * 1.3, v * 1.3, 5, 7);
    let streaks = value2(u * 14.0, v * 0.6, 8);
    let grain = 0.9 + 0.2 * value2(u * 90.0, v * 90.0, 9);
    let dark = 1.0 - 0.45 * (stain - 0.45).max(0.0) * 2.0 - 0.25 * (streaks - 0.6).max(0.0) * 2.5;
    let moss = ((0.35 - v).max(0.0) * 2.0 * fbm2(u * 4.0, v * 4.0, 3, 10)).min(0.6);
    let c = mix(ochre, [0.2, 0.25, 0.1], moss);
    scale(c, dark * grain)
}

fn wood(u: f64, v: f64, seed: i64) -> [f64; 3] {
    let plank = (u / 0.18).floor();
    let warp = fbm2(u * 3.0, v * 0.5, 3, 20 + seed) * 6.0;
    let rings = 0.5 + 0.5 * ((u * 60.0 + warp + plank * 3.1).sin());
    let shade = 0.7 + 0.5 * hash01(&[plank as i64, seed, 21]);
    let c = mix([0.2, 0.1, 0.045], [0.11, 0.05, 0.022], rings * 0.7);
    let fine = 0.85 + 0.3 * value2(u * 200.0, v * 15.0, 22);
    scale(c, shade * fine)
}

fn carved(u: f64, v: f64) -> [f64; 3] {
    let cell = 0.16;
    let (cu, cv) = ((u / cell).floor(), (v / cell).floor());
    let (fu, fv) = (u / cell - cu - 0.5, v / cell - cv - 0.5);
    let r = (fu * fu + fv * fv).sqrt();
    let motif = hash01(&[cu as i64, cv as i64, 30]);
    let groove = if motif < 0.5 {
        (r - 0.32).abs() < 0.05 || (fu.abs() - fv.abs()).abs() < 0.04
    } else {
        (fu.abs().max(fv.abs()) - 0.3).abs() < 0.05 || (r < 0.1)
    };
    let w = wood(u, v, 31);
    if groove { scale(w, 0.35) } else { w }
}

fn lacquer(u: f64, v: f64) -> [f64; 3] {
    let red = scale([0.42, 0.035, 0.025], 0.85 + 0.3 * fbm2(u * 6.0, v * 6.0, 3, 40));
    let (pu, pv) = ((u / 0.25).fract(), (v / 0.35).fract());
    let gold_line =
        (pu - 0.5).abs() < 0.025 || (pv - 0.5).abs() < 0.02 || ((pu - 0.5).powi(2) + (pv - 0.5).powi(2)).sqrt() < 0.08;
    let panel = hash01(&[(u / 0.25).floor() as i64, (v / 0.35).floor() as i64, 41]);
    if gold_line && panel > 0.25 { scale([0.55, 0.38, 0.08], 0.8 + 0.3 * panel) } else { red }
}

fn roof_tile(u: f64, v: f64) -> [f64; 3] {
    let (tw, th) = (0.2, 0.16);
    let (row, fv) = jittered_cell(v / th, i64::MIN);
    let (col, fu) = jittered_cell(u / tw, row);
    let (row, col) = (row as f64, col as f64);
    let curve = 0.55 + 0.45 * (std::f64::consts::PI * fu.fract()).sin();
    let overlap_shadow = if fv > 0.85 { 0.75 } else { 1.0 };
    let shade = 0.45 + 0.9 * hash01(&[col as i64, row as i64, 50]).powi(2);
    let moss = (fbm2(u * 0.8, v * 0.8, 4, 51) - 0.5).max(0.0) * 1.6;
    let c = mix([0.4, 0.15, 0.075], [0.14, 0.17, 0.06], moss.min(0.8));
    scale(c, curve * overlap_shadow * shade)
}

fn gravel(u: f64, v: f64) -> [f64; 3] {
    // Pebbles at jittered points (Worley noise): irregular, never a grid.
    let cell = 0.07;
    let (gu, gv) = (u / cell, v / cell);
    let (cu, cv) = (gu.floor() as i64, gv.floor() as i64);
    let (mut nearest, mut second, mut id) = (f64::INFINITY, f64::INFINITY, (0, 0));
    for dv in -1..=1 {
        for du in -1..=1 {
            let (i, j) = (cu + du, cv + dv);
            let (px, py) = (i as f64 + hash01(&[i, j, 63]), j as f64 + hash01(&[i, j, 64]));
            let d = (gu - px).powi(2) + (gv - py).powi(2);
            if d < nearest {
                (second, nearest, id) = (nearest, d, (i, j));
            } else if d < second {
                second = d;
            }
        }
    }
    let pebble = hash01(&[id.0, id.1, 60]);
    let tone = mix([0.47, 0.42, 0.36], [0.27, 0.26, 0.25], pebble);
    let gap = (second.sqrt() - nearest.sqrt()).min(0.3) / 0.3;
    let patches = 0.75 + 0.5 * fbm2(u * 0.7, v * 0.7, 4, 61);
    scale(blotch(u, v, tone), (0.45 + 0.55 * gap) * patches)
}

/// Chips, stains and lichen dots a few centimetres across, scattered over
/// every surface: each patch of wall or roof gets its own pattern of marks,
/// so that its features are told apart from those of its neighbours.
fn chips(u: f64, v: f64) -> f64 {
    let cell = 0.11;
    let (cu, cv) = ((u / cell).floor() as i64, (v / cell).floor() as i64);
    let mut factor = 1.0;
    for (du, dv) in [(0, 0), (-1, 0), (0, -1), (-1, -1)] {
        let (i, j) = (cu + du, cv + dv);
        if hash01(&[i, j, 13]) > 0.6 {
            continue;
        }
        let centre = [(i as f64 + hash01(&[i, j, 14]) * 1.5) * cell, (j as f64 + hash01(&[i, j, 15]) * 1.5) * cell];
        let radius = 0.01 + 0.035 * hash01(&[i, j, 16]);
        if (u - centre[0]).hypot(v - centre[1]) < radius {
            factor *= if hash01(&[i, j, 17]) < 0.6 { 0.45 } else { 1.45 };
        }
    }
    factor
}

/// Scattered marks on the ground (fallen leaves, wet spots, bits of
/// brick): a few crisp blobs in every square metre, each of its own size
/// and colour, so that every part of a yard looks different.
fn blotch(u: f64, v: f64, under: [f64; 3]) -> [f64; 3] {
    let cell = 0.45;
    let (cu, cv) = ((u / cell).floor() as i64, (v / cell).floor() as i64);
    for (du, dv) in [(0, 0), (-1, 0), (0, -1), (-1, -1), (1, 0), (0, 1), (1, 1), (1, -1), (-1, 1)] {
        let (i, j) = (cu + du, cv + dv);
        let centre = [(i as f64 + hash01(&[i, j, 65])) * cell, (j as f64 + hash01(&[i, j, 66])) * cell];
        let radius = 0.04 + 0.14 * hash01(&[i, j, 67]);
        let stretch = 0.5 + hash01(&[i, j, 68]);
        let d = ((u - centre[0]).powi(2) * stretch + (v - centre[1]).powi(2) / stretch).sqrt();
        if d < radius {
            let kind = hash01(&[i, j, 69]);
            return if kind < 0.4 {
                scale(under, 0.45)
            } else if kind < 0.75 {
                mix([0.45, 0.3, 0.08], [0.3, 0.12, 0.05], hash01(&[i, j, 70]))
            } else {
                [0.55, 0.22, 0.12]
            };
        }
    }
    under
}

fn grass(u: f64, v: f64) -> [f64; 3] {
    let blades = value2(u * 60.0, v * 60.0, 70);
    let patches = fbm2(u * 0.5, v * 0.5, 4, 71);
    let earth = (patches - 0.55).max(0.0) * 2.5;
    let green = mix([0.08, 0.17, 0.04], [0.16, 0.26, 0.07], blades);
    blotch(u, v, mix(green, [0.25, 0.18, 0.1], earth.min(0.9)))
}

fn stone(u: f64, v: f64) -> [f64; 3] {
    let speck = hash01(&[(u * 150.0).floor() as i64, (v * 150.0).floor() as i64, 80]);
    let veins = fbm2(u * 3.0, v * 3.0, 4, 81);
    let base = mix([0.36, 0.36, 0.35], [0.22, 0.22, 0.23], veins);
    if speck > 0.93 {
        [0.6, 0.6, 0.58]
    } else if speck < 0.05 {
        [0.1, 0.1, 0.1]
    } else {
        base
    }
}

fn boulder(u: f64, v: f64) -> [f64; 3] {
    // Marks of 10-50 cm, which a photo from the lane resolves: a granite
    // speckle of millimetres would only be noise there.
    let tone = mix([0.42, 0.39, 0.35], [0.2, 0.19, 0.18], fbm2(u * 1.7, v * 1.7, 4, 101));
    let lichen = fbm2(u * 4.0 + 9.0, v * 4.0 - 2.0, 3, 102);
    let tone = if lichen > 0.62 { mix(tone, [0.55, 0.52, 0.28], ((lichen - 0.62) * 8.0).min(1.0)) } else { tone };
    blotch(u, v, tone)
}

fn ceramic(u: f64, v: f64) -> [f64; 3] {
    // Blue-and-white glaze painted by hand: bands that wobble and differ in
    // width, and between them motifs of several kinds each placed, sized
    // and chosen on its own. A printed, exactly periodic pattern let every
    // pot match every other pot (and itself, turned) in the photos.
    let white = [0.75, 0.77, 0.78];
    let blue = [0.05, 0.12, 0.45];
    let wobble = 0.3 * (fbm2(u * 1.5, v * 1.5, 3, 91) - 0.5);
    let (band, fv) = jittered_cell(v * 5.0 + wobble, 92);
    let line = 0.05 + 0.1 * hash01(&[band, 93]);
    let (cell, fu) = jittered_cell(u * 4.0, band);
    let kind = hash01(&[cell, band, 94]);
    let (du, dv) = (fu - 0.5 - 0.2 * (hash01(&[cell, band, 95]) - 0.5), (fv - 0.55) * 1.6);
    let size = 0.12 + 0.18 * hash01(&[cell, band, 96]);
    let r = du.hypot(dv);
    let painted = fv < line
        || match kind {
            k if k < 0.3 => r < size,
            k if k < 0.55 => (r - size).abs() < 0.05,
            k if k < 0.8 => (du * 1.7 + dv).abs() < 0.06 && r < size * 1.5,
            _ => false,
        };
    if painted {
        scale(blue, 0.8 + 0.4 * hash01(&[cell, band, 97]))
    } else {
        scale(white, 0.9 + 0.1 * value2(u * 30.0, v * 30.0, 90))
    }
}

fn leaves(u: f64, v: f64) -> [f64; 3] {
    let clusters = fbm2(u * 6.0, v * 6.0, 4, 100);
    let fine = value2(u * 40.0, v * 40.0, 101);
    let light = 0.55 + 0.8 * clusters;
    let c = mix([0.035, 0.1, 0.025], [0.09, 0.22, 0.05], fine);
    scale(c, light)
}
