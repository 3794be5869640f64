// PgConnection: the PostgreSQL side of fleet/database.h — one libpq
// connection, what it takes to make it again after it was lost, and the
// translation of libpq's failures into Error. Only database.cc uses it.
//
// Every message it makes names the server by its URL without the password,
// and has the password scrubbed from libpq's own text. Not thread-safe.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <unordered_map>
#include <string>
#include <vector>

#include "base/result.h"

namespace goldroot::database_detail {

struct PgParameterView {
  const char* value = nullptr;  // nullptr: NULL
  bool integer = false;         // sent as int8, else its type is inferred
};

struct PgConnection {
  // Connects to `url` (postgresql://…) and checks the server answers.
  static Result<std::unique_ptr<PgConnection>> connect(const std::string& url);
  ~PgConnection();

  // Runs `sql` with `parameters` ($1…); the result holds rows or a command
  // tag (PGRES_TUPLES_OK or PGRES_COMMAND_OK), anything else is an Error.
  // Each text is prepared once per connection (the server parses and plans
  // it once). Outside a transaction a lost connection is made again first.
  Result<PGresult*> execute(const std::string& sql, const std::vector<PgParameterView>& parameters);
  // Runs statements without parameters (one or several, `;`-separated).
  Status execute_script(const std::string& sql);

  // libpq's text for a failure, on one line, without the password.
  std::string clean(std::string text) const;

  PGconn* connection = nullptr;
  std::string url;   // with the password, to connect again
  std::string name;  // the URL without the password
  std::vector<std::string> secrets;
  int changes = 0;
  bool in_transaction = false;
  // Statement names by parameter types and SQL text.
  std::unordered_map<std::string, std::string> prepared;

 private:
  Status reconnect_if_lost();
  Error result_error(PGresult* result, const std::string& what);
};

}  // namespace goldroot::database_detail
