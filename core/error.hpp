// Errors. Every failure the user can cause (bad config, bad data, bad checkpoint, wrong shapes)
// is thrown as one of these with a message that says what is wrong and where; the command line
// prints the message on one line and exits non-zero.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace nnlab {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct ConfigError : Error {
  using Error::Error;
};
struct DataError : Error {
  using Error::Error;
};
struct ShapeError : Error {
  using Error::Error;
};
struct CheckpointError : Error {
  using Error::Error;
};

// Edit distance between two names (insertions, deletions, substitutions, adjacent swaps).
std::size_t edit_distance(const std::string& a, const std::string& b);

// The candidate closest to `name`, or "" when none is close enough to be a plausible typo.
std::string nearest_name(const std::string& name, const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" or "", for appending to an error message.
std::string did_you_mean(const std::string& name, const std::vector<std::string>& candidates);

// "a, b, c" for error messages.
std::string join(const std::vector<std::string>& items, const std::string& sep = ", ");

}  // namespace nnlab
