//! Bar and line charts.

use image::RgbImage;
use plotters::prelude::*;

use crate::{PlotError, Result, ensure_font};

pub(crate) const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

pub(crate) fn draw_err(title: &str) -> impl Fn(String) -> PlotError + '_ {
    move |message| PlotError::Draw {
        title: title.to_owned(),
        message,
    }
}

pub(crate) fn into_image(buf: Vec<u8>, width: u32, height: u32) -> RgbImage {
    RgbImage::from_raw(width, height, buf).expect("plotters fills width × height × 3 bytes")
}

/// A horizontal bar chart: one bar per label, longest at the top as listed.
#[derive(Debug, Clone)]
pub struct BarChart {
    pub title: String,
    pub labels: Vec<String>,
    pub values: Vec<f64>,
    /// Caption of the value axis.
    pub value_label: String,
    /// Fixed value range; `None` fits the data (from 0, or from the lowest value when
    /// some are negative). Bars grow from 0 when 0 is in the range, else from its low end.
    pub range: Option<(f64, f64)>,
}

impl BarChart {
    pub fn new(title: impl Into<String>, labels: Vec<String>, values: Vec<f64>) -> Self {
        BarChart {
            title: title.into(),
            labels,
            values,
            value_label: String::new(),
            range: None,
        }
    }

    pub fn value_label(mut self, label: impl Into<String>) -> Self {
        self.value_label = label.into();
        self
    }

    pub fn range(mut self, lo: f64, hi: f64) -> Self {
        self.range = Some((lo, hi));
        self
    }

    pub fn render(&self, width: u32, height: u32) -> Result<RgbImage> {
        if self.labels.len() != self.values.len() || self.labels.is_empty() {
            return Err(PlotError::Input(format!(
                "bar chart `{}`: {} labels for {} values",
                self.title,
                self.labels.len(),
                self.values.len()
            )));
        }
        ensure_font();
        let err = draw_err(&self.title);
        let mut buf = vec![0u8; (width * height * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
            let (lo, hi) = self.range.unwrap_or_else(|| {
                let max = self.values.iter().cloned().fold(0.0_f64, f64::max);
                let min = self.values.iter().cloned().fold(0.0_f64, f64::min);
                let pad = 0.1 * (max - min);
                (
                    if min < 0.0 { min - pad } else { 0.0 },
                    if max > 0.0 { max + pad } else { 1.0 },
                )
            });
            let base = 0.0_f64.clamp(lo, hi);
            let n = self.labels.len();
            let label_width = self
                .labels
                .iter()
                .map(|l| l.chars().count())
                .max()
                .unwrap_or(1) as u32
                * 8
                + 10;
            let mut chart = ChartBuilder::on(&root)
                .caption(&self.title, ("sans-serif", 18))
                .margin(10)
                .x_label_area_size(if self.value_label.is_empty() { 25 } else { 40 })
                .y_label_area_size(label_width.min(width / 2))
                // A segmented 0..k axis has k + 1 rows: 0..n-1 gives exactly n (a single
                // bar needs 0..1, one row too many, which plotters cannot avoid).
                .build_cartesian_2d(lo..hi, (0..n.saturating_sub(1).max(1)).into_segmented())
                .map_err(|e| err(e.to_string()))?;
            let labels = self.labels.clone();
            let span = hi - lo;
            let decimals = if span >= 10.0 {
                0
            } else if span >= 1.0 {
                1
            } else {
                2
            };
            chart
                .configure_mesh()
                .disable_y_mesh()
                .x_labels(6)
                .x_label_formatter(&|v| format!("{v:.decimals$}"))
                .x_desc(self.value_label.as_str())
                .y_labels(n)
                .y_label_formatter(&|seg| match seg {
                    // Rows are drawn bottom-up; plotters also asks past the last row.
                    SegmentValue::CenterOf(i) => (n - 1)
                        .checked_sub(*i)
                        .and_then(|row| labels.get(row))
                        .cloned()
                        .unwrap_or_default(),
                    _ => String::new(),
                })
                .label_style(("sans-serif", 13))
                .draw()
                .map_err(|e| err(e.to_string()))?;
            chart
                .draw_series(self.values.iter().enumerate().map(|(i, v)| {
                    let row = n - 1 - i;
                    let mut bar = Rectangle::new(
                        [
                            (base, SegmentValue::Exact(row)),
                            (*v, SegmentValue::Exact(row + 1)),
                        ],
                        PALETTE[0].filled(),
                    );
                    bar.set_margin(3, 3, 0, 0);
                    bar
                }))
                .map_err(|e| err(e.to_string()))?;
            root.present().map_err(|e| err(e.to_string()))?;
        }
        Ok(into_image(buf, width, height))
    }
}

/// Colours of [`LineChart`] markers: dark and distinct from the series palette.
const MARKER_PALETTE: [RGBColor; 3] = [
    RGBColor(60, 60, 60),
    RGBColor(200, 30, 60),
    RGBColor(20, 130, 60),
];

/// One named line of a [`LineChart`].
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// A labelled vertical marker, e.g. the step where early stopping kept the best model.
#[derive(Debug, Clone)]
pub struct VLine {
    pub x: f64,
    pub label: String,
}

/// The corner of the plot that holds a chart's legend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Corner {
    #[default]
    UpperRight,
    LowerRight,
    UpperLeft,
    LowerLeft,
}

/// Lines over a shared x axis (training curves, sweeps).
#[derive(Debug, Clone, Default)]
pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    pub markers: Vec<VLine>,
    /// Plot y on a log scale (all values must be positive).
    pub log_y: bool,
    /// Plot x on a log scale (all values must be positive), e.g. a number of steps.
    pub log_x: bool,
    /// Where the legend goes: the corner the lines leave free.
    pub legend: Corner,
    /// A fixed y range, instead of one fitted to the data (which moves with every run).
    pub y_range: Option<(f64, f64)>,
}

impl LineChart {
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Self {
        LineChart {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            ..Default::default()
        }
    }

    /// A reliability diagram: accuracy against confidence (the top probability), with the
    /// diagonal of perfect calibration and the legend in the lower right, which the curves
    /// of an over- or under-confident model leave free. Add curves with
    /// [`LineChart::calibration_curve`].
    pub fn reliability(title: impl Into<String>) -> Self {
        LineChart::new(title, "confidence (top probability)", "accuracy")
            .series("perfectly calibrated", vec![(0.0, 0.0), (1.0, 1.0)])
            .legend(Corner::LowerRight)
    }

    /// Adds a reliability curve from confidence bins `(mean confidence, accuracy, images)`,
    /// leaving out bins of fewer than [`LineChart::MIN_BIN_IMAGES`] images (a few images
    /// make a jagged line of noise), and no curve at all when no bin is left.
    pub fn calibration_curve(
        self,
        name: impl Into<String>,
        bins: impl IntoIterator<Item = (f64, f64, usize)>,
    ) -> Self {
        let points: Vec<(f64, f64)> = bins
            .into_iter()
            .filter(|&(_, _, n)| n >= Self::MIN_BIN_IMAGES)
            .map(|(confidence, accuracy, _)| (confidence, accuracy))
            .collect();
        if points.is_empty() {
            return self;
        }
        self.series(name, points)
    }

    /// The fewest images a bin of [`LineChart::calibration_curve`] needs to be drawn.
    pub const MIN_BIN_IMAGES: usize = 10;

    /// What the chart writes that its data does not set: title, axis labels, then the
    /// legend's series and markers in their order (not the tick values). For
    /// `tinycats_notebook::chaotic_image`, which holds a chaotic figure's text to the
    /// committed one's.
    pub fn texts(&self) -> Vec<String> {
        [&self.title, &self.x_label, &self.y_label]
            .into_iter()
            .cloned()
            .chain(self.series.iter().map(|s| s.name.clone()))
            .chain(self.markers.iter().map(|m| m.label.clone()))
            .filter(|t| !t.is_empty())
            .collect()
    }

    pub fn series(mut self, name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        self.series.push(Series {
            name: name.into(),
            points,
        });
        self
    }

    pub fn marker(mut self, x: f64, label: impl Into<String>) -> Self {
        self.markers.push(VLine {
            x,
            label: label.into(),
        });
        self
    }

    /// A logarithmic y axis. Its ticks fall on powers of 10, so it suits data spanning more
    /// than a decade; within one decade a linear axis shows more ticks.
    pub fn log_y(mut self, on: bool) -> Self {
        self.log_y = on;
        self
    }

    /// Puts the legend in `corner` (upper right by default), where it hides no line.
    pub fn legend(mut self, corner: Corner) -> Self {
        self.legend = corner;
        self
    }

    /// Fixes the y axis to `lo..hi` (points outside are clipped at the frame): the same axes
    /// for every run, so that two runs' figures differ only where their curves do.
    pub fn y_range(mut self, lo: f64, hi: f64) -> Self {
        self.y_range = Some((lo, hi));
        self
    }

    /// A logarithmic x axis, for sweeps over powers of two such as step counts.
    pub fn log_x(mut self, on: bool) -> Self {
        self.log_x = on;
        self
    }

    pub fn render(&self, width: u32, height: u32) -> Result<RgbImage> {
        let all: Vec<(f64, f64)> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .collect();
        if all.is_empty() || all.iter().any(|(x, y)| !x.is_finite() || !y.is_finite()) {
            return Err(PlotError::Input(format!(
                "line chart `{}`: no points, or a NaN/inf point",
                self.title
            )));
        }
        if (self.log_y && all.iter().any(|(_, y)| *y <= 0.0))
            || (self.log_x && all.iter().any(|(x, _)| *x <= 0.0))
        {
            return Err(PlotError::Input(format!(
                "line chart `{}`: log scale needs positive values",
                self.title
            )));
        }
        ensure_font();
        let err = draw_err(&self.title);
        let (x0, x1) = bounds(all.iter().map(|p| p.0));
        let (y0, y1) = match self.y_range {
            Some((lo, hi)) if lo.is_finite() && hi.is_finite() && lo < hi => (lo, hi),
            Some((lo, hi)) => {
                return Err(PlotError::Input(format!(
                    "line chart `{}`: y range {lo}..{hi} is empty or not finite",
                    self.title
                )));
            }
            None => bounds(all.iter().map(|p| p.1)),
        };
        let mut buf = vec![0u8; (width * height * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
            let mut builder = ChartBuilder::on(&root);
            builder
                .caption(&self.title, ("sans-serif", 18))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(60);
            macro_rules! draw {
                ($chart:expr) => {{
                    let mut chart = $chart.map_err(|e| err(e.to_string()))?;
                    chart
                        .configure_mesh()
                        .x_desc(self.x_label.as_str())
                        .y_desc(self.y_label.as_str())
                        .x_label_formatter(&|v| tick_label(*v))
                        .y_label_formatter(&|v| tick_label(*v))
                        .label_style(("sans-serif", 13))
                        .draw()
                        .map_err(|e| err(e.to_string()))?;
                    for (i, s) in self.series.iter().enumerate() {
                        let color = PALETTE[i % PALETTE.len()];
                        chart
                            .draw_series(LineSeries::new(
                                s.points.iter().copied(),
                                color.stroke_width(2),
                            ))
                            .map_err(|e| err(e.to_string()))?
                            .label(s.name.as_str())
                            .legend(move |(x, y)| {
                                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                            });
                    }
                    for (i, m) in self.markers.iter().enumerate() {
                        // Dark, 2 px and coloured, so that a marker stands out from the grid.
                        let color = MARKER_PALETTE[i % MARKER_PALETTE.len()];
                        chart
                            .draw_series(std::iter::once(PathElement::new(
                                vec![(m.x, y0), (m.x, y1)],
                                color.stroke_width(2),
                            )))
                            .map_err(|e| err(e.to_string()))?
                            .label(m.label.as_str())
                            .legend(move |(x, y)| {
                                PathElement::new(
                                    vec![(x + 9, y - 6), (x + 9, y + 6)],
                                    color.stroke_width(2),
                                )
                            });
                    }
                    chart
                        .configure_series_labels()
                        .background_style(WHITE.mix(0.85))
                        .border_style(BLACK.mix(0.3))
                        .label_font(("sans-serif", 13))
                        .position(match self.legend {
                            Corner::UpperRight => SeriesLabelPosition::UpperRight,
                            Corner::LowerRight => SeriesLabelPosition::LowerRight,
                            Corner::UpperLeft => SeriesLabelPosition::UpperLeft,
                            Corner::LowerLeft => SeriesLabelPosition::LowerLeft,
                        })
                        .draw()
                        .map_err(|e| err(e.to_string()))?;
                }};
            }
            match (self.log_x, self.log_y) {
                (false, false) => draw!(builder.build_cartesian_2d(x0..x1, y0..y1)),
                (false, true) => draw!(builder.build_cartesian_2d(x0..x1, (y0..y1).log_scale())),
                (true, false) => draw!(builder.build_cartesian_2d((x0..x1).log_scale(), y0..y1)),
                (true, true) => {
                    draw!(builder.build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale()))
                }
            }
            root.present().map_err(|e| err(e.to_string()))?;
        }
        Ok(into_image(buf, width, height))
    }
}

/// Min and max, widened when they coincide so the axis has a span.
fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if lo == hi {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    }
}

/// An axis label with no more digits than it needs: `300`, `0.25`, `1.5`, `0.012`.
pub(crate) fn tick_label(v: f64) -> String {
    if v == v.round() && v.abs() < 1e9 {
        return format!("{v:.0}");
    }
    let decimals = (2 - v.abs().log10().floor() as i32).clamp(0, 8) as usize;
    let s = format!("{v:.decimals$}");
    let s = s.trim_end_matches('0');
    s.trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn non_white(img: &RgbImage) -> usize {
        img.pixels().filter(|p| p.0 != [255, 255, 255]).count()
    }

    #[test]
    fn a_reliability_diagram_keeps_only_bins_with_enough_images() {
        let chart = LineChart::reliability("reliability")
            .calibration_curve("model", [(0.35, 0.2, 9), (0.55, 0.5, 10), (0.95, 0.7, 400)])
            .calibration_curve("empty", [(0.5, 0.5, 3)]);
        let names: Vec<&str> = chart.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["perfectly calibrated", "model"]);
        assert_eq!(chart.series[0].points, [(0.0, 0.0), (1.0, 1.0)]);
        assert_eq!(chart.series[1].points, [(0.55, 0.5), (0.95, 0.7)]);
        assert_eq!(chart.legend, Corner::LowerRight);
        assert!(chart.render(320, 200).is_ok());
    }

    #[test]
    fn a_line_chart_s_texts_are_its_labels_legend_and_markers_not_its_data() {
        let chart = LineChart::new("loss", "step", "")
            .series("train", vec![(0.0, 2.0), (10.0, 1.0)])
            .series("val", vec![(10.0, 1.5)])
            .marker(10.0, "best");
        assert_eq!(chart.texts(), ["loss", "step", "train", "val", "best"]);
        let other_run = LineChart::new("loss", "step", "")
            .series("train", vec![(0.0, 3.0), (10.0, 0.5)])
            .series("val", vec![(10.0, 0.7)])
            .marker(10.0, "best");
        assert_eq!(other_run.texts(), chart.texts(), "the numbers are not text");
    }

    #[test]
    fn a_bar_chart_draws_bars_and_text() {
        let img = BarChart::new(
            "top-5",
            vec!["Bombay".into(), "Persian".into()],
            vec![0.9, 0.1],
        )
        .range(0.0, 1.0)
        .render(320, 200)
        .unwrap();
        assert_eq!(img.dimensions(), (320, 200));
        // The first palette colour fills the bars.
        let blue = img.pixels().filter(|p| p.0 == [31, 119, 180]).count();
        assert!(blue > 1000, "{blue} bar pixels");
        assert!(non_white(&img) > blue, "labels and axes are drawn too");
    }

    #[test]
    fn negative_bars_grow_left_from_zero() {
        let img = BarChart::new("logits", vec!["a".into(), "b".into()], vec![4.0, -4.0])
            .render(400, 200)
            .unwrap();
        let blue = |x: u32, y: u32| img.get_pixel(x, y).0 == [31, 119, 180];
        // The fitted range is symmetric, so 0 sits mid-plot; find each bar's extent on
        // the rows through the bars' middles.
        let extent = |y: u32| {
            let xs: Vec<u32> = (0..400).filter(|&x| blue(x, y)).collect();
            (xs[0], *xs.last().unwrap())
        };
        let rows: Vec<u32> = (0..200).filter(|&y| (0..400).any(|x| blue(x, y))).collect();
        let (top, bottom) = (extent(rows[0] + 2), extent(*rows.last().unwrap() - 2));
        // "a" (+4) starts where "b" (−4) ends: both grow from the zero line.
        assert!(top.0.abs_diff(bottom.1) <= 2, "a {top:?}, b {bottom:?}");
        assert!(top.1 > top.0 + 50 && bottom.1 > bottom.0 + 50);
    }

    #[test]
    fn tick_labels_use_the_digits_they_need() {
        assert_eq!(tick_label(300.0), "300");
        assert_eq!(tick_label(50.0), "50");
        assert_eq!(tick_label(0.25), "0.25");
        assert_eq!(tick_label(1.5), "1.5");
        assert_eq!(tick_label(0.0123), "0.0123");
        assert_eq!(tick_label(0.125), "0.125");
    }

    #[test]
    fn mismatched_bar_input_is_an_error() {
        let err = BarChart::new("t", vec!["a".into()], vec![])
            .render(100, 100)
            .unwrap_err();
        assert!(err.to_string().contains("1 labels for 0 values"), "{err}");
    }

    #[test]
    fn line_charts_refuse_nan_and_nonpositive_log() {
        let nan = LineChart::new("t", "x", "y")
            .series("a", vec![(0.0, f64::NAN)])
            .render(100, 100);
        assert!(nan.is_err());
        let log = LineChart::new("t", "x", "y")
            .series("a", vec![(0.0, 0.0)])
            .log_y(true)
            .render(100, 100);
        assert!(log.is_err());
        let log_x = LineChart::new("t", "x", "y")
            .series("a", vec![(0.0, 1.0)])
            .log_x(true)
            .render(100, 100);
        assert!(log_x.is_err());
        let ok = LineChart::new("loss", "step", "loss")
            .series("train", vec![(0.0, 1.0), (1.0, 0.5), (2.0, 0.25)])
            .marker(1.0, "best")
            .log_y(true)
            .render(300, 200)
            .unwrap();
        assert!(non_white(&ok) > 500);
    }

    #[test]
    fn a_fixed_y_range_draws_the_same_frame_for_different_data() {
        let chart = |top: f64| {
            LineChart::new("loss", "step", "loss")
                .series("train", vec![(0.0, top), (10.0, 0.4)])
                .y_range(0.0, 2.6)
                .render(300, 200)
                .unwrap()
        };
        let (a, b) = (chart(2.4), chart(1.9));
        // The axes' tick labels and grid are the same; only the line differs.
        let grey_differs = a
            .pixels()
            .zip(b.pixels())
            .filter(|(p, q)| {
                let grey = |x: &image::Rgb<u8>| x.0[0] == x.0[1] && x.0[1] == x.0[2];
                grey(p) && grey(q) && p != q
            })
            .count();
        assert!(grey_differs < 50, "{grey_differs} grey pixels differ");
        assert_ne!(a, b);
        let empty = LineChart::new("t", "x", "y")
            .series("a", vec![(0.0, 1.0)])
            .y_range(1.0, 1.0)
            .render(100, 100);
        assert!(empty.unwrap_err().to_string().contains("y range 1..1"));
    }
}
