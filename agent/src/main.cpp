// schoolnet-agent: the school's network health appliance. All the work is in the libraries;
// this only hands the command line over and turns an escaped failure into an exit code.
#include <cstdio>
#include <exception>

#include "app/cli.hpp"

int main(int argc, char** argv) {
  try {
    return schoolnet::app::main_command(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "schoolnet-agent: fatal: %s\n", e.what());
    return 1;
  }
}
