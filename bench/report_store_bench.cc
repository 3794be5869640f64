// report_store_bench TARGET REPORTS WRITERS: how many agent reports per
// second the inventory at TARGET (a SQLite file or a postgresql:// URL)
// stores, as `goldroot serve` stores them — each report one write
// transaction through AgentStore::record, with the same host lookups, the
// history trim and the open-commands query. WRITERS threads each hold a
// connection of their own (as several servers do) and report for hosts of
// their own. Prints "REPORTS_PER_SECOND" on stdout; bench/inventory_bench.sh
// runs it against both engines and prints the ratio.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "fleet/agent_store.h"
#include "fleet/inventory.h"

namespace goldroot {
namespace {

constexpr int kHostsPerWriter = 20;

Status add_hosts(const std::string& target, int writers) {
  Inventory inventory = TRY(Inventory::open(target));
  auto transaction = TRY(inventory.begin_write());
  for (int writer = 0; writer < writers; ++writer)
    for (int index = 0; index < kHostsPerWriter; ++index) {
      Host host;
      host.name = "w" + std::to_string(writer) + "-pc" + std::to_string(index);
      char mac[18];
      std::snprintf(mac, sizeof mac, "52:54:00:30:%02x:%02x", writer, index);
      host.macs = {mac};
      TRY(inventory.add_host(host));
    }
  return transaction.commit();
}

Status report(const std::string& target, int writer, int reports) {
  Inventory inventory = TRY(Inventory::open(target));
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  for (int index = 0; index < reports; ++index) {
    Report sent;
    sent.host = "w" + std::to_string(writer) + "-pc" + std::to_string(index % kHostsPerWriter);
    sent.boot_id = "bench-boot-" + std::to_string(writer);
    sent.sequence = index / kHostsPerWriter + 1;
    sent.sent_at = now;
    sent.commit = std::string(64, '1');
    sent.mode = "normal";
    sent.uptime_seconds = 100;
    sent.interval_seconds = 60;
    auto transaction = TRY(inventory.begin_write());
    AgentStore agents(inventory.database());
    TRY(agents.check_reported_mode(sent.host, sent.mode, now));
    TRY(agents.record(sent, sent.serialize(), now));
    TRY(transaction.commit());
  }
  return {};
}

}  // namespace
}  // namespace goldroot

int main(int argc, char** argv) {
  using namespace goldroot;
  if (argc != 4) {
    std::fprintf(stderr, "usage: report_store_bench TARGET REPORTS WRITERS\n");
    return 2;
  }
  std::string target = argv[1];
  int reports = std::atoi(argv[2]), writers = std::atoi(argv[3]);
  if (auto added = add_hosts(target, writers); !added.ok()) {
    std::fprintf(stderr, "error: %s\n", added.error().message.c_str());
    return 1;
  }
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  std::vector<Status> results(writers);
  for (int writer = 0; writer < writers; ++writer)
    threads.emplace_back([&, writer] { results[writer] = report(target, writer, reports / writers); });
  for (std::thread& thread : threads) thread.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const Status& result : results)
    if (!result.ok()) {
      std::fprintf(stderr, "error: %s\n", result.error().message.c_str());
      return 1;
    }
  std::printf("%.0f\n", (reports / writers) * writers / seconds);
  return 0;
}
