// nnlab: train, evaluate and compare neural networks from JSON configs.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>

#include "apps/cli/command.hpp"
#include "core/error.hpp"
#include "core/memory.hpp"

namespace nnlab::app {

std::vector<Command>& commands() {
  static std::vector<Command> c;
  return c;
}

bool add_command(Command c) {
  commands().push_back(std::move(c));
  return true;
}

void require_utf8(const std::string& what, const std::string& value) {
  if (!valid_utf8(value))
    throw ConfigError(what + " '" + printable(value) + "': not valid UTF-8 text (nnlab writes paths and names into "
                      "JSON files, which must be UTF-8; rename it)");
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
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // A usage mistake is an error like any other: one line, exit status 1, and where to look.
    std::fprintf(stderr, "nnlab: error: %s (see nnlab %s--help)\n", printable(e.what()).c_str(),
                 app.get_subcommands().empty() ? "" : (app.get_subcommands().front()->get_name() + " ").c_str());
    return exit_error;
  } catch (const Error& e) {
    std::fprintf(stderr, "nnlab: error: %s\n", printable(e.what()).c_str());
    return e.exit_status;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "nnlab: error: out of memory (%s)\n", available_memory_text().c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nnlab: error: %s\n", printable(e.what()).c_str());
    return 1;
  }
  return 0;
}
