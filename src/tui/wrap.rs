//! Word wrapping by display width, for panes whose long lines must not be cut off
//! (a failure's reason, an alert, a confirmation's plan).

use ratatui::text::Span;

/// Display columns of `s`.
pub fn width(s: &str) -> usize {
    Span::raw(s).width()
}

/// `text` in lines of at most `width` columns, broken at spaces; a word longer than a
/// line is split. Lines after the first start with `indent` spaces (a hanging indent),
/// counted in the width. Always at least one line.
pub fn wrap(text: &str, width: usize, indent: usize) -> Vec<String> {
    let width = width.max(1);
    let indent = indent.min(width - 1);
    let limit = |lines: usize| if lines == 0 { width } else { width - indent };
    // Leading spaces stay (an indented plan line), as far as the line allows.
    let body = text.trim_start_matches(' ');
    let lead = (text.len() - body.len()).min(width - 1);
    let mut lines: Vec<String> = Vec::new();
    let mut cur = " ".repeat(lead);
    let mut cur_w = lead;
    let mut has_word = false;
    for word in body.split(' ') {
        let ww = self::width(word);
        let sep = usize::from(has_word);
        if cur_w + sep + ww <= limit(lines.len()) {
            if has_word {
                cur.push(' ');
            }
            cur.push_str(word);
            cur_w += sep + ww;
            has_word = true;
            continue;
        }
        if has_word {
            lines.push(std::mem::take(&mut cur));
            cur_w = 0;
        }
        for ch in word.chars() {
            let mut buf = [0u8; 4];
            let cw = self::width(ch.encode_utf8(&mut buf));
            if cur_w + cw > limit(lines.len()) && cur_w > 0 {
                lines.push(std::mem::take(&mut cur));
                cur_w = 0;
            }
            cur.push(ch);
            cur_w += cw;
        }
        has_word = true;
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    let pad = " ".repeat(indent);
    for l in lines.iter_mut().skip(1) {
        l.insert_str(0, &pad);
    }
    lines
}

/// Columns of an activity line before its text: `HH:MM:SS STATUS  `.
pub const ACTIVITY_LEAD: usize = 17;

/// An activity entry's text in the pane's lines (`width`: inside its borders): the
/// first after the time and status, the rest from the second column.
pub fn activity_pieces(text: &str, width: usize) -> Vec<String> {
    let first = width.saturating_sub(ACTIVITY_LEAD).max(8);
    let mut out = wrap(text, first, 0);
    if out.len() > 1 {
        let rest = out[1..].join(" ");
        out.truncate(1);
        let rest = wrap(&rest, width.saturating_sub(2).max(8), 0);
        out.extend(rest.into_iter().map(|l| format!("  {l}")));
    }
    out
}

#[cfg(test)]
#[path = "wrap_tests.rs"]
mod tests;
