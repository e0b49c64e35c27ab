// The command line of schoolnet-central. Exit codes: 0 success; 1 a runtime failure (store,
// listening socket) or a failed `config check`; 2 a usage or configuration error.
#pragma once

namespace schoolnet::central {

int run_cli(int argc, char** argv);

}  // namespace schoolnet::central
