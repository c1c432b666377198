// The safetensors writer/reader: round trip, exact layout, and clear errors for damaged files.
#include <doctest/doctest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/io/safetensors.hpp"
#include "support/tensors.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("safetensors: layout and round trip") {
  const std::string bytes = encode_safetensors(sample_tensor_file());
  std::uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  CHECK(n % 8 == 0);
  const auto header = nlohmann::json::parse(bytes.substr(8, n));
  CHECK(header["layers.0.weight"]["dtype"] == "F32");
  CHECK(header["layers.0.weight"]["shape"] == nlohmann::json::array({2, 3}));
  CHECK(header["__metadata__"]["format"] == "pt");
  CHECK(bytes.size() == 8 + n + 8 * 4);
  const TensorFile back = decode_safetensors(bytes, "mem");
  CHECK(back.tensors.at("layers.0.weight").data == std::vector<float>{1, 2, 3, 4, 5, 6});
  CHECK(back.tensors.at("layers.0.bias").data == std::vector<float>{-1.5f, 0.25f});
  CHECK(back.metadata.at("format") == "pt");
}

TEST_CASE("safetensors: truncated and corrupt files fail with a message") {
  const std::string bytes = encode_safetensors(sample_tensor_file());
  CHECK_THROWS_WITH_AS(decode_safetensors(bytes.substr(0, 5), "m"), doctest::Contains("truncated"), CheckpointError);
  CHECK_THROWS_WITH_AS(decode_safetensors(bytes.substr(0, 40), "m"), doctest::Contains("exceeds the file size"),
                       CheckpointError);
  CHECK_THROWS_WITH_AS(decode_safetensors(bytes.substr(0, bytes.size() - 4), "m"), doctest::Contains("outside"),
                       CheckpointError);
  std::string bad = bytes;
  bad[9] = '#';
  CHECK_THROWS_WITH_AS(decode_safetensors(bad, "m"), doctest::Contains("not valid JSON"), CheckpointError);
  std::string huge = bytes;
  const std::uint64_t big = ~0ull;
  std::memcpy(huge.data(), &big, 8);
  CHECK_THROWS_AS(decode_safetensors(huge, "m"), CheckpointError);
}
