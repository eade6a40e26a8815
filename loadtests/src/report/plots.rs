//! The report's plots, drawn as SVG by `plotters`: line charts with points, on log or
//! linear axes, with an optional goal line. The SVG carries its text as text (the browser
//! picks the font), so the plots need no font files and stay small.

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

/// Colours of the series, in order: ours first (blues and greens), then the reference.
pub const OURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(23, 190, 207),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(127, 127, 127),
];
pub const REFERENCE: [RGBColor; 2] = [RGBColor(214, 39, 40), RGBColor(255, 127, 14)];

/// One line.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
    /// Dashed-looking (thin) line for a second measure of the same system (p50 beside p99).
    pub thin: bool,
}

/// How an axis is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    Linear,
    Log,
    /// Percentiles: x is `-log10(1 - q)`, labelled as a percentile (HdrHistogram's plot).
    Percentile,
}

/// A chart: title, axis labels and scales, lines, and an optional horizontal goal line.
#[derive(Debug, Clone)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_scale: Scale,
    pub y_scale: Scale,
    pub series: Vec<Series>,
    pub goal: Option<(f64, String)>,
}

const SIZE: (u32, u32) = (860, 440);

impl Chart {
    /// The chart as an SVG document, or None when it has nothing to show.
    pub fn svg(&self) -> anyhow::Result<Option<String>> {
        let points: Vec<(f64, f64)> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .filter(|(x, y)| {
                (self.x_scale != Scale::Log || *x > 0.0) && (self.y_scale != Scale::Log || *y > 0.0)
            })
            .collect();
        if points.is_empty() {
            return Ok(None);
        }
        let mut ys: Vec<f64> = points.iter().map(|p| p.1).collect();
        if let Some((goal, _)) = self.goal {
            ys.push(goal);
        }
        let xs: Vec<f64> = points.iter().map(|p| p.0).collect();
        let x_range = range(&xs, self.x_scale);
        let y_range = range(&ys, self.y_scale);
        let mut svg = String::new();
        match (self.x_scale, self.y_scale) {
            (Scale::Log, Scale::Log) => self.draw(
                &mut svg,
                (x_range.0..x_range.1).log_scale(),
                (y_range.0..y_range.1).log_scale(),
            )?,
            (Scale::Log, _) => self.draw(
                &mut svg,
                (x_range.0..x_range.1).log_scale(),
                y_range.0..y_range.1,
            )?,
            (_, Scale::Log) => self.draw(
                &mut svg,
                x_range.0..x_range.1,
                (y_range.0..y_range.1).log_scale(),
            )?,
            _ => self.draw(&mut svg, x_range.0..x_range.1, y_range.0..y_range.1)?,
        }
        Ok(Some(svg))
    }

    fn draw<X, Y>(&self, svg: &mut String, x: X, y: Y) -> anyhow::Result<()>
    where
        X: AsRangedCoord<Value = f64>,
        Y: AsRangedCoord<Value = f64>,
        X::CoordDescType: ValueFormatter<f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(&self.title, ("sans-serif", 19))
            .margin(14)
            .x_label_area_size(46)
            .y_label_area_size(70)
            .build_cartesian_2d(x, y)
            .map_err(plot_error)?;
        let x_scale = self.x_scale;
        let x_format = move |v: &f64| match x_scale {
            Scale::Percentile => percentile_label(*v),
            _ => number_label(*v),
        };
        let y_format = |v: &f64| number_label(*v);
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .x_label_formatter(&x_format)
            .y_label_formatter(&y_format)
            .light_line_style(RGBColor(238, 238, 238))
            .bold_line_style(RGBColor(215, 215, 215))
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .draw()
            .map_err(plot_error)?;
        if let Some((goal, label)) = &self.goal {
            let (x0, x1) = (chart.x_range().start, chart.x_range().end);
            let red = RGBColor(200, 0, 0);
            chart
                .draw_series(LineSeries::new(
                    vec![(x0, *goal), (x1, *goal)],
                    red.mix(0.6).stroke_width(1),
                ))
                .map_err(plot_error)?
                .label(label.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], red.mix(0.6).stroke_width(1))
                });
        }
        for s in &self.series {
            let points: Vec<(f64, f64)> = s
                .points
                .iter()
                .copied()
                .filter(|(x, y)| {
                    x.is_finite()
                        && y.is_finite()
                        && (self.x_scale != Scale::Log || *x > 0.0)
                        && (self.y_scale != Scale::Log || *y > 0.0)
                })
                .collect();
            let color = s.color;
            let width = if s.thin { 1 } else { 2 };
            let style = if s.thin {
                color.mix(0.7).stroke_width(width)
            } else {
                color.stroke_width(width)
            };
            chart
                .draw_series(LineSeries::new(points.clone(), style))
                .map_err(plot_error)?
                .label(s.name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
            let radius = if s.thin { 2 } else { 3 };
            chart
                .draw_series(
                    points
                        .iter()
                        .map(|&p| Circle::new(p, radius, color.filled())),
                )
                .map_err(plot_error)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 13))
            .draw()
            .map_err(plot_error)?;
        root.present().map_err(plot_error)?;
        Ok(())
    }
}

fn plot_error<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow::anyhow!("plotting: {e}")
}

/// The axis range for `values`: padded, and on log axes spanning whole decades' halves.
fn range(values: &[f64], scale: Scale) -> (f64, f64) {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    match scale {
        Scale::Log => {
            let (lo, hi) = (min.max(1e-9), max.max(1e-9));
            (lo / 1.6, hi * 1.6)
        }
        Scale::Percentile => (0.0, max.max(1.0).ceil()),
        Scale::Linear => {
            let span = (max - min).abs().max(max.abs() * 0.1).max(1e-9);
            let lo = if min >= 0.0 && min - span * 0.1 < 0.0 {
                0.0
            } else {
                min - span * 0.05
            };
            (lo, max + span * 0.12)
        }
    }
}

/// 1,234 / 12.3 / 0.123: few digits, thousands grouped.
pub fn number_label(v: f64) -> String {
    let a = v.abs();
    if a >= 1000.0 {
        group_thousands(v.round() as i64)
    } else if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}").trim_end_matches(".0").to_string()
    } else if a >= 1.0 {
        format!("{v:.2}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        format!("{v:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

pub fn group_thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// The x of quantile `q` on a percentile axis.
pub fn percentile_x(q: f64) -> f64 {
    -(1.0 - q.min(0.99999)).log10()
}

/// `v` on a percentile axis as a percentile: 0 → 0%, 1 → 90%, 2 → 99%, 3 → 99.9%.
fn percentile_label(v: f64) -> String {
    let q = 100.0 * (1.0 - 10f64.powf(-v));
    let digits = (v.ceil() as i64 - 2).clamp(0, 4) as usize;
    format!("{q:.digits$}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_short_and_grouped() {
        assert_eq!(number_label(12_345.0), "12,345");
        assert_eq!(number_label(256.0), "256");
        assert_eq!(number_label(12.0), "12");
        assert_eq!(number_label(1.5), "1.5");
        assert_eq!(number_label(0.25), "0.25");
        assert_eq!(percentile_label(0.0), "0%");
        assert_eq!(percentile_label(2.0), "99%");
        assert_eq!(percentile_label(3.0), "99.9%");
        assert_eq!(percentile_label(1.0), "90%");
        assert_eq!(percentile_label(2.5), "99.7%");
        assert!((percentile_x(0.99) - 2.0).abs() < 1e-9);
    }

    #[test]
    fn a_chart_is_an_svg_with_its_title_and_series_names() {
        let chart = Chart {
            title: "Polls per second".into(),
            x_label: "in flight".into(),
            y_label: "polls/s".into(),
            x_scale: Scale::Log,
            y_scale: Scale::Log,
            series: vec![Series {
                name: "sogs-rs".into(),
                points: vec![(1.0, 900.0), (16.0, 7000.0), (256.0, 8000.0)],
                color: OURS[0],
                thin: false,
            }],
            goal: Some((5000.0, "goal".into())),
        };
        let svg = chart.svg().unwrap().unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        assert!(svg.contains("Polls per second") && svg.contains("sogs-rs"));
        let empty = Chart {
            series: vec![],
            ..chart
        };
        assert!(empty.svg().unwrap().is_none());
    }
}
