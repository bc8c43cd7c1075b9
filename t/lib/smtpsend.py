#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Send a message over plain SMTP and report what the server answered.

  smtpsend.py --port P [--host 127.0.0.1] --from A --to B [--to C ...]
              [FILE.eml | -] [--expect 250|2|4xx|451|5xx|554,...] [--ehlo NAME]
              [--xclient ADDR]
              [--count N --concurrency C] [--per-connection K]
              [--repeat N] [--pause-at-dot FLAG]
  smtpsend.py --port P --batch LIST --batch-out DIR

Single message: prints one line per recipient, "RCPT <addr> <code> <text>",
then "RESULT <code> <text>" for the answer that decided the transaction (the
final dot, or MAIL/RCPT/DATA when one of those ended it), and exits 0 when
that code matches --expect (default 2 = any 2xx), 1 otherwise. A code of 000
means a connection-level failure (refused, dropped, timed out).

--expect takes comma-separated alternatives, each a prefix of the code; x
characters are wildcards at the end, so 4, 4xx and 45 all match 451.

With --count N the message is sent N times over C parallel connections
(threads; each connection carries --per-connection messages, default 1, like
real clients). Prints "SENT ok=X tempfail=Y reject=Z error=W" plus a
"TIME ..." line; exits 0 when every result matched --expect.

--repeat N sends the message N times over one connection, with RSET before
each transaction after the first; every transaction prints its RCPT and
RESULT lines (preceded by "TRANSACTION i"), and the exit status is 0 when all
N results match --expect.

--pause-at-dot FLAG (single message): send the whole message text but not
the final ".", create the file FLAG.ready, wait (up to --timeout) until the
file FLAG.go exists, then send the "." and read the answer. Lets a test do
something (signal the milter, say) while the server is mid-DATA.

--batch LIST sends many different messages from one process (python starts
slowly on a loaded machine): each line of LIST is "NAME SENDER RCPT[,RCPT...]
FILE" (# comments; SENDER "<>" for the null sender), sent one after the
other, each on its own connection; the single-message output for NAME goes
to DIR/NAME.smtp. Exit status 0 when every message was sent (whatever the
answers; --expect does not apply).

Without FILE a small message is generated (--subject sets its Subject).
"""

import argparse
import os
import re
import smtplib
import socket
import sys
import threading
import time
from email.utils import formatdate, make_msgid


def classify(code):
    if 200 <= code < 300:
        return "ok"
    if 400 <= code < 500:
        return "tempfail"
    if 500 <= code < 600:
        return "reject"
    return "error"


def matches(code, expect):
    scode = "%03d" % code
    for alt in expect.split(","):
        alt = alt.strip().rstrip("xX")
        if alt and scode.startswith(alt):
            return True
    return False


def text_of(msg):
    if isinstance(msg, bytes):
        msg = msg.decode("utf-8", "replace")
    return " ".join(str(msg).split())


class Result:
    def __init__(self):
        self.code = 0
        self.text = ""
        self.rcpts = []  # (addr, code, text)


def transaction(conn, a, data, res):
    """One MAIL/RCPT/DATA transaction on an open connection; fills res."""
    code, msg = conn.mail(a.sender)
    if code != 250:
        res.code, res.text = code, text_of(msg)
        conn.rset()
        return
    accepted = 0
    first_reject = None
    for rcpt in a.to:
        code, msg = conn.rcpt(rcpt)
        res.rcpts.append((rcpt, code, text_of(msg)))
        if 200 <= code < 300:
            accepted += 1
        elif first_reject is None:
            first_reject = (code, text_of(msg))
    if accepted == 0:
        res.code, res.text = first_reject
        conn.rset()
        return
    if getattr(a, "pause_at_dot", None):
        code, msg = data_paused(conn, a, data)
    else:
        try:
            code, msg = conn.data(data)
        except smtplib.SMTPDataError as e:  # DATA itself refused
            code, msg = e.smtp_code, e.smtp_error
            conn.rset()
    res.code, res.text = code, text_of(msg)


def data_paused(conn, a, data):
    """DATA with a pause before the final dot (see --pause-at-dot)."""
    conn.putcmd("data")
    code, msg = conn.getreply()
    if code != 354:
        return code, msg
    q = smtplib._quote_periods(data)  # dot-stuffing, as SMTP.data() does
    if q[-2:] != b"\r\n":
        q += b"\r\n"
    conn.send(q)
    with open(a.pause_at_dot + ".ready", "w"):
        pass
    deadline = time.monotonic() + a.timeout
    while not os.path.exists(a.pause_at_dot + ".go"):
        if time.monotonic() > deadline:
            raise socket.timeout("no %s.go after %ss" % (a.pause_at_dot, a.timeout))
        time.sleep(0.05)
    conn.send(b".\r\n")
    return conn.getreply()


def open_conn(a):
    conn = smtplib.SMTP(a.host, a.port, local_hostname=a.ehlo, timeout=a.timeout)
    if a.helo:
        code, msg = conn.helo(a.ehlo)
    else:
        code, msg = conn.ehlo(a.ehlo)
    if code != 250:
        raise smtplib.SMTPHeloError(code, msg)
    if getattr(a, "xclient", None):
        # Postfix (smtpd_authorized_xclient_hosts) starts the session over
        # as from that client, milters included; then EHLO again
        code, msg = conn.docmd("XCLIENT", "ADDR=%s NAME=[UNAVAILABLE]" % a.xclient)
        if code != 220:
            raise smtplib.SMTPResponseException(code, msg)
        conn.ehlo_resp = None
        code, msg = conn.ehlo(a.ehlo)
        if code != 250:
            raise smtplib.SMTPHeloError(code, msg)
    return conn


def send_batch(a, data, n, rset=False):
    """Send n messages over one connection (reconnecting after a failure);
    with rset, an RSET goes before every transaction but the first."""
    results = []
    conn = None
    for i in range(n):
        res = Result()
        try:
            if conn is None:
                conn = open_conn(a)
            elif rset and i > 0:
                code, msg = conn.rset()
                if code != 250:
                    raise smtplib.SMTPResponseException(code, msg)
            transaction(conn, a, data, res)
        except smtplib.SMTPResponseException as e:
            res.code, res.text = e.smtp_code, text_of(e.smtp_error)
            conn = None
        except (smtplib.SMTPException, OSError, socket.timeout) as e:
            res.code, res.text = 0, "%s: %s" % (type(e).__name__, e)
            conn = None
        results.append(res)
    if conn is not None:
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            pass
    return results


def crlf(data):
    """smtplib sends bytes as they are: make line ends CRLF as SMTP wants."""
    return re.sub(rb"(?<!\r)\n", b"\r\n", data)


def build_message(a):
    if a.file == "-":
        return crlf(sys.stdin.buffer.read())
    if a.file:
        with open(a.file, "rb") as f:
            return crlf(f.read())
    lines = [
        "From: <%s>" % a.sender,
        "To: %s" % ", ".join("<%s>" % t for t in a.to),
        "Subject: %s" % a.subject,
        "Date: %s" % formatdate(localtime=True),
        "Message-ID: %s" % make_msgid(domain="smtpsend.mavis.test"),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "Test message generated by t/lib/smtpsend.py.",
        "",
    ]
    return "\r\n".join(lines).encode("ascii")


def print_result(res, out):
    for addr, code, text in res.rcpts:
        out.write("RCPT %s %03d %s\n" % (addr, code, text))
    out.write("RESULT %03d %s\n" % (res.code, res.text))


def batch(a):
    with open(a.batch) as f:
        lines = [ln.split() for ln in f if ln.strip() and not ln.lstrip().startswith("#")]
    for fields in lines:
        if len(fields) != 4:
            sys.exit("smtpsend.py: bad --batch line: %s" % " ".join(fields))
        name, sender, rcpts, path = fields
        a.sender = "" if sender == "<>" else sender
        a.to = rcpts.split(",")
        a.file = path
        res = send_batch(a, build_message(a), 1)[0]
        with open(os.path.join(a.batch_out, name + ".smtp"), "w") as out:
            print_result(res, out)
        print("%s RESULT %03d %s" % (name, res.code, res.text))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file", nargs="?", help="message file (- for stdin); generated if omitted")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--from", dest="sender", help="envelope sender ('' for <>)")
    ap.add_argument("--to", action="append", help="envelope recipient (repeatable)")
    ap.add_argument("--expect", default="2", help="expected result code prefix(es), e.g. 250, 4xx, 451,554")
    ap.add_argument("--ehlo", default="client.mavis.test", help="EHLO name")
    ap.add_argument("--xclient", default=None,
                    help="XCLIENT ADDR=this after EHLO (Postfix smtpd_authorized_xclient_hosts)")
    ap.add_argument("--helo", action="store_true", help="send HELO instead of EHLO")
    ap.add_argument("--subject", default="mavis e2e test", help="Subject of the generated message")
    ap.add_argument("--timeout", type=float, default=60.0, help="socket timeout, seconds")
    ap.add_argument("--count", type=int, default=0, help="send N copies (load mode)")
    ap.add_argument("--concurrency", type=int, default=1, help="parallel connections in load mode")
    ap.add_argument("--per-connection", type=int, default=1, help="messages per connection in load mode")
    ap.add_argument("--repeat", type=int, default=0,
                    help="send N transactions on one connection, RSET between them")
    ap.add_argument("--pause-at-dot", metavar="FLAG",
                    help="stop before the final dot: create FLAG.ready, wait for FLAG.go")
    ap.add_argument("--batch", metavar="LIST", help="send every message listed in LIST")
    ap.add_argument("--batch-out", metavar="DIR", help="with --batch: write DIR/NAME.smtp")
    a = ap.parse_args()
    if a.batch:
        if not a.batch_out:
            ap.error("--batch needs --batch-out")
        return batch(a)
    if a.sender is None or not a.to:
        ap.error("--from and --to are required")
    if a.pause_at_dot and (a.count > 0 or a.repeat > 1):
        ap.error("--pause-at-dot sends a single message")

    data = build_message(a)

    if a.count <= 0:
        n = max(1, a.repeat)
        results = send_batch(a, data, n, rset=True)
        ok = True
        for i, res in enumerate(results):
            if a.repeat > 0:
                print("TRANSACTION %d" % (i + 1))
            for addr, code, text in res.rcpts:
                print("RCPT %s %03d %s" % (addr, code, text))
            print("RESULT %03d %s" % (res.code, res.text))
            ok = ok and matches(res.code, a.expect)
        return 0 if ok else 1

    # Load mode: workers take batches of --per-connection messages from a
    # shared counter until N messages have been attempted.
    lock = threading.Lock()
    state = {"left": a.count}
    results = []

    def worker():
        while True:
            with lock:
                n = min(a.per_connection, state["left"])
                state["left"] -= n
            if n <= 0:
                return
            batch = send_batch(a, data, n)
            with lock:
                results.extend(batch)

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(max(1, a.concurrency))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0

    counts = {"ok": 0, "tempfail": 0, "reject": 0, "error": 0}
    mismatched = 0
    shown = 0
    for r in results:
        counts[classify(r.code)] += 1
        if not matches(r.code, a.expect):
            mismatched += 1
            if shown < 5:  # a few examples, not thousands of lines
                print("UNEXPECTED %03d %s" % (r.code, r.text), file=sys.stderr)
                shown += 1
    print("SENT ok=%d tempfail=%d reject=%d error=%d" % (
        counts["ok"], counts["tempfail"], counts["reject"], counts["error"]))
    print("TIME elapsed=%.3f msgs_per_sec=%.1f" % (elapsed, len(results) / elapsed if elapsed > 0 else 0.0))
    return 0 if mismatched == 0 and len(results) == a.count else 1


if __name__ == "__main__":
    sys.exit(main())
