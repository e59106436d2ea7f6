// bench/report.h — the run's result as one JSON line (stdout) and a human summary (stderr).
#pragma once

#include <string>

#include "options.h"
#include "run.h"

namespace sb::bench {

std::string result_json(const Options& o, const Result& r);
std::string result_summary(const Options& o, const Result& r);
// For --check: empty when the run is sane, else why not.
std::string check_result(const Options& o, const Result& r);

}  // namespace sb::bench
