//! A small writer of glTF 2.0 binary files: triangle meshes and point
//! clouds with per-vertex colours, one node each, in one buffer.

use serde_json::{Value, json};

/// What a primitive draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Points (mode 0).
    Points,
    /// Lines, two indices each (mode 1).
    Lines,
    /// Triangles, three indices each (mode 4).
    Triangles,
}

/// One mesh: positions in glTF's frame, optional colours (sRGB bytes with
/// alpha), optional normals and indices.
#[derive(Debug, Clone)]
pub struct Primitive {
    /// Node and mesh name.
    pub name: String,
    /// Vertex positions.
    pub positions: Vec<[f32; 3]>,
    /// Vertex normals (unit length), if any.
    pub normals: Option<Vec<[f32; 3]>>,
    /// Vertex colours, if any.
    pub colors: Option<Vec<[u8; 4]>>,
    /// Indices; none draws the vertices in order.
    pub indices: Option<Vec<u32>>,
    /// What is drawn.
    pub mode: Mode,
    /// Base colour factor (linear RGBA) of its material.
    pub base_color: [f32; 4],
}

/// Builds the bytes of a `.glb` holding `primitives`.
pub fn to_glb(primitives: &[Primitive], generator: &str) -> Vec<u8> {
    let mut bin: Vec<u8> = Vec::new();
    let mut views = Vec::new();
    let mut accessors = Vec::new();
    let mut meshes = Vec::new();
    let mut materials = Vec::new();
    let mut push = |bin: &mut Vec<u8>, bytes: &[u8], target: u32| -> usize {
        pad(bin, 0);
        views.push(json!({ "buffer": 0, "byteOffset": bin.len(), "byteLength": bytes.len(), "target": target }));
        bin.extend_from_slice(bytes);
        views.len() - 1
    };
    for p in primitives {
        let n = p.positions.len();
        let mut attributes = serde_json::Map::new();
        let (mut min, mut max) = ([f32::INFINITY; 3], [f32::NEG_INFINITY; 3]);
        for q in &p.positions {
            for k in 0..3 {
                min[k] = min[k].min(q[k]);
                max[k] = max[k].max(q[k]);
            }
        }
        let view = push(&mut bin, &floats(&p.positions), 34962);
        accessors.push(
            json!({ "bufferView": view, "componentType": 5126, "count": n, "type": "VEC3", "min": min, "max": max }),
        );
        attributes.insert("POSITION".into(), json!(accessors.len() - 1));
        if let Some(normals) = &p.normals {
            let view = push(&mut bin, &floats(normals), 34962);
            accessors.push(json!({ "bufferView": view, "componentType": 5126, "count": n, "type": "VEC3" }));
            attributes.insert("NORMAL".into(), json!(accessors.len() - 1));
        }
        if let Some(colors) = &p.colors {
            let bytes: Vec<u8> = colors.iter().flatten().copied().collect();
            let view = push(&mut bin, &bytes, 34962);
            accessors.push(
                json!({ "bufferView": view, "componentType": 5121, "normalized": true, "count": n, "type": "VEC4" }),
            );
            attributes.insert("COLOR_0".into(), json!(accessors.len() - 1));
        }
        let mut primitive = json!({
            "attributes": attributes,
            "mode": match p.mode { Mode::Points => 0, Mode::Lines => 1, Mode::Triangles => 4 },
            "material": materials.len(),
        });
        if let Some(indices) = &p.indices {
            let bytes: Vec<u8> = indices.iter().flat_map(|i| i.to_le_bytes()).collect();
            let view = push(&mut bin, &bytes, 34963);
            accessors
                .push(json!({ "bufferView": view, "componentType": 5125, "count": indices.len(), "type": "SCALAR" }));
            primitive["indices"] = json!(accessors.len() - 1);
        }
        materials.push(json!({
            "name": p.name,
            "pbrMetallicRoughness": { "baseColorFactor": p.base_color, "metallicFactor": 0.0, "roughnessFactor": 1.0 },
            "doubleSided": true,
        }));
        meshes.push(json!({ "name": p.name, "primitives": [primitive] }));
    }
    pad(&mut bin, 0);
    let nodes: Vec<Value> = primitives.iter().enumerate().map(|(i, p)| json!({ "name": p.name, "mesh": i })).collect();
    let mut document = json!({
        "asset": { "version": "2.0", "generator": generator },
        "scene": 0,
        "scenes": [{ "nodes": (0..primitives.len()).collect::<Vec<_>>() }],
        "nodes": nodes,
        "meshes": meshes,
        "materials": materials,
        "accessors": accessors,
        "bufferViews": views,
        "buffers": [{ "byteLength": bin.len() }],
    });
    if primitives.is_empty() {
        document.as_object_mut().expect("an object").retain(|k, _| ["asset", "scene", "scenes"].contains(&k.as_str()));
    }
    let mut text = serde_json::to_vec(&document).expect("JSON values always serialise");
    pad(&mut text, b' ');
    let has_bin = !bin.is_empty();
    let total = 12 + 8 + text.len() + if has_bin { 8 + bin.len() } else { 0 };
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"glTF");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(b"JSON");
    out.extend_from_slice(&text);
    if has_bin {
        out.extend_from_slice(&(bin.len() as u32).to_le_bytes());
        out.extend_from_slice(b"BIN\0");
        out.extend_from_slice(&bin);
    }
    out
}

/// Pads `bytes` with `fill` to a multiple of 4 bytes, as glTF requires.
fn pad(bytes: &mut Vec<u8>, fill: u8) {
    while !bytes.len().is_multiple_of(4) {
        bytes.push(fill);
    }
}

fn floats(values: &[[f32; 3]]) -> Vec<u8> {
    values.iter().flatten().flat_map(|f| f.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_glb_reads_back_with_the_gltf_crate() {
        let tri = Primitive {
            name: "tri".into(),
            positions: vec![[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
            normals: Some(vec![[0.0, 0.0, 1.0]; 3]),
            colors: Some(vec![[255, 0, 0, 255]; 3]),
            indices: Some(vec![0, 1, 2]),
            mode: Mode::Triangles,
            base_color: [1.0; 4],
        };
        let points = Primitive { name: "pts".into(), indices: None, normals: None, mode: Mode::Points, ..tri.clone() };
        let bytes = to_glb(&[tri, points], "test");
        let (doc, buffers, _) = gltf::import_slice(&bytes).unwrap();
        assert_eq!(doc.meshes().count(), 2);
        let mesh = doc.meshes().next().unwrap();
        let prim = mesh.primitives().next().unwrap();
        let reader = prim.reader(|b| Some(&buffers[b.index()]));
        let positions: Vec<[f32; 3]> = reader.read_positions().unwrap().collect();
        assert_eq!(positions[1], [1.0, 0.0, 0.0]);
        let indices: Vec<u32> = reader.read_indices().unwrap().into_u32().collect();
        assert_eq!(indices, [0, 1, 2]);
        assert_eq!(prim.bounding_box().max, [1.0, 1.0, 0.0]);
    }
}
