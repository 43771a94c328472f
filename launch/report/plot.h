// Charts as inline SVG for the pipeline's report: lines and points on numeric axes, grouped
// bars, heat maps and dendrograms. Each has a title, axes with ticks at 1, 2 or 5 x 10^k and
// labels, and a legend where there is more than one series. Every mark that shows data has
// class "mark" (tests count them); points that are not finite are left out, so a series may
// break.
#pragma once

#include <limits>
#include <string>
#include <vector>

namespace ecps::launch::report {

/// Ticks covering [lo, hi] about `target` intervals apart; lo == hi is widened to a range.
struct Ticks {
  double lo = 0, hi = 1, step = 1;
  std::vector<double> values;  ///< lo, lo + step, ..., hi
};
Ticks NiceTicks(double lo, double hi, int target);

constexpr double kAuto = std::numeric_limits<double>::quiet_NaN();  ///< range from the data

struct LineSeries {
  std::string name;
  std::vector<double> x, y;  ///< same length
  bool line = true;          ///< a line through the points
  bool points = false;       ///< a dot at each point
};

/// A labelled point (an operating threshold, say), drawn as a ring with its label.
struct Marker {
  std::string label;
  double x = 0, y = 0;
};

struct LineChart {
  std::string id;  ///< data-chart attribute, unique in the page
  std::string title, x_label, y_label;
  std::vector<LineSeries> series = {};
  std::vector<Marker> markers = {};
  bool diagonal = false;  ///< the line y = x (chance on ROC and gain, perfect calibration)
  double x_min = kAuto, x_max = kAuto, y_min = kAuto, y_max = kAuto;
  bool whole_x = false;  ///< x ticks at whole numbers only (epochs, iterations)
};
std::string RenderLineChart(const LineChart& chart);

struct BarSeries {
  std::string name;
  std::vector<double> values;  ///< one per category
};

/// Bars grouped by category, one colour per series; negative values hang below zero.
struct BarChart {
  std::string id, title, y_label;
  std::vector<std::string> categories;
  std::vector<BarSeries> series;
  int decimals = 3;  ///< of the value written on each bar
};
std::string RenderBarChart(const BarChart& chart);

/// A table of coloured cells: blue below zero, red above, white at zero, full colour from
/// |value| >= limit; each cell shows its value when there is room.
struct Heatmap {
  std::string id, title;
  std::vector<std::string> rows, columns;
  std::vector<double> values;  ///< rows x columns, row-major
  double limit = 2;
  std::string legend;  ///< what the colour means ("standard deviations from the mean")
};
std::string RenderHeatmap(const Heatmap& map);

/// A node of a binary tree: a leaf (left < 0) or a merge of two earlier nodes (indices).
struct DendrogramNode {
  int left = -1, right = -1;
  double height = 0;    ///< of the merge on the y axis; leaves sit at 0
  std::string label;    ///< leaves: written under the leaf
  std::string tooltip;  ///< the <title> of the node's mark
};

/// A tree drawn with its leaves along the bottom (ordered so that no links cross) and each
/// merge as a bracket at its height joining its children: one mark per leaf (a dot) and per
/// merge (a line of class "link"). Empty when the nodes are no single tree with the last
/// node as root (a child not earlier than its parent, used twice or left out).
struct Dendrogram {
  std::string id, title, x_label, y_label;
  std::vector<DendrogramNode> nodes = {};
};
std::string RenderDendrogram(const Dendrogram& tree);

}  // namespace ecps::launch::report
