#include "central/ingest/decode.hpp"

#include <algorithm>
#include <limits>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <zlib.h>

namespace schoolnet::central::ingest {

namespace {

using google::protobuf::internal::WireFormatLite;

constexpr size_t kMaxIdLength = 128;
constexpr size_t kMaxKeyLength = 1024;

bool has_control_bytes(std::string_view s) {
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return true;
    }
  }
  return false;
}

Error invalid(std::string message) {
  return make_error(kInvalid, std::move(message));
}

}  // namespace

Result<std::string> inflate_gzip(std::string_view compressed, size_t max_out) {
  if (compressed.empty()) {
    return make_error(kBadGzip, "empty gzip body");
  }
  z_stream zs{};
  // 16 + MAX_WBITS: gzip wrapper only (no raw deflate, no zlib wrapper).
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
    return make_error(kBadGzip, "cannot initialise zlib");
  }
  struct End {
    z_stream& zs;
    ~End() { inflateEnd(&zs); }
  } end{zs};

  constexpr size_t kChunk = 64 * 1024;
  const auto too_large = [&] {
    return make_error(kTooLarge, "the batch inflates past " + std::to_string(max_out) + " bytes");
  };
  std::string out;
  size_t handed = 0;  // input bytes given to zlib so far
  bool member_done = false;
  for (;;) {
    if (zs.avail_in == 0 && handed < compressed.size()) {
      const size_t n =
          std::min<size_t>(compressed.size() - handed, std::numeric_limits<uInt>::max());
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data() + handed));
      zs.avail_in = static_cast<uInt>(n);
      handed += n;
    }
    // Grow the output a chunk at a time and never past max_out + 1 bytes: one byte over the
    // limit proves the limit was passed without inflating any further.
    const size_t have = out.size();
    if (have > max_out) {
      return too_large();
    }
    const size_t room = std::min(kChunk, max_out + 1 - have);
    out.resize(have + room);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + have);
    zs.avail_out = static_cast<uInt>(room);
    const int rc = inflate(&zs, Z_NO_FLUSH);
    out.resize(have + (room - zs.avail_out));
    if (rc == Z_STREAM_END) {
      member_done = true;
      if (zs.avail_in == 0 && handed == compressed.size()) {
        break;
      }
      // Another gzip member follows (RFC 1952 allows several); garbage fails on the next call.
      if (inflateReset(&zs) != Z_OK) {
        return make_error(kBadGzip, "cannot continue after a gzip member");
      }
      member_done = false;
      continue;
    }
    if (rc == Z_OK) {
      continue;  // progress was made
    }
    if (rc == Z_BUF_ERROR && zs.avail_out == 0) {
      continue;  // output full: the next round grows it or reports the limit
    }
    if (rc == Z_BUF_ERROR) {
      break;  // no input left before the end of the stream
    }
    return make_error(kBadGzip, std::string("not valid gzip (") +
                                    (zs.msg != nullptr ? zs.msg : "zlib error") + ")");
  }
  if (out.size() > max_out) {
    return too_large();
  }
  if (!member_done) {
    return make_error(kBadGzip, "gzip body is truncated");
  }
  return out;
}

Result<int64_t> count_records(std::string_view serialized_batch) {
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(serialized_batch.data()),
      static_cast<int>(serialized_batch.size()));
  int64_t records = 0;
  for (;;) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) {
      break;
    }
    if (WireFormatLite::GetTagFieldNumber(tag) == v1::Batch::kRecordsFieldNumber &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      ++records;
    }
    if (!WireFormatLite::SkipField(&in, tag)) {
      return make_error(kBadBatch, "not a valid Batch message");
    }
  }
  if (in.CurrentPosition() != static_cast<int>(serialized_batch.size())) {
    return make_error(kBadBatch, "not a valid Batch message");
  }
  return records;
}

Status validate_batch(const v1::Batch& batch, const DecodeLimits& limits) {
  if (batch.agent_id().empty()) {
    return invalid("agent_id is empty");
  }
  if (batch.agent_id().size() > kMaxIdLength || has_control_bytes(batch.agent_id())) {
    return invalid("agent_id is too long or holds control characters");
  }
  if (batch.school_id().empty()) {
    return invalid("school_id is empty");
  }
  if (batch.school_id().size() > kMaxIdLength || has_control_bytes(batch.school_id())) {
    return invalid("school_id is too long or holds control characters");
  }
  if (batch.seq() == 0) {
    return invalid("seq is 0 (sequence numbers start at 1)");
  }
  if (batch.seq() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return invalid("seq is out of range");
  }
  if (batch.records_size() > limits.max_records) {
    return make_error(kTooLarge, "the batch has " + std::to_string(batch.records_size()) +
                                     " records; the limit is " +
                                     std::to_string(limits.max_records));
  }
  for (int i = 0; i < batch.records_size(); ++i) {
    const v1::Record& r = batch.records(i);
    const std::string where = "record " + std::to_string(i) + ": ";
    std::string_view key;
    const char* what = nullptr;
    switch (r.body_case()) {
      case v1::Record::kProbeSample:
        key = r.probe_sample().name();
        what = "probe_sample without a name";
        break;
      case v1::Record::kProbeSummary:
        key = r.probe_summary().name();
        what = "probe_summary without a name";
        break;
      case v1::Record::kDeviceSnapshot:
        key = r.device_snapshot().device_id();
        what = "device_snapshot without a device_id";
        break;
      default:
        continue;
    }
    if (key.empty()) {
      return invalid(where + what);
    }
    if (key.size() > kMaxKeyLength) {
      return invalid(where + "key longer than " + std::to_string(kMaxKeyLength) + " bytes");
    }
  }
  return ok_status();
}

Result<v1::Batch> decode_batch(std::string_view body, Encoding encoding,
                               const DecodeLimits& limits) {
  std::string inflated;
  std::string_view raw = body;
  if (encoding == Encoding::gzip) {
    auto r = inflate_gzip(body, static_cast<size_t>(limits.max_decompressed));
    if (!r) {
      return r.error();
    }
    inflated = std::move(r.value());
    raw = inflated;
  } else if (static_cast<int64_t>(body.size()) > limits.max_decompressed) {
    return make_error(kTooLarge, "the batch is larger than " +
                                     std::to_string(limits.max_decompressed) + " bytes");
  }
  // Count before parsing: a body of many tiny records would otherwise cost far more memory than
  // its size suggests.
  auto count = count_records(raw);
  if (!count) {
    return count.error();
  }
  if (*count > limits.max_records) {
    return make_error(kTooLarge, "the batch has " + std::to_string(*count) +
                                     " records; the limit is " +
                                     std::to_string(limits.max_records));
  }
  v1::Batch batch;
  if (!batch.ParseFromArray(raw.data(), static_cast<int>(raw.size()))) {
    return make_error(kBadBatch, "not a valid Batch message");
  }
  if (auto s = validate_batch(batch, limits); !s) {
    return s.error();
  }
  return batch;
}

int status_for(const Error& error) {
  if (error.code == kTooLarge) {
    return 413;
  }
  return 400;
}

}  // namespace schoolnet::central::ingest
