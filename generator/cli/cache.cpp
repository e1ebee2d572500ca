#include "generator/cli/cache.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <iostream>

#include "generator/error.hpp"
#include "schedules/database.hpp"

namespace resgen::cli {
namespace fs = std::filesystem;

namespace {

uint64_t fnv1a(const std::string& s, uint64_t h = 1469598103934665603ULL) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// Changes whenever the resgen binary does, so a rebuilt generator never reuses old libraries.
std::string build_id() {
  struct stat st {};
  if (stat("/proc/self/exe", &st) != 0) return "unknown";
  return fmt::format("{}-{}", st.st_size, st.st_mtime);
}

// Holds an exclusive lock on a file while alive: concurrent runs build a library once.
class FileLock {
 public:
  explicit FileLock(const fs::path& p) : fd_(open(p.c_str(), O_CREAT | O_RDWR, 0644)) {
    if (fd_ >= 0) flock(fd_, LOCK_EX);
  }
  ~FileLock() {
    if (fd_ >= 0) close(fd_);
  }

 private:
  int fd_;
};

}  // namespace

fs::path cache_root() {
  if (const char* c = std::getenv("RESGEN_CACHE"); c && *c) return c;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return fs::path(x) / "resgen";
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".cache" / "resgen";
  return fs::temp_directory_path() / "resgen-cache";
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

fs::path cached_program(const Lowered& lowered, GenerateOptions o, bool verbose, const std::string& program,
                        const LinkCommand& link) {
  std::string key = fmt::format(
      "{:016x}", fnv1a(dump(lowered) + o.target + o.schedule + tuned_fingerprint(o.schedule) + compiler_for(o.target) +
                    build_id()));
  fs::path root = cache_root();
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) throw Error(fmt::format("cannot create the cache folder {}: {}", root.string(), ec.message()));
  fs::path dir = root / (lowered.network + "-" + key);
  fs::path done = dir / ".generated", out = dir / program;
  FileLock lock(root / (lowered.network + "-" + key + ".lock"));
  if (!fs::exists(done)) {
    o.out_dir = dir.string();
    o.log = verbose ? &std::cerr : nullptr;
    generate_library(lowered, o);
    std::ofstream(done) << "ok\n";
  }
  if (!fs::exists(out)) {
    fs::path tmp = out.string() + ".tmp";
    std::string cmd = link(dir, tmp) + " 2>&1";
    if (int rc = std::system(cmd.c_str()); rc != 0) throw Error("linking " + program + " failed: " + cmd);
    fs::rename(tmp, out);
  }
  return out;
}

}  // namespace resgen::cli
