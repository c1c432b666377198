// Before a file is opened to be read: is it something that can be read to its end?
//
// A FIFO blocks the open (and every read) forever, /dev/zero and /dev/urandom never end, and a
// directory opens but reads as nothing, so that a loader reports "truncated: 0 bytes" or "not valid
// JSON" about it. check_readable_file() refuses all of these by what the path is, before opening,
// and a regular file larger than this machine can hold (core/memory.hpp) by its size. Every reader
// of a user's file calls it: configs, weights and checkpoints (core/io), IDX and CIFAR files
// (datasets/), images given to predict.
#pragma once

#include <filesystem>
#include <string>

namespace nnlab {

// "" for a file that can be read, else the message for the caller's error type: "<path>: is a
// directory, not a <what> file", "<path>: not a regular file (a FIFO); give a <what> file" or
// "<path>: 30 GiB is more than this machine can hold (...)". A path that does not exist is ""
// (the caller's open reports it with its own words).
std::string unreadable_reason(const std::filesystem::path& path, const std::string& what);

}  // namespace nnlab
