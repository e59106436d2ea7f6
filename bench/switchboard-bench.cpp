// switchboard-bench — protocol v1 load generator.
//
// One invocation runs one scenario against one server and ends by itself:
//   idle        N joined peers in rooms of 2, server RSS per connection
//   relay       pairs relaying ~1 KiB offers; messages/s and send→receive latency
//   fanout      rooms of K, `message` broadcasts; deliveries/s and latency
//   join-storm  connect + hello + join churn; joins/s and connect→joined latency
// The result is one JSON line on stdout; a summary goes to stderr. bench/run
// drives it against Switchboard and the baselines; `bench/run cluster` against
// several cluster nodes at once (--target URL,URL,... and --redis).
#include <sys/resource.h>

#include <iostream>

#include "options.h"
#include "report.h"
#include "run.h"

namespace {

// A connection is a file descriptor: take the whole hard limit.
void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

int main(int argc, char** argv) {
  sb::bench::Options o;
  if (int rc = sb::bench::parse_options(argc, argv, o); rc >= 0) return rc;
  raise_fd_limit();
  try {
    const sb::bench::Result r = sb::bench::run_scenario(o);
    std::cout << sb::bench::result_json(o, r) << std::endl;
    std::cerr << sb::bench::result_summary(o, r);
    if (o.check) {
      const std::string why = sb::bench::check_result(o, r);
      if (!why.empty()) {
        std::cerr << "check failed: " << why << "\n";
        return 1;
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "switchboard-bench: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
