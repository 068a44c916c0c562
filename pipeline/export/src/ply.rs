//! Binary little-endian PLY: coloured points, optionally with faces.

/// Builds a PLY of `points` with sRGB `colors`, and `faces` (triangles of
/// vertex indices) when not empty.
pub fn to_ply(points: &[[f64; 3]], colors: &[[u8; 3]], faces: &[[u32; 3]]) -> Vec<u8> {
    assert_eq!(points.len(), colors.len(), "one colour per point");
    let mut header = format!(
        "ply\nformat binary_little_endian 1.0\ncomment made by heritage\nelement vertex {}\nproperty float x\nproperty float y\nproperty float z\nproperty uchar red\nproperty uchar green\nproperty uchar blue\n",
        points.len()
    );
    if !faces.is_empty() {
        header.push_str(&format!("element face {}\nproperty list uchar int vertex_indices\n", faces.len()));
    }
    header.push_str("end_header\n");
    let mut out = header.into_bytes();
    out.reserve(points.len() * 15 + faces.len() * 13);
    for (p, c) in points.iter().zip(colors) {
        for v in p {
            out.extend_from_slice(&(*v as f32).to_le_bytes());
        }
        out.extend_from_slice(c);
    }
    for f in faces {
        out.push(3);
        for i in f {
            out.extend_from_slice(&(*i as i32).to_le_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn header_counts_and_size_match() {
        let bytes = super::to_ply(&[[0.0; 3], [1.0, 2.0, 3.0], [0.0, 1.0, 0.0]], &[[1, 2, 3]; 3], &[[0, 1, 2]]);
        let text = String::from_utf8_lossy(&bytes);
        let header_end = text.find("end_header\n").unwrap() + "end_header\n".len();
        assert!(text.contains("element vertex 3") && text.contains("element face 1"));
        assert_eq!(bytes.len() - header_end, 3 * 15 + 13);
        assert_eq!(&bytes[header_end + 15..header_end + 19], &1.0f32.to_le_bytes());
    }
}
