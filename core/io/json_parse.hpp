// Parsing JSON that a stranger wrote: configs, --set values, checkpoint headers and metadata.
//
// nlohmann::json parses iteratively but copies, compares and prints nested values recursively, so a
// small file of nested brackets ("[[[[...", 200 KB) parses and then overflows the stack the first
// time it is copied. parse_json() refuses documents nested deeper than max_json_depth (nnlab's own
// files nest 5 levels) by throwing nlohmann::json::parse_error, the exception its callers already
// turn into their messages ("config.json: not valid JSON: ...").
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace nnlab {

inline constexpr int max_json_depth = 64;

nlohmann::json parse_json(std::string_view text, bool ignore_comments = false);

// What a JSON exception says, for a user: without the library's "[json.exception.parse_error.101] "
// tag, and with bytes that are not UTF-8 (an ill-formed file quoted in "last read") written as \xNN.
std::string json_error_text(const nlohmann::json::exception& e);

}  // namespace nnlab
