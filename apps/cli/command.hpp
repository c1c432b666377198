// Subcommands of the `nnlab` command line. Each lives in its own apps/cmd_<name>.cpp and registers
// itself with NNLAB_COMMAND; main() adds them all to the CLI11 parser. Commands report failures by
// throwing nnlab::Error (one-line message, exit status 1).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "core/comm.hpp"

namespace nnlab::app {

struct Command {
  std::string name;
  std::string help;
  // Declare options on `sub` and set its callback.
  std::function<void(CLI::App& sub)> setup;
};

std::vector<Command>& commands();
bool add_command(Command c);

// Command-line text is bytes; what nnlab writes (config.json, metadata) is JSON, which must be
// UTF-8. A path or name given on the command line that is not is refused up front, naming it.
void require_utf8(const std::string& what, const std::string& value);

// The MPI job this process belongs to (main() joins it when an MPI launcher started nnlab:
// core/mpi/mpi.hpp), or this process alone. `nnlab train` trains data-parallel over it.
Communicator& job();

}  // namespace nnlab::app

#define NNLAB_COMMAND(name, help, setup_fn) \
  static const bool NNLAB_CMD_CONCAT(nnlab_command_, __LINE__) = ::nnlab::app::add_command({name, help, setup_fn})
#define NNLAB_CMD_CONCAT_INNER(a, b) a##b
#define NNLAB_CMD_CONCAT(a, b) NNLAB_CMD_CONCAT_INNER(a, b)
