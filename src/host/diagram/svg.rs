//! A minimal SVG writer: the shapes the pictures use, text escaped, one
//! standalone document with its own styles.
//!
//! Layer: host (std). Depends on nothing but `std`. Line styles (solid,
//! dashed, dotted, thick) carry the meaning; colour only repeats it, so a
//! picture printed in grey reads the same.

use std::fmt::Write as _;

/// An SVG document being drawn.
pub(crate) struct Svg {
    width: f64,
    height: f64,
    body: String,
}

/// Escape text for an XML text node or attribute.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Numbers as SVG wants them: short, no exponent.
fn n(v: f64) -> String {
    let v = if v.is_finite() { v } else { 0.0 };
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

impl Svg {
    /// An empty picture `width` by `height` pixels.
    pub(crate) fn new(width: f64, height: f64) -> Self {
        Svg {
            width,
            height,
            body: String::new(),
        }
    }

    /// Change its height (once the content is laid out).
    pub(crate) fn set_height(&mut self, height: f64) {
        self.height = height;
    }

    /// A straight line; `class` picks its style (see [`Svg::finish`]).
    pub(crate) fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, class: &str) {
        let _ = writeln!(
            self.body,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" class="{class}"/>"#,
            n(x1),
            n(y1),
            n(x2),
            n(y2)
        );
    }

    /// A line with an arrowhead at its end.
    pub(crate) fn arrow(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, class: &str) {
        let _ = writeln!(
            self.body,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" class="{class}" marker-end="url(#head)"/>"#,
            n(x1),
            n(y1),
            n(x2),
            n(y2)
        );
    }

    /// A rounded rectangle.
    pub(crate) fn rounded(&mut self, x: f64, y: f64, w: f64, h: f64, class: &str) {
        let _ = writeln!(
            self.body,
            r#"<rect x="{}" y="{}" width="{}" height="{}" rx="8" class="{class}"/>"#,
            n(x),
            n(y),
            n(w.max(0.0)),
            n(h.max(0.0))
        );
    }

    /// A circle.
    pub(crate) fn circle(&mut self, x: f64, y: f64, r: f64, class: &str) {
        let _ = writeln!(
            self.body,
            r#"<circle cx="{}" cy="{}" r="{}" class="{class}"/>"#,
            n(x),
            n(y),
            n(r)
        );
    }

    /// A path through `points`.
    pub(crate) fn polyline(&mut self, points: &[(f64, f64)], class: &str) {
        if points.is_empty() {
            return;
        }
        let list: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{},{}", n(*x), n(*y)))
            .collect();
        let _ = writeln!(
            self.body,
            r#"<polyline points="{}" class="{class}"/>"#,
            list.join(" ")
        );
    }

    /// Text; `anchor` is `start`, `middle` or `end`.
    pub(crate) fn text(&mut self, x: f64, y: f64, anchor: &str, class: &str, text: &str) {
        let _ = writeln!(
            self.body,
            r#"<text x="{}" y="{}" text-anchor="{anchor}" class="{class}" xml:space="preserve">{}</text>"#,
            n(x),
            n(y),
            escape(text)
        );
    }

    /// The document, with the styles every picture shares: `thin`,
    /// `solid`, `dashed`, `dotted`, `thick`, `box`, `shade`, `hi` (a
    /// highlighted path) and the text sizes `t` (normal), `s` (small),
    /// `b` (bold), `h` (heading), `m` (monospace).
    pub(crate) fn finish(self, title: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
        let _ = writeln!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">"#,
            w = n(self.width),
            h = n(self.height)
        );
        let _ = writeln!(out, "<title>{}</title>", escape(title));
        out.push_str(STYLE);
        let _ = writeln!(
            out,
            r##"<rect x="0" y="0" width="{}" height="{}" fill="#ffffff"/>"##,
            n(self.width),
            n(self.height)
        );
        out.push_str(&self.body);
        out.push_str("</svg>\n");
        out
    }
}

const STYLE: &str = r##"<defs>
<marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto">
<path d="M0,0 L10,5 L0,10 z" style="fill: #222; stroke: none;"/>
</marker>
</defs>
<style>
line, polyline, path { fill: none; stroke: #222; stroke-width: 1.4; }
.thin { stroke: #999; stroke-width: 0.8; }
.grid { stroke: #ddd; stroke-width: 0.8; }
.dashed { stroke-dasharray: 7 4; }
.dotted { stroke-dasharray: 2 3; }
.thick { stroke-width: 3; }
.lost { stroke-dasharray: 7 4; stroke: #b00; }
.rst { stroke-width: 3; stroke: #b00; }
.retx { stroke-dasharray: 7 4; stroke: #c60; }
.arp { stroke-dasharray: 2 3; stroke: #06c; }
.udp { stroke-dasharray: 10 3 2 3; stroke: #070; }
.hi { stroke: #000; stroke-width: 3.5; }
.hi2 { stroke: #000; stroke-width: 3.5; stroke-dasharray: 9 4; }
.box { fill: none; stroke: #444; stroke-width: 1.2; }
.shade { fill: #f2f2f2; stroke: #444; stroke-width: 1; }
.state { fill: #fff; stroke: #444; stroke-width: 1.2; }
.visited { fill: #e8e8e8; stroke: #000; stroke-width: 3; }
.mark { fill: #000; stroke: none; }
.dot { fill: #fff; stroke: #000; stroke-width: 1.2; }
.seg { fill: #000; stroke: #000; stroke-width: 2; }
text { font-family: "DejaVu Sans", Verdana, sans-serif; font-size: 12px; fill: #111; }
.s { font-size: 10px; }
.b { font-weight: bold; }
.h { font-size: 16px; font-weight: bold; }
.m { font-family: "DejaVu Sans Mono", monospace; font-size: 11px; white-space: pre; }
.ms { font-family: "DejaVu Sans Mono", monospace; font-size: 10px; white-space: pre; }
</style>
"##;

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(
            super::escape("a<b & \"c\"\u{1}"),
            "a&lt;b &amp; &quot;c&quot;\u{fffd}"
        );
    }
}
