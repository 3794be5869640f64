// Test helpers: a SITE/layers tree on disk and a host profile to render it for.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "base/testing/testing.h"
#include "layer/host_profile.h"

namespace goldroot::testing {

// pc1, 10.1.0.10 in lab1 on 10.1.0.0/24 (gateway .1, dns .2 and .3, lab.test).
inline HostProfile sample_profile(const std::string& name = "pc1",
                                  const std::string& ip = "10.1.0.10") {
  HostProfile profile;
  profile.host.name = name;
  profile.host.macs = {"52:54:00:00:00:01"};
  profile.host.ip = ip;
  profile.host.lab = "lab1";
  profile.host.vars["room"] = "B12";
  profile.lab = Lab{.name = "lab1", .networks = {"10.1.0.0/24"}};
  profile.network = Network{"10.1.0.0/24", "10.1.0.1", {"10.1.0.2", "10.1.0.3"}, "lab.test"};
  return profile;
}

inline void put(const std::string& path, const std::string& contents, mode_t mode = 0644) {
  write_file(path, contents);
  ::chmod(path.c_str(), mode);
}

}  // namespace goldroot::testing
