// Checks of SVG text in tests: well-formed tags, and the numbers of its path data.
#pragma once

#include <algorithm>
#include <cctype>
#include <sstream>
#include <string>
#include <vector>

namespace nnlab::test {

// Minimal well-formedness check: tags nest and close properly, attribute quotes balance.
inline bool well_formed(const std::string& xml) {
  std::vector<std::string> stack;
  std::size_t i = 0;
  while ((i = xml.find('<', i)) != std::string::npos) {
    const std::size_t end = xml.find('>', i);
    if (end == std::string::npos) return false;
    const std::string tag = xml.substr(i + 1, end - i - 1);
    if (std::count(tag.begin(), tag.end(), '"') % 2 != 0) return false;
    if (tag.empty()) return false;
    if (tag[0] == '/') {
      if (stack.empty() || stack.back() != tag.substr(1)) return false;
      stack.pop_back();
    } else if (tag.back() != '/') {
      stack.push_back(tag.substr(0, tag.find_first_of(" \n")));
    }
    i = end + 1;
  }
  return stack.empty();
}

// Every number in the path data ("d" attributes) of an SVG.
inline std::vector<double> path_numbers(const std::string& svg) {
  std::vector<double> out;
  std::size_t i = 0;
  while ((i = svg.find(" d=\"", i)) != std::string::npos) {
    const std::size_t end = svg.find('"', i + 4);
    std::string d = svg.substr(i + 4, end - i - 4);
    for (char& c : d)
      if (std::isalpha(static_cast<unsigned char>(c))) c = ' ';
    std::stringstream ss(d);
    double v;
    while (ss >> v) out.push_back(v);
    i = end;
  }
  return out;
}

}  // namespace nnlab::test
