#include "base/testing/testing.h"

#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

namespace goldroot::testing {

TempDir::TempDir() : TempDir(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") {}

TempDir::TempDir(const std::string& base) {
  std::string pattern = (base.empty() ? std::string("/tmp") : base) + "/goldroot-test-XXXXXX";
  char* made = ::mkdtemp(pattern.data());
  if (!made) std::abort();
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

int run(const std::string& command) {
  int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string run_output(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return output;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  ::pclose(pipe);
  return output;
}

void write_file(const std::string& path, const std::string& contents) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string random_bytes(size_t size, uint32_t seed) {
  std::mt19937_64 generator(seed);
  std::string data(size, '\0');
  for (size_t i = 0; i < size; i += 8) {
    uint64_t value = generator();
    std::memcpy(&data[i], &value, std::min<size_t>(8, size - i));
  }
  return data;
}

}  // namespace goldroot::testing
