//! Charts drawn on the server as SVG (charts-rs), to be put in a page as they are: no
//! script, readable in black and white (greys far apart, a legend, a data table beside
//! each on the page), and announced to screen readers by a title and a description the
//! root `<svg>` is labelled by.

use charts_rs::{BarChart, Color, LegendCategory, LineChart, Series};

/// Greys far enough apart to tell in black and white, lightest first.
const GREYS: [&str; 5] = ["#d9d9d9", "#a6a6a6", "#737373", "#404040", "#0d0d0d"];

/// What a chart shows.
pub struct Chart<'a> {
    /// Unique on the page: the title's and description's ids begin with it.
    pub id: &'a str,
    pub title: &'a str,
    /// What it shows, in a sentence or two (screen readers read it).
    pub desc: &'a str,
    /// The labels along the x axis, left to right.
    pub categories: Vec<String>,
    /// Each series: its name and a value per category (none: a gap).
    pub series: Vec<(String, Vec<Option<f32>>)>,
}

/// How a chart is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Bars, one per category, the series stacked on each other (amounts).
    Stacked,
    /// Bars side by side, one per series in each category (amounts).
    Grouped,
    /// A line per series, each with its own dashes (percentages).
    Lines,
}

/// Dashes of the lines, one per series, so they tell apart without colour.
const DASHES: [&str; 3] = ["", "8,4", "2,3"];

/// The chart drawn as `kind`.
pub fn draw(c: &Chart<'_>, kind: Kind) -> String {
    let series: Vec<Series> = c
        .series
        .iter()
        .zip(DASHES.iter().cycle())
        .map(|((name, values), dash)| {
            let mut s = Series::new(name.clone(), Vec::new());
            s.data = values.clone();
            match kind {
                Kind::Stacked => s.stack = Some("all".into()),
                Kind::Grouped => {}
                Kind::Lines => {
                    s.stroke_dash_array = Some(dash.to_string()).filter(|d| !d.is_empty());
                }
            }
            s
        })
        .collect();
    let svg = if kind == Kind::Lines {
        let mut chart = LineChart::new(series, c.categories.clone());
        chart.width = 640.0;
        chart.height = 320.0;
        // The darkest greys, two apart.
        chart.series.colors = GREYS
            .iter()
            .rev()
            .step_by(2)
            .map(|h| Color::from(*h))
            .collect();
        chart.svg()
    } else {
        let mut chart = BarChart::new(series, c.categories.clone());
        chart.width = 640.0;
        chart.height = 320.0;
        chart.legend.category = LegendCategory::Rect;
        chart.series.colors = GREYS
            .iter()
            .skip(1)
            .step_by(2)
            .chain(GREYS.iter().take(1))
            .map(|h| Color::from(*h))
            .collect();
        for y in &mut chart.y_axis_configs {
            // Thousands grouped: 1,500,000 rather than 1500000.
            y.formatter = Some("{t}".into());
        }
        chart.svg()
    };
    labelled(c, svg.unwrap_or_default())
}

/// `svg` with `role="img"`, scaled to its container, labelled by a title and a description
/// (escaped) whose ids begin with the chart's.
fn labelled(c: &Chart<'_>, svg: String) -> String {
    let Some(end) = svg.find('>') else {
        return String::new();
    };
    let (open, rest) = svg.split_at(end);
    let id = escape(c.id);
    format!(
        "{open} role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" preserveAspectRatio=\"xMinYMin meet\" style=\"max-width:100%;height:auto\">\n<title id=\"{id}-title\">{}</title>\n<desc id=\"{id}-desc\">{}</desc>{}",
        escape(c.title),
        escape(c.desc),
        rest.strip_prefix('>').unwrap_or(rest)
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart() -> Chart<'static> {
        Chart {
            id: "aging-clp",
            title: "Antigüedad <CLP>",
            desc: "Capital y recargos por tramo",
            categories: vec!["Al día".into(), "1–30 días".into()],
            series: vec![
                ("Capital".into(), vec![Some(1_500_000.0), Some(40_000.0)]),
                ("Recargos".into(), vec![Some(0.0), Some(2_000.0)]),
            ],
        }
    }

    #[test]
    fn a_chart_is_an_svg_labelled_by_its_title_and_description() {
        let svg = draw(&chart(), Kind::Stacked);
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains(r#"role="img" aria-labelledby="aging-clp-title aging-clp-desc""#));
        assert!(svg.contains(r#"<title id="aging-clp-title">Antigüedad &lt;CLP&gt;</title>"#));
        assert!(svg.contains(r#"<desc id="aging-clp-desc">Capital y recargos por tramo</desc>"#));
        // Its categories and legend are text in it; no script.
        assert!(svg.contains("1–30 días") && svg.contains("Recargos"));
        assert!(!svg.contains("<script"));
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn nothing_to_draw_is_still_a_chart() {
        let mut c = chart();
        c.series = vec![("Capital".into(), vec![Some(0.0), None])];
        for kind in [Kind::Stacked, Kind::Grouped, Kind::Lines] {
            let svg = draw(&c, kind);
            assert!(
                svg.starts_with("<svg") && svg.contains("<title"),
                "{kind:?}: {svg}"
            );
        }
    }

    #[test]
    fn lines_tell_apart_by_their_dashes() {
        let mut c = chart();
        c.series = vec![
            ("Vencido".into(), vec![Some(40.0), Some(33.3)]),
            ("CEI".into(), vec![Some(56.5), None]),
        ];
        let svg = draw(&c, Kind::Lines);
        assert!(svg.contains("stroke-dasharray=\"8,4\""), "{svg}");
        assert!(svg.contains("Vencido") && svg.contains("CEI"));
    }
}
