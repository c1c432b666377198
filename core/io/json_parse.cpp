#include "core/io/json_parse.hpp"

#include <string>

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

}  // namespace nnlab
