#include "boot/upper_layer.h"

#include <blkid/blkid.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>

#include "boot/files.h"

namespace goldroot::boot {
namespace {

std::string find_by_tag(const char* tag, const std::string& value) {
  std::unique_ptr<char, decltype(&::free)> device(blkid_evaluate_tag(tag, value.c_str(), nullptr),
                                                  &::free);
  return device ? std::string(device.get()) : std::string();
}

Status format_ext4(const std::string& device, const std::string& label) {
  pid_t child = ::fork();
  if (child < 0) return errno_error("fork", errno);
  if (child == 0) {
    ::execlp("mkfs.ext4", "mkfs.ext4", "-q", "-F", "-L", label.c_str(), device.c_str(),
             static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {}
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return make_error(ErrorCode::kIo, "mkfs.ext4 -L " + label + " " + device + " failed" +
                                          (WIFEXITED(status) && WEXITSTATUS(status) == 127
                                               ? " (mkfs.ext4 not found in the initramfs)"
                                               : ""));
  return ok_status();
}

}  // namespace

const char* upper_kind_name(UpperKind kind) {
  switch (kind) {
    case UpperKind::kTmpfs: return "tmpfs";
    case UpperKind::kDirectory: return "directory";
    case UpperKind::kDevice: return "device";
  }
  return "?";
}

Result<DataStorage> mount_labelled(const std::string& label, FormatPolicy format, bool optional,
                                   const std::string& mount_point) {
  DataStorage data;
  std::string device = find_by_tag("LABEL", label);
  if (device.empty()) {
    std::string partition = find_by_tag("PARTLABEL", label);
    if (partition.empty()) {
      if (optional) return data;
      return make_error(ErrorCode::kNotFound, "no filesystem or partition labelled " + label);
    }
    if (format != FormatPolicy::kAllowed)
      return make_error(ErrorCode::kPermissionDenied,
                        "partition " + partition + " (" + label +
                            ") has no filesystem and the host's policy does not allow formatting it");
    TRY(format_ext4(partition, label));
    device = partition;
    data.formatted = true;
  }
  data.device = device;
  data.path = mount_point;
  TRY(make_directory(data.path, 0755));
  data.mount = TRY(ScopedMount::mount(device, data.path, "ext4", MS_NOSUID | MS_NODEV, ""));
  return data;
}

Result<DataStorage> mount_data(const UpperRequest& request, const std::string& run_dir) {
  switch (request.kind) {
    case UpperKind::kTmpfs:
      return DataStorage();
    case UpperKind::kDirectory: {
      DataStorage data;
      data.path = request.directory;
      return data;
    }
    case UpperKind::kDevice:
      break;
  }
  return mount_labelled(request.label, request.format, request.optional, run_dir + "/data");
}

Status check_persistence(const UpperRequest& request, const DataStorage& data, BootMode mode) {
  if (mode != BootMode::kMaintenance || !data.path.empty()) return ok_status();
  return make_error(ErrorCode::kInvalidArgument,
                    "maintenance mode keeps the upper layer on disk, but this machine has no data "
                    "partition (label " + (request.label.empty() ? std::string("GOLDROOT-DATA") : request.label) +
                    ", or --upper-dir DIR)");
}

Result<PreparedUpper> prepare_upper(const UpperRequest& request, DataStorage data, BootMode mode,
                                    const std::string& run_dir) {
  PreparedUpper prepared;
  std::string base;
  if (data.path.empty()) {
    TRY(check_persistence(request, data, mode));
    prepared.kind = UpperKind::kTmpfs;
    base = run_dir + "/upper";
    TRY(make_directory(base, 0755));
    prepared.mount = TRY(ScopedMount::mount("goldroot-upper", base, "tmpfs", MS_NOSUID | MS_NODEV,
                                            "mode=0755,size=" + request.tmpfs_size));
  } else {
    prepared.kind = data.device.empty() ? UpperKind::kDirectory : UpperKind::kDevice;
    prepared.device = data.device;
    prepared.formatted = data.formatted;
    prepared.mount = std::move(data.mount);
    base = data.path + "/goldroot";
  }
  prepared.upper = base + "/upper";
  prepared.work = base + "/work";
  TRY(make_directory(prepared.upper, 0755));
  TRY(make_directory(prepared.work, 0755));
  if (mode == BootMode::kReset && prepared.kind != UpperKind::kTmpfs) {
    TRY(empty_directory(prepared.upper));
    TRY(empty_directory(prepared.work));
    prepared.discarded = true;
  }
  return prepared;
}

}  // namespace goldroot::boot
