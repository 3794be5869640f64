#include "manifest/boot_manifest.h"

#include <nlohmann/json.hpp>

#include "base/json.h"
#include "crypto/base64.h"

namespace goldroot {

namespace {

using Json = nlohmann::json;

constexpr std::string_view kSignaturePrefix = "goldroot-boot-manifest-v1\n";
constexpr const char* kAlgorithm = "ed25519";

std::string signed_bytes(const Json& body) { return std::string(kSignaturePrefix) + body.dump(); }

Json boot_file_json(const BootFile& file) {
  return {{"path", file.path}, {"sha256", file.sha256.hex()}, {"size", file.size}};
}

Json body_json(const BootManifest& manifest) {
  Json image = {{"sha256", manifest.image.sha256.hex()},
                {"size", manifest.image.size},
                {"format", manifest.image.format}};
  if (!manifest.image.url.empty()) image["url"] = manifest.image.url;
  if (const ImageVerity* verity = manifest.image.verity ? &*manifest.image.verity : nullptr)
    image["verity"] = {{"root_hash", verity->params.root_hash.hex()},
                       {"salt", hex_encode(verity->params.salt)},
                       {"data_block_size", verity->params.data_block_size},
                       {"hash_block_size", verity->params.hash_block_size},
                       {"data_blocks", verity->params.data_blocks},
                       {"tree_size", verity->tree_size},
                       {"tree_url", verity->tree_url}};
  Json body = {{"version", manifest.host ? BootManifest::kHostVersion : BootManifest::kVersion},
               {"image", image},
               {"commit", manifest.commit.hex()},
               {"kernel", boot_file_json(manifest.kernel)},
               {"initrd", boot_file_json(manifest.initrd)}};
  if (const HostBinding* host = manifest.host ? &*manifest.host : nullptr) {
    Json binding = {{"name", host->name},           {"mac", host->mac},
                    {"mode", host->mode},           {"key_id", host->key_id},
                    {"issued_at", host->issued_at}, {"expires_at", host->expires_at},
                    {"challenge", host->challenge}, {"image_time", host->image_time},
                    {"floor", host->floor},             {"fetch", host->fetch}};
    if (host->layer_sha256)
      binding["layer"] = {{"sha256", host->layer_sha256->hex()}, {"size", host->layer_size}};
    if (!host->servers.empty()) binding["servers"] = host->servers;
    body["host"] = binding;
  }
  return body;
}

Error malformed(const std::string& what) {
  return make_error(ErrorCode::kCorruption, "boot manifest: " + what);
}

Result<std::string> string_field(const Json& object, const char* name, bool required = true) {
  auto found = object.find(name);
  if (found == object.end()) {
    if (required) return malformed(std::string("missing \"") + name + "\"");
    return std::string();
  }
  if (!found->is_string()) return malformed(std::string("\"") + name + "\" is not a string");
  return found->get<std::string>();
}

Result<uint64_t> size_field(const Json& object, const char* name) {
  auto found = object.find(name);
  if (found == object.end() || !found->is_number_unsigned())
    return malformed(std::string("\"") + name + "\" is not a size");
  return found->get<uint64_t>();
}

Result<Digest> digest_field(const Json& object, const char* name) {
  std::string hex = TRY(string_field(object, name));
  auto digest = Digest::from_hex(hex);
  if (!digest) return malformed(std::string("\"") + name + "\" is not a SHA-256 digest");
  return *digest;
}

Result<int64_t> time_field(const Json& object, const char* name) {
  auto found = object.find(name);
  if (found == object.end() || !found->is_number_integer())
    return malformed(std::string("\"") + name + "\" is not a time");
  return found->get<int64_t>();
}

Result<const Json*> object_field(const Json& object, const char* name) {
  auto found = object.find(name);
  if (found == object.end() || !found->is_object())
    return malformed(std::string("\"") + name + "\" is not an object");
  return &*found;
}

Result<BootFile> boot_file_from_json(const Json& object, const char* name) {
  const Json* file = TRY(object_field(object, name));
  BootFile out;
  out.path = TRY(string_field(*file, "path"));
  out.sha256 = TRY(digest_field(*file, "sha256"));
  out.size = TRY(size_field(*file, "size"));
  return out;
}

// A dm-verity block size: a power of two the kernel takes (512..64 KiB).
Result<uint32_t> block_size_field(const Json& object, const char* name) {
  uint64_t size = TRY(size_field(object, name));
  if (size < 512 || size > 65536 || (size & (size - 1)) != 0)
    return malformed(std::string("verity \"") + name + "\" is " + std::to_string(size) +
                     ", not a power of two from 512 to 65536");
  return static_cast<uint32_t>(size);
}

Result<ImageVerity> verity_from_json(const Json& image, uint64_t image_size) {
  const Json* verity = TRY(object_field(image, "verity"));
  ImageVerity out;
  VerityParams& params = out.params;
  params.root_hash = TRY(digest_field(*verity, "root_hash"));
  auto salt = hex_decode(TRY(string_field(*verity, "salt")));
  if (!salt || salt->size() > 256)
    return malformed("verity \"salt\" is not the hex of at most 256 bytes");
  params.salt = std::move(*salt);
  params.data_block_size = TRY(block_size_field(*verity, "data_block_size"));
  params.hash_block_size = TRY(block_size_field(*verity, "hash_block_size"));
  params.data_blocks = TRY(size_field(*verity, "data_blocks"));
  // The device the client builds is this many blocks: it must be the image.
  if (params.data_blocks == 0 || image_size % params.data_block_size != 0 ||
      params.data_blocks != image_size / params.data_block_size)
    return malformed("verity covers " + std::to_string(params.data_blocks) + " blocks of " +
                     std::to_string(params.data_block_size) + " bytes, not the image's " +
                     std::to_string(image_size) + " bytes");
  out.tree_size = TRY(size_field(*verity, "tree_size"));
  uint64_t needed = VerityGeometry(params.data_blocks, params.hash_block_size).tree_size();
  if (out.tree_size != needed)
    return malformed("verity \"tree_size\" is " + std::to_string(out.tree_size) + " bytes, but " +
                     std::to_string(params.data_blocks) + " blocks need a tree of " +
                     std::to_string(needed));
  out.tree_url = TRY(string_field(*verity, "tree_url"));
  return out;
}

Result<HostBinding> host_binding_from_json(const Json& body) {
  const Json* host = TRY(object_field(body, "host"));
  HostBinding out;
  out.name = TRY(string_field(*host, "name"));
  out.mac = TRY(string_field(*host, "mac"));
  out.mode = TRY(string_field(*host, "mode"));
  out.key_id = TRY(string_field(*host, "key_id"));
  if (host->contains("layer")) {
    const Json* layer = TRY(object_field(*host, "layer"));
    out.layer_sha256 = TRY(digest_field(*layer, "sha256"));
    out.layer_size = TRY(size_field(*layer, "size"));
  }
  out.issued_at = TRY(time_field(*host, "issued_at"));
  out.expires_at = TRY(time_field(*host, "expires_at"));
  out.challenge = TRY(string_field(*host, "challenge"));
  out.image_time = TRY(time_field(*host, "image_time"));
  out.floor = TRY(time_field(*host, "floor"));
  // Absent from an older server's manifests, which always meant full.
  out.fetch = TRY(string_field(*host, "fetch", /*required=*/false));
  if (out.fetch.empty()) out.fetch = "full";
  if (out.fetch != "full" && out.fetch != "demand")
    return malformed("\"fetch\" is '" + out.fetch + "', not full or demand");
  if (auto servers = host->find("servers"); servers != host->end()) {
    if (!servers->is_array()) return malformed("\"servers\" is not a list");
    for (const Json& server : *servers) {
      if (!server.is_string() || !(server.get<std::string>().starts_with("http://") ||
                                   server.get<std::string>().starts_with("https://")))
        return malformed("\"servers\" holds " + server.dump() + ", not an http(s):// URL");
      out.servers.push_back(server.get<std::string>());
    }
  }
  return out;
}

Result<BootManifest> manifest_from_body(const Json& body) {
  auto version = body.find("version");
  if (version == body.end() || !version->is_number_integer() ||
      (version->get<int64_t>() != BootManifest::kVersion &&
       version->get<int64_t>() != BootManifest::kHostVersion))
    return malformed("unsupported version (this goldroot reads versions 1 and 2)");
  BootManifest manifest;
  const Json* image = TRY(object_field(body, "image"));
  manifest.image.sha256 = TRY(digest_field(*image, "sha256"));
  manifest.image.size = TRY(size_field(*image, "size"));
  manifest.image.format = TRY(string_field(*image, "format"));
  manifest.image.url = TRY(string_field(*image, "url", /*required=*/false));
  if (image->contains("verity"))
    manifest.image.verity = TRY(verity_from_json(*image, manifest.image.size));
  manifest.commit = TRY(digest_field(body, "commit"));
  manifest.kernel = TRY(boot_file_from_json(body, "kernel"));
  manifest.initrd = TRY(boot_file_from_json(body, "initrd"));
  if (version->get<int64_t>() == BootManifest::kHostVersion) {
    manifest.host = TRY(host_binding_from_json(body));
    if (manifest.host->fetch == "demand" && !manifest.image.verity)
      return malformed("\"fetch\" is demand, but the image has no verity tree to check blocks with");
  }
  return manifest;
}

}  // namespace

Result<std::string> sign_boot_manifest(const BootManifest& manifest, const SigningKey& key) {
  Json document = body_json(manifest);
  std::string signature = TRY(key.sign(signed_bytes(document)));
  document["signature"] = {{"algorithm", kAlgorithm},
                           {"key_id", key.public_key().key_id()},
                           {"value", base64_encode(signature)}};
  return document.dump(2) + "\n";
}

Result<BootManifest> verify_boot_manifest(std::string_view signed_json, const VerifyKey& key) {
  Json document = parse_untrusted_json<Json>(signed_json);
  if (!document.is_object()) return malformed("not a JSON object");
  auto found = document.find("signature");
  if (found == document.end() || !found->is_object()) return malformed("not signed");
  Json signature = *found;
  document.erase("signature");

  std::string algorithm = TRY(string_field(signature, "algorithm"));
  if (algorithm != kAlgorithm) return malformed("unsupported signature algorithm " + algorithm);
  std::string key_id = TRY(string_field(signature, "key_id"));
  if (key_id != key.key_id())
    return malformed("signed by key " + key_id + ", not by this site's key " + key.key_id());
  std::string encoded = TRY(string_field(signature, "value"));
  auto raw = base64_decode(encoded);
  if (!raw.ok()) return malformed("signature " + raw.error().message);
  TRY(std::move(key.verify(signed_bytes(document), *raw)).context("boot manifest"));
  return manifest_from_body(document);
}

}  // namespace goldroot
