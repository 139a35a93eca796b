#!/usr/bin/env python3
"""bench/memsample.py: peak memory of one PostgreSQL backend during a call.

    python3 bench/memsample.py PID STOPFILE OUTFILE

Run in the background (as root) just before the backend PID makes the call
to measure.  It resets the process's peak-RSS counter (writes 5 to
/proc/PID/clear_refs, so VmHWM restarts at the current RSS), then samples
/proc/PID/statm as fast as it can (every ~0.1 ms) until STOPFILE exists, and
writes to OUTFILE, one "key value" per line, in kB:

  base_private   private (anonymous) resident memory before the call
  peak_private   the highest private resident memory seen during the call
  base_rss       resident memory before the call (private + shared pages)
  hwm            the kernel's peak RSS (VmHWM) since the reset: every page
                 the backend touched, including shared_buffers pages it read
  samples        how many samples were taken

Private memory is statm's resident minus shared (RssAnon): palloc'd memory,
the backend's own.  VmHWM also counts shared memory, so it overstates what
one call costs; both are reported.
"""
import os
import sys
import time


def statm(pid):
    with open(f"/proc/{pid}/statm") as f:
        fields = f.read().split()
    page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
    resident, shared = int(fields[1]), int(fields[2])
    return resident * page_kb, (resident - shared) * page_kb


def vm_hwm(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def main():
    pid, stopfile, outfile = sys.argv[1], sys.argv[2], sys.argv[3]
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
    except OSError as e:
        print(f"memsample: cannot reset VmHWM of {pid}: {e}", file=sys.stderr)
    base_rss, base_private = statm(pid)
    peak_private = base_private
    samples = 0
    deadline = time.time() + 120
    while not os.path.exists(stopfile) and time.time() < deadline:
        try:
            _, private = statm(pid)
        except OSError:
            break
        samples += 1
        if private > peak_private:
            peak_private = private
        time.sleep(0.0001)
    hwm = vm_hwm(pid)
    with open(outfile, "w") as f:
        f.write(f"base_private {base_private}\npeak_private {peak_private}\n"
                f"base_rss {base_rss}\nhwm {hwm}\nsamples {samples}\n")


if __name__ == "__main__":
    main()
