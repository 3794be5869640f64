// Unregistered hosts: what `goldroot serve --unknown default-image` makes
// of a MAC nobody registered, so that the machine can boot the default
// image like any host (a signed manifest, a host layer, reports) while the
// inventory says plainly that nobody vouched for it.
//
// An unregistered host is an ordinary row of `hosts` flagged unregistered
// (schema step 5): named unreg-<the MAC's 12 hex digits>, that MAC alone,
// no IP, no lab, the site's default mode for unknown machines, channel
// unset (so gold, as the iPXE script boots). The server adds one only for
// a request signed with a fresh challenge, and never more than a limit:
// anyone with root on a lab PC can forge MACs and keys, so the number of
// rows a flood can write is bounded.
//
// `goldroot host add NAME --mac MAC` where MAC is an unregistered host's
// adopts that host: the same row, renamed and given the admin's settings,
// so its key, boot history and agent state (every table keyed by host id)
// carry over. `host rm` removes one like any host.
//
// Functions over an Inventory; the caller holds it (and its mutex) and
// makes changes inside a write transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "fleet/inventory.h"

namespace goldroot {

// How many unregistered hosts the server keeps at most, by default.
constexpr int64_t kDefaultUnregisteredLimit = 256;

// "unreg-525400770009" for 52:54:00:77:00:09 (any spelling parse_mac takes).
Result<std::string> unregistered_host_name(const std::string& mac);

Result<int64_t> count_unregistered_hosts(Inventory& inventory);

// Adds the unregistered host for `mac`, booting `mode`. AlreadyExists when
// a host has that MAC or the generated name; NoSpace when `limit`
// unregistered hosts exist already (nothing is written then).
Result<Host> add_unregistered_host(Inventory& inventory, const std::string& mac, BootMode mode,
                                   int64_t limit);

// The unregistered host holding one of `macs`, if any.
Result<std::optional<Host>> unregistered_host_with(Inventory& inventory,
                                                   const std::vector<std::string>& macs);

// The registered host that adopted the unregistered host once called
// `name` (unreg-<MAC hex>): the host that has that MAC now, if it is
// registered. A machine's agent keeps the name it booted with until it
// boots again.
Result<std::optional<std::string>> adopter_of(Inventory& inventory, const std::string& name);

// Turns unregistered host `old_name` into `host` (registered, under its own
// name and settings), keeping the row and so its key, boot history and
// agent state. `host` must carry the unregistered host's MAC. NotFound when
// there is no such host, InvalidArgument when it is registered.
Status adopt_unregistered_host(Inventory& inventory, const std::string& old_name, Host host);

}  // namespace goldroot
