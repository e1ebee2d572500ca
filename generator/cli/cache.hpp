// The cache of generated libraries that resgen run and resgen bench share ($RESGEN_CACHE).
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "generator/emit.hpp"
#include "generator/lowered.hpp"

namespace resgen::cli {

// $RESGEN_CACHE, else $XDG_CACHE_HOME/resgen, else ~/.cache/resgen.
std::filesystem::path cache_root();

// `s` quoted for /bin/sh.
std::string quote(const std::string& s);

// Builds a shell command that links a program against the library in `dir`, writing `out`.
using LinkCommand =
    std::function<std::string(const std::filesystem::path& dir, const std::filesystem::path& out)>;

// The cache folder of `lowered`'s library for `o` (target and schedule; out_dir and log are
// set here): generates the library on first use, then links `program` in that folder with
// `link` unless it is there. Concurrent callers build each once. Returns dir / program.
std::filesystem::path cached_program(const Lowered& lowered, GenerateOptions o, bool verbose,
                                     const std::string& program, const LinkCommand& link);

}  // namespace resgen::cli
