// bench/proc_stats.h — what the server process uses, from /proc: resident memory and CPU time.
#pragma once

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

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

// User + system CPU seconds used so far by every thread of `pid`, or -1.
// Runtimes that use helper threads (GC, I/O pools) are charged for them too.
inline double read_cpu_s(int pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return -1;
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(stat.substr(paren + 2));
  std::string f;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stoull(f);
    if (i == 15) stime = std::stoull(f);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The sums of the above over several processes (the nodes of a cluster), or
// -1 when the list is empty or any of them cannot be read.
inline long long read_rss_kib(const std::vector<int>& pids) {
  long long sum = 0;
  for (int pid : pids) {
    const long long v = read_rss_kib(pid);
    if (v < 0) return -1;
    sum += v;
  }
  return pids.empty() ? -1 : sum;
}

inline double read_cpu_s(const std::vector<int>& pids) {
  double sum = 0;
  for (int pid : pids) {
    const double v = read_cpu_s(pid);
    if (v < 0) return -1;
    sum += v;
  }
  return pids.empty() ? -1 : sum;
}

}  // namespace sb::bench
