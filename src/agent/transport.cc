#include "agent/transport.h"

#include <curl/curl.h>

#include <memory>

#include "crypto/curl_tls.h"

namespace goldroot::agent {

namespace {

using Handle = std::unique_ptr<CURL, void (*)(CURL*)>;
using Headers = std::unique_ptr<curl_slist, void (*)(curl_slist*)>;

std::string join_url(std::string server, const std::string& path) {
  while (!server.empty() && server.back() == '/') server.pop_back();
  return server + path;
}

// Sends what `curl` was set up to send, with the signature, and collects
// the answer. `failure` overrides curl's reason (a body source that failed).
PostOutcome perform(CURL* curl, const std::string& url, const std::string& content_type,
                    const std::string& signature, long connect_timeout,
                    const std::string& pinned_public_key, const std::string* failure = nullptr) {
  PostOutcome outcome;
  if (Status tls = use_pinned_tls(curl, url, pinned_public_key); !tls.ok()) {
    outcome.failure = tls.error().message;
    return outcome;
  }
  Headers headers(nullptr, curl_slist_free_all);
  // No "Expect: 100-continue": the server answers as soon as it has the head.
  for (std::string header : {"Content-Type: " + content_type, "X-Goldroot-Signature: " + signature,
                             std::string("Expect:")})
    headers.reset(curl_slist_append(headers.release(), header.c_str()));
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, connect_timeout);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "goldroot-agent");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION,
                   +[](char* data, size_t size, size_t count, void* user) -> size_t {
                     auto* text = static_cast<std::string*>(user);
                     if (text->size() < (1 << 20)) text->append(data, size * count);
                     return size * count;
                   });
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &outcome.body);
  CURLcode code = curl_easy_perform(curl);
  if (code != CURLE_OK) {
    outcome.failure = failure && !failure->empty() ? *failure : curl_easy_strerror(code);
    outcome.body.clear();
    return outcome;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &outcome.status);
  return outcome;
}

}  // namespace

PostOutcome post_report(const std::string& server, const std::string& body,
                        const std::string& signature, long timeout_seconds,
                        const std::string& pinned_public_key) {
  Handle handle(curl_easy_init(), curl_easy_cleanup);
  if (!handle) return {0, "", "curl_easy_init failed"};
  CURL* curl = handle.get();
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_seconds);
  return perform(curl, join_url(server, "/api/v1/reports"), "application/json", signature,
                 std::min(timeout_seconds, 10L), pinned_public_key);
}

PostOutcome post_stream(const std::string& server, const std::string& path,
                        const std::string& signature, const BodySource& source,
                        long stall_seconds, const std::string& pinned_public_key) {
  Handle handle(curl_easy_init(), curl_easy_cleanup);
  if (!handle) return {0, "", "curl_easy_init failed"};
  struct Reader {
    const BodySource* source;
    std::string failure;
  } reader{&source, ""};
  CURL* curl = handle.get();
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  // No length given: libcurl sends it chunked.
  curl_easy_setopt(curl, CURLOPT_READFUNCTION,
                   +[](char* buffer, size_t size, size_t count, void* user) -> size_t {
                     auto* reader = static_cast<Reader*>(user);
                     auto filled = (*reader->source)(buffer, size * count);
                     if (!filled.ok()) {
                       reader->failure = filled.error().message;
                       return CURL_READFUNC_ABORT;
                     }
                     return *filled;
                   });
  curl_easy_setopt(curl, CURLOPT_READDATA, &reader);
  // No overall limit (an upper may be large); a transfer that stalls ends.
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, stall_seconds);
  return perform(curl, join_url(server, path), "application/x-tar", signature, 10L,
                 pinned_public_key, &reader.failure);
}

}  // namespace goldroot::agent
