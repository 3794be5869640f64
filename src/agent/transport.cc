#include "agent/transport.h"

#include <curl/curl.h>

#include <memory>

namespace goldroot::agent {

PostOutcome post_report(const std::string& server, const std::string& body,
                        const std::string& signature, long timeout_seconds) {
  PostOutcome outcome;
  std::unique_ptr<CURL, void (*)(CURL*)> handle(curl_easy_init(), curl_easy_cleanup);
  if (!handle) {
    outcome.failure = "curl_easy_init failed";
    return outcome;
  }
  std::string url = server;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/api/v1/reports";
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(nullptr, curl_slist_free_all);
  for (std::string header : {std::string("Content-Type: application/json"),
                             "X-Goldroot-Signature: " + signature, std::string("Expect:")})
    headers.reset(curl_slist_append(headers.release(), header.c_str()));
  CURL* curl = handle.get();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, std::min(timeout_seconds, 10L));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_seconds);
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
    outcome.failure = curl_easy_strerror(code);
    outcome.body.clear();
    return outcome;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &outcome.status);
  return outcome;
}

}  // namespace goldroot::agent
