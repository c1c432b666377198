#include "apps/cli/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace nnlab::app {

ProgressBar::ProgressBar() : enabled_(::isatty(STDERR_FILENO) != 0) {}

void ProgressBar::update(const std::string& label, long long done, long long total, double loss) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (label != label_) label_ = label, start_ = now, last_ = now - std::chrono::seconds(1);
  if (done < total && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0.0;
  constexpr int width = 30;
  const int filled = total > 0 ? static_cast<int>(width * done / total) : 0;
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.resize(width, '.');
  std::fprintf(stderr, "\r%s [%s] %lld/%lld  %.0f samples/s  ETA %.1fs  loss %.4f\033[K", label.c_str(), bar.c_str(),
               done, total, rate, eta, loss);
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::clear() {
  if (!enabled_ || !drawn_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace nnlab::app
