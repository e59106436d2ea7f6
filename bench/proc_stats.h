// bench/proc_rss.h — a process's resident set size, from /proc/<pid>/status.
#pragma once

#include <fstream>
#include <string>

namespace sb::bench {

// VmRSS in KiB, or -1 when the process or the field cannot be read.
inline long long read_rss_kib(int pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

}  // namespace sb::bench
