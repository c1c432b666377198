// Safetensors files written by nnlab read back in plain Python (tools/read_safetensors.py: no
// torch, no numpy) with the same names, shapes, values and metadata. Requires the resource python3
// (tests/CMakeLists.txt; NNLAB_TEST_PYTHON names another interpreter): reported as skipped without it.
#include <doctest/doctest.h>

#include "core/io/safetensors.hpp"
#include "support/tensors.hpp"
#include "support/resources.hpp"
#include "support/run_binary.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("safetensors written by nnlab load in plain Python with the same values") {
  TempDir dir("safetensors-python");
  save_safetensors(dir / "w.safetensors", sample_tensor_file());
  const ProcessResult r = run_program({resource_location("python3").string(),
                                       std::string(NNLAB_SOURCE_DIR) + "/tools/read_safetensors.py",
                                       (dir / "w.safetensors").string()},
                                      dir.path);
  INFO(r.err);
  REQUIRE(r.status == 0);
  const std::string& all = r.out;
  CHECK(all.find("layers.0.bias F32 2 2 -1.25 -1.5 0.25") != std::string::npos);
  CHECK(all.find("layers.0.weight F32 2x3 6 21 1 2 3") != std::string::npos);
  CHECK(all.find("meta format=pt") != std::string::npos);
}
