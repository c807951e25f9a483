// Logging: spdlog with one process-wide logger writing to stderr.
//
//   VUDO_LOG_INFO("connected to {} in {} ms", peer, ms);
//
// The level comes from VUDO_LOG (trace, debug, info, warn, error, off;
// default warn) or from SetLogLevel().
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace vudo {

// Idempotent; called by the first VUDO_LOG_* use.
spdlog::logger& Logger();
void SetLogLevel(std::string_view level);

}  // namespace vudo

#define VUDO_LOG_TRACE(...) ::vudo::Logger().trace(__VA_ARGS__)
#define VUDO_LOG_DEBUG(...) ::vudo::Logger().debug(__VA_ARGS__)
#define VUDO_LOG_INFO(...) ::vudo::Logger().info(__VA_ARGS__)
#define VUDO_LOG_WARN(...) ::vudo::Logger().warn(__VA_ARGS__)
#define VUDO_LOG_ERROR(...) ::vudo::Logger().error(__VA_ARGS__)
