# Every dependency comes from Debian 12 packages installed by scripts/deps.
find_package(Threads REQUIRED)
# Boost 1.81 (libboost1.81-dev): Asio, Beast and JSON are used header-only, so the binaries do
# not depend on a Boost runtime. 1.74's Asio does not build under g++ 12 in C++20 mode.
find_package(Boost 1.81 REQUIRED)
find_package(Protobuf REQUIRED)
find_package(CURL REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(ZLIB REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(TOMLPP REQUIRED IMPORTED_TARGET tomlplusplus)

# net-snmp ships no CMake or pkg-config file; net-snmp-config names the library.
find_path(NETSNMP_INCLUDE_DIR net-snmp/net-snmp-config.h REQUIRED)
find_library(NETSNMP_LIBRARY netsnmp REQUIRED)
add_library(netsnmp::netsnmp UNKNOWN IMPORTED)
set_target_properties(netsnmp::netsnmp PROPERTIES
  IMPORTED_LOCATION ${NETSNMP_LIBRARY}
  INTERFACE_INCLUDE_DIRECTORIES ${NETSNMP_INCLUDE_DIR}
  INTERFACE_LINK_LIBRARIES "OpenSSL::Crypto")

if(SCHOOLNET_TESTS)
  find_package(GTest REQUIRED)
endif()
