// schoolnet-central: the reference Local Authority central service. Everything lives in the
// libraries under central/src/central; main only hands over the command line.
#include "central/app/cli.hpp"

int main(int argc, char** argv) {
  return schoolnet::central::run_cli(argc, argv);
}
