// EngineTest: a fixture base that runs the same fleet test on both inventory
// engines. Each test gets an inventory target of its own: a SQLite file in
// a temporary directory, or a fresh schema in the PostgreSQL database of
// $GOLDROOT_TEST_DATABASE (dropped after the test). Without that variable
// the PostgreSQL variant is skipped with a sentence saying how to run it.
//
//   class InventoryTest : public testing::EngineTest { … SetUp() {
//     EngineTest::SetUp(); if (IsSkipped()) return; … open(database()) … } };
//   TEST_P(InventoryTest, …) { … }
//   GOLDROOT_ENGINE_TESTS(InventoryTest);
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "base/testing/testing.h"
#include "fleet/database.h"

namespace goldroot::testing {

class EngineTest : public ::testing::TestWithParam<DatabaseEngine> {
 protected:
  void SetUp() override;
  void TearDown() override;
  // The target for Database::open / Inventory::open.
  const std::string& database() const { return database_; }
  DatabaseEngine engine() const { return GetParam(); }
  bool postgresql() const { return GetParam() == DatabaseEngine::kPostgresql; }

  TempDir dir_;

 private:
  std::string database_;
  std::string schema_;
};

// "sqlite" or "postgresql", for test names.
std::string engine_test_name(const ::testing::TestParamInfo<DatabaseEngine>& info);

}  // namespace goldroot::testing

#define GOLDROOT_ENGINE_TESTS(fixture)                                                    \
  INSTANTIATE_TEST_SUITE_P(Engines, fixture,                                            \
                           ::testing::Values(::goldroot::DatabaseEngine::kSqlite,       \
                                             ::goldroot::DatabaseEngine::kPostgresql),  \
                           ::goldroot::testing::engine_test_name)
