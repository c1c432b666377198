// Errors. Every failure the user can cause (bad config, bad data, bad checkpoint, wrong shapes)
// is thrown as one of these with a message that says what is wrong and where; the command line
// prints the message on one line and exits non-zero.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace nnlab {

// Exit statuses of the command line (docs/errors.md):
//   0                 success
//   1                 an error: bad config, data, checkpoint, an I/O failure (the message says what, where)
//   3                 training diverged (NaN/Inf); the checkpoint of the last completed epoch is kept
//   128 + signal      interrupted by SIGINT (130, Ctrl-C) or SIGTERM (143) after finishing the current
//                     batch; the checkpoint of the last completed epoch is kept for --resume
inline constexpr int exit_error = 1;
inline constexpr int exit_diverged = 3;

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
  Error(const std::string& message, int status) : std::runtime_error(message), exit_status(status) {}
  int exit_status = exit_error;  // what the command line exits with
  // Thrown by every process of a data-parallel job at the same point, by agreement (a stop request,
  // divergence): the job ends normally. Any other error of one process ends the whole job at once.
  bool agreed = false;
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

// Whether `text` is well-formed UTF-8 (what JSON text must be: configs, metadata, class names).
bool valid_utf8(const std::string& text);
// `text` for a one-line message: every byte that is not part of well-formed UTF-8 written as \xNN,
// and control characters as \n, \r, \t or \xNN, so that a key, value or path a message quotes can
// neither split it, nor plant a line that looks like another ("nnlab: error: ..."), nor end it
// early (a NUL, where the message is read as a C string).
std::string printable(const std::string& text);

// "relu, elu , tanh" -> {"relu", "elu", "tanh"}: items separated by `sep`, spaces trimmed, empty items dropped.
std::vector<std::string> split_list(const std::string& text, char sep = ',');

}  // namespace nnlab
