// Boost.JSON is used header-only: its implementation is compiled here, in exactly one
// translation unit of the program.
#include <boost/json/src.hpp>
