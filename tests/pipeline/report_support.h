// Text checks of report.html shared by the report tests.
#pragma once

#include <cstddef>
#include <string>

namespace ecps::testing {

/// How many times `part` occurs in `text` (overlaps count).
inline std::size_t Count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto p = text.find(part); p != std::string::npos; p = text.find(part, p + 1)) ++n;
  return n;
}

/// The <svg> element of the chart `id` in `html` ("" when there is none).
inline std::string ChartSvg(const std::string& html, const std::string& id) {
  const auto begin = html.find("<svg class=\"chart\" data-chart=\"" + id + "\"");
  if (begin == std::string::npos) return {};
  return html.substr(begin, html.find("</svg>", begin) + 6 - begin);
}

}  // namespace ecps::testing
