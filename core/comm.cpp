#include "core/comm.hpp"

namespace nnlab {
namespace {

class LocalProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void sum(std::span<float>) override {}
  void sum(std::span<double>) override {}
  void max(std::span<double>) override {}
};

}  // namespace

Communicator& local_process() {
  static LocalProcess local;
  return local;
}

}  // namespace nnlab
