#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Questions about the smtp-sink's messages, one python start for many files.

  sinkfind.py SINKDIR SINKPID --subject S [--wait SECONDS]
      prints COUNT<TAB>X-Virus-Scanned<TAB>Subject for the messages whose
      Subject is S or "***UNCHECKED*** S" (values of the last one found);
      --wait: until there is at least one, or the time is up
  sinkfind.py SINKDIR SINKPID --all-scanned VALUE
      every message has X-Virus-Scanned: VALUE, or has none and a Subject
      tagged "***UNCHECKED*** " (passed unscanned on purpose, and marked);
      prints the offenders and exits 1 if there are any, else prints the
      number of messages checked

SINKPID: smtp-sink's pid, so that files it still writes are left out.
"""

import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sinkmsg  # noqa: E402  (t/lib/sinkmsg.py)

TAG = "***UNCHECKED*** "


def messages(directory, pid):
    for path in sinkmsg.sink_files(directory, pid):
        try:
            yield sinkmsg.SinkMessage(path)
        except FileNotFoundError:
            pass


def main():
    args = sys.argv[1:]
    wait = 0.0
    if "--wait" in args:
        i = args.index("--wait")
        wait = float(args[i + 1])
        del args[i:i + 2]
    if len(args) != 4 or args[2] not in ("--subject", "--all-scanned"):
        sys.exit(__doc__)
    directory, pid, mode, arg = args[0], int(args[1]), args[2], args[3]
    if mode == "--subject":
        end = time.monotonic() + wait
        while True:
            n, xvs, subj = 0, "", ""
            for m in messages(directory, pid):
                s = (m.header("Subject") or [""])[0]
                if s in (arg, TAG + arg):
                    n += 1
                    xvs = ";".join(m.header("X-Virus-Scanned"))
                    subj = s
            if n > 0 or time.monotonic() >= end:
                break
            time.sleep(0.1)
        print("%d\t%s\t%s" % (n, xvs, subj))
        return 0
    bad = 0
    total = 0
    for m in messages(directory, pid):
        total += 1
        xvs = m.header("X-Virus-Scanned")
        subj = (m.header("Subject") or [""])[0]
        if xvs == [arg] or (not xvs and subj.startswith(TAG)):
            continue
        bad += 1
        print("NOT SCANNED %s: X-Virus-Scanned %r Subject %r" % (m.path, xvs, subj))
    if bad:
        return 1
    print(total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
