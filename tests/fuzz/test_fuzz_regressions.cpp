// Replays the fuzzers' inputs through the same target code (tests/fuzz/fuzz_targets.cpp), in the
// normal suite and under ASan/UBSan in CI:
//
//   tests/fuzz/corpus/<target>/*        the seed corpus: valid files nnlab's writers produced; each
//                                       must be accepted by its loader (by at least one, for the
//                                       targets that run several readers on an input: checkpoint,
//                                       done; by the only one, without any error, for the others)
//   tests/fuzz/regressions/<target>/*   inputs that once crashed or misled a parser. Each has a
//                                       companion <name>.expect: its first line is text the
//                                       nnlab::Error message must contain, or "accepted"
//
// Any other exception type fails the test (the fuzzers treat it as a crash, and so does this).
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <typeinfo>

#include "support/files.hpp"
#include "tests/fuzz/fuzz_targets.hpp"

using namespace nnlab;
using namespace nnlab::test;

namespace {

const fs::path fuzz_dir = fs::path(NNLAB_SOURCE_DIR) / "tests" / "fuzz";

std::vector<fs::path> inputs(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() != ".expect" && e.path().filename() != "README.md")
      out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string first_line(const fs::path& p) {
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  return line;
}

// Run the target; an exception other than the nnlab::Error the target catches fails the check.
fuzz::Outcome replay(const fuzz::Target& t, const fs::path& file) {
  const auto bytes = read_bytes(file);
  try {
    return t.run(bytes);
  } catch (const std::exception& e) {
    FAIL_CHECK(file.string() << ": " << typeid(e).name() << " escaped the loader: " << e.what());
  } catch (...) {
    FAIL_CHECK(file.string() << ": a non-std exception escaped the loader");
  }
  return {};
}

}  // namespace

TEST_CASE("fuzz seed corpus: every seed is valid input its loader accepts") {
  for (const auto& t : fuzz::targets()) {
    const auto files = inputs(fuzz_dir / "corpus" / t.name);
    CAPTURE(t.name);
    CHECK(files.size() >= 4);
    for (const auto& f : files) {
      CAPTURE(f.filename().string());
      const fuzz::Outcome o = replay(t, f);
      CHECK(o.accepted >= 1);
      const std::string name = t.name;
      if (name != "checkpoint" && name != "done") CHECK(o.errors.empty());
    }
  }
  // The checkpoint seeds: checkpoints resume and weights files evaluate, each in one of the two loaders.
  const auto& ck = fuzz::target("checkpoint");
  const fuzz::Outcome resume = replay(ck, fuzz_dir / "corpus" / "checkpoint" / "checkpoint_epoch2.safetensors");
  const fuzz::Outcome weights = replay(ck, fuzz_dir / "corpus" / "checkpoint" / "model.safetensors");
  CHECK(resume.accepted == 1);
  CHECK(weights.accepted == 1);
  // The done seeds: each record is accepted by exactly the reader it was written for.
  const auto& done = fuzz::target("done");
  CHECK(replay(done, fuzz_dir / "corpus" / "done" / "done_ok.json").accepted == 1);
  CHECK(replay(done, fuzz_dir / "corpus" / "done" / "attempt_interrupted.json").accepted == 1);
  CHECK(replay(done, fuzz_dir / "corpus" / "done" / "last_sweep.json").accepted == 1);
  // Every target has a seed corpus (a target added without one would be fuzzed from nothing).
  CHECK(fuzz::targets().size() == 7);
}

TEST_CASE("fuzz regressions: every kept input gets its clean nnlab::Error") {
  std::size_t replayed = 0;
  for (const auto& t : fuzz::targets()) {
    for (const auto& f : inputs(fuzz_dir / "regressions" / t.name)) {
      CAPTURE(f.string());
      const fs::path expect_file = f.string() + ".expect";
      REQUIRE_MESSAGE(fs::exists(expect_file), "each regression input needs a " << expect_file.filename().string());
      const std::string expect = first_line(expect_file);
      REQUIRE(!expect.empty());
      const fuzz::Outcome o = replay(t, f);
      for (const auto& m : o.errors) CHECK(!m.empty());
      if (expect == "accepted") {
        CHECK(o.accepted >= 1);
      } else {
        const bool found = std::any_of(o.errors.begin(), o.errors.end(),
                                       [&](const std::string& m) { return m.find(expect) != std::string::npos; });
        CHECK_MESSAGE(found, "no error message contains '" << expect << "'; got: "
                                 << (o.errors.empty() ? std::string("(accepted)") : o.errors.front()));
      }
      ++replayed;
    }
  }
  MESSAGE(replayed << " regression inputs replayed");
  CHECK(replayed > 0);  // an empty or missing tests/fuzz/regressions must fail, not pass vacuously
}
