#include "base/result.h"

#include <cerrno>
#include <cstring>

namespace goldroot {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kAlreadyExists: return "already exists";
    case ErrorCode::kCorruption: return "corruption";
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kIo: return "i/o error";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kBusy: return "busy";
    case ErrorCode::kNoSpace: return "no space";
    case ErrorCode::kPermissionDenied: return "permission denied";
  }
  return "error";
}

Error make_error(ErrorCode code, std::string message) {
  return Error{code, 0, std::move(message)};
}

Error errno_error(const std::string& what, int saved_errno) {
  ErrorCode code = ErrorCode::kIo;
  switch (saved_errno) {
    case ENOENT: case ENOTDIR: code = ErrorCode::kNotFound; break;
    case EEXIST: case ENOTEMPTY: code = ErrorCode::kAlreadyExists; break;
    case ENOSPC: case EDQUOT: code = ErrorCode::kNoSpace; break;
    case EACCES: case EPERM: case EROFS: code = ErrorCode::kPermissionDenied; break;
    case EINVAL: case ENAMETOOLONG: code = ErrorCode::kInvalidArgument; break;
    case EBUSY: case EWOULDBLOCK: code = ErrorCode::kBusy; break;
    case ENOTSUP: code = ErrorCode::kUnsupported; break;
    default: break;
  }
  return Error{code, saved_errno, what + ": " + std::strerror(saved_errno)};
}

}  // namespace goldroot
