#include "store/sqlite.hpp"

#include <sqlite3.h>

namespace schoolnet::store {

void Database::Closer::operator()(sqlite3* db) const {
  sqlite3_close_v2(db);
}
void Statement::Finalizer::operator()(sqlite3_stmt* s) const {
  sqlite3_finalize(s);
}

Result<Database> Database::open(const std::string& path, int flags) {
  if (flags == 0) {
    flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  }
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  Database db;
  db.db_.reset(raw);
  if (rc != SQLITE_OK) {
    return make_error("store_open", path + ": " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(raw, 1);
  return db;
}

namespace {
// Maps SQLite's extended result code to the project's stable error codes.
Error error_from(sqlite3* db, std::string_view what) {
  const int code = db ? sqlite3_extended_errcode(db) : SQLITE_MISUSE;
  std::string name = "sqlite";
  switch (code & 0xFF) {
    case SQLITE_FULL:
      name = "store_full";
      break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      name = "store_corrupt";
      break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      name = "store_busy";
      break;
    case SQLITE_IOERR:
      name = "store_io";
      break;
    case SQLITE_READONLY:
      name = "store_readonly";
      break;
    default:
      break;
  }
  return make_error(name,
                    std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "database not open"));
}
}  // namespace

Error Database::last_error(std::string_view what) const {
  return error_from(db_.get(), what);
}

Status Database::exec(std::string_view sql) {
  char* msg = nullptr;
  const std::string s(sql);
  const int rc = sqlite3_exec(db_.get(), s.c_str(), nullptr, nullptr, &msg);
  if (rc != SQLITE_OK) {
    Error e = last_error("exec");
    if (msg) {
      e.message = std::string("exec: ") + msg;
      sqlite3_free(msg);
    }
    return e;
  }
  return {};
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  const int rc =
      sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
  if (rc != SQLITE_OK) {
    return last_error("prepare");
  }
  Statement st;
  st.stmt_.reset(raw);
  st.db_ = db_.get();
  return st;
}

int64_t Database::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_.get());
}
int Database::changes() const {
  return sqlite3_changes(db_.get());
}

Result<int64_t> Database::pragma_int(std::string_view pragma) {
  auto st = prepare("PRAGMA " + std::string(pragma));
  if (!st) {
    return st.error();
  }
  auto row = st->step();
  if (!row) {
    return row.error();
  }
  return *row ? st->column_int(0) : 0;
}

Result<std::string> Database::pragma_text(std::string_view pragma) {
  auto st = prepare("PRAGMA " + std::string(pragma));
  if (!st) {
    return st.error();
  }
  auto row = st->step();
  if (!row) {
    return row.error();
  }
  return *row ? st->column_text(0) : std::string{};
}

Statement& Statement::bind(int index, int64_t v) {
  sqlite3_bind_int64(stmt_.get(), index, v);
  return *this;
}
Statement& Statement::bind(int index, double v) {
  sqlite3_bind_double(stmt_.get(), index, v);
  return *this;
}
Statement& Statement::bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_.get(), index, text.data(), static_cast<int>(text.size()),
                    SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::bind_blob(int index, std::string_view bytes) {
  sqlite3_bind_blob(stmt_.get(), index, bytes.data(), static_cast<int>(bytes.size()),
                    SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::bind_null(int index) {
  sqlite3_bind_null(stmt_.get(), index);
  return *this;
}

Result<bool> Statement::step() {
  const int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  return error_from(db_, "step");
}

Status Statement::run() {
  for (;;) {
    auto r = step();
    if (!r) {
      sqlite3_reset(stmt_.get());
      return r.error();
    }
    if (!*r) {
      break;
    }
  }
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
  return {};
}

Status Statement::reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
  return {};
}

int64_t Statement::column_int(int col) const {
  return sqlite3_column_int64(stmt_.get(), col);
}
double Statement::column_double(int col) const {
  return sqlite3_column_double(stmt_.get(), col);
}
std::string Statement::column_text(int col) const {
  const auto* p = sqlite3_column_text(stmt_.get(), col);
  const int n = sqlite3_column_bytes(stmt_.get(), col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string{};
}
std::string Statement::column_blob(int col) const {
  const void* p = sqlite3_column_blob(stmt_.get(), col);
  const int n = sqlite3_column_bytes(stmt_.get(), col);
  return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string{};
}
bool Statement::column_is_null(int col) const {
  return sqlite3_column_type(stmt_.get(), col) == SQLITE_NULL;
}

Transaction::~Transaction() {
  if (open_) {
    (void)db_.exec("ROLLBACK");
  }
}

Status Transaction::begin(bool immediate) {
  auto s = db_.exec(immediate ? "BEGIN IMMEDIATE" : "BEGIN");
  open_ = s.ok();
  return s;
}

Status Transaction::commit() {
  auto s = db_.exec("COMMIT");
  if (s.ok()) {
    open_ = false;
  }
  return s;
}

}  // namespace schoolnet::store
