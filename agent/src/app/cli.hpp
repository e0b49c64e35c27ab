// The command line of schoolnet-agent.
#pragma once

namespace schoolnet::app {

// Runs the command named by argv and returns the process exit code.
int main_command(int argc, char** argv);

}  // namespace schoolnet::app
