// Listing a directory by fd: the sorted names of its entries, without "."
// and "..". The fd is not moved (the listing reads a duplicate).
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace goldroot {

Result<std::vector<std::string>> read_directory(int dir_fd, const std::string& display);

}  // namespace goldroot
