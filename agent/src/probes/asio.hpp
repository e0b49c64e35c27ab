// The Asio pieces the probes share: C++20 coroutines and "operation or timer" races.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

namespace schoolnet::probes {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using namespace asio::experimental::awaitable_operators;

}  // namespace schoolnet::probes
