// Counting heap allocations: tests/support/allocations.cpp interposes glibc's malloc, calloc and
// realloc (operator new and Eigen's aligned_malloc both end in malloc) and counts every call, on
// every thread. Linked only into the test executables that declare the resource
// "allocation-counting" in tests/CMakeLists.txt, and only where it can work: a sanitizer's
// allocator replaces malloc itself, so there those executables are reported as skipped.
#pragma once

#include <cstdlib>  // defines __GLIBC__ (through <features.h>) before it is tested below

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define NNLAB_TEST_SANITIZED_ALLOCATOR 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NNLAB_TEST_SANITIZED_ALLOCATOR 1
#endif
#if defined(__GLIBC__) && !defined(NNLAB_TEST_SANITIZED_ALLOCATOR)
#define NNLAB_TEST_CAN_COUNT_ALLOCATIONS 1
#endif

namespace nnlab::test {

// Heap allocations so far in this process (malloc + calloc + realloc calls). Take the difference
// of two readings to count the allocations of the code between them.
long allocation_count();

}  // namespace nnlab::test
