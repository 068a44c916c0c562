//! `heritage serve`: a small preview server for the published folder.
//! GET and HEAD only, byte ranges, the MIME types the website uses, and
//! nothing outside the folder: `..`, encoded slashes and symbolic links
//! that lead out are refused.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Why a request path is not served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Malformed, or trying to leave the folder.
    Forbidden,
    /// No such file.
    NotFound,
}

/// Decodes `%XX` escapes; `None` for bad escapes and for encoded `/`, `\`
/// or NUL (a path must not hide its structure).
fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            let byte = u8::from_str_radix(hex, 16).ok()?;
            if matches!(byte, b'/' | b'\\' | 0) {
                return None;
            }
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The file a request target names inside `root` (already canonical).
pub fn resolve(root: &Path, target: &str) -> Result<PathBuf, Refusal> {
    let path = target.split(['?', '#']).next().unwrap_or("");
    if !path.starts_with('/') {
        return Err(Refusal::Forbidden);
    }
    let decoded = percent_decode(path).ok_or(Refusal::Forbidden)?;
    let mut file = root.to_path_buf();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => return Err(Refusal::Forbidden),
            s if s.contains(['\\', '\0']) => return Err(Refusal::Forbidden),
            s => file.push(s),
        }
    }
    if file.is_dir() {
        file.push("index.html");
    }
    let real = file.canonicalize().map_err(|_| Refusal::NotFound)?;
    // A symbolic link may point anywhere: only what really lies inside
    // the folder is served.
    if !real.starts_with(root) {
        return Err(Refusal::Forbidden);
    }
    if real.is_file() { Ok(real) } else { Err(Refusal::NotFound) }
}

/// The Content-Type of a file, by extension.
pub fn mime_type(path: &Path) -> &'static str {
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    match extension.as_str() {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "dzi" | "xml" => "application/xml",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "webp" => "image/webp",
        "glb" => "model/gltf-binary",
        "gltf" => "model/gltf+json",
        "txt" => "text/plain; charset=utf-8",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

/// The byte range a `Range` header asks of a `len`-byte file: `None` when
/// there is no usable header (serve it all), `Some(Err(()))` when it cannot
/// be satisfied.
pub fn byte_range(header: Option<&str>, len: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = header?.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let range = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().ok()?;
            if n == 0 || len == 0 {
                return Some(Err(()));
            }
            (len.saturating_sub(n), len - 1)
        }
        (start, end) => {
            let start: u64 = start.parse().ok()?;
            let end = if end.is_empty() {
                len.saturating_sub(1)
            } else {
                end.parse::<u64>().ok()?.min(len.saturating_sub(1))
            };
            if start >= len || end < start {
                return Some(Err(()));
            }
            (start, end)
        }
    };
    Some(Ok(range))
}

/// Serves `dir` on `address` until the process ends; `ready` is called
/// with the bound address once requests can come.
pub fn serve(dir: &Path, address: SocketAddr, ready: impl FnOnce(SocketAddr)) -> Result<()> {
    let root = dir.canonicalize().with_context(|| format!("{} does not exist: publish first", dir.display()))?;
    let listener = TcpListener::bind(address).with_context(|| format!("cannot listen on {address}: try --port"))?;
    ready(listener.local_addr()?);
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let root = root.clone();
        std::thread::spawn(move || {
            if let Err(e) = answer(stream, &root) {
                tracing::debug!("connection: {e:#}");
            }
        });
    }
    Ok(())
}

/// Reads one request and answers it.
fn answer(stream: TcpStream, root: &Path) -> Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?).take(16 * 1024);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut range = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("range")
        {
            range = Some(value.trim().to_string());
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let mut out = stream;
    if method != "GET" && method != "HEAD" {
        return status(&mut out, "405 Method Not Allowed", "only GET and HEAD");
    }
    let path = match resolve(root, target) {
        Ok(path) => path,
        Err(Refusal::Forbidden) => return status(&mut out, "403 Forbidden", "forbidden"),
        Err(Refusal::NotFound) => return status(&mut out, "404 Not Found", "not found"),
    };
    let mut file = File::open(&path)?;
    let len = file.metadata()?.len();
    let (code, start, end) = match byte_range(range.as_deref(), len) {
        None => ("200 OK", 0, len.saturating_sub(1)),
        Some(Ok((start, end))) => ("206 Partial Content", start, end),
        Some(Err(())) => {
            let head = format!(
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{len}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            return Ok(out.write_all(head.as_bytes())?);
        }
    };
    let body_len = if len == 0 { 0 } else { end - start + 1 };
    let mut head = format!(
        "HTTP/1.1 {code}\r\nContent-Type: {}\r\nContent-Length: {body_len}\r\nAccept-Ranges: bytes\r\n\
         Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n",
        mime_type(&path)
    );
    if code.starts_with("206") {
        head.push_str(&format!("Content-Range: bytes {start}-{end}/{len}\r\n"));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    if method == "GET" && body_len > 0 {
        file.seek(SeekFrom::Start(start))?;
        std::io::copy(&mut file.take(body_len), &mut out)?;
    }
    Ok(out.flush()?)
}

/// A short plain-text answer.
fn status(out: &mut TcpStream, code: &str, text: &str) -> Result<()> {
    let response = format!(
        "HTTP/1.1 {code}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    Ok(out.write_all(response.as_bytes())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_and_hidden_slashes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("public");
        std::fs::create_dir_all(root.join("sites/a")).unwrap();
        std::fs::write(root.join("index.html"), "home").unwrap();
        std::fs::write(root.join("sites/a/index.html"), "a").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "secret").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("link.txt")).unwrap();
        let root = root.canonicalize().unwrap();
        assert_eq!(resolve(&root, "/").unwrap(), root.join("index.html"));
        assert_eq!(resolve(&root, "/sites/a/?x=1").unwrap(), root.join("sites/a/index.html"));
        assert_eq!(resolve(&root, "/sites/%61/index.html").unwrap(), root.join("sites/a/index.html"));
        for bad in [
            "/../secret.txt",
            "/sites/../../secret.txt",
            "/%2e%2e/secret.txt",
            "/sites%2Fa/index.html",
            "/a%5c..",
            "/link.txt",
            "nohost",
            "/%zz",
            "/a%00",
        ] {
            assert_eq!(resolve(&root, bad), Err(Refusal::Forbidden), "{bad}");
        }
        assert_eq!(resolve(&root, "/missing.html"), Err(Refusal::NotFound));
    }

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(byte_range(None, 100), None);
        assert_eq!(byte_range(Some("bytes=0-9"), 100), Some(Ok((0, 9))));
        assert_eq!(byte_range(Some("bytes=90-"), 100), Some(Ok((90, 99))));
        assert_eq!(byte_range(Some("bytes=-10"), 100), Some(Ok((90, 99))));
        assert_eq!(byte_range(Some("bytes=50-500"), 100), Some(Ok((50, 99))));
        assert_eq!(byte_range(Some("bytes=100-"), 100), Some(Err(())));
        assert_eq!(byte_range(Some("bytes=0-1,5-6"), 100), None);
        assert_eq!(byte_range(Some("items=0-1"), 100), None);
    }

    #[test]
    fn website_files_get_their_types() {
        for (name, want) in [
            ("a.dzi", "application/xml"),
            ("m.glb", "model/gltf-binary"),
            ("info.json", "application/json"),
            ("x.JPG", "image/jpeg"),
        ] {
            assert_eq!(mime_type(Path::new(name)), want);
        }
    }
}
