// metrics.jsonl text without its wall-time field, for comparing two runs' metrics byte for byte.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "support/text.hpp"

namespace nnlab::test {

inline std::string jsonl_without_time(const std::string& text) {
  std::string out;
  for (const auto& line : lines_of(text)) {
    nlohmann::json j = nlohmann::json::parse(line);
    j.erase("seconds");
    out += j.dump() + "\n";
  }
  return out;
}

}  // namespace nnlab::test
