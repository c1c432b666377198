#include "core/io/json_parse.hpp"

#include <string>

#include "core/error.hpp"

namespace nnlab {

nlohmann::json parse_json(std::string_view text, bool ignore_comments) {
  using json = nlohmann::json;
  const json::parser_callback_t limit_depth = [](int depth, json::parse_event_t, json&) {
    if (depth > max_json_depth)
      throw json::parse_error::create(101, 0, "nested more than " + std::to_string(max_json_depth) + " levels deep",
                                      nullptr);
    return true;
  };
  return json::parse(text, limit_depth, /*allow_exceptions=*/true, ignore_comments);
}

std::string json_error_text(const nlohmann::json::exception& e) {
  std::string text = e.what();
  if (text.rfind("[json.exception.", 0) == 0) {
    const std::size_t end = text.find("] ");
    if (end != std::string::npos) text.erase(0, end + 2);
  }
  return printable(text);
}

}  // namespace nnlab
