//! Safe text in pages: HTML escaping and JSON that may sit inside a
//! `<script type="application/json">` element.

/// `text` with the five HTML-special characters escaped, for element
/// content and quoted attribute values alike.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON of `value` that cannot close the script element holding it.
pub fn script_json(value: &serde_json::Value) -> String {
    value.to_string().replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

/// Fills `{{name}}` placeholders of a template in one pass, so text put
/// in is never read again as a placeholder; values are inserted as given
/// (escape them first), unknown placeholders are left as they are.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let value = after.find("}}").and_then(|end| {
            let name = &after[..end];
            values.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v, end))
        });
        match value {
            Some((value, end)) => {
                out.push_str(value);
                rest = &after[end + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_stays_text() {
        assert_eq!(
            escape("<script>alert('1')</script> & \""),
            "&lt;script&gt;alert(&#39;1&#39;)&lt;/script&gt; &amp; &quot;"
        );
        let json = script_json(&serde_json::json!({"t": "</script><b>"}));
        assert!(!json.contains("</script>") && !json.contains('<'), "{json}");
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["t"], "</script><b>");
        assert_eq!(fill("a {{x}} b {{x}}", &[("x", "1")]), "a 1 b 1");
        // Text put in is not filled again.
        assert_eq!(fill("{{x}}{{y}}", &[("x", "{{y}}"), ("y", "2")]), "{{y}}2");
        assert_eq!(fill("{{unknown}} {{", &[]), "{{unknown}} {{");
    }
}
