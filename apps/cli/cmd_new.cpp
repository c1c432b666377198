// nnlab new activation NAME [--params a=1,b=2] [--root DIR]
//
// Scaffolds a new activation in the source tree at DIR (default: the current directory, which must
// be an nnlab checkout): three files, as every activation has them (docs/architecture.md, "adding
// an activation"):
//
//   activations/NAME.cpp        the textbook page: formula and derivative comment to fill in, f()
//                               and df() with the saved input and output wired, the parameters
//                               declared with their defaults, the registry line (its .formula and
//                               .derivative the comment's one-line forms, "y = x" and "dy/dx = 1")
//   tests/activations/NAME.cpp  values at known points (to replace with yours), the gradient check
//                               at random and edge points, float32 finiteness at extreme inputs
//   docs/activations.md         an entry under "Added with nnlab new"
//
// Until the TODOs are filled in, f and f' are the identity, so the project builds, `nnlab list`
// shows NAME and `nnlab gradcheck NAME` passes: the learner replaces a working function, one step
// at a time, with the checker watching. Refused (nothing written): a name that is not a lower-case
// identifier, a name already registered, a file that exists (never overwritten), bad --params.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "apps/cli/command.hpp"
#include "core/error.hpp"
#include "core/io/fileio.hpp"
#include "core/registry.hpp"

namespace nnlab::app {
namespace {

namespace fs = std::filesystem;

struct NewArgs {
  std::string kind;
  std::string name;
  std::string params;
  std::string root = ".";
};

struct NewParam {
  std::string name;
  std::string value;  // as written, validated as a number
};

bool identifier(const std::string& s) {
  if (s.empty() || s.size() > 40 || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return s.back() != '_';
}

// isru -> Isru, leaky_x -> LeakyX.
std::string class_name(const std::string& name) {
  std::string out;
  bool up = true;
  for (char c : name) {
    if (c == '_') {
      up = true;
      continue;
    }
    out += up && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
    up = false;
  }
  return out;
}

std::vector<NewParam> parse_params(const std::string& text) {
  std::vector<NewParam> out;
  std::set<std::string> seen;
  for (const auto& item : split_list(text)) {
    const auto eq = item.find('=');
    if (eq == std::string::npos)
      throw ConfigError("--params: '" + item + "' is not name=value (e.g. --params alpha=1,beta=0.5)");
    NewParam p{item.substr(0, eq), item.substr(eq + 1)};
    if (!identifier(p.name))
      throw ConfigError("--params: '" + p.name + "' is not a parameter name (lower-case letters, digits and _, starting with a letter)");
    if (p.name == "learnable" || p.name == "type")
      throw ConfigError("--params: '" + p.name + "' is reserved (\"type\" names the layer; \"learnable\" is a switch, not a number)");
    if (!seen.insert(p.name).second) throw ConfigError("--params: '" + p.name + "' is given twice");
    try {
      std::size_t used = 0;
      const double v = std::stod(p.value, &used);
      if (used != p.value.size() || !std::isfinite(v)) throw std::invalid_argument("x");
    } catch (const std::exception&) {
      throw ConfigError("--params: " + p.name + "=" + p.value + ": the default must be a finite number");
    }
    out.push_back(p);
  }
  return out;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

const char* kSource = R"TPL(// {{name}}: TODO: what it is and where it comes from (a paper, the PyTorch module if there is one).
//
//   f(x)  = x        TODO: your formula{{param_formula}}
//   f'(x) = 1        TODO: its derivative, derived by hand (docs/backprop.md shows how)
//
//   In one line, as .formula and .derivative of the registration below have them (word for word:
//   tests/layers/test_formulas.cpp checks): y = x;  dy/dx = 1      TODO: yours
//
// Backward uses TODO: the saved input x, or the saved output y when f' is simplest in terms of y.
//{{param_doc}}
// Range, monotonicity, smoothness, zero-centred or not: TODO (docs/activations.md lists them for
// every activation). Stability in float32: TODO: which inputs could overflow or cancel, and how the
// forward and backward avoid it (tests/activations/{{name}}.cpp checks extreme inputs).
//
// Scaffolded by `nnlab new activation {{name}}`. Until the TODOs are replaced, f and f' are the
// identity, so the project builds, `nnlab list activations` shows {{name}} and `nnlab gradcheck {{name}}`
// passes. Then: write f in f() and f' in df() (`nnlab gradcheck {{name}}` diagnoses a wrong one),
// the PyTorch expression in .reference.torch and regenerate tests/data/activations_reference.json
// with /usr/bin/python3 tools/torch_reference.py, your values in tests/activations/{{name}}.cpp,
// and the entry in docs/activations.md.
#include "activations/elementwise.hpp"

namespace nnlab {
namespace {

template <typename T>
class {{Class}} final : public Elementwise<T> {
 public:
  using typename Elementwise<T>::Array;
  using typename Elementwise<T>::In;
  using typename Elementwise<T>::Out;
  {{Class}}(const Args& {{args_name}}, const BuildContext& c) : Elementwise<T>(c){{member_init}} {}
  std::string type() const override { return "{{name}}"; }

 protected:
  // y = f(x), element by element.
  void f(In x, Out y) const override {
    y = x;  // TODO: f(x)
  }
  // dx = dy * f'(x), element by element; x is the saved input, y the saved output.
  void df(In x, In y, In dy, Out dx) const override {
    (void)x, (void)y;
    dx = dy;  // TODO: dy * f'(x)
  }
{{members}}};

}  // namespace

NNLAB_REGISTER_LAYER({{Class}}, {.name = "{{name}}",
                       .kind = LayerKind::elementwise,
                       .summary = "TODO: {{name}} in one line, with its formula",
                       .formula = "y = x",         // TODO: f in one line, as in the comment at the top
                       .derivative = "dy/dx = 1",  // TODO: f' in one line (then "; dL/dθ = ..." for a learnable θ), as at the top
                       .params = {{{param_specs}}},
                       .reference = {.torch = "x"}});  // TODO: the PyTorch expression of f, e.g. "x / torch.sqrt(1 + alpha * x * x)"

}  // namespace nnlab
)TPL";

const char* kTest = R"TPL(// {{name}}: values at known points, the gradient check, float32 stability.
#include "support/activation_checks.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("{{name}}: values at known points") {
  // TODO: f(x) and f'(x) worked out by hand at these points (these are the identity's, which the
  // scaffold computes until you replace it: this test fails as soon as f changes, on purpose).
  const double xs[] = {-3, -1, 0, 0.5, 2};
  for (double x : xs) {
    const auto [y, d] = value_and_derivative("{{name}}", x);
    INFO("x = " << x);
    CHECK(y == doctest::Approx(x).epsilon(1e-12));
    CHECK(d == doctest::Approx(1.0).epsilon(1e-12));
  }
}

TEST_CASE("{{name}}: gradient check at random and edge points") {
  gradcheck_activation("{{name}}");            // uniform in [-3, 3] plus 0, ±1e-4, ±1, ±20, ±100
  gradcheck_activation("{{name}}", {}, -50, 50);
}

TEST_CASE("{{name}}: finite in float32 for extreme inputs") { check_float32_finite("{{name}}"); }
)TPL";

const char* kDocHeading = "## Added with `nnlab new`";

const char* kDoc = R"TPL(### {{name}}

TODO: what it is. File: `activations/{{name}}.cpp`.

* f(x) = TODO; f′(x) = TODO. **Backward uses TODO.**
* Range TODO; monotonic TODO; smooth TODO; zero-centred TODO.
* Parameters: {{param_list}}.
* When to use: TODO.

)TPL";

void write_new(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw Error(path.string() + ": cannot write");
}

void run_new(const NewArgs& a) {
  if (a.kind != "activation") throw ConfigError("new: '" + a.kind + "' cannot be scaffolded; only 'activation'");
  if (!identifier(a.name))
    throw ConfigError("new activation: '" + a.name + "' is not a valid name: lower-case letters, digits and _, starting "
                      "with a letter (it becomes the config name, the file name and a C++ identifier), e.g. isru");
  const auto names = activation_names();
  if (std::find(names.begin(), names.end(), a.name) != names.end())
    throw ConfigError("new activation: '" + a.name + "' is already an activation (activations/" + a.name + ".cpp); pick another name");
  if (LayerRegistry::instance().find(a.name))
    throw ConfigError("new activation: '" + a.name + "' is already the name of a layer; pick another name");
  const std::vector<NewParam> params = parse_params(a.params);

  const fs::path root = a.root;
  std::error_code ec;
  for (const char* marker : {"activations/elementwise.hpp", "core/registry.hpp", "tests/activations", "docs/activations.md"})
    if (!fs::exists(root / marker, ec))
      throw ConfigError("new activation: " + (root / marker).string() + " not found: run it in the nnlab source tree (or give --root DIR)");
  const fs::path source = root / "activations" / (a.name + ".cpp"), test = root / "tests" / "activations" / (a.name + ".cpp");
  for (const auto& p : {source, test})
    if (fs::exists(p, ec)) throw ConfigError("new activation: " + p.string() + " exists; nothing was written (it is never overwritten)");

  std::string param_formula, param_doc, member_init, members, specs, list;
  for (const auto& p : params) {
    param_formula += (param_formula.empty() ? ", in terms of x and " : " and ") + p.name;
    param_doc += "\n// Parameter " + p.name + " (default " + p.value + "): TODO: what it does, and its valid range.";
    member_init += ", " + p.name + "_(static_cast<T>(a.number(\"" + p.name + "\")))";
    members += "\n private:\n  [[maybe_unused]] T " + p.name + "_;  // TODO: use it in f and df\n";
    specs += std::string(specs.empty() ? "" : ", ") + "number(\"" + p.name + "\", " + p.value + ", \"TODO: what " + p.name + " does\")";
    list += (list.empty() ? "" : ", ") + std::string("`") + p.name + "` (default " + p.value + ")";
  }
  // One "private:" is enough.
  if (params.size() > 1) {
    std::string merged = "\n private:\n";
    for (const auto& p : params) merged += "  [[maybe_unused]] T " + p.name + "_;  // TODO: use it in f and df\n";
    members = merged;
  }
  if (param_doc.empty()) param_doc = "\n// Parameters: none.";
  auto fill = [&](std::string s) {
    s = replace_all(s, "{{name}}", a.name);
    s = replace_all(s, "{{Class}}", class_name(a.name));
    s = replace_all(s, "{{param_formula}}", param_formula);
    s = replace_all(s, "{{param_doc}}", param_doc);
    s = replace_all(s, "{{args_name}}", params.empty() ? "" : "a");
    s = replace_all(s, "{{member_init}}", member_init);
    s = replace_all(s, "{{members}}", members);
    s = replace_all(s, "{{param_specs}}", specs);
    s = replace_all(s, "{{param_list}}", list.empty() ? "none" : list);
    return s;
  };

  // The doc entry: under its own heading, before "## Conventions at kinks" (or at the end).
  const fs::path doc = root / "docs" / "activations.md";
  std::string text;
  {
    std::ifstream in(doc, std::ios::binary);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  if (text.find("\n### " + a.name + "\n") != std::string::npos)
    throw ConfigError("new activation: " + doc.string() + " already has a section '### " + a.name + "'; nothing was written");
  const std::string entry = fill(kDoc);
  std::size_t at = text.find(std::string("\n") + kDocHeading + "\n");
  if (at != std::string::npos) {
    at = text.find("\n## ", at + 1);  // the end of that section
    if (at == std::string::npos) text += "\n" + entry;
    else text.insert(at + 1, entry);
  } else {
    const std::string block = std::string(kDocHeading) + "\n\nActivations scaffolded with `nnlab new activation NAME` (docs/tutorial.md).\n\n" + entry;
    at = text.find("\n## Conventions at kinks");
    if (at == std::string::npos) text += "\n" + block;
    else text.insert(at + 1, block);
  }

  write_new(source, fill(kSource));
  write_new(test, fill(kTest));
  write_file_atomic(doc, text);
  std::printf("wrote %s, %s and an entry in %s\n", source.string().c_str(), test.string().c_str(), doc.string().c_str());
  std::printf("next: cmake --build build && build/nnlab list activations && build/nnlab gradcheck %s\n", a.name.c_str());
  std::printf("then replace the TODOs: f and f' in %s (the gradient check diagnoses a wrong derivative), your values in %s\n",
              source.string().c_str(), test.string().c_str());
  std::printf("the PyTorch reference test fails until its data includes %s: write .reference.torch, then run "
              "/usr/bin/python3 tools/torch_reference.py\n", a.name.c_str());
}

void setup(CLI::App& sub) {
  auto a = std::make_shared<NewArgs>();
  sub.add_option("kind", a->kind, "what to scaffold: activation")->required();
  sub.add_option("name", a->name, "its name: lower-case letters, digits and _, e.g. isru")->required();
  sub.add_option("--params", a->params, "parameters with their defaults, e.g. alpha=1,beta=0.5");
  sub.add_option("--root", a->root, "the nnlab source tree (default: the current directory)")->capture_default_str();
  sub.callback([a] { run_new(*a); });
}

}  // namespace

NNLAB_COMMAND("new", "scaffold a new activation (source, test, doc entry) in the source tree", setup);

}  // namespace nnlab::app
