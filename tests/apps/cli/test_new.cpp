// nnlab new activation, run as the built binary on a scratch copy of the files it touches: the
// three files it writes and what they hold, the doc entry's place, and every refusal (nothing is
// written, nothing overwritten). scripts/test_new_activation.sh builds a scaffolded activation in
// a full copy of the tree and gradient-checks it.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "support/files.hpp"
#include "support/run_binary.hpp"

using namespace nnlab::test;

namespace {

// The part of the source tree `nnlab new` reads and writes.
fs::path scratch_tree(const fs::path& dir) {
  const fs::path root = dir / "tree", src = NNLAB_SOURCE_DIR;
  fs::create_directories(root / "activations");
  fs::create_directories(root / "core");
  fs::create_directories(root / "tests" / "activations");
  fs::create_directories(root / "docs");
  fs::copy_file(src / "activations" / "elementwise.hpp", root / "activations" / "elementwise.hpp");
  fs::copy_file(src / "core" / "registry.hpp", root / "core" / "registry.hpp");
  fs::copy_file(src / "docs" / "activations.md", root / "docs" / "activations.md");
  return root;
}

}  // namespace

TEST_CASE("nnlab new activation writes the source, the test and a doc entry; f and f' start as the identity") {
  TempDir dir("new");
  const fs::path root = scratch_tree(dir.path);
  const std::string doc_before = slurp(root / "docs" / "activations.md");
  auto r = run_nnlab({"new", "activation", "isru", "--params", "alpha=1", "--root", root.string()}, dir.path);
  INFO(r.output());
  REQUIRE(r.status == 0);
  const std::string src = slurp(root / "activations" / "isru.cpp");
  CHECK(src.find("class Isru final : public Elementwise<T>") != std::string::npos);
  CHECK(src.find("alpha_(static_cast<T>(a.number(\"alpha\")))") != std::string::npos);
  CHECK(src.find(".params = {number(\"alpha\", 1, ") != std::string::npos);
  CHECK(src.find("NNLAB_REGISTER_LAYER(Isru, {.name = \"isru\"") != std::string::npos);
  CHECK(src.find("//   f(x)  = x        TODO: your formula, in terms of x and alpha") != std::string::npos);
  CHECK(src.find("y = x;  // TODO: f(x)") != std::string::npos);
  CHECK(src.find("dx = dy;  // TODO: dy * f'(x)") != std::string::npos);
  // The registration's one-line formula and derivative are the identity's, and the top comment has
  // both word for word (what tests/layers/test_formulas.cpp checks for every registered layer).
  CHECK(src.find(".summary = \"TODO: isru in one line, with its formula\",\n                       .formula = \"y = x\",") !=
        std::string::npos);
  CHECK(src.find(".derivative = \"dy/dx = 1\",") != std::string::npos);
  CHECK(src.find("//   tests/layers/test_formulas.cpp checks): y = x;  dy/dx = 1") != std::string::npos);
  const std::string test = slurp(root / "tests" / "activations" / "isru.cpp");
  CHECK(test.find("gradcheck_activation(\"isru\")") != std::string::npos);
  CHECK(test.find("check_float32_finite(\"isru\")") != std::string::npos);
  const std::string doc = slurp(root / "docs" / "activations.md");
  const auto heading = doc.find("## Added with `nnlab new`"), entry = doc.find("### isru"), kinks = doc.find("## Conventions at kinks");
  REQUIRE(heading != std::string::npos);
  CHECK(heading < entry);
  CHECK(entry < kinks);
  CHECK(doc.find("* Parameters: `alpha` (default 1).") != std::string::npos);
  CHECK(doc.size() > doc_before.size());
  CHECK(r.out.find("next: cmake --build build && build/nnlab list activations && build/nnlab gradcheck isru") != std::string::npos);

  // A second one goes under the same heading, after the first; a name with _ gets a CamelCase class.
  r = run_nnlab({"new", "activation", "soft_clip", "--root", root.string()}, dir.path);
  REQUIRE(r.status == 0);
  const std::string doc2 = slurp(root / "docs" / "activations.md");
  CHECK(doc2.find("## Added with `nnlab new`") == doc2.rfind("## Added with `nnlab new`"));  // one heading
  CHECK(doc2.find("### isru") < doc2.find("### soft_clip"));
  CHECK(doc2.find("### soft_clip") < doc2.find("## Conventions at kinks"));
  CHECK(slurp(root / "activations" / "soft_clip.cpp").find("class SoftClip final") != std::string::npos);
  CHECK(slurp(root / "activations" / "soft_clip.cpp").find("Parameters: none.") != std::string::npos);
}

TEST_CASE("nnlab new refuses, writing nothing: an existing file, a registered name, a bad name or parameter, not a tree") {
  TempDir dir("new");
  const fs::path root = scratch_tree(dir.path);
  write_text(root / "activations" / "mine.cpp", "// my own work\n");
  const std::string doc = slurp(root / "docs" / "activations.md");
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"mine"}, "activations/mine.cpp exists; nothing was written (it is never overwritten)"},
      {{"relu"}, "'relu' is already an activation"},
      {{"dense"}, "'dense' is already the name of a layer"},
      {{"Isru"}, "'Isru' is not a valid name: lower-case letters, digits and _"},
      {{"2x"}, "'2x' is not a valid name"},
      {{"a-b"}, "'a-b' is not a valid name"},
      {{"isru", "--params", "alpha"}, "--params: 'alpha' is not name=value"},
      {{"isru", "--params", "alpha=one"}, "--params: alpha=one: the default must be a finite number"},
      {{"isru", "--params", "alpha=1,alpha=2"}, "--params: 'alpha' is given twice"},
      {{"isru", "--params", "learnable=1"}, "'learnable' is reserved"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"new", "activation"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    args.insert(args.end(), {"--root", root.string()});
    const auto r = run_nnlab(args, dir.path);
    INFO(c.args[0] << " -> " << r.err);
    CHECK(r.status == 1);
    CHECK(r.err.find(c.message) != std::string::npos);
  }
  CHECK(slurp(root / "activations" / "mine.cpp") == "// my own work\n");
  CHECK(slurp(root / "docs" / "activations.md") == doc);
  CHECK_FALSE(fs::exists(root / "activations" / "isru.cpp"));
  CHECK_FALSE(fs::exists(root / "tests" / "activations" / "isru.cpp"));
  // Not in a source tree; an unknown kind.
  auto r = run_nnlab({"new", "activation", "isru", "--root", dir.path.string()}, dir.path);
  CHECK(r.status == 1);
  CHECK(r.err.find("not found: run it in the nnlab source tree (or give --root DIR)") != std::string::npos);
  r = run_nnlab({"new", "optimizer", "lion", "--root", root.string()}, dir.path);
  CHECK(r.status == 1);
  CHECK(r.err.find("only 'activation'") != std::string::npos);
}
