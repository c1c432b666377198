// shapes_grid: a picture of the `shapes` data set (datasets/shapes.cpp), one row per class.
//
//   build/shapes_grid OUT.ppm [--per-class N] [--scale K] [--seed S] [--clutter C]
//   convert OUT.ppm docs/img/shapes_grid.png          (ImageMagick; any PPM reader will do)
//
// Writes a binary PPM (P6) of a grid of training images: row k holds the first N images of class
// k (images k, k + 10, k + 20, ... of the training set, whose label is the index mod 10), each
// enlarged K times by pixel repetition, with a 2-pixel grey gap between images. The images are the
// data set's bytes before normalisation, so the picture is exactly what the loader produced.
// docs/img/shapes_grid.png is made with the defaults (N = 10, K = 3, seed 0, clutter 0.5).
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/dataset.hpp"

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help") {
    std::fprintf(stderr, "usage: shapes_grid OUT.ppm [--per-class N] [--scale K] [--seed S] [--clutter C]\n");
    return argc < 2 ? 2 : 0;
  }
  int per_class = 10, scale = 3;
  nlohmann::json data = {{"seed", 0}, {"clutter", 0.5}};
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    const char* value = argv[i + 1];
    if (key == "--per-class") per_class = std::atoi(value);
    else if (key == "--scale") scale = std::atoi(value);
    else if (key == "--seed") data["seed"] = std::atoll(value);
    else if (key == "--clutter") data["clutter"] = std::atof(value);
    else {
      std::fprintf(stderr, "shapes_grid: unknown option %s\n", key.c_str());
      return 2;
    }
  }
  constexpr int classes = 10, gap = 2;
  try {
    data["samples"] = classes * per_class;
    data["test_samples"] = 1;
    const auto& entry = nnlab::DatasetRegistry::instance().get("shapes", "dataset", "data.dataset");
    const nnlab::Dataset d = entry.load(nnlab::parse_args(entry.params, data, "data")).train;
    const int side = static_cast<int>(d.shape[1]), cell = side * scale + gap;
    const int width = per_class * cell + gap, height = classes * cell + gap;
    std::vector<unsigned char> rgb(static_cast<std::size_t>(3 * width * height), 128);
    const std::size_t plane = static_cast<std::size_t>(side * side);
    for (int k = 0; k < classes; ++k)
      for (int j = 0; j < per_class; ++j) {
        const std::uint8_t* image = d.bytes.data() + static_cast<std::size_t>(k + classes * j) * 3 * plane;
        for (int y = 0; y < side * scale; ++y)
          for (int x = 0; x < side * scale; ++x)
            for (int c = 0; c < 3; ++c) {
              const std::size_t src = c * plane + static_cast<std::size_t>((y / scale) * side + x / scale);
              const std::size_t dst = 3 * (static_cast<std::size_t>(gap + k * cell + y) * width + gap + j * cell + x) + c;
              rgb[dst] = image[src];
            }
      }
    std::FILE* f = std::fopen(argv[1], "wb");
    if (!f) {
      std::perror(argv[1]);
      return 1;
    }
    std::fprintf(f, "P6\n%d %d\n255\n", width, height);
    const bool ok = std::fwrite(rgb.data(), 1, rgb.size(), f) == rgb.size();
    if (std::fclose(f) != 0 || !ok) {
      std::perror(argv[1]);
      return 1;
    }
    std::printf("shapes_grid: wrote %s (%dx%d, classes:", argv[1], width, height);
    for (const auto& n : d.class_names) std::printf(" %s", n.c_str());
    std::printf(")\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "shapes_grid: %s\n", e.what());
    return 1;
  }
  return 0;
}
