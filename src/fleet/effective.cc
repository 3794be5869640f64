#include "fleet/effective.h"

#include "fleet/channel.h"

namespace goldroot {

const char* setting_source_name(SettingSource source) {
  switch (source) {
    case SettingSource::kHost:
      return "host";
    case SettingSource::kLab:
      return "lab";
    case SettingSource::kDefault:
      return "default";
  }
  return "default";
}

EffectiveMode effective_mode(const Host& host, const Lab* lab) {
  if (host.mode) return {*host.mode, SettingSource::kHost};
  if (lab && lab->mode) return {*lab->mode, SettingSource::kLab};
  return {BootMode::kNormal, SettingSource::kDefault};
}

EffectiveChannel effective_channel(const Host& host, const Lab* lab) {
  if (host.pinned_commit) return {std::nullopt, host.pinned_commit, SettingSource::kHost};
  if (host.channel) return {host.channel, std::nullopt, SettingSource::kHost};
  if (lab && lab->channel) return {lab->channel, std::nullopt, SettingSource::kLab};
  return {std::string(kDefaultChannel), std::nullopt, SettingSource::kDefault};
}

EnrollPolicy effective_enroll_policy(const Host& host, const Lab* lab, EnrollPolicy site_default) {
  if (host.unregistered) return EnrollPolicy::kPort;
  return lab && lab->enroll ? *lab->enroll : site_default;
}

UefiBoot effective_uefi_boot(const Lab* lab, UefiBoot site_default) {
  return lab && lab->uefi ? *lab->uefi : site_default;
}

PrefetchSetting effective_prefetch(const Lab* lab, const PrefetchSetting& site_default) {
  return lab && lab->prefetch ? *lab->prefetch : site_default;
}

EffectiveFetch effective_fetch(const Host& host, const Lab* lab, FetchMode site_default) {
  if (host.fetch) return {*host.fetch, SettingSource::kHost};
  if (lab && lab->fetch) return {*lab->fetch, SettingSource::kLab};
  return {site_default, SettingSource::kDefault};
}

}  // namespace goldroot
