// The SQLite schema and its migrations. The schema version lives in PRAGMA user_version; each
// migration moves the database one version forward inside one transaction, so a crash mid-way
// leaves the previous version intact.
#pragma once

#include "central/store/sqlite.hpp"
#include "core/result.hpp"

namespace schoolnet::central::sqlite {

inline constexpr int kSchemaVersion = 3;

// Brings the database up to kSchemaVersion. Refuses a database written by a newer version.
Status migrate(Database& db);

}  // namespace schoolnet::central::sqlite
