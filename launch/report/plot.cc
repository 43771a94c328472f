#include "launch/report/plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "launch/report/svg.h"

namespace ecps::launch::report {
namespace {

// Okabe-Ito colours, told apart by colour-blind readers too.
constexpr const char* kPalette[] = {"#0072B2", "#E69F00", "#009E73",
                                    "#D55E00", "#CC79A7", "#56B4E9"};
const char* Colour(std::size_t i) { return kPalette[i % std::size(kPalette)]; }

constexpr double kWidth = 460, kHeight = 320;

// The plot area inside the chart, in pixels.
struct Frame {
  double left, top, width, height;
  double right() const { return left + width; }
  double bottom() const { return top + height; }
};

// Data values to pixels along one axis.
struct Scale {
  double d0, d1, r0, r1;
  double operator()(double v) const { return r0 + (v - d0) / (d1 - d0) * (r1 - r0); }
};

// Title on top; below it, when there is more than one name, a row of coloured keys.
// Returns the height used.
double TitleAndLegend(Svg& svg, double width, const std::string& title,
                      const std::vector<std::string>& names) {
  svg.Text(width / 2, 18, title, "title");
  if (names.size() < 2) return 28;
  double x = 12;
  for (std::size_t i = 0; i < names.size(); ++i) {
    svg.Rect(x, 28, 12, 8, "key", Colour(i));
    svg.Text(x + 16, 36, names[i], "legend", "start");
    x += 28 + 6.5 * static_cast<double>(names[i].size());
  }
  return 46;
}

// Grid lines and tick labels of the y axis, and its label turned upright.
void YAxis(Svg& svg, const Frame& f, const Ticks& t, const Scale& y, const std::string& label) {
  const int decimals = DecimalsFor(t.step);
  for (double v : t.values) {
    svg.Line(f.left, y(v), f.right(), y(v), v == 0 ? "zero" : "grid");
    svg.Text(f.left - 5, y(v) + 4, FormatNumber(v, decimals), "tick", "end");
  }
  svg.Text(14, f.top + f.height / 2, label, "axis-label", "middle", -90);
}

void XAxis(Svg& svg, const Frame& f, const Ticks& t, const Scale& x, const std::string& label) {
  const int decimals = DecimalsFor(t.step);
  for (double v : t.values) {
    svg.Line(x(v), f.top, x(v), f.bottom(), "grid");
    svg.Text(x(v), f.bottom() + 15, FormatNumber(v, decimals), "tick");
  }
  svg.Text(f.left + f.width / 2, f.bottom() + 34, label, "axis-label");
}

// The finite range of `values` ([0, 1] when none is), or the fixed ends where given.
std::pair<double, double> Range(const std::vector<double>& values, double fixed_lo,
                                double fixed_hi) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  return {std::isnan(fixed_lo) ? lo : fixed_lo, std::isnan(fixed_hi) ? hi : fixed_hi};
}

}  // namespace

Ticks NiceTicks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (hi < lo) std::swap(lo, hi);
  if (hi == lo) {
    const double pad = lo == 0 ? 1 : std::fabs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / std::max(target, 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  Ticks t;
  t.step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
  t.lo = std::floor(lo / t.step + 1e-9) * t.step;
  t.hi = std::ceil(hi / t.step - 1e-9) * t.step;
  const auto n = static_cast<int>(std::lround((t.hi - t.lo) / t.step));
  for (int i = 0; i <= n; ++i) t.values.push_back(t.lo + i * t.step);
  return t;
}

std::string RenderLineChart(const LineChart& c) {
  std::vector<double> xs, ys;
  std::vector<std::string> names;
  for (const auto& s : c.series) {
    xs.insert(xs.end(), s.x.begin(), s.x.end());
    ys.insert(ys.end(), s.y.begin(), s.y.end());
    names.push_back(s.name);
  }
  for (const auto& m : c.markers) {
    xs.push_back(m.x);
    ys.push_back(m.y);
  }
  const auto [x_lo, x_hi] = Range(xs, c.x_min, c.x_max);
  const auto [y_lo, y_hi] = Range(ys, c.y_min, c.y_max);
  Ticks xt = NiceTicks(x_lo, x_hi, 5);
  if (c.whole_x && xt.step < 1) {  // every whole number between the data's ends
    xt = Ticks{std::floor(x_lo), std::max(std::ceil(x_hi), std::floor(x_lo) + 1), 1, {}};
    for (double v = xt.lo; v <= xt.hi; v += 1) xt.values.push_back(v);
  }
  const Ticks yt = NiceTicks(y_lo, y_hi, 5);

  Svg svg(kWidth, kHeight, c.id, c.title);
  const double top = TitleAndLegend(svg, kWidth, c.title, names);
  const Frame f{62, top, kWidth - 62 - 16, kHeight - top - 44};
  const Scale x{xt.lo, xt.hi, f.left, f.right()}, y{yt.lo, yt.hi, f.bottom(), f.top};
  YAxis(svg, f, yt, y, c.y_label);
  XAxis(svg, f, xt, x, c.x_label);
  svg.Rect(f.left, f.top, f.width, f.height, "frame");
  if (c.diagonal) {
    const double a = std::max(xt.lo, yt.lo), b = std::min(xt.hi, yt.hi);
    if (a < b) svg.Line(x(a), y(a), x(b), y(b), "reference");
  }
  for (std::size_t i = 0; i < c.series.size(); ++i) {
    const LineSeries& s = c.series[i];
    std::vector<std::pair<double, double>> run;
    auto flush = [&] {
      if (s.line && run.size() >= 2) svg.Polyline(run, "mark series", Colour(i));
      if (s.line && run.size() == 1) svg.Circle(run[0].first, run[0].second, 3, "mark", Colour(i));
      run.clear();
    };
    for (std::size_t k = 0; k < std::min(s.x.size(), s.y.size()); ++k) {
      if (!std::isfinite(s.x[k]) || !std::isfinite(s.y[k])) {
        flush();
        continue;
      }
      run.emplace_back(x(s.x[k]), y(s.y[k]));
      if (s.points) {
        svg.Circle(x(s.x[k]), y(s.y[k]), 3.5, "mark", Colour(i),
                   fmt::format("{}: ({:.4g}, {:.4g})", s.name, s.x[k], s.y[k]));
      }
    }
    flush();
  }
  for (const auto& m : c.markers) {
    if (!std::isfinite(m.x) || !std::isfinite(m.y)) continue;
    svg.Circle(x(m.x), y(m.y), 5, "mark marker", {}, m.label);
    const bool left = x(m.x) > f.left + f.width * 0.6, above = y(m.y) > f.bottom() - 24;
    svg.Text(x(m.x) + (left ? -8 : 8), y(m.y) + (above ? -9 : 14), m.label, "marker-label",
             left ? "end" : "start");
  }
  return svg.Finish();
}

std::string RenderBarChart(const BarChart& c) {
  std::vector<double> all{0};
  std::vector<std::string> names;
  for (const auto& s : c.series) {
    all.insert(all.end(), s.values.begin(), s.values.end());
    names.push_back(s.name);
  }
  const auto [lo, hi] = Range(all, kAuto, kAuto);
  const Ticks yt = NiceTicks(lo, hi, 5);
  const std::size_t n = std::max<std::size_t>(c.categories.size(), 1);
  const double group = (kWidth - 62 - 16) / static_cast<double>(n);
  std::size_t longest = 0;
  for (const auto& cat : c.categories) longest = std::max(longest, cat.size());
  const bool turn = 6.0 * static_cast<double>(longest) > group;  // labels too wide to sit level
  const double bottom =
      turn ? 24 + 4.5 * static_cast<double>(std::min<std::size_t>(longest, 24)) : 40;

  Svg svg(kWidth, kHeight, c.id, c.title);
  const double top = TitleAndLegend(svg, kWidth, c.title, names);
  const Frame f{62, top, kWidth - 62 - 16, kHeight - top - bottom};
  const Scale y{yt.lo, yt.hi, f.bottom(), f.top};
  YAxis(svg, f, yt, y, c.y_label);
  svg.Rect(f.left, f.top, f.width, f.height, "frame");
  const double bar = group * 0.8 / static_cast<double>(std::max<std::size_t>(c.series.size(), 1));
  for (std::size_t k = 0; k < c.categories.size(); ++k) {
    const double x0 = f.left + group * static_cast<double>(k) + group * 0.1;
    const double cx = f.left + group * (static_cast<double>(k) + 0.5);
    if (turn) {
      svg.Text(cx + 3, f.bottom() + 10, c.categories[k], "tick", "end", -40);
    } else {
      svg.Text(cx, f.bottom() + 15, c.categories[k], "tick");
    }
    for (std::size_t i = 0; i < c.series.size(); ++i) {
      if (k >= c.series[i].values.size()) continue;
      const double v = c.series[i].values[k];
      if (!std::isfinite(v)) continue;
      const double bx = x0 + bar * static_cast<double>(i);
      svg.Rect(bx, std::min(y(v), y(0)), bar * 0.92, std::max(std::fabs(y(v) - y(0)), 0.5), "mark",
               Colour(i), fmt::format("{}, {}: {:.6g}", c.series[i].name, c.categories[k], v));
      if (bar >= 16) {
        svg.Text(bx + bar * 0.46, v >= 0 ? y(v) - 3 : y(v) + 11, FormatNumber(v, c.decimals),
                 "value");
      }
    }
  }
  return svg.Finish();
}

namespace {
// At most `max` bytes of `s`, cut before a UTF-8 character, with "…" when cut.
std::string Shortened(const std::string& s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t end = max - 1;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end) + "…";
}

// White at 0, towards blue below and red above; full colour at |t| = 1.
std::string Diverging(double t) {
  if (!std::isfinite(t)) return "#cccccc";
  t = std::clamp(t, -1.0, 1.0);
  const double r0 = t < 0 ? 0x21 : 0xB2, g0 = t < 0 ? 0x66 : 0x18, b0 = t < 0 ? 0xAC : 0x2B;
  const double a = std::fabs(t);
  auto mix = [a](double c) { return static_cast<int>(std::lround(255 + (c - 255) * a)); };
  return fmt::format("#{:02x}{:02x}{:02x}", mix(r0), mix(g0), mix(b0));
}
}  // namespace

std::string RenderHeatmap(const Heatmap& m) {
  const std::size_t rows = m.rows.size(), cols = std::max<std::size_t>(m.columns.size(), 1);
  const double cell = std::clamp(640.0 / static_cast<double>(cols), 18.0, 56.0);
  std::size_t row_chars = 0, col_chars = 0;
  for (const auto& r : m.rows) row_chars = std::max(row_chars, r.size());
  for (const auto& c : m.columns)
    col_chars = std::max(col_chars, std::min<std::size_t>(c.size(), 28));
  const double left = 12 + 6.5 * static_cast<double>(row_chars);
  const double key_width = 12 + 14 * 9 + 10 + 6 * static_cast<double>(m.legend.size());
  const double width = std::max(left + cell * static_cast<double>(cols) + 16, key_width);
  const double top = 58;
  const double height =
      top + cell * static_cast<double>(rows) + 14 + 5 * static_cast<double>(col_chars);
  Svg svg(width, height, m.id, m.title);
  svg.Text(width / 2, 18, m.title, "title");
  // The colour key: from -limit to +limit in nine steps.
  for (int i = 0; i < 9; ++i) svg.Rect(12 + 14.0 * i, 30, 14, 10, "key", Diverging((i - 4) / 4.0));
  svg.Text(12, 52, FormatNumber(-m.limit, 0), "tick", "start");
  svg.Text(12 + 14 * 4.5, 52, "0", "tick");
  svg.Text(12 + 14 * 9, 52, "+" + FormatNumber(m.limit, 0), "tick", "end");
  svg.Text(12 + 14 * 9 + 10, 39, m.legend, "legend", "start");
  const bool numbers = cell >= 34;
  for (std::size_t r = 0; r < rows; ++r) {
    const double y = top + cell * static_cast<double>(r);
    svg.Text(left - 6, y + cell / 2 + 4, m.rows[r], "tick", "end");
    for (std::size_t c = 0; c < m.columns.size(); ++c) {
      const double v = r * m.columns.size() + c < m.values.size()
                           ? m.values[r * m.columns.size() + c]
                           : std::numeric_limits<double>::quiet_NaN();
      const double x = left + cell * static_cast<double>(c);
      svg.Rect(x, y, cell - 1, cell - 1, "mark cell", Diverging(v / m.limit),
               fmt::format("{}, {}: {:.4g}", m.rows[r], m.columns[c], v));
      if (numbers) svg.Text(x + cell / 2, y + cell / 2 + 4, FormatNumber(v, 1), "cell-value");
    }
  }
  const double below = top + cell * static_cast<double>(rows) + 10;
  for (std::size_t c = 0; c < m.columns.size(); ++c) {
    const std::string& name = m.columns[c];
    svg.Text(left + cell * (static_cast<double>(c) + 0.5) + 3, below, Shortened(name, 28), "tick",
             "end", -45);
  }
  return svg.Finish();
}

std::string RenderDendrogram(const Dendrogram& d) {
  const std::size_t n = d.nodes.size();
  if (n == 0) return {};
  // Leaves in the order a left-first walk from the root meets them; every node met once.
  std::vector<double> slot(n, -1);
  std::vector<int> order;
  std::vector<bool> seen(n, false);
  std::size_t leaves = 0, merges = 0;
  for (std::vector<int> stack{static_cast<int>(n) - 1}; !stack.empty();) {
    const int i = stack.back();
    stack.pop_back();
    if (i < 0 || seen[i]) return {};
    seen[i] = true;
    const DendrogramNode& node = d.nodes[i];
    if (node.left < 0) {
      order.push_back(i);
      slot[i] = static_cast<double>(leaves++);
      continue;
    }
    if (node.left >= i || node.right < 0 || node.right >= i) return {};
    ++merges;
    stack.push_back(node.right);
    stack.push_back(node.left);
  }
  if (leaves + merges != n) return {};
  double top_height = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const DendrogramNode& node = d.nodes[i];
    if (node.left < 0) continue;
    slot[i] = (slot[node.left] + slot[node.right]) / 2;  // children come first
    if (std::isfinite(node.height)) top_height = std::max(top_height, node.height);
  }
  const Ticks yt = NiceTicks(0, top_height, 5);
  const double width = std::clamp(78 + 28 * static_cast<double>(leaves), kWidth, 1400.0);
  const double step = (width - 62 - 16) / static_cast<double>(leaves);
  std::size_t longest = 0;
  for (int i : order) longest = std::max(longest, d.nodes[i].label.size());
  const bool turn = 6.0 * static_cast<double>(longest) > step;  // labels too wide to sit level
  const double bottom = 44 + (turn ? 5.5 * static_cast<double>(longest) : 0);

  Svg svg(width, kHeight + bottom - 44, d.id, d.title);
  const double top = TitleAndLegend(svg, width, d.title, {});
  const Frame f{62, top, width - 62 - 16, kHeight - top - 44};
  const Scale y{yt.lo, yt.hi, f.bottom(), f.top};
  YAxis(svg, f, yt, y, d.y_label);
  svg.Rect(f.left, f.top, f.width, f.height, "frame");
  auto x = [&](int i) { return f.left + step * (slot[i] + 0.5); };
  auto h = [&](int i) {
    const double v = d.nodes[i].left < 0 ? 0.0 : d.nodes[i].height;
    return y(std::isfinite(v) ? v : 0.0);
  };
  for (std::size_t i = 0; i < n; ++i) {
    const DendrogramNode& node = d.nodes[i];
    if (node.left < 0) continue;
    const int self = static_cast<int>(i);
    svg.Polyline({{x(node.left), h(node.left)},
                  {x(node.left), h(self)},
                  {x(node.right), h(self)},
                  {x(node.right), h(node.right)}},
                 "mark series link", Colour(0), node.tooltip);
  }
  for (int i : order) {
    svg.Circle(x(i), f.bottom(), 3.5, "mark leaf", Colour(0), d.nodes[i].tooltip);
    if (turn) {
      svg.Text(x(i) + 4, f.bottom() + 10, d.nodes[i].label, "tick", "end", -90);
    } else {
      svg.Text(x(i), f.bottom() + 15, d.nodes[i].label, "tick");
    }
  }
  svg.Text(f.left + f.width / 2, f.bottom() + bottom - 10, d.x_label, "axis-label");
  return svg.Finish();
}

}  // namespace ecps::launch::report
