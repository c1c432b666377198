// Subcommands of the `nnlab` command line. Each lives in its own apps/cmd_<name>.cpp and registers
// itself with NNLAB_COMMAND; main() adds them all to the CLI11 parser. Commands report failures by
// throwing nnlab::Error (one-line message, exit status 1).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace nnlab::app {

struct Command {
  std::string name;
  std::string help;
  // Declare options on `sub` and set its callback.
  std::function<void(CLI::App& sub)> setup;
};

std::vector<Command>& commands();
bool add_command(Command c);

}  // namespace nnlab::app

#define NNLAB_COMMAND(name, help, setup_fn) \
  static const bool NNLAB_CMD_CONCAT(nnlab_command_, __LINE__) = ::nnlab::app::add_command({name, help, setup_fn})
#define NNLAB_CMD_CONCAT_INNER(a, b) a##b
#define NNLAB_CMD_CONCAT(a, b) NNLAB_CMD_CONCAT_INNER(a, b)
