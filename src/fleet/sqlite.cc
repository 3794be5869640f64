#include "fleet/sqlite.h"

#include <utility>

namespace goldroot {

namespace {

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

Result<Database> Database::open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  Database database(db, path);
  if (rc != SQLITE_OK) return sqlite_error(db, rc, "opening inventory " + path);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_extended_result_codes(db, 1);
  TRY(database.exec("PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;")
          .context("opening inventory " + path));
  return database;
}

Database::Database(Database&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    if (db_) sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

Database::~Database() {
  if (db_) sqlite3_close_v2(db_);
}

Status Database::exec(const std::string& sql) {
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
  sqlite3_stmt* statement = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &statement, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(db_, rc, "preparing inventory query");
  return Statement(db_, statement);
}

int64_t Database::last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
int Database::changes() const { return sqlite3_changes(db_); }

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), statement_(std::exchange(other.statement_, nullptr)), next_(other.next_) {}

Statement::~Statement() {
  if (statement_) sqlite3_finalize(statement_);
}

Statement& Statement::bind(int64_t value) {
  sqlite3_bind_int64(statement_, next_++, value);
  return *this;
}

Statement& Statement::bind(std::string_view value) {
  sqlite3_bind_text(statement_, next_++, value.data(), static_cast<int>(value.size()),
                    SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind(const std::optional<std::string>& value) {
  return value ? bind(std::string_view(*value)) : bind_null();
}

Statement& Statement::bind_null() {
  sqlite3_bind_null(statement_, next_++);
  return *this;
}

Result<bool> Statement::step() {
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
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
  next_ = 1;
}

int64_t Statement::int_column(int index) const { return sqlite3_column_int64(statement_, index); }

std::string Statement::text_column(int index) const {
  const unsigned char* text = sqlite3_column_text(statement_, index);
  return text ? std::string(reinterpret_cast<const char*>(text),
                            static_cast<size_t>(sqlite3_column_bytes(statement_, index)))
              : std::string();
}

std::optional<std::string> Statement::optional_text_column(int index) const {
  if (sqlite3_column_type(statement_, index) == SQLITE_NULL) return std::nullopt;
  return text_column(index);
}

Result<DbTransaction> DbTransaction::begin(Database& db, TransactionKind kind) {
  TRY(db.exec(kind == TransactionKind::kWrite ? "BEGIN IMMEDIATE" : "BEGIN"));
  return DbTransaction(&db);
}

DbTransaction::DbTransaction(DbTransaction&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)) {}

DbTransaction::~DbTransaction() {
  if (db_) (void)db_->exec("ROLLBACK");
}

Status DbTransaction::commit() {
  Database* db = std::exchange(db_, nullptr);
  return db->exec("COMMIT");
}

}  // namespace goldroot
