// nnlab: train, evaluate and compare neural networks from JSON configs.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>

#include "apps/cli/command.hpp"
#include "core/error.hpp"

namespace nnlab::app {

std::vector<Command>& commands() {
  static std::vector<Command> c;
  return c;
}

bool add_command(Command c) {
  commands().push_back(std::move(c));
  return true;
}

}  // namespace nnlab::app

int main(int argc, char** argv) {
  using namespace nnlab;
  CLI::App app{"nnlab: neural networks with hand-derived gradients, trained from JSON configs"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "nnlab 0.1.0");
  auto cmds = app::commands();
  std::sort(cmds.begin(), cmds.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  for (auto& c : cmds) {
    CLI::App* sub = app.add_subcommand(c.name, c.help);
    c.setup(*sub);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const Error& e) {
    std::fprintf(stderr, "nnlab: error: %s\n", e.what());
    return e.exit_status;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nnlab: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
