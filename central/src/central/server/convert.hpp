// Beast request header -> http::Request (without the body). Shared by the server and the fuzz
// target that feeds raw bytes through Beast's parser.
#pragma once

#include <boost/beast/http/message.hpp>

#include "central/http/message.hpp"

namespace schoolnet::central::server {

http::Request to_request(const boost::beast::http::request_header<>& header);

}  // namespace schoolnet::central::server
