#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Compare `mavisctl scan --json` verdicts with what really happened.

  verdict_check.py --sink-dir DIR/sink [--sink-pid PID]
                   --case NAME V.json OUT FILE.eml ERR [--case ...]

For each case: V.json is the mavisctl scan --json output for the message
and its recipients, ERR mavisctl's stderr ("recipient X refused: 452 ..."),
OUT the smtpsend.py output for the same message and recipients sent to a
Postfix with mavisd (same config) as smtpd_milter, FILE.eml the message as
sent. The delivered copy is found in the smtp-sink directory by the queue id
of the "250 ... queued as ID" answer (Postfix's Received: field carries it;
with Sendmail the answer is "250 2.0.0 ID Message accepted for delivery").

Checks, printing one line per failed check (exit 1) or "agree" per case:
 - recipients: the ones mavisctl refused are the ones that got 4xx/5xx at
   RCPT, and the verdict lists exactly the accepted ones;
 - action: accept -> final 250 and a delivered message; reject/tempfail ->
   the same status code and enhanced code, the same reply text apart from
   the id, nothing delivered; discard -> 250, nothing delivered;
 - edits (accept): every add_header / insert_header field is in the
   delivered header section byte for byte ("Name:" + value), inserted ones
   above the message's own first field; change_header: the n-th field of
   that name has the new value; delete_header: one field fewer; every
   delete_rcpt recipient is absent from the envelope, add_rcpt present; the
   envelope is exactly the accepted recipients minus deleted plus added;
 - the sink holds exactly the messages of the accepted cases.
"""

import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sinkmsg import SinkMessage, sink_files  # noqa: E402


def reason_of(text):
    """'554 5.7.0 Reject, id=X - spam' -> 'Reject - spam' (ids differ)."""
    return re.sub(r"id=\S+", "id=*", text)


def check_case(a, sink_by_qid, used):
    """One case; a has verdict, smtp, sent, scan_stderr. Returns problems."""
    with open(a.verdict) as f:
        v = json.load(f)
    rcpt_lines = []
    result = None
    with open(a.smtp) as f:
        for line in f:
            m = re.match(r"RCPT (\S+) (\d{3}) ?(.*)", line)
            if m:
                rcpt_lines.append((m.group(1), int(m.group(2)), m.group(3)))
            m = re.match(r"RESULT (\d{3}) ?(.*)", line)
            if m:
                result = (int(m.group(1)), m.group(2).strip())
    problems = []
    if result is None:
        problems.append("no RESULT line in the smtpsend output")
        result = (0, "")

    # Recipients.
    refused_scan = set()
    if a.scan_stderr and os.path.exists(a.scan_stderr):
        with open(a.scan_stderr) as f:
            for line in f:
                m = re.search(r"recipient (\S+) refused: (\d{3}) (\S+)", line)
                if m:
                    refused_scan.add((m.group(1), m.group(2), m.group(3)))
    refused_smtp = set()
    accepted = []
    for addr, code, text in rcpt_lines:
        if code >= 400:
            refused_smtp.add((addr, str(code), text.split()[0] if text else ""))
        else:
            accepted.append(addr)
    if refused_scan != refused_smtp:
        problems.append("refused recipients: mavisctl %s, SMTP %s" % (sorted(refused_scan), sorted(refused_smtp)))
    vrcpts = [r["address"] for r in v["recipients"]]
    if vrcpts != accepted:
        problems.append("verdict recipients %s, SMTP accepted %s" % (vrcpts, accepted))

    action = v["action"]
    reply = v["smtp_reply"]
    code, text = result
    msg = None
    # Postfix: "2.0.0 Ok: queued as ID"; Sendmail: "2.0.0 ID Message accepted for delivery".
    qid = (re.search(r"queued as ([0-9A-F]+)", text) or
           re.search(r"^2\.0\.0 ([0-9A-Za-z]+) Message accepted", text)) if code == 250 else None
    if qid and qid.group(1) in sink_by_qid:
        a.sink = sink_by_qid[qid.group(1)]
        used.add(a.sink)
        msg = SinkMessage(a.sink)
    if action == "accept":
        if code != 250:
            problems.append("accept, but the client got %d %s" % (code, text))
        if msg is None:
            problems.append("accept, but nothing was delivered")
    elif action in ("reject", "tempfail"):
        want_code, want_x, want_text = reply.split(" ", 2)
        got = text.split(" ", 1)
        if str(code) != want_code or got[0] != want_x:
            problems.append("%s: expected %s %s, the client got %d %s" % (action, want_code, want_x, code, text))
        elif reason_of(want_text) != reason_of(got[1] if len(got) > 1 else ""):
            problems.append("%s: reply text '%s', the client got '%s'" % (action, want_text, text))
        if msg is not None:
            problems.append("%s, but a message was delivered: %s" % (action, a.sink))
    elif action == "discard":
        if code != 250:
            problems.append("discard, but the client got %d %s" % (code, text))
        if msg is not None:
            problems.append("discard, but a message was delivered: %s" % a.sink)
    else:
        problems.append("unknown action %s" % action)

    if action == "accept" and msg is not None:
        raw = ["%s:%s" % (n, val) for n, val in msg.headers]
        with open(a.sent, "rb") as f:
            sent_head = f.read().decode("utf-8", "surrogateescape").split("\n\n", 1)[0]
        first_own = sent_head.split("\n", 1)[0]
        own_pos = next((i for i, line in enumerate(raw) if line == first_own), None)
        envelope = msg.recipients()
        want_env = list(accepted)
        sent_counts = {}
        for line in sent_head.split("\n"):
            if line and line[0] not in " \t" and ":" in line:
                n = line.split(":", 1)[0].lower()
                sent_counts[n] = sent_counts.get(n, 0) + 1
        for e in v["edits"]:
            op, name, value = e["op"], e["name"], e["value"]
            if op in ("add_header", "insert_header"):
                line = "%s:%s" % (name, value)
                if line not in raw:
                    problems.append("%s %s: '%s' not in the delivered header section" % (op, name, line))
                elif op == "insert_header" and own_pos is not None and raw.index(line) > own_pos:
                    problems.append("insert_header %s: below the message's own fields" % name)
            elif op == "change_header":
                vals = [val for n, val in msg.headers if n.lower() == name.lower()]
                idx = e["index"]
                if idx < 1 or idx > len(vals) or vals[idx - 1] != value:
                    problems.append("change_header %s[%d]: delivered %s, expected '%s'" % (name, idx, vals, value))
            elif op == "delete_header":
                n_now = sum(1 for n, _ in msg.headers if n.lower() == name.lower())
                if n_now != sent_counts.get(name.lower(), 0) - 1:
                    problems.append("delete_header %s: %d left" % (name, n_now))
            elif op == "delete_rcpt":
                if e["rcpt"] in envelope:
                    problems.append("delete_rcpt %s: still in the envelope %s" % (e["rcpt"], envelope))
                if e["rcpt"] in want_env:
                    want_env.remove(e["rcpt"])
            elif op == "add_rcpt":
                if e["rcpt"] not in envelope:
                    problems.append("add_rcpt %s: not in the envelope %s" % (e["rcpt"], envelope))
                want_env.append(e["rcpt"])
            elif op == "quarantine":
                pass
            else:
                problems.append("unknown edit op %s" % op)
        if sorted(envelope) != sorted(want_env):
            problems.append("envelope %s, expected %s" % (envelope, want_env))

    return problems, "%s, %d edits" % (action, len(v["edits"]))


class Case:
    pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sink-dir", required=True)
    ap.add_argument("--sink-pid", type=int)
    ap.add_argument("--case", nargs=5, action="append", required=True,
                    metavar=("NAME", "VERDICT", "SMTP", "SENT", "ERR"))
    args = ap.parse_args()

    sink_by_qid = {}
    for path in sink_files(args.sink_dir, args.sink_pid):
        for n, val in SinkMessage(path).headers:
            m = re.search(r"by mta\.mavis\.test \((?:Postfix|[0-9.]+/[0-9.]+)\) with E?SMTP id ([0-9A-Za-z]+)",
                          val.replace("\n", " "))
            if n.lower() == "received" and m:
                sink_by_qid[m.group(1)] = path
                break
    used = set()
    bad = 0
    for name, verdict, smtp, sent, err in args.case:
        a = Case()
        a.verdict, a.smtp, a.sent, a.scan_stderr, a.sink = verdict, smtp, sent, err, None
        problems, summary = check_case(a, sink_by_qid, used)
        for p in problems:
            print("DISAGREE %s: %s" % (name, p))
        if problems:
            bad += 1
        else:
            print("agree %s: %s" % (name, summary))
    stray = sorted(set(sink_files(args.sink_dir, args.sink_pid)) - used)
    if stray:
        print("DISAGREE: %d message(s) in the sink belong to no accepted case: %s" % (len(stray), stray[:5]))
        bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
