#include "fleet/testing/engine_test.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>

namespace goldroot::testing {

void EngineTest::SetUp() {
  if (!postgresql()) {
    database_ = dir_ / "goldroot.db";
    return;
  }
  const char* url = std::getenv("GOLDROOT_TEST_DATABASE");
  if (!url || !*url)
    GTEST_SKIP() << "GOLDROOT_TEST_DATABASE is unset: run the PostgreSQL variants through "
                    "scripts/with_postgresql.sh (ctest -L root runs fleet.postgresql)";
  static std::atomic<int> counter{0};
  schema_ = "goldroot_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  auto admin = Database::open(url);
  ASSERT_TRUE(admin.ok()) << admin.error().message;
  ASSERT_OK(admin->exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE; CREATE SCHEMA " + schema_));
  std::string base = url;
  database_ = base + (base.find('?') == std::string::npos ? "?" : "&") +
              "options=-csearch_path%3D" + schema_;
}

void EngineTest::TearDown() {
  if (schema_.empty()) return;
  auto admin = Database::open(std::getenv("GOLDROOT_TEST_DATABASE"));
  if (admin.ok()) (void)admin->exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
}

std::string engine_test_name(const ::testing::TestParamInfo<DatabaseEngine>& info) {
  return info.param == DatabaseEngine::kPostgresql ? "postgresql" : "sqlite";
}

}  // namespace goldroot::testing
