#include "blockd/device_mapper.h"

#include <libdevmapper.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <memory>

#include "base/strings.h"

namespace goldroot::blockd {
namespace {

// libdevmapper reports through a global log function; the last error line
// becomes the Error's message.
thread_local std::string last_dm_message;
thread_local int last_dm_errno = 0;

void log_to_last_message(int level, const char* file, int line, int dm_errno, const char* format, ...) {
  if ((level & 7) > 3) return;  // _LOG_ERR and worse only
  char text[512];
  va_list arguments;
  va_start(arguments, format);
  std::vsnprintf(text, sizeof(text), format, arguments);
  va_end(arguments);
  last_dm_message = text;
  if (dm_errno > 0) last_dm_errno = dm_errno;
}

void init_libdevmapper() {
  static bool done = [] {
    dm_log_with_errno_init(log_to_last_message);
    // The initramfs has no udev: libdevmapper must neither wait for it nor
    // expect it to make nodes (devtmpfs makes /dev/dm-N).
    dm_udev_set_sync_support(0);
    return true;
  }();
  (void)done;
  last_dm_message.clear();
  last_dm_errno = 0;
}

struct TaskDeleter {
  void operator()(dm_task* task) const { dm_task_destroy(task); }
};
using Task = std::unique_ptr<dm_task, TaskDeleter>;

Error dm_error(const std::string& what) {
  std::string message = what + ": " + (last_dm_message.empty() ? "device-mapper refused" : last_dm_message);
  ErrorCode code = last_dm_errno == EBUSY ? ErrorCode::kBusy
                   : last_dm_errno == EEXIST ? ErrorCode::kAlreadyExists
                   : last_dm_errno == ENXIO || last_dm_errno == ENODEV ? ErrorCode::kNotFound
                                                                       : ErrorCode::kIo;
  return Error{code, last_dm_errno, message};
}

Result<Task> new_task(int type, const std::string& name) {
  Task task(dm_task_create(type));
  if (!task) return dm_error("device-mapper task for " + name);
  if (!dm_task_set_name(task.get(), name.c_str())) return dm_error("naming device-mapper device " + name);
  return task;
}

Status run(dm_task* task, const std::string& what) {
  if (!dm_task_run(task)) return dm_error(what);
  return ok_status();
}

Status load_table(dm_task* task, const std::string& device, const VerityParams& params) {
  std::string number = TRY(block_device_number(device));
  std::string table = verity_table_params(number, params);
  uint64_t sectors = params.data_size() / 512;
  if (!dm_task_set_ro(task)) return dm_error("read-only table");
  if (!dm_task_add_target(task, 0, sectors, "verity", table.c_str()))
    return dm_error("verity table over " + device);
  return ok_status();
}

Status simple(int type, const std::string& name, const std::string& what) {
  Task task = TRY(new_task(type, name));
  return run(task.get(), what + " " + name);
}

}  // namespace

std::string verity_table_params(const std::string& device, const VerityParams& params) {
  std::string salt;
  for (unsigned char byte : params.salt) append_hex(&salt, byte);
  if (salt.empty()) salt = "-";
  // Format 1; data and tree on one device, the tree right after the data.
  return "1 " + device + " " + device + " " + std::to_string(params.data_block_size) + " " +
         std::to_string(params.hash_block_size) + " " + std::to_string(params.data_blocks) + " " +
         std::to_string(params.data_size() / params.hash_block_size) + " sha256 " + params.root_hash.hex() + " " + salt;
}

Result<std::string> block_device_number(const std::string& path) {
  // Already a number: kept as is (after the switch to the real root the
  // daemon has no /dev to look a path up in).
  if (path.find('/') == std::string::npos && path.find(':') != std::string::npos) return path;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return errno_error("stat " + path, errno);
  if (!S_ISBLK(st.st_mode)) return make_error(ErrorCode::kInvalidArgument, path + " is not a block device");
  return std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev));
}

Result<VerityDevice> VerityDevice::create(const std::string& name, const std::string& device,
                                          const VerityParams& params) {
  if (params.data_block_size != 4096 || params.hash_block_size != 4096 || params.data_blocks == 0)
    return make_error(ErrorCode::kInvalidArgument, "dm-verity over " + device + ": only 4096-byte blocks, and some data");
  init_libdevmapper();
  Task task = TRY(new_task(DM_DEVICE_CREATE, name));
  TRY(load_table(task.get(), device, params));
  TRY(run(task.get(), "creating dm-verity device " + name + " over " + device));
  dm_info info{};
  if (!dm_task_get_info(task.get(), &info) || !info.exists) return dm_error("reading back " + name);
  dm_task_update_nodes();
  return VerityDevice(name, "/dev/dm-" + std::to_string(info.minor), device, params);
}

Status VerityDevice::reload(const std::string& device) {
  init_libdevmapper();
  std::string context = "moving " + name_ + " from " + device_ + " onto " + device;
  {
    Task task = TRY(new_task(DM_DEVICE_RELOAD, name_));
    TRY(load_table(task.get(), device, params_).context(context));
    TRY(run(task.get(), context + ": loading the table"));
  }
  // Suspend lets in-flight reads finish on the old device; resume swaps in
  // the loaded table.
  Status suspended = simple(DM_DEVICE_SUSPEND, name_, context + ": suspending");
  if (!suspended.ok()) {
    (void)simple(DM_DEVICE_CLEAR, name_, "dropping the loaded table of");
    return suspended;
  }
  TRY(simple(DM_DEVICE_RESUME, name_, context + ": resuming"));
  dm_task_update_nodes();
  device_ = device;
  return ok_status();
}

Status VerityDevice::remove() {
  init_libdevmapper();
  TRY(simple(DM_DEVICE_REMOVE, name_, "removing"));
  dm_task_update_nodes();
  return ok_status();
}

}  // namespace goldroot::blockd
