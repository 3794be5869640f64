// ReplicaRoutes: what a secondary server pulls from its primary
// (replica/replica_pull.h), behind the admin guard (admin_auth.h) and only
// over TLS, since the site's layers and store cross the network:
//
//   GET /api/v1/replica/index          {"version": 1, "files": [{"path",
//                                      "size", "sha256"}…]}: the replica set
//                                      (replica/replica_set.h)
//   GET /api/v1/replica/files/<path>   one file of that set, Range-capable
//
// A path outside the replica set (keys/, the database, uploads/, "..", a
// symlink) is 404, like a missing one. The index is built on the blocking
// pool: its first call hashes the exports once. Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "bootserver/admin_auth.h"
#include "replica/replica_set.h"
#include "server/router.h"
#include "server/static_files.h"

namespace goldroot {

class ReplicaRoutes {
 public:
  static Result<std::unique_ptr<ReplicaRoutes>> open(const std::string& site_root,
                                                     AdminAuth* admin);
  void install(server::Router& router);

 private:
  ReplicaRoutes(std::string site_root, AdminAuth* admin,
                std::shared_ptr<server::StaticFiles> files)
      : site_root_(std::move(site_root)), admin_(admin), files_(std::move(files)) {}
  server::HttpResponse index();
  server::HttpResponse file(const server::HttpRequest& request) const;

  std::string site_root_;
  AdminAuth* admin_;
  std::shared_ptr<server::StaticFiles> files_;
  DigestCache digests_;
};

}  // namespace goldroot
