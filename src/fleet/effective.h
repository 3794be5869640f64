// What actually applies to a host once inheritance is resolved: its boot
// mode, its channel or pinned commit, and its key enrolment policy. The
// host's own setting wins over its lab's; with neither, a host boots
// `normal` from channel `gold`. The boot server calls these for every boot;
// they only read their arguments.
#pragma once

#include <optional>
#include <string>

#include "fleet/boot_mode.h"
#include "fleet/model.h"

namespace goldroot {

// Where an effective setting came from.
enum class SettingSource { kHost, kLab, kDefault };
const char* setting_source_name(SettingSource source);

struct EffectiveMode {
  BootMode mode = BootMode::kNormal;
  SettingSource source = SettingSource::kDefault;
};

struct EffectiveChannel {
  // Exactly one is set: the channel to follow, or the pinned commit.
  std::optional<std::string> channel;
  std::optional<std::string> pinned_commit;
  SettingSource source = SettingSource::kDefault;
};

// `lab` is the host's lab, or null when it has none.
EffectiveMode effective_mode(const Host& host, const Lab* lab);
EffectiveChannel effective_channel(const Host& host, const Lab* lab);
// How a key the host presents while it has none enrolled is taken
// (fleet/host_keys.h): its lab's policy, else the site's
// (Site::settings().enroll). An unregistered host (fleet/unregistered.h)
// is anonymous, so nothing is gained by the admin vouching for its key: it
// takes the port policy, whatever the site's — a persistent key on first
// use, and a diskless machine's new key each boot from a privileged port.
EnrollPolicy effective_enroll_policy(const Host& host, const Lab* lab, EnrollPolicy site_default);
// What the host's UEFI firmware is given to boot (site/uefi_boot.h): its
// lab's setting, else the site's (Site::settings().uefi).
UefiBoot effective_uefi_boot(const Lab* lab, UefiBoot site_default);

struct EffectiveFetch {
  FetchMode mode = FetchMode::kFull;
  SettingSource source = SettingSource::kDefault;  // kDefault: the site's
};
// How the host gets its image (site/fetch_mode.h): its own setting, else
// its lab's, else the site's (Site::settings().fetch). What the server then
// tells the host also depends on the image: one without a verity tree is
// fetched in full whatever this says.
EffectiveFetch effective_fetch(const Host& host, const Lab* lab, FetchMode site_default);
// When the host's agent fetches the image its channel moved to before the
// host boots it (site/prefetch_setting.h): its lab's setting, else the
// site's (Site::settings().prefetch).
PrefetchSetting effective_prefetch(const Lab* lab, const PrefetchSetting& site_default);

}  // namespace goldroot
