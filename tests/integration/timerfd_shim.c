/* Preloaded before libfaketime by test_delivery_clock.py (test use only).
 *
 * libfaketime 0.9.10 rewrites the deadlines of every timerfd as if it counted CLOCK_REALTIME,
 * even one on CLOCK_MONOTONIC with DONT_FAKE_MONOTONIC set. Boost.Asio arms its monotonic
 * timerfd with the absolute deadline "1 ns" to wake at once; with a clock faked back to 1970
 * that deadline moves decades ahead and the agent's event loop never wakes. These two calls go
 * straight to the kernel, so only the wall clock is faked, which is what the tests intend. */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

int timerfd_settime(int fd, int flags, const struct itimerspec* new_value,
                    struct itimerspec* old_value) {
  return (int)syscall(SYS_timerfd_settime, fd, flags, new_value, old_value);
}

int timerfd_gettime(int fd, struct itimerspec* curr_value) {
  return (int)syscall(SYS_timerfd_gettime, fd, curr_value);
}
