#include "fleet/database.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "fleet/postgresql.h"

namespace goldroot {

using database_detail::PgConnection;
using database_detail::PgParameterView;

namespace {

// The lock every PostgreSQL writer takes first (pg_advisory_xact_lock):
// "goldroot" in ASCII, so it is unlikely to meet another program's.
constexpr const char* kWriteLock = "SELECT pg_advisory_xact_lock(7453295086993895284)";

Error sqlite_error(sqlite3* db, int code, const std::string& what) {
  ErrorCode mapped = ErrorCode::kIo;
  switch (code & 0xff) {
    case SQLITE_CONSTRAINT:
      mapped = ErrorCode::kAlreadyExists;
      break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      mapped = ErrorCode::kBusy;
      break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      mapped = ErrorCode::kCorruption;
      break;
    case SQLITE_FULL:
      mapped = ErrorCode::kNoSpace;
      break;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
      mapped = ErrorCode::kPermissionDenied;
      break;
    default:
      break;
  }
  const char* message = db ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  return make_error(mapped, what + ": " + message);
}

}  // namespace

bool is_postgresql_url(std::string_view target) {
  return target.starts_with("postgresql://") || target.starts_with("postgres://");
}

std::string redact_url(std::string_view url) {
  std::string out(url);
  size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    size_t start = scheme + 3;
    size_t end = out.find_first_of("/?", start);
    if (end == std::string::npos) end = out.size();
    size_t at = out.rfind('@', end);
    if (at != std::string::npos && at >= start) {
      size_t colon = out.find(':', start);
      if (colon != std::string::npos && colon < at) out.replace(colon, at - colon, ":***");
    }
  }
  size_t query = out.find('?');
  if (query == std::string::npos) return out;
  for (size_t key = out.find("password=", query); key != std::string::npos;
       key = out.find("password=", key + 1)) {
    if (out[key - 1] != '?' && out[key - 1] != '&') continue;
    size_t value = key + 9;
    size_t end = out.find('&', value);
    out.replace(value, (end == std::string::npos ? out.size() : end) - value, "***");
  }
  return out;
}

std::string describe_database(std::string_view target) {
  if (is_postgresql_url(target)) return redact_url(target);
  return "sqlite " + std::string(target);
}

std::string number_placeholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 8);
  int highest = 0;
  char quote = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    if (quote) {
      out += c;
      if (c == quote) quote = 0;  // a doubled quote closes and reopens: same result
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      out += c;
      continue;
    }
    if (c != '?') {
      out += c;
      continue;
    }
    size_t digits = i + 1;
    while (digits < sql.size() && sql[digits] >= '0' && sql[digits] <= '9') ++digits;
    int number;
    if (digits > i + 1) {
      number = std::atoi(std::string(sql.substr(i + 1, digits - i - 1)).c_str());
      i = digits - 1;
    } else {
      number = highest + 1;
    }
    highest = std::max(highest, number);
    out += '$' + std::to_string(number);
  }
  return out;
}

Result<Database> Database::open(const std::string& target) {
  if (is_postgresql_url(target)) return Database(TRY(PgConnection::connect(target)));
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      target.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  Database database(db, target);
  if (rc != SQLITE_OK) return sqlite_error(db, rc, "opening inventory " + target);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_extended_result_codes(db, 1);
  TRY(database.exec("PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;")
          .context("opening inventory " + target));
  return database;
}

Database::Database(sqlite3* db, std::string name) : db_(db), name_(std::move(name)) {}

Database::Database(std::unique_ptr<PgConnection> pg) : pg_(std::move(pg)), name_(pg_->name) {}

Database::Database(Database&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), pg_(std::move(other.pg_)), name_(std::move(other.name_)) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    if (db_) sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    pg_ = std::move(other.pg_);
    name_ = std::move(other.name_);
  }
  return *this;
}

Database::~Database() {
  if (db_) sqlite3_close_v2(db_);
}

Status Database::exec(const std::string& sql) {
  if (pg_) return pg_->execute_script(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string text = message ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    Error error = sqlite_error(nullptr, rc, "inventory");
    error.message = "inventory: " + text;
    return error;
  }
  return {};
}

Result<Statement> Database::prepare(std::string_view sql) {
  if (pg_) return Statement(pg_.get(), number_placeholders(sql));
  sqlite3_stmt* statement = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &statement, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(db_, rc, "preparing inventory query");
  return Statement(db_, statement);
}

int Database::changes() const { return pg_ ? pg_->changes : sqlite3_changes(db_); }

Statement::Statement(PgConnection* pg, std::string sql) : pg_(pg), sql_(std::move(sql)) {}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_),
      statement_(std::exchange(other.statement_, nullptr)),
      next_(other.next_),
      pg_(other.pg_),
      sql_(std::move(other.sql_)),
      parameters_(std::move(other.parameters_)),
      result_(std::exchange(other.result_, nullptr)),
      row_(other.row_) {}

Statement::~Statement() {
  if (statement_) sqlite3_finalize(statement_);
  clear_result();
}

void Statement::clear_result() {
  if (result_) PQclear(static_cast<PGresult*>(result_));
  result_ = nullptr;
  row_ = -1;
}

Statement& Statement::bind(int64_t value) {
  if (pg_) {
    parameters_.push_back({std::to_string(value), true});
    return *this;
  }
  sqlite3_bind_int64(statement_, next_++, value);
  return *this;
}

Statement& Statement::bind(std::string_view value) {
  if (pg_) {
    parameters_.push_back({std::string(value), false});
    return *this;
  }
  sqlite3_bind_text(statement_, next_++, value.data(), static_cast<int>(value.size()),
                    SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind(const std::optional<std::string>& value) {
  return value ? bind(std::string_view(*value)) : bind_null();
}

Statement& Statement::bind_null() {
  if (pg_) {
    parameters_.push_back({std::nullopt, false});
    return *this;
  }
  sqlite3_bind_null(statement_, next_++);
  return *this;
}

Result<bool> Statement::step() {
  if (pg_) {
    if (!result_) {
      std::vector<PgParameterView> views;
      views.reserve(parameters_.size());
      for (const PgParameter& parameter : parameters_)
        views.push_back({parameter.value ? parameter.value->c_str() : nullptr, parameter.integer});
      result_ = TRY(pg_->execute(sql_, views));
    }
    ++row_;
    return row_ < PQntuples(static_cast<PGresult*>(result_));
  }
  int rc = sqlite3_step(statement_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_error(db_, rc, "inventory");
}

Status Statement::run() {
  while (TRY(step())) {
  }
  return {};
}

void Statement::reset() {
  if (pg_) {
    clear_result();
    parameters_.clear();
    return;
  }
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
  next_ = 1;
}

int64_t Statement::int_column(int index) const {
  if (pg_) {
    auto* result = static_cast<PGresult*>(result_);
    if (PQgetisnull(result, row_, index)) return 0;
    return std::strtoll(PQgetvalue(result, row_, index), nullptr, 10);
  }
  return sqlite3_column_int64(statement_, index);
}

std::string Statement::text_column(int index) const {
  if (pg_) {
    auto* result = static_cast<PGresult*>(result_);
    return std::string(PQgetvalue(result, row_, index),
                       static_cast<size_t>(PQgetlength(result, row_, index)));
  }
  const unsigned char* text = sqlite3_column_text(statement_, index);
  return text ? std::string(reinterpret_cast<const char*>(text),
                            static_cast<size_t>(sqlite3_column_bytes(statement_, index)))
              : std::string();
}

std::optional<std::string> Statement::optional_text_column(int index) const {
  if (pg_) {
    if (PQgetisnull(static_cast<PGresult*>(result_), row_, index)) return std::nullopt;
    return text_column(index);
  }
  if (sqlite3_column_type(statement_, index) == SQLITE_NULL) return std::nullopt;
  return text_column(index);
}

Result<DbTransaction> DbTransaction::begin(Database& db, TransactionKind kind) {
  if (PgConnection* pg = db.pg_.get()) {
    if (kind == TransactionKind::kWrite) {
      // One round trip. Readers never wait for the lock; writers of every
      // server queue there, before their transaction reads anything.
      Status begun = pg->execute_script(std::string("BEGIN; ") + kWriteLock);
      pg->in_transaction = true;
      DbTransaction transaction(&db);
      TRY(std::move(begun));
      return transaction;
    }
    TRY(pg->execute_script("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    pg->in_transaction = true;
    return DbTransaction(&db);
  }
  TRY(db.exec(kind == TransactionKind::kWrite ? "BEGIN IMMEDIATE" : "BEGIN"));
  return DbTransaction(&db);
}

DbTransaction::DbTransaction(DbTransaction&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)) {}

DbTransaction::~DbTransaction() {
  if (!db_) return;
  (void)db_->exec("ROLLBACK");
  if (db_->pg_) db_->pg_->in_transaction = false;
}

Status DbTransaction::commit() {
  Database* db = std::exchange(db_, nullptr);
  Status committed = db->exec("COMMIT");
  if (db->pg_) {
    db->pg_->in_transaction = false;
    if (!committed.ok()) (void)db->exec("ROLLBACK");
  }
  return committed;
}

}  // namespace goldroot
