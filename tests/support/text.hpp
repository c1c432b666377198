// Small string checks the tests share.
#pragma once

#include <sstream>
#include <string>
#include <vector>

namespace nnlab::test {

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
inline bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// How often `what` occurs in `text` (overlapping occurrences counted).
inline int count_of(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The lines of `text` (without their newlines).
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) out.push_back(line);
  return out;
}

// The fields of one line of unquoted CSV.
inline std::vector<std::string> csv_cells(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream ss(line);
  for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
  return cells;
}

// A metrics.csv text without its wall-time column (the sixth, "seconds"), which legitimately
// differs between runs; every other cell kept, each followed by a comma.
inline std::string metrics_without_time(const std::string& csv) {
  std::string out;
  for (const auto& line : lines_of(csv)) {
    const auto cells = csv_cells(line);
    for (std::size_t i = 0; i < cells.size(); ++i)
      if (i != 5) out += cells[i] + ",";
    out += "\n";
  }
  return out;
}

}  // namespace nnlab::test
