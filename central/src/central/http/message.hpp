// The HTTP request and response as the handlers see them: plain values with no socket, so that
// unit tests and fuzz targets call the handlers directly. The Beast server (central/server) is a
// thin adapter that fills a Request from the wire and writes a Response back.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace schoolnet::central::http {

struct Request {
  std::string method;  // upper case as sent: GET, POST, DELETE...
  std::string target;  // origin-form: path and optional query
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
  std::string remote;  // peer address, for logs only

  // First header with this (lower-case) name.
  const std::string* header(std::string_view lower_name) const;
  void set_header(std::string name, std::string value);
  std::string_view path() const;   // target without the query
  std::string_view query() const;  // after '?', empty when none
  // Value of one query parameter (form-decoded: '+' is a space, then %XX escapes), if present.
  std::optional<std::string> query_param(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Retry-After...)
  std::string body;
  bool close = false;  // close the connection after this response

  const std::string* header(std::string_view name) const;
};

// A short plain-text response; the body ends with a newline.
Response text_response(int status, std::string_view text);

// The token of "Authorization: Bearer <token>", or empty when absent or malformed.
std::string bearer_token(const Request& request);

// Decodes %XX escapes; fails (nullopt) on a malformed escape or a decoded NUL.
std::optional<std::string> percent_decode(std::string_view text);

// Splits a path into its segments: "/api/v1/schools/1" -> {"api","v1","schools","1"}.
// Segments are percent-decoded; nullopt when one does not decode.
std::optional<std::vector<std::string>> path_segments(std::string_view path);

std::string_view reason_phrase(int status);

}  // namespace schoolnet::central::http
