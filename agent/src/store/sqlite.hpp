// Thin RAII over the SQLite C API: a connection and prepared statements. Errors are values
// carrying SQLite's own message and extended code; nothing here throws.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace schoolnet::store {

class Statement;

class Database {
 public:
  Database() = default;
  Database(Database&&) noexcept = default;
  Database& operator=(Database&&) noexcept = default;

  // Opens (creating when allowed) a database file. `flags` are SQLITE_OPEN_* values; 0 means
  // read-write-create.
  static Result<Database> open(const std::string& path, int flags = 0);

  Status exec(std::string_view sql);
  Result<Statement> prepare(std::string_view sql);
  int64_t last_insert_rowid() const;
  int changes() const;
  sqlite3* handle() const { return db_.get(); }
  bool is_open() const { return static_cast<bool>(db_); }
  // Runs `PRAGMA name` and returns the first column of the first row as integer (or text).
  Result<int64_t> pragma_int(std::string_view pragma);
  Result<std::string> pragma_text(std::string_view pragma);
  Error last_error(std::string_view what) const;

 private:
  struct Closer {
    void operator()(sqlite3* db) const;
  };
  std::unique_ptr<sqlite3, Closer> db_;
};

class Statement {
 public:
  Statement() = default;
  Statement(Statement&&) noexcept = default;
  Statement& operator=(Statement&&) noexcept = default;

  Statement& bind(int index, int64_t v);
  Statement& bind(int index, double v);
  Statement& bind(int index, std::string_view text);
  Statement& bind_blob(int index, std::string_view bytes);
  Statement& bind_null(int index);

  // One step: true when a row is ready, false when done; an error otherwise.
  Result<bool> step();
  // Steps to completion (for statements that return no rows).
  Status run();
  Status reset();

  int64_t column_int(int col) const;
  double column_double(int col) const;
  std::string column_text(int col) const;
  std::string column_blob(int col) const;
  bool column_is_null(int col) const;

 private:
  friend class Database;
  struct Finalizer {
    void operator()(sqlite3_stmt* s) const;
  };
  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
  sqlite3* db_ = nullptr;
};

// Transaction guard: rolls back unless commit() succeeded.
class Transaction {
 public:
  explicit Transaction(Database& db) : db_(db) {}
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Status begin(bool immediate = true);
  Status commit();

 private:
  Database& db_;
  bool open_ = false;
};

}  // namespace schoolnet::store
