// The ingest decode path, free of I/O: inflate a gzip body within a size limit, check the record
// count on the wire before building anything, parse the Batch and validate it. Every input
// either yields a valid Batch or an Error whose code maps to one HTTP status (status_for).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "schoolnet/v1/telemetry.pb.h"

namespace schoolnet::central::ingest {

struct DecodeLimits {
  int64_t max_decompressed = 32 << 20;
  int64_t max_records = 20000;
};

enum class Encoding { identity, gzip };

// Error codes produced here; status_for() maps them to HTTP statuses.
inline constexpr const char* kTooLarge = "too_large";     // 413
inline constexpr const char* kBadGzip = "bad_gzip";       // 400
inline constexpr const char* kBadBatch = "bad_batch";     // 400
inline constexpr const char* kInvalid = "invalid_batch";  // 400

// Inflates one or more concatenated gzip members. Fails with kTooLarge as soon as the output
// would pass max_out bytes, and with kBadGzip on anything that is not complete, valid gzip.
Result<std::string> inflate_gzip(std::string_view compressed, size_t max_out);

// Counts Batch.records on the wire without parsing them; fails on malformed wire data.
Result<int64_t> count_records(std::string_view serialized_batch);

// The contract's rules that protobuf cannot express: agent_id present and sane, seq in
// 1..2^63-1, school_id present, keys present on keyed records, at most max_records records.
Status validate_batch(const v1::Batch& batch, const DecodeLimits& limits);

// body -> validated Batch.
Result<v1::Batch> decode_batch(std::string_view body, Encoding encoding,
                               const DecodeLimits& limits);

// The HTTP status for an error from this file.
int status_for(const Error& error);

}  // namespace schoolnet::central::ingest
