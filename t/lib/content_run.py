#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Send the content_corpus.py messages through a private Postfix + mavisd,
check what happened, and check that `mavisctl scan --json` agrees.

  content_run.py --corpus DIR --port P --badh-port P2 --sink DIR --sink-pid PID
                 --mavisctl PATH --config FILE --mavisd-log FILE
                 [--qdir DIR --release] [--only NAME,...]

For every case of DIR/cases.json:
  1. SMTP to --port (or --badh-port for bank "badh-reject"): the final reply
     must start with "expect" and contain "text";
  2. delivered cases: the copy in the sink (found by Message-ID) has exactly
     the "delivered" envelope recipients, the "headers", none of the
     "absent" fields, and the "subject_prefix";
  3. the mail_id is read from mavisd's log line of that Message-ID; with
     "quarantine", the file <cat>-<mail_id> exists in --qdir (one level of
     subdirectories), names the "blocked" recipients in X-Envelope-To-Blocked,
     and with --release `mavisctl release MAIL_ID` makes the message arrive
     in the sink for exactly those recipients;
  4. `mavisctl scan --json` of the same file with the same envelope, client
     address and daemon name gives the same action, the expected per-recipient
     ccats, the same reply text (ids aside) and, for delivered mail, the header
     fields the delivered copy got from the milter;
and at the end no rejected message is in the sink. The messages go out one
after the other first (scans run beside them, two at a time), then each is
checked, then every release is sent before any is waited for. One line per
case; exit status 0 when every case passed.
"""

import argparse
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sinkmsg  # noqa: E402  (t/lib/sinkmsg.py)
import smtpsend  # noqa: E402  (t/lib/smtpsend.py)

POSTFIX_DAEMON_NAME = "mta.mavis.test"   # Postfix's default milter_macro_daemon_name
BADH_DAEMON_NAME = "BADHREJECT"


class Failure(Exception):
    pass


def norm_ids(text):
    """Reply texts carry the log id (Postfix queue id vs mavisctl's pid-n)."""
    return re.sub(r"id=[^ ,]+", "id=ID", text or "")


def msgid_of(case):
    return "<%s@corpus.mavis.test>" % case["name"]


class Sink:
    def __init__(self, directory, pid):
        self.dir = directory
        self.pid = pid
        self.seen = {}  # path -> SinkMessage

    def scan(self):
        for path in sinkmsg.sink_files(self.dir, self.pid):
            if path not in self.seen:
                try:
                    self.seen[path] = sinkmsg.SinkMessage(path)
                except FileNotFoundError:
                    pass
        return list(self.seen.values())

    def find(self, pred, timeout):
        end = time.monotonic() + timeout
        while True:
            hits = [m for m in self.scan() if pred(m)]
            if hits or time.monotonic() > end:
                return hits
            time.sleep(0.1)


def smtp_send(a, case, port):
    ns = argparse.Namespace(host="127.0.0.1", port=port, ehlo="client.mavis.test", helo=False,
                            timeout=60.0, sender=case["sender"], to=case["rcpts"],
                            pause_at_dot=None, repeat=0)
    with open(os.path.join(a.corpus, case["file"]), "rb") as f:
        data = smtpsend.crlf(f.read())
    return smtpsend.send_batch(ns, data, 1)[0]


def mail_id_of(a, case, timeout=10):
    want = "Message-ID: %s, mail_id: " % msgid_of(case)
    end = time.monotonic() + timeout
    while True:
        with open(a.mavisd_log, errors="replace") as f:
            for line in f:
                i = line.find(want)
                if i >= 0:
                    return line[i + len(want):].split(",")[0].strip()
        if time.monotonic() > end:
            raise Failure("no mavisd log line for %s" % msgid_of(case))
        time.sleep(0.1)


def scan_json(a, case):
    cmd = [a.mavisctl, "scan", "-c", a.config, "--json", "--sender", case["sender"],
           "--client-ip", "127.0.0.1", "--daemon-name",
           BADH_DAEMON_NAME if case["bank"] == "badh-reject" else POSTFIX_DAEMON_NAME]
    for r in case["rcpts"]:
        cmd += ["--rcpt", r]
    cmd.append(os.path.join(a.corpus, case["file"]))
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise Failure("mavisctl scan exit %d: %s" % (p.returncode, p.stderr.strip()))
    try:
        return json.loads(p.stdout)
    except ValueError:
        raise Failure("mavisctl scan printed no JSON: %r %s" % (p.stdout, p.stderr))


def check_delivered(case, msg, edits):
    """The sink copy against the case and against scan's header edits."""
    rcpts = sorted(msg.recipients())
    if rcpts != sorted(case["delivered"]):
        raise Failure("delivered to %s, expected %s" % (rcpts, sorted(case["delivered"])))
    for name, frag in case["headers"].items():
        vals = msg.header(name)
        if not any(frag in v for v in vals):
            raise Failure("delivered copy: no %s containing %r (have %r)" % (name, frag, vals))
    for name in case["absent"]:
        if msg.header(name):
            raise Failure("delivered copy has %s: %r" % (name, msg.header(name)))
    subj = msg.header("Subject")
    pref = case["subject_prefix"]
    if pref and not (subj and subj[0].startswith(pref)):
        raise Failure("Subject %r lacks the tag %r" % (subj, pref))
    if not pref and subj and subj[0].startswith("***"):
        raise Failure("Subject %r tagged unexpectedly" % subj)
    # What mavisctl scan says the milter would add is what Postfix delivered.
    for e in edits:
        if e["op"] not in ("insert_header", "add_header", "change_header"):
            continue
        vals = [v.strip() for v in msg.header(e["name"])]
        # The delivered values are compared unfolded (sinkmsg.header).
        want = (e["value"] or "").replace("\n", "").strip()
        if e["name"] == "X-Quarantine-ID":   # its own mail_id in each run
            if not vals:
                raise Failure("delivered copy lacks X-Quarantine-ID")
            continue
        if want not in vals:
            raise Failure("scan edit %s %s: %r not in the delivered copy (%r)" %
                          (e["op"], e["name"], want, vals))


def check_quarantine(a, case, mail_id):
    """The file of a blocked message; returns its path relative to qdir."""
    cat = case["quarantine"]
    sub = os.path.join(a.qdir, mail_id[0]) if a.subdir_levels else a.qdir
    path = os.path.join(sub, "%s-%s" % (cat, mail_id))
    if not os.path.isfile(path):
        have = sorted(f for f in os.listdir(sub) if mail_id in f) if os.path.isdir(sub) else []
        raise Failure("no quarantine file %s (have %s)" % (path, have))
    with open(path, "rb") as f:
        top = f.read(8192).decode("latin-1").split("\n\n")[0]
    fields = {}
    for line in re.sub(r"\n[ \t]+", " ", top).split("\n"):
        if ":" in line:
            n, v = line.split(":", 1)
            fields.setdefault(n.lower(), []).append(v.strip())
    if fields.get("x-quarantine-id") != ["<%s>" % mail_id]:
        raise Failure("%s: X-Quarantine-ID %r" % (path, fields.get("x-quarantine-id")))
    blocked = re.findall(r"<([^>]*)>", " ".join(fields.get("x-envelope-to-blocked", [])))
    if sorted(blocked) != sorted(case["blocked"]):
        raise Failure("%s: X-Envelope-To-Blocked %s, expected %s" % (path, blocked, case["blocked"]))
    return os.path.relpath(path, a.qdir)


def release(a, case, mail_id):
    p = subprocess.run([a.mavisctl, "release", "-c", a.config, "--", mail_id], capture_output=True,
                       text=True, timeout=60)
    ok = [line for line in p.stdout.splitlines() if line.startswith("250 ")]
    if p.returncode != 0 or len(ok) != len(case["blocked"]):
        raise Failure("mavisctl release %s: exit %d: %s %s" % (mail_id, p.returncode,
                                                              p.stdout.strip(), p.stderr.strip()))


def check_released(case, mail_id, sink):
    rel = sink.find(lambda m: any(v.strip().startswith("<%s-rel-" % mail_id)
                                  for v in m.header("Resent-Message-ID")), 20)
    if len(rel) != 1:
        raise Failure("released copy of %s: %d in the sink" % (mail_id, len(rel)))
    if sorted(rel[0].recipients()) != sorted(case["blocked"]):
        raise Failure("released to %s, expected %s" % (rel[0].recipients(), case["blocked"]))
    if msgid_of(case) not in [v.strip() for v in rel[0].header("Message-ID")]:
        raise Failure("released copy is not the original message")


def check_reply(case, res):
    reply = "%03d %s" % (res.code, res.text)
    if not reply.startswith(case["expect"]):
        raise Failure("SMTP %s, expected %s..." % (reply, case["expect"]))
    if case["text"] and case["text"] not in res.text:
        raise Failure("SMTP %s lacks %r" % (reply, case["text"]))
    return reply


def check_case(a, case, reply, scan, sink):
    """Everything but the release, once the message went through Postfix."""
    notes = [reply[:90]]
    # Agreement with scan mode: action, ccat per recipient, reply.
    want_action = {"2": "accept", "4": "tempfail", "5": "reject"}[reply[0]]
    if scan["action"] != want_action:
        raise Failure("scan action %s, SMTP gave %s" % (scan["action"], reply))
    got_ccats = {r["address"]: r["ccat"] for r in scan["recipients"]}
    if got_ccats != case["ccats"]:
        raise Failure("scan ccats %s, expected %s" % (got_ccats, case["ccats"]))
    if want_action != "accept" and norm_ids(scan["smtp_reply"]) != norm_ids(reply):
        raise Failure("scan reply %r != SMTP reply %r" % (scan["smtp_reply"], reply))
    deleted = sorted(e["rcpt"] for e in scan["edits"] if e["op"] == "delete_rcpt")
    notes.append("scan=%s/%s" % (scan["action"], ",".join(sorted(set(got_ccats.values())))))
    if case["delivered"] is not None:
        if deleted != sorted(set(case["rcpts"]) - set(case["delivered"])):
            raise Failure("scan deletes %s, delivered should be %s" % (deleted, case["delivered"]))
        hits = sink.find(lambda m: msgid_of(case) in [v.strip() for v in m.header("Message-ID")]
                         and not m.header("Resent-Message-ID"), 20)
        if len(hits) != 1:
            raise Failure("%d copies in the sink" % len(hits))
        check_delivered(case, hits[0], scan["edits"])
        notes.append("delivered=" + ",".join(sorted(hits[0].recipients())))
    mail_id = mail_id_of(a, case)
    if case["quarantine"] and a.qdir:
        notes.append("quarantine=" + check_quarantine(a, case, mail_id))
    return mail_id, notes


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--badh-port", type=int, required=True)
    ap.add_argument("--sink", required=True)
    ap.add_argument("--sink-pid", type=int)
    ap.add_argument("--mavisctl", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--mavisd-log", required=True)
    ap.add_argument("--qdir")
    ap.add_argument("--subdir-levels", type=int, default=1)
    ap.add_argument("--release", action="store_true")
    ap.add_argument("--only", help="comma-separated case names")
    a = ap.parse_args()

    with open(os.path.join(a.corpus, "cases.json")) as f:
        cases = json.load(f)
    if a.only:
        want = set(a.only.split(","))
        cases = [c for c in cases if c["name"] in want]
    sink = Sink(a.sink, a.sink_pid)
    failed = {}
    t0 = time.monotonic()
    # mavisctl scan loads its own engine each time: run those beside the
    # SMTP traffic instead of after it.
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
    scans = {c["name"]: pool.submit(scan_json, a, c) for c in cases}
    # 1. Every message through Postfix, one after the other.
    replies = {}
    for case in cases:
        port = a.badh_port if case["bank"] == "badh-reject" else a.port
        try:
            replies[case["name"]] = check_reply(case, smtp_send(a, case, port))
        except (Failure, OSError) as e:
            failed[case["name"]] = str(e)
    t_smtp = time.monotonic() - t0
    # 2. What each one became: sink, log, quarantine, scan agreement; then
    #    the releases, all sent before waiting for any of them.
    results = {}
    for case in cases:
        name = case["name"]
        if name in failed:
            continue
        try:
            results[name] = check_case(a, case, replies[name], scans[name].result(), sink)
            if case["quarantine"] and a.qdir and a.release:
                release(a, case, results[name][0])
        except (Failure, OSError, subprocess.SubprocessError) as e:
            failed[name] = str(e)
    pool.shutdown()
    for case in cases:
        name = case["name"]
        if name in failed:
            continue
        mail_id, notes = results[name]
        try:
            if case["quarantine"] and a.qdir and a.release:
                check_released(case, mail_id, sink)
                notes.append("released")
        except Failure as e:
            failed[name] = str(e)
    for case in cases:
        name = case["name"]
        if name in failed:
            print("FAIL %-24s %s" % (name, failed[name]))
        else:
            print("PASS %-24s %s" % (name, " ".join(results[name][1])))
    print("SMTP for %d messages took %.1fs" % (len(cases), t_smtp))
    # Nothing that was refused may show up later (one settle second).
    time.sleep(1)
    refused = {msgid_of(c) for c in cases if c["delivered"] is None}
    for m in sink.scan():
        if m.header("Resent-Message-ID"):
            continue
        for v in m.header("Message-ID"):
            if v.strip() in refused:
                print("FAIL refused message %s is in the sink (%s)" % (v.strip(), m.path))
                failed[v.strip()] = "in the sink"
    print("%d cases, %d failed, %.1fs" % (len(cases), len(failed), time.monotonic() - t0))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
