//! Plain text tables for terminal summaries.

/// Formats rows as left-aligned columns separated by two spaces; the
/// first row is the header, underlined.
pub fn render(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width = |c: usize| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns).map(width).collect();
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| format!("{cell}{}", " ".repeat(widths[c] - cell.chars().count())))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
        if i == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            out.push_str(&rule.join("  "));
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_line_up_with_vietnamese_text() {
        let rows =
            vec![vec!["site".to_string(), "photos".to_string()], vec!["Nhà Tổng Thận".to_string(), "24".to_string()]];
        let text = super::render(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "site           photos");
        assert_eq!(lines[1], "-------------  ------");
        assert_eq!(lines[2], "Nhà Tổng Thận  24");
    }
}
