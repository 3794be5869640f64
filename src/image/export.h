// Export: turning a commit into the artifact clients boot — an erofs
// (default) or squashfs image, or a tar archive — cached per commit under
// SITE/exports so a promote never rebuilds one. Also finds the image's
// kernel and initrd, whose digests are simply their store object ids.
//
// An erofs artifact has its dm-verity hash tree beside it,
// `<artifact path>.verity` (verity/hash_tree.h: format 1, no superblock, top
// level first), so clients can read it on demand and check every block.
// Its salt is derived from the image's sha256, so the same image always
// gets the same tree and root hash. An export recorded before trees existed
// gets its tree (and nothing else) built the next time it is exported.
//
// A native erofs artifact also has its layout beside it, `<artifact
// path>.layout` (image/erofs_layout.h). Exported with a base (an older
// export of the same image), the new image keeps the base's layout where
// it can, so a client holding the base fetches little; when the base's
// layout cannot be used the image gets a fresh one and says why.
//
// erofs is written straight from the store by goldroot's own writer
// (image/erofs_writer.h); Debian's mkfs.erofs remains available for
// comparison. squashfs is built by mksquashfs from a parallel checkout staged
// in tmpfs (on disk when RAM is short); tar is written straight from the
// store.
#pragma once

#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "image/block_diff.h"
#include "image/export_patch.h"
#include "manifest/boot_manifest.h"
#include "store/store.h"

namespace goldroot {

enum class ExportFormat { kErofs, kSquashfs, kTar };

// Who builds an erofs artifact: goldroot's writer, or mkfs.erofs -zlz4hc
// from a checkout (the peer it is measured against).
enum class ErofsBuilder { kNative, kMkfs };
Result<ErofsBuilder> parse_erofs_builder(const std::string& name);

const char* export_format_name(ExportFormat format);
Result<ExportFormat> parse_export_format(const std::string& name);

// Whether an export with a base writes the update patch from it
// (image/export_patch.h): what clients holding the base fetch instead of
// the blocks. kSkip only saves the export's time (level 19 takes about
// half a second of a core per MiB the patch makes).
enum class UpdatePatch { kWrite, kSkip };

struct Artifact {
  Digest commit;
  ExportFormat format = ExportFormat::kErofs;
  std::string path;  // the cached artifact file
  // kernel/initrd: sha256 is the file's store object id.
  Digest sha256;
  uint64_t size = 0;
  std::optional<BootFile> kernel, initrd;
  // erofs: the dm-verity tree at tree_path(), tree_size bytes with this
  // sha256 (checked like the image before the server offers it).
  std::optional<VerityParams> verity;
  Digest tree_sha256;
  uint64_t tree_size = 0;
  bool reused = false;  // found in the cache

  // This export only, not recorded: the base export it was laid out on,
  // what a client holding that base would fetch, and why the base's
  // layout was not kept (one sentence; empty when it was, or no base).
  std::optional<Digest> base_commit;
  std::optional<BlockDiff> base_diff;
  std::string base_note;
  // The update patch written for clients holding the base
  // (image/export_patch.h), or why there is none.
  std::optional<PatchSummary> base_patch;
  std::string patch_note;

  std::string tree_path() const { return path + ".verity"; }
  std::string layout_path() const { return path + ".layout"; }

  nlohmann::json to_json() const;
  static Result<Artifact> from_json(const nlohmann::json& json);
};

class TreeBuilder;
// The regular file at `path` in the image (no leading slash), following
// symlinks inside the image (never outside it); nullopt if there is none.
Result<std::optional<BootFile>> resolve_image_file(const Store& store, TreeBuilder& tree,
                                                   std::string path);

// The kernel and initrd of a commit: /vmlinuz and /initrd.img when they are
// symlinks into /boot (Debian), else the newest /boot/vmlinuz-* with its
// matching /boot/initrd.img-*.
Status find_boot_files(const Store& store, const Digest& commit, Artifact* artifact);

// The manifest clients boot from, signed with the site key: the artifact
// under its content-addressed URL (/images/<sha256>.<format>) and the
// kernel and initrd (store objects, /objects/<sha256>). Fails with one
// sentence if the image has no kernel or initrd.
Result<std::string> signed_manifest(const Artifact& artifact, const SigningKey& key);
// The same manifest, unsigned, for a caller that adds to it (the server
// binds it to a host).
Result<BootManifest> boot_manifest_of(const Artifact& artifact);
std::string artifact_url(const Artifact& artifact);
// Where the server offers the artifact's verity tree: /images/<sha256>.verity.
std::string verity_tree_url(const Artifact& artifact);

// The salt of every new export's verity tree: SHA-256("goldroot-verity-salt\n"),
// 32 bytes, one constant for all images. So the leaf hashes of two images'
// trees are equal exactly where their 4 KiB blocks are, and a client finds
// the blocks of a new image it already holds from an older image's tree
// alone (blockd/seed_index.h). A salt guards against precomputed
// collisions in a weak hash; SHA-256 has no known collision at all, and the
// root hash in the signed manifest still vouches for every block, so one
// salt for all images costs no security. (Exports written before this keep
// the salt their record and manifest name.)
std::string verity_salt();

// Builds the artifact for `commit` in `exports_dir`, or returns the cached
// one. `staging_dir` is where a checkout may be staged when tmpfs is short.
// A native erofs export lays itself out on the cached erofs export of
// `base`, when given, and measures itself against it.
Result<Artifact> export_commit(const Store& store, const std::string& exports_dir,
                               const std::string& staging_dir, const Digest& commit,
                               ExportFormat format,
                               ErofsBuilder builder = ErofsBuilder::kNative,
                               std::optional<Digest> base = std::nullopt,
                               UpdatePatch patch = UpdatePatch::kWrite);

// The nearest ancestor of `commit` (parents first, up to 64 generations)
// that has a cached erofs export: the base a new export keeps put.
Result<std::optional<Digest>> find_base_export(const Store& store, const std::string& exports_dir,
                                               const Digest& commit);


struct PruneReport {
  uint64_t files_removed = 0;
  uint64_t bytes_freed = 0;
};

// Removes from `exports_dir` the artifacts (and their records and
// manifests) of every commit not in `keep` — what `image gc` passes: the
// commits a name, a channel, a pin, a running client or recent history
// needs. A commit kept only as an ancestor in the store loses its export
// (the biggest file per version), which `image export` can build again.
Result<PruneReport> prune_exports(const std::string& exports_dir, const std::set<Digest>& keep);

// The cached artifact of `commit`, if any.
Result<std::optional<Artifact>> cached_artifact(const std::string& exports_dir,
                                                const Digest& commit, ExportFormat format);

}  // namespace goldroot
