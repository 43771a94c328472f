#include "launch/report/svg.h"

#include <fmt/format.h>

#include <cmath>

namespace ecps::launch::report {
namespace {

// A coordinate with two decimals (enough for a pixel grid, short text).
std::string P(double v) { return fmt::format("{:.2f}", v); }

std::string Attr(std::string_view name, std::string_view value) {
  if (value.empty()) return {};
  return fmt::format(" {}=\"{}\"", name, EscapeHtml(value));
}

std::string Tooltip(std::string_view text) {
  return text.empty() ? std::string() : fmt::format("<title>{}</title>", EscapeHtml(text));
}

}  // namespace

std::string EscapeHtml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

int DecimalsFor(double step) {
  if (!(step > 0) || !std::isfinite(step)) return 0;
  const int d = static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  return d < 0 ? 0 : (d > 8 ? 8 : d);
}

std::string FormatNumber(double v, int decimals) {
  if (!std::isfinite(v)) return v != v ? "n/a" : (v > 0 ? "∞" : "-∞");
  if (std::fabs(v) >= 1e6) return fmt::format("{:.4g}", v);
  if (std::fabs(v) < 0.5 * std::pow(10.0, -decimals)) v = 0;  // no "-0.00"
  return fmt::format("{:.{}f}", v, decimals);
}

Svg::Svg(double width, double height, std::string_view id, std::string_view title) {
  s_ = fmt::format(
      "<svg class=\"chart\"{} width=\"{}\" height=\"{}\" "
      "viewBox=\"0 0 {} {}\" role=\"img\">{}",
      Attr("data-chart", id), P(width), P(height), P(width), P(height), Tooltip(title));
}

void Svg::Line(double x1, double y1, double x2, double y2, std::string_view cls,
               std::string_view stroke) {
  s_ += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"{}{}/>", P(x1), P(y1), P(x2),
                    P(y2), Attr("class", cls), Attr("stroke", stroke));
}

void Svg::Rect(double x, double y, double w, double h, std::string_view cls, std::string_view fill,
               std::string_view tooltip) {
  s_ += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"{}{}>{}</rect>", P(x), P(y),
                    P(w), P(h), Attr("class", cls), Attr("fill", fill), Tooltip(tooltip));
}

void Svg::Circle(double x, double y, double r, std::string_view cls, std::string_view fill,
                 std::string_view tooltip) {
  s_ += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"{}\"{}{}>{}</circle>", P(x), P(y), P(r),
                    Attr("class", cls), Attr("fill", fill), Tooltip(tooltip));
}

void Svg::Polyline(const std::vector<std::pair<double, double>>& points, std::string_view cls,
                   std::string_view stroke, std::string_view tooltip) {
  std::string pts;
  for (const auto& [x, y] : points)
    pts += fmt::format("{}{},{}", pts.empty() ? "" : " ", P(x), P(y));
  s_ += fmt::format("<polyline points=\"{}\"{}{}", pts, Attr("class", cls), Attr("stroke", stroke));
  s_ += tooltip.empty() ? "/>" : ">" + Tooltip(tooltip) + "</polyline>";
}

void Svg::Text(double x, double y, std::string_view text, std::string_view cls,
               std::string_view anchor, double rotate) {
  const std::string turn =
      rotate == 0 ? std::string()
                  : fmt::format(" transform=\"rotate({} {} {})\"", P(rotate), P(x), P(y));
  s_ += fmt::format("<text x=\"{}\" y=\"{}\"{}{}{}>{}</text>", P(x), P(y), Attr("class", cls),
                    Attr("text-anchor", anchor), turn, EscapeHtml(text));
}

std::string Svg::Finish() { return std::move(s_) + "</svg>"; }

}  // namespace ecps::launch::report
