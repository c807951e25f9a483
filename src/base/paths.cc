#include "base/paths.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace vudo {

Result<std::filesystem::path> ResolveDataDir(
    std::string_view name, const std::filesystem::path& override_dir) {
  if (!override_dir.empty()) return override_dir;
  if (name.empty() || name == "." || name == ".." ||
      name.find('/') != std::string_view::npos)
    return Err(ErrorCode::kInvalidArgument, "invalid node name '{}'", name);
  const char* xdg = std::getenv("XDG_DATA_HOME");
  if (xdg && *xdg) return std::filesystem::path(xdg) / "vudo" / name;
  const char* home = std::getenv("HOME");
  if (!home || !*home)
    return Err(ErrorCode::kNotFound,
               "neither XDG_DATA_HOME nor HOME is set; use --data-dir");
  return std::filesystem::path(home) / ".local" / "share" / "vudo" / name;
}

Status EnsurePrivateDir(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return Ok();
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return Err(ErrorCode::kIo, "cannot create {}: {}", dir.string(),
               ec.message());
  if (::chmod(dir.c_str(), 0700) != 0)
    return Err(ErrorCode::kIo, "cannot chmod {}: {}", dir.string(),
               std::strerror(errno));
  return Ok();
}

}  // namespace vudo
