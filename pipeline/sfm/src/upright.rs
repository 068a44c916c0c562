//! Which way is up in a model: from how its photos were held, the
//! straight edges they show and the plane their cameras stand on.
//!
//! People and camera gimbals hold the horizon level: a photo's x axis
//! (along its rows, photos being turned upright by their EXIF
//! orientation) is horizontal whatever the photo's pitch. Up is then the
//! direction most nearly perpendicular to every photo's x axis, which a
//! mean of the photos' up directions is not: photos pitched up at a tower
//! from one side tilt that mean towards the side they stand on.
//!
//! Hands are steady to a degree or two; buildings are plumb to far less.
//! Up is then refined from the straight edges the photos show (walls'
//! corners, door and window frames, columns): an edge and the centre of
//! the photo that sees it span a plane, and a vertical edge's plane holds
//! up. Up is the direction most nearly in the planes of the edges that
//! may be vertical, chosen ever more strictly as up improves: COLMAP's
//! Manhattan-world aligner finds vertical vanishing points for the same
//! end. Photos all facing one way leave up free to turn about their
//! common level axis, so a pitch they share (a facade photographed from
//! the street, looking up) leans it; the edges take that pitch out too.
//!
//! Photos turned a quarter without an EXIF orientation tag have plumb
//! rows; where they are most of a set, the plane the cameras stand on,
//! level for people walking and looking about level, sets up instead,
//! and where every photo is turned, the ground under the points tells
//! which way along it up lies. Along a line of cameras, photos all turned
//! alike stand the line on end, and photos turned either way among level
//! ones leave up along their views; each turned back, they set up, level
//! with the line, its sign from the photos held level or else the ground.
//! Over a plane the cameras look across (a facade photographed row by row
//! from a lift), turned photos among level ones likewise leave up along
//! the views, and are turned back where the photos taken as level agree
//! on which way is up.

use nalgebra::{Matrix2, Matrix3, Rotation3, Vector2, Vector3};

use crate::absolute::Pose;

/// A photo whose x axis leans more than this (degrees) from the level
/// found is held tilted on purpose, or turned by a wrong EXIF
/// orientation, and is left out of the next fit.
const MAX_ROLL_DEG: f64 = 15.0;

/// The spread of the pitch photos are taken at (degrees). Their viewing
/// directions join the fit as if level by chance errors of this size,
/// against the x axes' chance errors of the photos' roll: that decides up
/// where the x axes leave it undecided, as for photos all facing one way
/// (up is then perpendicular to their views, their own up), and costs
/// little elsewhere, the less the steadier the photos are held.
const PITCH_SPREAD_DEG: f64 = 20.0;

/// The roll (degrees) of a hand assumed in the first fit, before the
/// photos show theirs.
const FIRST_ROLL_DEG: f64 = 2.0;

/// The least roll (degrees) taken from the photos, so that their views
/// still decide where the x axes cannot.
const LEAST_ROLL_DEG: f64 = 0.1;

/// The up direction of photos with world-to-camera `rotations`, if at
/// least half of them (and two or more) are held level; `None` when the
/// photos were held at any angle, as photos of a floor or ceiling may be.
pub fn upright(rotations: &[Rotation3<f64>]) -> Option<Vector3<f64>> {
    // Camera axes in the world: the rows of world-to-camera rotations.
    let axes: Vec<(Vector3<f64>, Vector3<f64>, Vector3<f64>)> = rotations
        .iter()
        .map(|r| {
            let m = r.matrix();
            (m.row(0).transpose(), -m.row(1).transpose(), m.row(2).transpose())
        })
        .collect();
    let needed = (rotations.len().div_ceil(2)).max(2);
    let max_lean = MAX_ROLL_DEG.to_radians().sin();
    let mut keep = vec![true; axes.len()];
    let mut roll = FIRST_ROLL_DEG.to_radians();
    let mut up = Vector3::zeros();
    // Refit to the level photos, weighing their views by the roll they
    // show, until both settle.
    for _ in 0..8 {
        let view_weight = (roll / PITCH_SPREAD_DEG.to_radians()).powi(2);
        let mut scatter = Matrix3::zeros();
        let (mut mean_up, mut mean_view) = (Vector3::zeros(), Vector3::zeros());
        for ((x, photo_up, view), _) in axes.iter().zip(&keep).filter(|(_, k)| **k) {
            scatter += x * x.transpose() + view_weight * view * view.transpose();
            mean_up += photo_up;
            mean_view += view;
        }
        let eigen = scatter.symmetric_eigen();
        up = eigen.eigenvectors.column(eigen.eigenvalues.imin()).normalize();
        // Up's side: the photos' own up where it is nearer vertical than
        // their views (walls, towers, oblique views from above), else the
        // side their views look down from (straight down from a drone).
        let (up_side, down_side) = (up.dot(&mean_up), -up.dot(&mean_view));
        if (if up_side.abs() >= down_side.abs() { up_side } else { down_side }) < 0.0 {
            up = -up;
        }
        let leans: Vec<Option<f64>> =
            axes.iter().map(|(x, _, _)| Some(x.dot(&up)).filter(|lean| lean.abs() <= max_lean)).collect();
        let level: Vec<f64> = leans.iter().flatten().copied().collect();
        if level.len() < needed {
            return None;
        }
        let shown = (level.iter().map(|l| l * l).sum::<f64>() / level.len() as f64).sqrt().asin();
        let next_roll = shown.max(LEAST_ROLL_DEG.to_radians());
        let next_keep: Vec<bool> = leans.iter().map(Option::is_some).collect();
        let settled = next_keep == keep && (next_roll - roll).abs() < 0.1 * roll;
        (keep, roll) = (next_keep, next_roll);
        if settled {
            break;
        }
    }
    Some(up)
}

/// The plane through a photo's centre and an edge it sees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EdgePlane {
    /// Unit normal in the world.
    pub normal: Vector3<f64>,
    /// Weight: the edge's squared length in focal lengths (a plane is
    /// known to its endpoints' error over that length).
    pub weight: f64,
}

impl EdgePlane {
    /// The plane of the edge from `a` to `b` (normalised image
    /// coordinates) seen by a photo with world-to-camera `rotation`.
    pub fn seen(rotation: &Rotation3<f64>, a: [f64; 2], b: [f64; 2]) -> EdgePlane {
        let normal = Vector3::new(a[0], a[1], 1.0).cross(&Vector3::new(b[0], b[1], 1.0));
        let weight = (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2);
        EdgePlane { normal: rotation.inverse() * normal.normalize(), weight }
    }
}

/// How far (degrees) an edge's plane may first lie from the photos' up
/// to count as a vertical edge's: above a hand's error.
const FIRST_EDGE_GATE_DEG: f64 = 4.0;

/// The narrowest gate (degrees): above an edge plane's own error.
const LAST_EDGE_GATE_DEG: f64 = 1.0;

/// Fewest vertical edges to refine up by.
const MIN_VERTICAL_EDGES: usize = 12;

/// The planes must hold up from directions spread at least this much: the
/// second smallest eigenvalue of their scatter is at least this share of
/// the sum of the two largest.
const MIN_EDGE_SPREAD: f64 = 0.02;

/// Largest correction (degrees) the edges may make to the photos' up;
/// beyond, the edges taken as vertical are not (a leaning wall, a roof).
const MAX_EDGE_CORRECTION_DEG: f64 = 6.0;

/// `up` refined by the edges whose `planes` hold it: the direction most
/// nearly in the planes within a gate of it, the gate narrowing from
/// [`FIRST_EDGE_GATE_DEG`] to [`LAST_EDGE_GATE_DEG`] as up settles, and
/// how many edges it was taken from. `up` itself, from no edges, when too
/// few edges, or edges from too narrow a spread of directions, qualify.
pub fn upright_by_edges(up: &Vector3<f64>, planes: &[EdgePlane]) -> (Vector3<f64>, usize) {
    let mut refined = *up;
    let mut gate = FIRST_EDGE_GATE_DEG;
    let mut used = 0;
    for _ in 0..10 {
        let within = gate.to_radians().sin();
        let mut scatter = Matrix3::zeros();
        let mut count = 0;
        for plane in planes.iter().filter(|p| p.normal.dot(&refined).abs() <= within) {
            scatter += plane.weight * plane.normal * plane.normal.transpose();
            count += 1;
        }
        let [(_, least), (middle, _), (most, _)] = eigen_ascending(&scatter);
        if count < MIN_VERTICAL_EDGES || middle < MIN_EDGE_SPREAD * (middle + most) {
            return (*up, 0);
        }
        used = count;
        let next = least.normalize();
        let next = if next.dot(up) < 0.0 { -next } else { next };
        let moved = next.angle(&refined);
        refined = next;
        if gate <= LAST_EDGE_GATE_DEG && moved < 1e-6 {
            break;
        }
        gate = (gate / 2.0).max(LAST_EDGE_GATE_DEG);
    }
    if refined.angle(up) > MAX_EDGE_CORRECTION_DEG.to_radians() { (*up, 0) } else { (refined, used) }
}

/// Photos face one way when the second spread (variance) of their level
/// axes is below this (about ±25° of heading spread evenly).
const ONE_WAY_SPREAD: f64 = 0.067;

/// Largest common pitch (degrees) of photos facing one way that the edges
/// may take out of up: people photograph a facade from the street
/// pitched up by up to about this much.
const MAX_COMMON_PITCH_DEG: f64 = 35.0;

/// An edge plane tells the pitch only where its normal leans at least
/// this far (sine, 3°) from the photos' level axis: the plane of an edge
/// through a photo's centre holds every up turned about that axis.
const MIN_PITCH_LEVER: f64 = 0.05;

/// Step (degrees) of the turns of up tried.
const PITCH_STEP_DEG: f64 = 0.25;

/// `up` turned about the level axis of photos with world-to-camera
/// `rotations` to where the most vertical edges' `planes` hold it, for
/// photos that all face one way: their level axes leave up free to turn
/// about them, and `upright` took it square to their views, so that a
/// pitch they share (a facade photographed from the street, looking up)
/// leans up by as much, more than [`upright_by_edges`] corrects. Of the
/// turns within [`MAX_COMMON_PITCH_DEG`], the one whose up lies within
/// [`LAST_EDGE_GATE_DEG`] of the planes of most edge weight is taken,
/// where at least [`MIN_VERTICAL_EDGES`] planes hold it and more weight
/// than holds `up`, with how many edges held it. `up` itself, from no
/// edges, for photos facing many ways, or without such edges.
pub fn upright_by_common_pitch(
    up: &Vector3<f64>,
    rotations: &[Rotation3<f64>],
    planes: &[EdgePlane],
) -> (Vector3<f64>, usize) {
    let Some(axis) = common_level_axis(up, rotations) else { return (*up, 0) };
    let Some(axis) = (axis - axis.dot(up) * up).try_normalize(f64::EPSILON) else { return (*up, 0) };
    let across = axis.cross(up);
    // Each plane as its normal's parts along up and across.
    let leaning: Vec<(f64, f64, f64)> = planes
        .iter()
        .map(|plane| (plane.normal.dot(up), plane.normal.dot(&across), plane.weight))
        .filter(|(along_up, along_across, _)| along_up.hypot(*along_across) >= MIN_PITCH_LEVER)
        .collect();
    let within = LAST_EDGE_GATE_DEG.to_radians().sin();
    let holding = |turn: f64| {
        let (cos, sin) = (turn.cos(), turn.sin());
        leaning.iter().filter(move |(along_up, along_across, _)| (cos * along_up + sin * along_across).abs() <= within)
    };
    let held = |turn: f64| holding(turn).fold((0.0, 0), |(weight, count), (_, _, w)| (weight + w, count + 1));
    let steps = (MAX_COMMON_PITCH_DEG / PITCH_STEP_DEG).round() as i32;
    let turns = (-steps..=steps).map(|k| f64::from(k) * PITCH_STEP_DEG.to_radians());
    let Some((mut turn, (weight, count))) = turns.map(|turn| (turn, held(turn))).max_by(|a, b| a.1.0.total_cmp(&b.1.0))
    else {
        return (*up, 0);
    };
    if count < MIN_VERTICAL_EDGES || weight <= held(0.0).0 {
        return (*up, 0);
    }
    // Refined: the turn nearest the planes that hold it, by least squares.
    for _ in 0..5 {
        let moments = holding(turn).fold(Matrix2::zeros(), |sum, (along_up, along_across, w)| {
            let normal = Vector2::new(*along_up, *along_across);
            sum + *w * normal * normal.transpose()
        });
        let eigen = moments.symmetric_eigen();
        let nearest = eigen.eigenvectors.column(eigen.eigenvalues.imin()).into_owned();
        let nearest = if nearest.x < 0.0 { -nearest } else { nearest };
        turn = nearest.y.atan2(nearest.x);
    }
    ((turn.cos() * up + turn.sin() * across).normalize(), count)
}

/// The axis the level axes of photos with world-to-camera `rotations`
/// share (each photo's x axis, or its y axis where its rows lie nearer
/// plumb than level about `up`), if they all face about one way.
fn common_level_axis(up: &Vector3<f64>, rotations: &[Rotation3<f64>]) -> Option<Vector3<f64>> {
    if rotations.len() < 2 {
        return None;
    }
    let scatter: Matrix3<f64> = rotations
        .iter()
        .map(|r| {
            let level = r.transpose() * if turned_about(r, up) { Vector3::y() } else { Vector3::x() };
            level * level.transpose()
        })
        .sum::<Matrix3<f64>>()
        / rotations.len() as f64;
    let [_, (middle, _), (_, widest)] = eigen_ascending(&scatter);
    (middle < ONE_WAY_SPREAD).then_some(widest)
}

/// The eigenvalues of symmetric `m` in ascending order, each with its
/// eigenvector.
fn eigen_ascending(m: &Matrix3<f64>) -> [(f64, Vector3<f64>); 3] {
    let eigen = m.symmetric_eigen();
    let mut pairs: [(f64, Vector3<f64>); 3] =
        std::array::from_fn(|i| (eigen.eigenvalues[i], eigen.eigenvectors.column(i).into()));
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    pairs
}

/// The spreads (variances) of the centres of cameras with world-to-camera
/// `poses` along the axes of their scatter, widest first, with the axes;
/// `None` for fewer than 3 cameras.
fn centre_spreads(poses: &[&Pose]) -> Option<[(f64, Vector3<f64>); 3]> {
    if poses.len() < 3 {
        return None;
    }
    let centres: Vec<Vector3<f64>> = poses.iter().map(|(r, t)| -(r.transpose() * t)).collect();
    let mean = centres.iter().sum::<Vector3<f64>>() / centres.len() as f64;
    let scatter: Matrix3<f64> = centres.iter().map(|c| (c - mean) * (c - mean).transpose()).sum();
    let mut axes: Vec<(f64, Vector3<f64>)> = scatter
        .symmetric_eigen()
        .eigenvectors
        .column_iter()
        .map(|v| {
            let v: Vector3<f64> = v.into();
            ((scatter * v).dot(&v) / centres.len() as f64, v)
        })
        .collect();
    axes.sort_by(|a, b| b.0.total_cmp(&a.0));
    Some([axes[0], axes[1], axes[2]])
}

/// The normal of the plane cameras with world-to-camera `poses` stand on,
/// if they spread over one and look along it: people walk at about one
/// height and look about level, so that plane is level whichever way the
/// photos were held. `None` for cameras along a line or in a heap, and for
/// cameras looking across their plane (a facade photographed row by row,
/// a drone looking down), whose plane may stand at any angle.
pub fn camera_plane(poses: &[&Pose]) -> Option<Vector3<f64>> {
    spread_plane(poses).and_then(|(normal, along)| along.then_some(normal))
}

/// The normal of the plane cameras with world-to-camera `poses` spread
/// over while looking across it: a facade photographed row by row, from a
/// lift or the windows opposite, or the ground from a drone. `None` for
/// cameras along a line or in a heap, or looking along their plane.
pub fn camera_plane_across(poses: &[&Pose]) -> Option<Vector3<f64>> {
    spread_plane(poses).and_then(|(normal, along)| (!along).then_some(normal))
}

/// The normal of the plane cameras with world-to-camera `poses` spread
/// over, if they do, and whether most of them look along it.
fn spread_plane(poses: &[&Pose]) -> Option<(Vector3<f64>, bool)> {
    let [(widest, _), (second, _), (least, normal)] = centre_spreads(poses)?;
    let mut across: Vec<f64> = poses.iter().map(|(r, _)| (r.transpose() * Vector3::z()).dot(&normal).abs()).collect();
    across.sort_by(f64::total_cmp);
    let along = across[across.len() / 2] < MAX_VIEW_ACROSS;
    let planar = second > PLANE_SPREAD * widest && least < PLANE_THICKNESS * second;
    planar.then_some((normal, along))
}

/// The direction of the line cameras with world-to-camera `poses` stand
/// along (a facade walked past), if they spread along one rather than
/// over a plane: people walk it about level, so a line that rises steeply
/// may be a model on its side.
pub fn camera_line(poses: &[&Pose]) -> Option<Vector3<f64>> {
    let [(widest, direction), (second, _), _] = centre_spreads(poses)?;
    (widest > 0.0 && second <= PLANE_SPREAD * widest).then_some(direction)
}

/// Cameras spread over a plane when their second spread (variance) is at
/// least this share of the widest, ...
const PLANE_SPREAD: f64 = 0.02;
/// ... and the spread across the plane at most this share of the second.
const PLANE_THICKNESS: f64 = 0.05;
/// Cameras look along their plane when the median sine of their views'
/// angle with it is below this (30°).
const MAX_VIEW_ACROSS: f64 = 0.5;

/// Up from the cameras' plane ([`camera_plane`]) where it lies over
/// `UP_DOUBT_DEG` from the photos' own `up`: most photos were turned a
/// quarter without an EXIF orientation tag, so the rows the photos' up is
/// taken from are columns, or every photo was turned alike, whose rows are
/// level about an `up` in the plane, which would stand the cameras at many
/// heights. Up is sought from the plane's normal ([`turned_back_up`]) and
/// taken where the plane then lies within `UP_DOUBT_DEG` of level: people
/// walk at about one height. Where it does not (a slope walked up with
/// the photos held level), `up` stays, and the coverage report warns.
/// `unpitch` takes out a pitch the photos share ([`turned_back_up`]).
pub fn upright_by_camera_plane(
    up: &Vector3<f64>,
    poses: &[&Pose],
    points: &[Vector3<f64>],
    unpitch: &dyn Fn(&Vector3<f64>) -> Vector3<f64>,
) -> Vector3<f64> {
    let Some(normal) = camera_plane(poses) else { return *up };
    let level = |v: &Vector3<f64>| normal.dot(v).abs() >= UP_DOUBT_DEG.to_radians().cos();
    if level(&up.normalize()) {
        return *up;
    }
    turned_back_up(&normal, poses, points, unpitch, level).unwrap_or(*up)
}

/// Up from the photos each taken as held level or turned a quarter, where
/// the cameras stand along a line ([`camera_line`]) and the photos' own
/// `up` is in doubt: the line rises over `UP_DOUBT_DEG` about it (every
/// photo turned a quarter alike along a facade walked past stands the line
/// on end), or most photos look within that angle of along it (photos
/// turned either way among level ones: their rows cross at right angles,
/// which leaves up only along their views, as if they looked straight
/// down). Up is sought level with the line and across the views
/// ([`turned_back_up`]) and taken where the line then lies within
/// `UP_DOUBT_DEG` of level; else `up` stays (the coverage report then
/// warns). `unpitch` takes out a pitch the photos share
/// ([`turned_back_up`]).
pub fn upright_by_camera_line(
    up: &Vector3<f64>,
    poses: &[&Pose],
    points: &[Vector3<f64>],
    unpitch: &dyn Fn(&Vector3<f64>) -> Vector3<f64>,
) -> Vector3<f64> {
    let Some(line) = camera_line(poses) else { return *up };
    let level = |v: &Vector3<f64>| square_within_doubt(&line, v);
    if level(up) && !looks_along(poses, &up.normalize()) {
        return *up;
    }
    let Some(across) = line.cross(&summed_views(poses)).try_normalize(f64::EPSILON) else { return *up };
    turned_back_up(&across, poses, points, unpitch, level).unwrap_or(*up)
}

/// Up from the photos each taken as held level or turned a quarter, where
/// the cameras spread over a plane they look across
/// ([`camera_plane_across`]: a facade photographed row by row from a lift)
/// and most photos look within `UP_DOUBT_DEG` of along the photos' own
/// `up`: the rows of photos turned a quarter among level ones cross at
/// right angles, which leaves up only along the views, the facade taken
/// for a floor seen from above, and a few turned photos suffice. Up is
/// sought across the views and the rows of most photos, taken as held
/// level ([`turned_back_up`]), and taken where the plane then stands
/// within `UP_DOUBT_DEG` of plumb, as it does for people looking about
/// level, and those photos agree on which way is up; else across the
/// rows of the others (most photos turned, some either way, point their
/// tops opposite ways); else `up` stays (a drone or a hand looking
/// straight down, heading every way). Where most photos were turned, all
/// the same way, both agree, and the model comes out on its side: the
/// photos alone cannot tell the two apart. `unpitch` takes out a pitch
/// the photos share ([`turned_back_up`]).
pub fn upright_by_camera_plane_across(
    up: &Vector3<f64>,
    poses: &[&Pose],
    points: &[Vector3<f64>],
    unpitch: &dyn Fn(&Vector3<f64>) -> Vector3<f64>,
) -> Vector3<f64> {
    let Some(normal) = camera_plane_across(poses) else { return *up };
    if !looks_along(poses, &up.normalize()) {
        return *up;
    }
    let rows: Matrix3<f64> = poses.iter().map(|(r, _)| r.transpose() * Vector3::x()).map(|x| x * x.transpose()).sum();
    let [_, (_, fewer_rows), (_, most_rows)] = eigen_ascending(&rows);
    let views = summed_views(poses);
    let plumb = |v: &Vector3<f64>| square_within_doubt(&normal, v);
    [most_rows, fewer_rows]
        .iter()
        .filter_map(|rows| rows.cross(&views).try_normalize(f64::EPSILON))
        .find_map(|across| turned_back_up(&across, poses, points, unpitch, plumb))
        .unwrap_or(*up)
}

/// The sum of the viewing directions of cameras with world-to-camera
/// `poses`.
fn summed_views(poses: &[&Pose]) -> Vector3<f64> {
    poses.iter().map(|(r, _)| r.transpose() * Vector3::z()).sum()
}

/// Whether `v` lies within `UP_DOUBT_DEG` of square to unit `axis`.
fn square_within_doubt(axis: &Vector3<f64>, v: &Vector3<f64>) -> bool {
    axis.dot(&v.normalize()).abs() <= UP_DOUBT_DEG.to_radians().sin()
}

/// Whether most photos with world-to-camera `poses` look within
/// `UP_DOUBT_DEG` of along `vertical`, as people seldom do.
fn looks_along(poses: &[&Pose], vertical: &Vector3<f64>) -> bool {
    let steep = UP_DOUBT_DEG.to_radians().cos();
    let along = poses.iter().filter(|(r, _)| (r.transpose() * Vector3::z()).dot(vertical).abs() > steep).count();
    2 * along > poses.len()
}

/// Up for photos some of which were turned a quarter without an EXIF
/// orientation tag, sought from `start`: each photo whose rows lie nearer
/// plumb than level about it is turned back a quarter, and [`upright`] of
/// the photos so held refines it, three times over, and `unpitch` takes
/// out a pitch they share if they all face one way
/// ([`upright_by_common_pitch`]), which would smear the ground's end. It
/// is taken where the
/// cameras then stand `level` about it and most photos look further than
/// `UP_DOUBT_DEG` from along it, as people do (a drone's passes straight
/// down keep their own up). The sign comes from the photos held level,
/// `None` where they disagree ([`HELD_UP_AGREEMENT`]); where every photo
/// is turned (turning back either way is alike), from the ground beneath
/// the model's `points` ([`ground_side`]); `None` where that cannot tell.
fn turned_back_up(
    start: &Vector3<f64>,
    poses: &[&Pose],
    points: &[Vector3<f64>],
    unpitch: &dyn Fn(&Vector3<f64>) -> Vector3<f64>,
    level: impl Fn(&Vector3<f64>) -> bool,
) -> Option<Vector3<f64>> {
    let rotations: Vec<Rotation3<f64>> = poses.iter().map(|(r, _)| *r).collect();
    let (vertical, turned) = held_about(start, &rotations)?;
    let vertical = unpitch(&vertical);
    if !level(&vertical) || looks_along(poses, &vertical) {
        return None;
    }
    let held_ups: Vec<f64> = poses
        .iter()
        .zip(&turned)
        .filter(|(_, t)| !**t)
        .map(|((r, _), _)| (r.transpose() * -Vector3::y()).dot(&vertical))
        .collect();
    if held_ups.is_empty() {
        return ground_side(&vertical, points).map(|side| vertical * side);
    }
    let (sign, size): (f64, f64) = held_ups.iter().fold((0.0, 0.0), |(s, n), u| (s + u, n + u.abs()));
    (sign.abs() > HELD_UP_AGREEMENT * size).then(|| vertical * sign.signum())
}

/// The photos held level must agree on which way is up by at least this
/// share (their up directions' sum along the vertical over the sum of
/// their sizes): people hold cameras the right way up, while photos
/// looking down at a floor from every side point their tops every way.
const HELD_UP_AGREEMENT: f64 = 0.5;

/// Up from photos with world-to-camera `rotations`, sought from `start`:
/// each photo whose rows lie nearer plumb than level about it is turned
/// back a quarter, and [`upright`] of the photos so held refines it, three
/// times over; with which photos were turned back. Its sign is
/// [`upright`]'s.
fn held_about(start: &Vector3<f64>, rotations: &[Rotation3<f64>]) -> Option<(Vector3<f64>, Vec<bool>)> {
    let quarter = Rotation3::from_axis_angle(&Vector3::z_axis(), std::f64::consts::FRAC_PI_2);
    let (mut vertical, mut turned) = (*start, Vec::new());
    for _ in 0..3 {
        turned = rotations.iter().map(|r| turned_about(r, &vertical)).collect();
        let held: Vec<Rotation3<f64>> =
            rotations.iter().zip(&turned).map(|(r, &t)| if t { quarter * r } else { *r }).collect();
        vertical = upright(&held)?;
    }
    Some((vertical, turned))
}

/// Up from photos with world-to-camera `rotations`, each taken as held
/// level or turned a quarter about `start` (an up known roughly, as from
/// GPS fixes), on `start`'s side.
pub fn upright_about(start: &Vector3<f64>, rotations: &[Rotation3<f64>]) -> Option<Vector3<f64>> {
    held_about(start, rotations).map(|(up, _)| if up.dot(start) < 0.0 { -up } else { up })
}

/// Which way along `vertical` (up or down, found otherwise) is up, from
/// where `points` end: the ground people walk on bounds them sharply from
/// below, a little under the cameras, while walls, roofs and trees thin
/// out upwards. 1 when `vertical` points up, -1 when down; `None` for too
/// few points or ends alike (a floor and a ceiling). Each end is measured
/// by the heights spanned by its last 9 % of the points, between the 1 %
/// and 10 % quantiles.
pub fn ground_side(vertical: &Vector3<f64>, points: &[Vector3<f64>]) -> Option<f64> {
    if points.len() < MIN_GROUND_POINTS {
        return None;
    }
    let mut heights: Vec<f64> = points.iter().map(|p| p.dot(vertical)).collect();
    heights.sort_by(f64::total_cmp);
    let quantile = |q: f64| heights[((heights.len() - 1) as f64 * q).round() as usize];
    let (lower_end, upper_end) = (quantile(0.10) - quantile(0.01), quantile(0.99) - quantile(0.90));
    if upper_end > GROUND_END_RATIO * lower_end {
        Some(1.0)
    } else if lower_end > GROUND_END_RATIO * upper_end {
        Some(-1.0)
    } else {
        None
    }
}

/// Fewest points [`ground_side`] judges by.
const MIN_GROUND_POINTS: usize = 100;
/// How many times wider the upper end of the points must be than the
/// lower (or the other way round) for [`ground_side`] to judge: on the
/// three Strecha sets and the synthetic house and rock garden, as taken,
/// the upper end was 3 to 14 times the lower.
const GROUND_END_RATIO: f64 = 2.0;

/// Over this angle (degrees) between the photos' up and the cameras'
/// plane's normal, or between a line of cameras and level, or between
/// most views and level, up is in doubt.
pub const UP_DOUBT_DEG: f64 = 30.0;

/// Whether the rows of a photo with world-to-camera `rotation` lie nearer
/// plumb than level about `up`: it was turned a quarter.
pub fn turned_about(rotation: &Rotation3<f64>, up: &Vector3<f64>) -> bool {
    (rotation.transpose() * Vector3::x()).dot(up).abs() > (rotation.transpose() * Vector3::y()).dot(up).abs()
}

/// The rotation that turns `up` to +z by the shortest way.
pub fn levelling_rotation(up: &Vector3<f64>) -> Rotation3<f64> {
    Rotation3::rotation_between(up, &Vector3::z()).unwrap_or_else(|| {
        // Exactly opposite: turn half a circle about x.
        Rotation3::from_axis_angle(&Vector3::x_axis(), std::f64::consts::PI)
    })
}

/// World-to-camera rotation of a camera looking along `view`, rolled by
/// `roll` (radians) about it from level, world z up (for tests).
#[cfg(test)]
pub(crate) fn held_along(view: &Vector3<f64>, roll: f64) -> Rotation3<f64> {
    let view = view.normalize();
    let right = view.cross(&Vector3::z()).normalize();
    let down = view.cross(&right);
    let level =
        Rotation3::from_matrix_unchecked(Matrix3::from_rows(&[right.transpose(), down.transpose(), view.transpose()]));
    Rotation3::from_axis_angle(&Vector3::z_axis(), roll) * level
}

/// A house 20 x 12 m, 10 m tall, about the origin: its corners,
/// window sides, eaves and window sills, and two sloping roof lines.
#[cfg(test)]
pub(crate) fn house_edges() -> Vec<(Vector3<f64>, Vector3<f64>)> {
    let corners = [(-10.0, -6.0), (10.0, -6.0), (10.0, 6.0), (-10.0, 6.0)];
    let mut edges = Vec::new();
    for (k, &(x0, y0)) in corners.iter().enumerate() {
        let (x1, y1) = corners[(k + 1) % 4];
        let at = |t: f64, z: f64| Vector3::new(x0 + t * (x1 - x0), y0 + t * (y1 - y0), z);
        edges.push((at(0.0, 0.0), at(0.0, 10.0)));
        edges.push((at(0.0, 10.0), at(1.0, 10.0)));
        for w in 1..5 {
            let t = f64::from(w) / 5.0;
            for (bottom, top) in [(1.0, 3.0), (5.5, 8.0)] {
                edges.push((at(t - 0.04, bottom), at(t - 0.04, top)));
                edges.push((at(t + 0.04, bottom), at(t + 0.04, top)));
                edges.push((at(t - 0.04, bottom), at(t + 0.04, bottom)));
            }
        }
    }
    edges.push((Vector3::new(-10.0, -6.0, 10.0), Vector3::new(-10.0, 0.0, 14.0)));
    edges.push((Vector3::new(10.0, 6.0, 10.0), Vector3::new(10.0, 0.0, 14.0)));
    edges
}

#[cfg(test)]
mod tests {
    use super::*;

    /// World-to-camera rotation of a camera looking along `heading`
    /// (radians from +x towards +y) pitched up by `pitch` and rolled by
    /// `roll` about its view (radians), world z up.
    fn camera(heading: f64, pitch: f64, roll: f64) -> Rotation3<f64> {
        let view = Vector3::new(heading.cos() * pitch.cos(), heading.sin() * pitch.cos(), pitch.sin());
        held_along(&view, roll)
    }

    fn angle_to_z(up: &Vector3<f64>) -> f64 {
        up.dot(&Vector3::z()).clamp(-1.0, 1.0).acos().to_degrees()
    }

    #[test]
    fn pitched_photos_from_one_side_still_find_up() {
        // Half a ring looking up at a tower, 20° up.
        let photos: Vec<_> = (0..9).map(|i| camera(f64::from(i) * 0.39, 20f64.to_radians(), 0.0)).collect();
        let up = upright(&photos).unwrap();
        assert!(angle_to_z(&up) < 0.01, "{}", angle_to_z(&up));
        // Their mean up leans by more than 10°.
        let mean: Vector3<f64> = photos.iter().map(|r| -r.matrix().row(1).transpose()).sum();
        assert!(angle_to_z(&mean.normalize()) > 10.0);
    }

    #[test]
    fn photos_facing_one_way_take_their_own_up() {
        let photos: Vec<_> = (0..5).map(|_| camera(1.0, 0.0, 0.0)).collect();
        assert!(angle_to_z(&upright(&photos).unwrap()) < 1e-9);
    }

    #[test]
    fn a_few_turned_photos_are_left_out_and_small_rolls_average() {
        let mut photos: Vec<_> =
            (0..12).map(|i| camera(f64::from(i) * 0.5, 0.1, 0.02 * (f64::from(i) * 2.1).sin())).collect();
        photos[3] = camera(1.5, 0.1, std::f64::consts::FRAC_PI_2);
        photos[8] = camera(4.0, -0.2, -0.8);
        // Rolls of up to 1.1° average out to 0.2°, as without the turned
        // ones, which would tilt up by degrees.
        let up = upright(&photos).unwrap();
        let without: Vec<_> = photos.iter().enumerate().filter(|(i, _)| *i != 3 && *i != 8).map(|(_, r)| *r).collect();
        assert!(angle_to_z(&up) < 0.3, "{}", angle_to_z(&up));
        assert!(up.angle(&upright(&without).unwrap()) < 1e-12);
        // The model upside down: up follows it.
        let flipped: Vec<_> = photos.iter().map(|r| r * Rotation3::from_axis_angle(&Vector3::x_axis(), 3.0)).collect();
        let turned = Rotation3::from_axis_angle(&Vector3::x_axis(), -3.0) * Vector3::z();
        assert!(upright(&flipped).unwrap().dot(&turned) > 0.999);
    }

    #[test]
    fn photos_looking_straight_down_have_up_behind_them() {
        // A drone's photos straight down give or take 2° (the top of the
        // photo towards or away from where it leans), turned every which
        // way: their x axes find the vertical, their views its sign.
        let down = (-88f64).to_radians();
        let photos: Vec<_> = (0..8)
            .map(|i| camera(f64::from(i) * 0.8, down, if i % 3 == 0 { 0.0 } else { std::f64::consts::PI }))
            .collect();
        // Their own up (image -y) leans down on the whole: it cannot say.
        let mean: Vector3<f64> = photos.iter().map(|r| -r.matrix().row(1).transpose()).sum();
        assert!(mean.z < 0.0, "{mean:?}");
        let up = upright(&photos).unwrap();
        assert!(up.dot(&Vector3::z()) > 1.0 - 1e-9, "{up:?}");
    }

    #[test]
    fn photos_held_at_any_angle_give_no_up() {
        let photos: Vec<_> = (0..12).map(|i| camera(f64::from(i) * 0.5, 0.3, f64::from(i) * 0.55)).collect();
        assert_eq!(upright(&photos), None);
        assert_eq!(upright(&photos[..1]), None);
    }

    /// Photos from `headings` (radians), standing 30 m from the house,
    /// eyes 1.6 m up, looking at its middle, rolled up to 1.2°: their
    /// centres and world-to-camera rotations.
    fn around(headings: &[f64]) -> Vec<(Vector3<f64>, Rotation3<f64>)> {
        let roll = |i: usize| 0.02 * (i as f64 * 1.7).sin();
        let centre = |heading: f64| Vector3::new(-30.0 * heading.cos(), -30.0 * heading.sin(), 1.6);
        headings
            .iter()
            .enumerate()
            .map(|(i, &h)| (centre(h), held_along(&(Vector3::new(0.0, 0.0, 5.0) - centre(h)), roll(i))))
            .collect()
    }

    /// The planes of `edges` as photos with `cameras` (centre and
    /// world-to-camera rotation) see them, their ends off by up to half a
    /// pixel of a 1000-pixel focal length, as `plumb_candidates` keeps
    /// them (within 40° of the columns, or of the rows of photos
    /// `turned` a quarter, whose frame then stands tall).
    fn seen_planes_turned(
        edges: &[(Vector3<f64>, Vector3<f64>)],
        cameras: &[(Vector3<f64>, Rotation3<f64>)],
        turned: bool,
    ) -> Vec<EdgePlane> {
        let mut planes = Vec::new();
        for (i, &(centre, rotation)) in cameras.iter().enumerate() {
            for (j, (p, q)) in edges.iter().enumerate() {
                let image = |x: &Vector3<f64>, k: usize| {
                    let c = rotation * (x - centre);
                    let jitter = 0.5e-3 * ((i * 31 + j * 7 + k) as f64).sin();
                    (c.z > 0.0).then(|| [c.x / c.z + jitter, c.y / c.z - jitter])
                };
                let (Some(a), Some(b)) = (image(p, 0), image(q, 1)) else { continue };
                let (wide, tall) = if turned { (0.5, 0.7) } else { (0.7, 0.5) };
                let in_view = |v: [f64; 2]| v[0].abs() < wide && v[1].abs() < tall;
                let (across, along) = ((b[0] - a[0]).abs(), (b[1] - a[1]).abs());
                let lean = if turned { along.atan2(across) } else { across.atan2(along) };
                if in_view(a) && in_view(b) && lean < 40f64.to_radians() {
                    planes.push(EdgePlane::seen(&rotation, a, b));
                }
            }
        }
        planes
    }

    /// As [`seen_planes_turned`], photos held upright.
    fn seen_planes(
        edges: &[(Vector3<f64>, Vector3<f64>)],
        cameras: &[(Vector3<f64>, Rotation3<f64>)],
    ) -> Vec<EdgePlane> {
        seen_planes_turned(edges, cameras, false)
    }

    #[test]
    fn vertical_edges_level_a_model_the_photos_left_tilted() {
        let tilted = Rotation3::from_axis_angle(&Vector3::y_axis(), 3f64.to_radians()) * Vector3::z();
        let headings: Vec<f64> = (0..12).map(|i| f64::from(i) * 0.52).collect();
        let planes = seen_planes(&house_edges(), &around(&headings));
        let (up, used) = upright_by_edges(&tilted, &planes);
        assert!(angle_to_z(&up) < 0.03, "{}", angle_to_z(&up));
        // The corners and window sides, not the sills and eaves.
        assert!(used > planes.len() / 2 && used < planes.len(), "{used} of {}", planes.len());
        // From the front only, up to 25° either side.
        let front: Vec<f64> = (0..6).map(|i| 1.57 + f64::from(i - 3) * 0.15).collect();
        let (up, _) = upright_by_edges(&tilted, &seen_planes(&house_edges(), &around(&front)));
        assert!(angle_to_z(&up) < 0.05, "{}", angle_to_z(&up));
    }

    /// Photos taken walking along the house's front, 12 m from it, all
    /// facing it and pitched up by `pitch` (radians), rolled up to 1.2°
    /// and, with `turned`, all turned a quarter.
    fn along_the_front(pitch: f64, turned: bool) -> Vec<(Vector3<f64>, Rotation3<f64>)> {
        let turn =
            Rotation3::from_axis_angle(&Vector3::z_axis(), if turned { std::f64::consts::FRAC_PI_2 } else { 0.0 });
        (0..8)
            .map(|i| {
                let centre = Vector3::new(-7.0 + 2.0 * f64::from(i), -18.0, 1.6);
                let view = Vector3::new(0.0, pitch.cos(), pitch.sin());
                (centre, turn * held_along(&view, 0.02 * (f64::from(i) * 1.7).sin()))
            })
            .collect()
    }

    #[test]
    fn edges_take_a_common_pitch_out_of_photos_facing_one_way() {
        for turned in [false, true] {
            let cameras = along_the_front(20f64.to_radians(), turned);
            let rotations: Vec<_> = cameras.iter().map(|(_, r)| *r).collect();
            // Taken upright, or turned back: up square to the views, 20° off.
            let held = if turned { along_the_front(20f64.to_radians(), false) } else { cameras.clone() };
            let up = upright(&held.iter().map(|(_, r)| *r).collect::<Vec<_>>()).unwrap();
            assert!((angle_to_z(&up) - 20.0).abs() < 1.0, "{}", angle_to_z(&up));
            // More than the edges alone correct.
            let planes = seen_planes_turned(&house_edges(), &cameras, turned);
            assert_eq!(upright_by_edges(&up, &planes).1, 0);
            let (pitched, held_by) = upright_by_common_pitch(&up, &rotations, &planes);
            assert!(
                angle_to_z(&pitched) < 0.1 && held_by >= MIN_VERTICAL_EDGES,
                "turned {turned}: {}",
                angle_to_z(&pitched)
            );
            let (refined, used) = upright_by_edges(&pitched, &planes);
            assert!(angle_to_z(&refined) < 0.05 && used >= MIN_VERTICAL_EDGES, "{} from {used}", angle_to_z(&refined));
        }
        // Photos level already stay so; photos facing many ways are left alone.
        let level = along_the_front(0.0, false);
        let up = upright(&level.iter().map(|(_, r)| *r).collect::<Vec<_>>()).unwrap();
        let planes = seen_planes(&house_edges(), &level);
        let rotations: Vec<_> = level.iter().map(|(_, r)| *r).collect();
        assert!(angle_to_z(&upright_by_common_pitch(&up, &rotations, &planes).0) < 0.1);
        let ring = around(&(0..12).map(|i| f64::from(i) * 0.52).collect::<Vec<_>>());
        let tilted = Rotation3::from_axis_angle(&Vector3::y_axis(), 10f64.to_radians()) * Vector3::z();
        let rotations: Vec<_> = ring.iter().map(|(_, r)| *r).collect();
        assert_eq!(upright_by_common_pitch(&tilted, &rotations, &seen_planes(&house_edges(), &ring)), (tilted, 0));
    }

    #[test]
    fn without_vertical_edges_up_stays_the_photos() {
        let level: Vec<_> = house_edges().into_iter().filter(|(p, q)| (p - q).normalize().z.abs() < 0.9).collect();
        let tilted = Rotation3::from_axis_angle(&Vector3::y_axis(), 3f64.to_radians()) * Vector3::z();
        let headings: Vec<f64> = (0..12).map(|i| f64::from(i) * 0.52).collect();
        assert_eq!(upright_by_edges(&tilted, &seen_planes(&level, &around(&headings))), (tilted, 0));
        assert_eq!(upright_by_edges(&tilted, &[]), (tilted, 0));
    }

    #[test]
    fn the_ground_ends_the_points_below() {
        // Ground 1.6 m below the cameras, walls and a roof up to 9 m.
        let ground = (0..300).map(|i| Vector3::new(f64::from(i % 20), f64::from(i / 20), -1.6));
        let walls = (0..300).map(|i| Vector3::new(f64::from(i % 10), 20.0, f64::from(i / 10) * 0.36 - 1.6));
        let site: Vec<_> = ground.chain(walls).collect();
        assert_eq!(ground_side(&Vector3::z(), &site), Some(1.0));
        assert_eq!(ground_side(&-Vector3::z(), &site), Some(-1.0));
        // A room's floor and ceiling end alike; a handful of points cannot say.
        let floor_and_ceiling =
            (0..600).map(|i| Vector3::new(f64::from(i % 20), f64::from(i / 40), if i % 2 == 0 { -1.5 } else { 1.5 }));
        let sides = (0..300).map(|i| Vector3::new(f64::from(i % 10), 20.0, f64::from(i / 10) * 0.1 - 1.5));
        let room: Vec<_> = floor_and_ceiling.chain(sides).collect();
        assert_eq!(ground_side(&Vector3::z(), &room), None);
        assert_eq!(ground_side(&Vector3::z(), &site[..50]), None);
    }

    #[test]
    fn levelling_turns_up_to_z() {
        for up in [Vector3::new(0.3, -0.2, 0.9).normalize(), -Vector3::z(), Vector3::z()] {
            assert!((levelling_rotation(&up) * up - Vector3::z()).norm() < 1e-12);
        }
    }
}
