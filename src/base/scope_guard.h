// ScopeGuard runs a callable when it leaves scope unless release()d first
// (ninja's ScopedFilePath::Release). Move-only.
#pragma once

#include <utility>

namespace goldroot {

template <class F>
class ScopeGuard {
 public:
  explicit ScopeGuard(F f) : f_(std::move(f)) {}
  ScopeGuard(ScopeGuard&& other) : f_(std::move(other.f_)), armed_(other.armed_) {
    other.armed_ = false;
  }
  ScopeGuard(const ScopeGuard&) = delete;
  ScopeGuard& operator=(const ScopeGuard&) = delete;
  ~ScopeGuard() {
    if (armed_) f_();
  }
  void release() { armed_ = false; }

 private:
  F f_;
  bool armed_ = true;
};

}  // namespace goldroot
