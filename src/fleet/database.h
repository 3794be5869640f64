// Database, Statement and DbTransaction: small RAII wrappers over the two
// engines the fleet inventory can live in, just enough for it:
//   SQLite      a file (SITE/goldroot.db): one server, the embedded default;
//   PostgreSQL  a postgresql:// URL: several servers sharing one database.
// Callers write one SQL text for both — `?` placeholders (`?N` to repeat
// one), ON CONFLICT upserts, INSERT … RETURNING id — and read rows by
// column index. Errors become Result with the engine's own sentence;
// unique-constraint violations map to kAlreadyExists on both so callers can
// turn them into a user-facing sentence. No error repeats a URL's password.
//
// A Database owns one connection: sqlite3 (WAL, foreign keys on, a busy
// timeout) or libpq's PGconn (reconnected on the next use after it was
// lost, outside a transaction). A Statement must not outlive its Database.
// A DbTransaction rolls back on destruction unless commit()ed.
// None of them is thread-safe.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace goldroot {

enum class DatabaseEngine { kSqlite, kPostgresql };

// True for a postgresql:// (or postgres://) URL, false for a SQLite path.
bool is_postgresql_url(std::string_view target);
// `url` with its password (in the user part or a password= parameter)
// replaced by ***, for messages and `site show`.
std::string redact_url(std::string_view url);
// "postgresql://user@host/db" without the password, or "sqlite PATH".
std::string describe_database(std::string_view target);

// `sql` with SQLite's placeholders (`?`, `?N`) numbered as PostgreSQL's
// ($1, $N), leaving `?` inside quotes alone. A plain `?` takes the number
// after the highest so far, as SQLite numbers it.
std::string number_placeholders(std::string_view sql);

namespace database_detail {
struct PgConnection;
}

class Statement;

class Database {
 public:
  // `target` is a SQLite file's path or a postgresql:// URL.
  static Result<Database> open(const std::string& target);
  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  // Runs one or more statements that return no rows.
  Status exec(const std::string& sql);
  Result<Statement> prepare(std::string_view sql);
  // Rows the last INSERT, UPDATE or DELETE changed.
  int changes() const;
  DatabaseEngine engine() const { return pg_ ? DatabaseEngine::kPostgresql : DatabaseEngine::kSqlite; }
  // The file's path, or the URL without its password: for messages.
  const std::string& name() const { return name_; }

 private:
  friend class DbTransaction;
  Database(sqlite3* db, std::string name);
  explicit Database(std::unique_ptr<database_detail::PgConnection> pg);
  sqlite3* db_ = nullptr;
  std::unique_ptr<database_detail::PgConnection> pg_;
  std::string name_;
};

class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  ~Statement();

  // Binds parameters 1, 2, … in order; nullopt binds NULL. PostgreSQL
  // gets integers as BIGINT (cast where a function wants another type) and
  // text with its type left to the query.
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
  struct PgParameter {
    std::optional<std::string> value;
    bool integer = false;
  };
  Statement(sqlite3* db, sqlite3_stmt* statement) : db_(db), statement_(statement) {}
  Statement(database_detail::PgConnection* pg, std::string sql);
  void clear_result();

  sqlite3* db_ = nullptr;
  sqlite3_stmt* statement_ = nullptr;
  int next_ = 1;
  // PostgreSQL: the numbered SQL, the values to send, and the rows received.
  database_detail::PgConnection* pg_ = nullptr;
  std::string sql_;
  std::vector<PgParameter> parameters_;
  void* result_ = nullptr;  // PGresult*
  int row_ = -1;
};

enum class TransactionKind { kRead, kWrite };

class DbTransaction {
 public:
  // kWrite takes the inventory's write lock at once — SQLite's BEGIN
  // IMMEDIATE; on PostgreSQL a transaction-scoped advisory lock every
  // writer takes first, so writers of all servers run one after another
  // (and never fail to serialise) — so a command fails before it changes
  // anything rather than halfway. kRead sees one snapshot.
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
