// A one-line progress bar with rate and ETA, drawn on stderr only when stderr is a terminal.
#pragma once

#include <chrono>
#include <string>

namespace nnlab::app {

class ProgressBar {
 public:
  ProgressBar();
  // Redraw (at most ~10 times a second): "epoch 3/10 [#####.....] 30000/60000  85k/s  ETA 0.4s  loss 0.41"
  void update(const std::string& label, long long done, long long total, double loss);
  void clear();  // erase the bar before printing a normal line
  bool enabled() const { return enabled_; }

 private:
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_;
  std::string label_;
};

}  // namespace nnlab::app
