// Thin RAII wrappers over the SQLite C API: a Database owns a sqlite3*, a Statement owns a
// sqlite3_stmt*. Failures come back as Result values carrying SQLite's message; nothing throws.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace schoolnet::central::sqlite {

struct DatabaseCloser {
  void operator()(sqlite3* db) const;
};
struct StatementFinalizer {
  void operator()(sqlite3_stmt* stmt) const;
};

class Statement {
 public:
  Statement() = default;
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}

  // Parameters are 1-based, as in SQLite. Text and blobs are copied (SQLITE_TRANSIENT) unless
  // bound with the *_static forms, whose data must outlive the next step()/reset().
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, double value);
  Statement& bind_text(int index, std::string_view value);
  Statement& bind_blob(int index, std::string_view value);
  Statement& bind_null(int index);

  // One step: true when a row is available, false when done.
  Result<bool> step();
  // Steps to completion (for statements that return no rows).
  Status run();
  void reset();  // also clears the bindings

  int64_t int64(int column) const;
  double real(int column) const;
  std::string text(int column) const;
  std::string blob(int column) const;
  bool is_null(int column) const;

  sqlite3_stmt* get() const { return stmt_.get(); }
  explicit operator bool() const { return stmt_ != nullptr; }

 private:
  std::unique_ptr<sqlite3_stmt, StatementFinalizer> stmt_;
};

class Database {
 public:
  Database() = default;
  // Opens (creating when missing) the file; ":memory:" for a private in-memory database.
  static Result<Database> open(const std::string& path);

  Status exec(std::string_view sql);
  Result<Statement> prepare(std::string_view sql);
  int64_t changes() const;
  std::string last_error() const;
  Result<int64_t> query_int(std::string_view sql);

  sqlite3* get() const { return db_.get(); }
  explicit operator bool() const { return db_ != nullptr; }

 private:
  std::unique_ptr<sqlite3, DatabaseCloser> db_;
};

}  // namespace schoolnet::central::sqlite
