#include "site/uefi_boot.h"

#include <string>

namespace goldroot {

const char* uefi_boot_name(UefiBoot boot) {
  switch (boot) {
    case UefiBoot::kIpxe:
      return "ipxe";
    case UefiBoot::kShim:
      return "shim";
    case UefiBoot::kUki:
      return "uki";
  }
  return "ipxe";
}

Result<UefiBoot> parse_uefi_boot(std::string_view text) {
  for (UefiBoot boot : {UefiBoot::kIpxe, UefiBoot::kShim, UefiBoot::kUki})
    if (text == uefi_boot_name(boot)) return boot;
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown UEFI boot '" + std::string(text) +
                        "'; choose ipxe (iPXE, no Secure Boot), shim (Debian's signed shim and "
                        "GRUB, for Secure Boot) or uki (the site's own signed kernel images, for "
                        "Secure Boot with the site's key)");
}

}  // namespace goldroot
