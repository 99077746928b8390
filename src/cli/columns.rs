//! Plain-text tables for the CLI: columns as wide as their widest cell, two spaces
//! apart, no trailing blanks; `(no domains)` under the header when there are no rows.

use std::io::Write;

/// Writes the header and `rows`, each cell padded to its column's width (the last
/// column is not padded).
pub fn write_columns<const N: usize>(
    out: &mut impl Write,
    headers: [&str; N],
    rows: &[[String; N]],
) -> std::io::Result<()> {
    let mut widths = headers.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            l.push_str(cell);
            if i + 1 < cells.len() {
                l.push_str(&" ".repeat(w - cell.chars().count() + 2));
            }
        }
        l
    };
    writeln!(out, "{}", line(&headers.map(String::from)))?;
    for row in rows {
        writeln!(out, "{}", line(row))?;
    }
    if rows.is_empty() {
        writeln!(out, "(no domains)")?;
    }
    Ok(())
}
