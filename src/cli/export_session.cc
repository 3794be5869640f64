#include "cli/export_session.h"

#include "crypto/site_key.h"

namespace goldroot::cli {

Result<ExportedImage> export_image(Site& site, const Digest& commit, ExportFormat format,
                                   ErofsBuilder builder, std::optional<Digest> base,
                                   UpdatePatch patch) {
  ExportedImage exported;
  exported.artifact = TRY(export_commit(site.store(), site.exports_dir(),
                                        site.store().dir() + "/tmp", commit, format, builder,
                                        base, patch));
  // The manifest needs a kernel and an initrd; an image without them can
  // still be exported (a container rootfs, say), just not booted.
  auto manifest = signed_manifest(exported.artifact, TRY(load_site_key(site.keys_dir())));
  if (manifest.ok()) {
    TRY(site.env()->write_file_atomic(exported.artifact.path + ".manifest.json", *manifest + "\n"));
    exported.manifest = std::move(manifest).value();
  } else {
    exported.unbootable = manifest.error().message;
  }
  return exported;
}

}  // namespace goldroot::cli
