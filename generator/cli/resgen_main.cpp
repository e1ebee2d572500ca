// The resgen tool: the zoo plus whatever specs are linked in.
#include "generator/cli/commands.hpp"

int main(int argc, char** argv) { return resgen::cli::main(argc, argv); }
