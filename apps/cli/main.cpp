// nnlab: train, evaluate and compare neural networks from JSON configs.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>

#include "apps/cli/command.hpp"
#include "core/error.hpp"
#include "core/memory.hpp"
#include "core/mpi/mpi.hpp"

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

namespace {
std::unique_ptr<MpiJob> g_job;
}  // namespace

Communicator& job() { return g_job ? g_job->comm() : local_process(); }

// Ends the program after an error: alone, with its exit status. In a job of several processes an
// agreed error (every process threw it at the same point) ends the job normally, rank 0 printing it;
// any other ends every process at once (MPI_Abort), this one saying which rank failed.
int fail(const std::string& message, int status, bool agreed) {
  const Communicator& c = job();
  if (c.size() > 1 && agreed) {
    if (c.rank() == 0) std::fprintf(stderr, "nnlab: error: %s\n", message.c_str());
    return status;
  }
  if (c.size() > 1) {
    std::fprintf(stderr, "nnlab: error: rank %d of %d: %s; stopping every rank of the job\n", c.rank(), c.size(),
                 message.c_str());
    std::fflush(stderr);
    g_job->abort(status);
  }
  std::fprintf(stderr, "nnlab: error: %s\n", message.c_str());
  return status;
}

}  // namespace nnlab::app

int main(int argc, char** argv) {
  using namespace nnlab;
  // Started by an MPI launcher: join the job (and only then: a plain start never touches MPI).
  if (const Launch launch = detect_launch(); !launch.launcher.empty()) {
    if (!built_with_mpi()) {
      if (launch.size > 1)
        return app::fail("started by " + launch.launcher + " as rank " + std::to_string(launch.rank) + " of " +
                             std::to_string(launch.size) + ", but this nnlab was built without MPI (install "
                             "libopenmpi-dev, e.g. with scripts/setup.sh, then configure and build again)",
                         exit_error, false);
    } else {
      try {
        app::g_job = std::make_unique<MpiJob>();
      } catch (const Error& e) {
        return app::fail(printable(e.what()), e.exit_status, false);  // not in a job: said plainly
      }
      // Only rank 0 reports: the others train the same steps in silence (their errors still print).
      if (app::job().rank() > 0) spdlog::set_level(spdlog::level::err);
    }
  }
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
    return app::fail(printable(e.what()), e.exit_status, e.agreed);
  } catch (const std::bad_alloc&) {
    return app::fail("out of memory (" + available_memory_text() + ")", 1, false);
  } catch (const std::exception& e) {
    return app::fail(printable(e.what()), 1, false);
  }
  return 0;
}
