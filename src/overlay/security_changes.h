// Which changes of a capture an admin must read before the image reaches
// other machines: the ways root on one lab PC would keep root, or gain it,
// on every machine that boots the capture. `goldroot capture --host` lists
// these first, each with why it is marked.
//
// security_reasons() looks at one change between two commits (image/diff.h:
// path, kind, and the entries before and after, with mode, owner and
// xattrs) and nothing else, so it is a pure function, tested without root.
// A change is marked when it
//   - adds or changes a regular file that is setuid or setgid ("setuid
//     root", "setgid gid 42"), carries file capabilities (a
//     security.capability xattr: "file capabilities cap_setuid=ep"), or is a
//     device node ("device node"); or leaves a file or a directory (one
//     without the sticky bit of /tmp) writable by anyone ("world-writable");
//   - touches, in any way, deletion included, an authentication or
//     start-up path: sudoers (/etc/sudoers, /etc/sudoers.d), the account
//     files (/etc/passwd, /etc/group, /etc/shadow, /etc/gshadow), any
//     authorized_keys and sshd's config, PAM (/etc/pam.d, /etc/security,
//     the modules in /lib*/…/security), systemd units, timers and generators
//     (system and user, /etc, /lib, /usr/lib, /usr/local/lib and users'
//     ~/.config/systemd/user), cron (/etc/cron*, /etc/anacrontab,
//     /var/spool/cron) and /etc/ld.so.preload.
// Deleting a setuid file or taking a bit away is not marked: it grants
// nothing. A change of nothing but the mtime is never marked: the bytes,
// mode, owner and xattrs are the lower's. The list is what matters most,
// not everything that could: a modified /usr/bin/ls runs as root too, so
// the full change list still deserves a look before a promote.
#pragma once

#include <string>
#include <vector>

#include "image/diff.h"

namespace goldroot {

// Why `change` is security-relevant, in short words ("setuid root",
// "sudoers"); empty when it is not.
std::vector<std::string> security_reasons(const TreeChange& change);

// A security.capability value (struct vfs_cap_data) as getcap shows it:
// "cap_net_raw=ep"; "unreadable" when it is not one.
std::string describe_file_capabilities(std::string_view value);

}  // namespace goldroot
