#include "base/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>
#include <string>

namespace vudo {

spdlog::logger& Logger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = spdlog::stderr_color_mt("vudo");
    l->set_pattern("%H:%M:%S.%e %^%l%$ %v");
    const char* env = std::getenv("VUDO_LOG");
    l->set_level(spdlog::level::from_str(env ? env : "warn"));
    return l;
  }();
  return *logger;
}

void SetLogLevel(std::string_view level) {
  Logger().set_level(spdlog::level::from_str(std::string(level)));
}

}  // namespace vudo
