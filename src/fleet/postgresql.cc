#include "fleet/postgresql.h"

#include <cctype>
#include <cstring>

#include "fleet/database.h"

namespace goldroot::database_detail {

namespace {

// %XX escapes of a URL part decoded.
std::string percent_decode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() &&
        std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// The URL's password as written and decoded (user part and password=).
std::vector<std::string> passwords_of(std::string_view url) {
  std::vector<std::string> out;
  auto add = [&](std::string_view raw) {
    if (raw.empty()) return;
    out.emplace_back(raw);
    if (std::string decoded = percent_decode(raw); decoded != raw) out.push_back(decoded);
  };
  size_t scheme = url.find("://");
  if (scheme != std::string_view::npos) {
    std::string_view rest = url.substr(scheme + 3);
    std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
    size_t at = authority.rfind('@');
    if (at != std::string_view::npos) {
      std::string_view user = authority.substr(0, at);
      size_t colon = user.find(':');
      if (colon != std::string_view::npos) add(user.substr(colon + 1));
    }
  }
  size_t query = url.find('?');
  while (query != std::string_view::npos) {
    std::string_view rest = url.substr(query + 1);
    std::string_view pair = rest.substr(0, rest.find('&'));
    if (pair.starts_with("password=")) add(pair.substr(9));
    size_t next = rest.find('&');
    query = next == std::string_view::npos ? next : query + 1 + next;
  }
  return out;
}

ErrorCode code_of_state(const char* state) {
  if (!state) return ErrorCode::kIo;
  std::string_view sqlstate(state);
  // Integrity constraints, as SQLite's SQLITE_CONSTRAINT.
  if (sqlstate.starts_with("23")) return ErrorCode::kAlreadyExists;
  if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03" || sqlstate == "57014")
    return ErrorCode::kBusy;
  if (sqlstate == "53100") return ErrorCode::kNoSpace;
  if (sqlstate.starts_with("28") || sqlstate == "42501") return ErrorCode::kPermissionDenied;
  if (sqlstate == "XX001" || sqlstate == "XX002") return ErrorCode::kCorruption;
  return ErrorCode::kIo;
}

void ignore_notice(void*, const char*) {}

}  // namespace

Result<std::unique_ptr<PgConnection>> PgConnection::connect(const std::string& url) {
  auto pg = std::make_unique<PgConnection>();
  pg->url = url;
  pg->name = redact_url(url);
  pg->secrets = passwords_of(url);
  // Settings the URL may override (it is expanded after them).
  const char* keywords[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"10", "goldroot", url.c_str(), nullptr};
  // libpq's parser quotes what it cannot read, password included: check the
  // URL first and say what is wrong in words of our own.
  char* parse_message = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &parse_message);
  if (!options) {
    std::string why = parse_message ? pg->clean(parse_message) : "out of memory";
    PQfreemem(parse_message);
    return make_error(ErrorCode::kInvalidArgument,
                      pg->name + " is not a PostgreSQL URL libpq can read (" + why +
                          "); write postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE");
  }
  PQconninfoFree(options);
  pg->connection = PQconnectdbParams(keywords, values, 1);
  if (!pg->connection)
    return make_error(ErrorCode::kIo, "connecting to PostgreSQL at " + pg->name + ": out of memory");
  if (PQstatus(pg->connection) != CONNECTION_OK)
    return make_error(ErrorCode::kIo, "connecting to the inventory at " + pg->name + ": " +
                                          pg->clean(PQerrorMessage(pg->connection)));
  PQsetNoticeProcessor(pg->connection, ignore_notice, nullptr);
  return pg;
}

PgConnection::~PgConnection() {
  if (connection) PQfinish(connection);
}

std::string PgConnection::clean(std::string text) const {
  for (const std::string& secret : secrets) {
    for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3))
      text.replace(at, secret.size(), "***");
  }
  // libpq ends lines with \n and indents hints with a tab: one line, its
  // lines joined by "; ", without the server's severity.
  for (size_t at = text.find("FATAL:  "); at != std::string::npos; at = text.find("FATAL:  "))
    text.erase(at, 8);
  std::string out;
  for (char c : text) {
    if (c == '\n') {
      out += "; ";
    } else if (c != '\t') {
      out += c;
    }
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ';' || out.back() == '.'))
    out.pop_back();
  return out;
}

Status PgConnection::reconnect_if_lost() {
  if (PQstatus(connection) == CONNECTION_OK) return {};
  if (in_transaction)
    return make_error(ErrorCode::kIo, "lost the connection to the inventory at " + name +
                                          " in the middle of a transaction; nothing of it was "
                                          "written");
  PQreset(connection);
  prepared.clear();  // they died with the old session
  if (PQstatus(connection) != CONNECTION_OK)
    return make_error(ErrorCode::kIo, "lost the connection to the inventory at " + name +
                                          " and could not connect again: " +
                                          clean(PQerrorMessage(connection)));
  PQsetNoticeProcessor(connection, ignore_notice, nullptr);
  return {};
}

Error PgConnection::result_error(PGresult* result, const std::string& what) {
  if (PQstatus(connection) != CONNECTION_OK)
    return make_error(ErrorCode::kIo,
                      "lost the connection to the inventory at " + name + " (" +
                          clean(PQerrorMessage(connection)) +
                          "); the next command connects again");
  const char* primary = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string message = primary ? primary : PQerrorMessage(connection);
  ErrorCode code =
      code_of_state(result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr);
  return make_error(code, what + ": " + clean(message));
}

Result<PGresult*> PgConnection::execute(const std::string& sql,
                                        const std::vector<PgParameterView>& parameters) {
  TRY(reconnect_if_lost());
  std::vector<Oid> types;
  std::vector<const char*> values;
  types.reserve(parameters.size());
  values.reserve(parameters.size());
  constexpr Oid kInt8 = 20;
  for (const PgParameterView& parameter : parameters) {
    types.push_back(parameter.integer ? kInt8 : 0);
    values.push_back(parameter.value);
  }
  std::string key;
  for (Oid type : types) key += type ? 'i' : '?';
  key += ':';
  key += sql;
  auto found = prepared.find(key);
  if (found == prepared.end()) {
    std::string name = "goldroot_" + std::to_string(prepared.size());
    PGresult* made = PQprepare(connection, name.c_str(), sql.c_str(),
                               static_cast<int>(types.size()), types.data());
    if (!made || PQresultStatus(made) != PGRES_COMMAND_OK) {
      Error error = result_error(made, "inventory");
      PQclear(made);
      return error;
    }
    PQclear(made);
    found = prepared.emplace(std::move(key), std::move(name)).first;
  }
  PGresult* result = PQexecPrepared(connection, found->second.c_str(),
                                    static_cast<int>(values.size()), values.data(), nullptr,
                                    nullptr, 0);
  ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    Error error = result_error(result, "inventory");
    PQclear(result);
    return error;
  }
  const char* tuples = PQcmdTuples(result);
  changes = tuples && *tuples ? std::atoi(tuples) : 0;
  return result;
}

Status PgConnection::execute_script(const std::string& sql) {
  TRY(reconnect_if_lost());
  PGresult* result = PQexec(connection, sql.c_str());
  ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    Error error = result_error(result, "inventory");
    PQclear(result);
    return error;
  }
  // COMMIT of a transaction an error aborted answers ROLLBACK.
  bool rolled_back = std::strcmp(PQcmdStatus(result), "ROLLBACK") == 0 && sql == "COMMIT";
  PQclear(result);
  if (rolled_back)
    return make_error(ErrorCode::kIo, "inventory: the transaction failed and was rolled back");
  return {};
}

}  // namespace goldroot::database_detail
