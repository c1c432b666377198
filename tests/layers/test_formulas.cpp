// Every registered layer and activation declares its formula and derivative (LayerEntry::formula,
// ::derivative, one line each), and the header comment of the file that registers it (the leading
// // lines of activations/<name>.cpp or layers/<name>.cpp) contains both word for word, after
// whitespace normalisation: the // prefixes removed, the lines joined with single spaces, runs of
// spaces collapsed. So `nnlab list` cannot print a formula the textbook page of the layer does not
// show, and a registration cannot lack one.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "core/registry.hpp"
#include "support/files.hpp"

using namespace nnlab;
using namespace nnlab::test;

namespace {

struct Source {
  fs::path path;
  std::string text;
};

// Every .cpp under activations/ and layers/ of the source tree, sorted by path.
std::vector<Source> registering_sources() {
  std::vector<Source> out;
  for (const char* dir : {"activations", "layers"})
    for (const auto& e : fs::directory_iterator(fs::path(NNLAB_SOURCE_DIR) / dir))
      if (e.is_regular_file() && e.path().extension() == ".cpp") out.push_back({e.path(), slurp(e.path())});
  std::sort(out.begin(), out.end(), [](const Source& a, const Source& b) { return a.path < b.path; });
  return out;
}

// Runs of blanks collapsed to one space, leading and trailing ones dropped.
std::string normalise(const std::string& s) {
  std::string out;
  bool blank = false;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      blank = true;
      continue;
    }
    if (blank && !out.empty()) out += ' ';
    blank = false;
    out += c;
  }
  return out;
}

// The file's leading // lines without their prefixes, joined with spaces and normalised.
std::string header_comment(const std::string& text) {
  std::string joined;
  std::size_t at = 0;
  while (at < text.size() && text.compare(at, 2, "//") == 0) {
    std::size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    joined += text.substr(at + 2, end - at - 2) + " ";
    at = end + 1;
  }
  return normalise(joined);
}

bool one_line(const std::string& s) { return s.find('\n') == std::string::npos && s.find('\r') == std::string::npos; }

}  // namespace

TEST_CASE("normalise and header_comment: what the formula check compares") {
  CHECK(normalise("  a   b\t\tc \n d  ") == "a b c d");
  CHECK(header_comment("// One\n//   y  = x\n//\n//   dy/dx = 1\n#include <x>\n// not the header\n") ==
        "One y = x dy/dx = 1");
  CHECK(header_comment("#include <x>\n// y = x\n").empty());
  // A formula wrapped over two comment lines still counts; a different spacing inside does too.
  CHECK(header_comment("//   y = a +\n//       b\n").find(normalise("y = a + b")) != std::string::npos);
}

TEST_CASE("every layer and activation has a one-line formula and derivative, both in its file's header comment") {
  const std::vector<Source> sources = registering_sources();
  REQUIRE(sources.size() >= 39);  // 28 activations and 11 layers when this test was written
  const auto entries = LayerRegistry::instance().all();
  REQUIRE(entries.size() >= 39);
  for (const LayerEntry* e : entries) {
    INFO("layer '" << e->name << "'");
    CHECK_MESSAGE(!e->formula.empty(), e->name << ": the registration has no .formula");
    CHECK_MESSAGE(!e->derivative.empty(), e->name << ": the registration has no .derivative");
    CHECK_MESSAGE(one_line(e->formula), e->name << ": .formula is more than one line: " << e->formula);
    CHECK_MESSAGE(one_line(e->derivative), e->name << ": .derivative is more than one line: " << e->derivative);

    const std::string key = ".name = \"" + e->name + "\"";
    std::vector<const Source*> found;
    for (const auto& s : sources)
      if (s.text.find(key) != std::string::npos) found.push_back(&s);
    if (found.size() != 1) {
      std::string files;
      for (const auto* s : found) files += " " + s->path.string();
      FAIL_CHECK(e->name << ": " << found.size() << " files under activations/ and layers/ contain '" << key
                         << "' (expected exactly one):" << files);
      continue;
    }
    const std::string file = fs::relative(found[0]->path, NNLAB_SOURCE_DIR).string();
    const std::string header = header_comment(found[0]->text);
    for (const auto& [what, text] : {std::pair<std::string, std::string>{"formula", e->formula}, {"derivative", e->derivative}}) {
      if (text.empty()) continue;
      CHECK_MESSAGE(header.find(normalise(text)) != std::string::npos,
                    e->name << ": the header comment of " << file << " does not contain its " << what << " \""
                            << text << "\" (compared with the // prefixes removed and the whitespace collapsed)");
    }
  }
}

TEST_CASE("every file under activations/ and layers/ that registers a layer is in the registry the check reads") {
  const auto names = LayerRegistry::instance().names();
  for (const auto& s : registering_sources()) {
    for (std::size_t at = s.text.find("NNLAB_REGISTER_LAYER("); at != std::string::npos;
         at = s.text.find("NNLAB_REGISTER_LAYER(", at + 1)) {
      const std::size_t name_at = s.text.find(".name = \"", at);
      REQUIRE_MESSAGE(name_at != std::string::npos, s.path.string() << ": NNLAB_REGISTER_LAYER without .name");
      const std::size_t begin = name_at + 9, end = s.text.find('"', begin);
      const std::string name = s.text.substr(begin, end - begin);
      CHECK_MESSAGE(std::find(names.begin(), names.end(), name) != names.end(),
                    s.path.string() << " registers '" << name << "', which this test program does not know");
    }
  }
}
