// Database, Statement and DbTransaction: small RAII wrappers over libsqlite3,
// just enough for the fleet inventory. Errors become Result with the
// database's own sentence; constraint violations map to kAlreadyExists so
// callers can turn them into a user-facing sentence.
//
// A Database owns one sqlite3 connection (WAL, foreign keys on, a busy
// timeout). A Statement owns one prepared statement and must not outlive its
// Database. A DbTransaction rolls back on destruction unless commit()ed.
// None of them is thread-safe.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace goldroot {

class Statement;

class Database {
 public:
  static Result<Database> open(const std::string& path);
  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  // Runs one or more statements that return no rows.
  Status exec(const std::string& sql);
  Result<Statement> prepare(std::string_view sql);
  int64_t last_insert_id() const;
  int changes() const;
  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }

 private:
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_ = nullptr;
  std::string path_;
};

class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  ~Statement();

  // Binds parameters 1, 2, … in order; nullopt binds NULL.
  Statement& bind(int64_t value);
  Statement& bind(std::string_view value);
  Statement& bind(const std::string& value) { return bind(std::string_view(value)); }
  Statement& bind(const char* value) { return bind(std::string_view(value)); }
  Statement& bind(const std::optional<std::string>& value);
  Statement& bind_null();

  // Advances: true when a row is ready, false when done.
  Result<bool> step();
  // Steps to completion, for statements that return no rows.
  Status run();
  void reset();

  int64_t int_column(int index) const;
  std::string text_column(int index) const;
  std::optional<std::string> optional_text_column(int index) const;

 private:
  friend class Database;
  Statement(sqlite3* db, sqlite3_stmt* statement) : db_(db), statement_(statement) {}
  sqlite3* db_;
  sqlite3_stmt* statement_;
  int next_ = 1;
};

enum class TransactionKind { kRead, kWrite };

class DbTransaction {
 public:
  // kWrite takes SQLite's write lock at once (BEGIN IMMEDIATE), so a command
  // fails before it changes anything rather than halfway.
  static Result<DbTransaction> begin(Database& db, TransactionKind kind);
  DbTransaction(DbTransaction&& other) noexcept;
  DbTransaction& operator=(DbTransaction&&) = delete;
  ~DbTransaction();
  Status commit();

 private:
  explicit DbTransaction(Database* db) : db_(db) {}
  Database* db_;
};

}  // namespace goldroot
