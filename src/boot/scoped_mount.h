// ScopedMount: a mount that is undone (lazily detached) when the object is
// destroyed, unless release() hands it to whoever boots next. goldroot-boot
// holds each mount it makes in one, so a failure half-way leaves the
// initramfs as it found it. Move-only; not thread-safe.
#pragma once

#include <string>

#include "base/result.h"

namespace goldroot::boot {

class ScopedMount {
 public:
  ScopedMount() = default;
  // mount(2) with errno mapped; the error names source, target and type.
  static Result<ScopedMount> mount(const std::string& source, const std::string& target,
                                   const std::string& type, unsigned long flags,
                                   const std::string& data);
  ScopedMount(ScopedMount&& other) noexcept;
  ScopedMount& operator=(ScopedMount&& other) noexcept;
  ScopedMount(const ScopedMount&) = delete;
  ScopedMount& operator=(const ScopedMount&) = delete;
  ~ScopedMount();

  const std::string& target() const { return target_; }
  void release() { target_.clear(); }

 private:
  explicit ScopedMount(std::string target) : target_(std::move(target)) {}
  std::string target_;
};

}  // namespace goldroot::boot
