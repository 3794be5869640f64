// libFuzzer: goldroot-boot's kernel command line parser (typed at the iPXE
// prompt by whoever sits at the keyboard).
#include <cstdint>
#include <string_view>

#include "boot/kernel_cmdline.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)goldroot::boot::parse_kernel_cmdline(
      std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
