// main() of every test executable, compiled once per executable with the resources it declares in
// tests/CMakeLists.txt (NNLAB_TEST_REQUIRES, comma-separated); runner.cpp does the work.
namespace nnlab::test {
int run_doctest(int argc, char** argv, const char* needed);
}

#ifndef NNLAB_TEST_REQUIRES
#define NNLAB_TEST_REQUIRES ""
#endif

int main(int argc, char** argv) { return nnlab::test::run_doctest(argc, argv, NNLAB_TEST_REQUIRES); }
