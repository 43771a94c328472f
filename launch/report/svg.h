// SVG text for the pipeline's report: an element writer whose every string goes through
// EscapeHtml, and the number formats of axes. What it writes is plain inline SVG (no
// scripts, fonts or external references), valid inside an HTML page.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ecps::launch::report {

/// `text` with & < > " ' replaced by entities: safe as HTML/SVG text and attribute value.
std::string EscapeHtml(std::string_view text);

/// A number for a label: `decimals` digits after the point, or 4 significant digits in
/// exponent form when |v| >= 1e6.
std::string FormatNumber(double v, int decimals);

/// Digits after the point that tick labels `step` apart need (0 for whole steps).
int DecimalsFor(double step);

/// Appends SVG elements to one <svg> element. Coordinates are in pixels of the viewBox;
/// `cls` names a class of the page's style sheet; `fill`/`stroke` colours are given
/// literally ("#0072B2") or left empty for the class's own.
class Svg {
 public:
  /// Opens <svg class="chart" data-chart="id" width height viewBox> with a <title>.
  Svg(double width, double height, std::string_view id, std::string_view title);

  void Line(double x1, double y1, double x2, double y2, std::string_view cls,
            std::string_view stroke = {});
  void Rect(double x, double y, double w, double h, std::string_view cls,
            std::string_view fill = {}, std::string_view tooltip = {});
  void Circle(double x, double y, double r, std::string_view cls, std::string_view fill = {},
              std::string_view tooltip = {});
  /// An open path through `points` (at least two).
  void Polyline(const std::vector<std::pair<double, double>>& points, std::string_view cls,
                std::string_view stroke = {}, std::string_view tooltip = {});
  /// Text at (x, y); anchor "start", "middle" or "end"; `rotate` degrees about (x, y).
  void Text(double x, double y, std::string_view text, std::string_view cls,
            std::string_view anchor = "middle", double rotate = 0);

  /// Closes the element and returns the whole text.
  std::string Finish();

 private:
  std::string s_;
};

}  // namespace ecps::launch::report
