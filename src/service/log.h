// service/log.h — process-wide logging set-up (spdlog to stderr).
#pragma once

#include <string>

namespace sb::service {

// format "text": human lines, coloured on a terminal; "json": one JSON object a
// line with ts, level and msg (msg properly escaped). Tokens are never logged
// anywhere in the server; callers log reasons, not credentials.
void setup_logging(const std::string& format, const std::string& level);

}  // namespace sb::service
