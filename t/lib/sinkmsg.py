#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Read the messages smtp-sink saved (smtp-sink -d DIR/sink/...).

Each sink file is: smtp-sink's own records (X-Client-Addr, X-Client-Proto,
X-Helo-Args, X-Mail-Args = MAIL FROM arguments, one X-Rcpt-Args per RCPT TO,
then a three-line Received: header), then the message as received with CRLF
turned into LF and dots unstuffed, then one empty line.

  sinkmsg.py DIR/sink --count [--sink-pid PID]
  sinkmsg.py DIR/sink --list  [--sink-pid PID]   FILE<TAB>SENDER<TAB>RCPT,RCPT<TAB>Subject
  sinkmsg.py --header NAME FILE...               every value of NAME, in order
  sinkmsg.py --envelope FILE...                  MAIL <addr> / RCPT <addr> lines (<> = null sender)
  sinkmsg.py --raw-headers FILE...               the header section as delivered, byte for byte
                                                 (folded fields stay on their lines)
  sinkmsg.py --split OUTDIR FILE...              for each message write OUTDIR/NAME.env (the
                                                 --envelope lines), NAME.hdr (--raw-headers) and
                                                 NAME.body, NAME = the sink file's name; print
                                                 "NAME<TAB>Message-ID" per message (one python
                                                 start for many checks)
  sinkmsg.py --body FILE                         the body, as delivered

A directory argument stands for all its complete messages, oldest first.
--sink-pid PID leaves out files the sink process still holds open: smtp-sink
creates the file at MAIL FROM and closes it just before it answers the final
dot, so an open file is a transaction in progress, not a delivered message.
"""

import argparse
import os
import sys

SINK_FIELDS = ("x-client-addr", "x-client-proto", "x-helo-args", "x-mail-args", "x-rcpt-args")


def open_files(pid):
    """Paths the process PID has open (empty when it is gone or unreadable)."""
    paths = set()
    fddir = "/proc/%d/fd" % pid
    try:
        names = os.listdir(fddir)
    except OSError:
        return paths
    for name in names:
        try:
            paths.add(os.path.realpath(os.readlink(os.path.join(fddir, name))))
        except OSError:
            pass
    return paths


def sink_files(directory, sink_pid=None):
    """Complete message files in directory, oldest first."""
    busy = open_files(sink_pid) if sink_pid else set()
    found = []
    for root, _dirs, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            if os.path.realpath(path) in busy:
                continue
            try:
                st = os.stat(path)
            except FileNotFoundError:  # aborted transaction, unlinked by the sink
                continue
            found.append((st.st_mtime_ns, path))
    found.sort()
    return [p for _t, p in found]


def split_header_lines(lines):
    """Group header lines into (name, value) with folding kept in value."""
    fields = []
    for line in lines:
        if line[:1] in (" ", "\t") and fields:
            fields[-1][1] += "\n" + line
        elif ":" in line:
            name, value = line.split(":", 1)
            fields.append([name, value])
        else:  # not a header line: stop, like a MUA would
            break
    return fields


class SinkMessage:
    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            raw = f.read()
        text = raw.decode("utf-8", "surrogateescape")
        head, sep, body = text.partition("\n\n")
        if not sep:
            head, body = text, ""
        # The sink's trailing empty line is the LF of the final ".\r\n".
        if body.endswith("\n"):
            body = body[:-1]
        self.body = body
        fields = split_header_lines(head.split("\n"))
        # The sink's records end with its own Received: header; the message's
        # own header fields follow.
        self.sink = []
        self.headers = []
        in_sink = True
        for name, value in fields:
            if in_sink:
                self.sink.append((name, value))
                if name.lower() == "received" and "(smtp-sink)" in value:
                    in_sink = False
            else:
                self.headers.append((name, value))
        if in_sink:  # no sink Received: (should not happen); treat all as message
            self.headers = [(n, v) for n, v in self.sink if n.lower() not in SINK_FIELDS]
            self.sink = [(n, v) for n, v in self.sink if n.lower() in SINK_FIELDS]

    @staticmethod
    def _addr(args):
        value = args.strip()
        if value.startswith("<"):
            end = value.find(">")
            if end >= 0:
                return value[1:end]
        return value.split()[0] if value else ""

    def sender(self):
        for name, value in self.sink:
            if name.lower() == "x-mail-args":
                return self._addr(value)
        return None

    def recipients(self):
        return [self._addr(v) for n, v in self.sink if n.lower() == "x-rcpt-args"]

    def header(self, name):
        """Unfolded values of header NAME, leading blank removed."""
        out = []
        for n, v in self.headers:
            if n.lower() == name.lower():
                v = v.replace("\n", "")
                if v[:1] in (" ", "\t"):
                    v = v[1:]
                out.append(v)
        return out


def expand(paths, sink_pid):
    files = []
    for p in paths:
        if os.path.isdir(p):
            files.extend(sink_files(p, sink_pid))
        elif os.path.exists(p):
            files.append(p)
        else:
            sys.exit("sinkmsg.py: no such file or directory: %s" % p)
    return files


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="+", help="sink directory or message files")
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--count", action="store_true", help="number of complete messages")
    mode.add_argument("--list", action="store_true", help="one line per message")
    mode.add_argument("--header", metavar="NAME", help="every value of header NAME")
    mode.add_argument("--envelope", action="store_true", help="MAIL/RCPT lines")
    mode.add_argument("--body", action="store_true", help="message body")
    mode.add_argument("--raw-headers", action="store_true", help="header lines as delivered")
    mode.add_argument("--split", metavar="OUTDIR", help="envelope, headers, body of each into OUTDIR")
    ap.add_argument("--sink-pid", type=int, help="smtp-sink pid: skip files it has open")
    a = ap.parse_args()

    files = expand(a.paths, a.sink_pid)
    if a.count:
        print(len(files))
        return 0
    for path in files:
        try:
            m = SinkMessage(path)
        except FileNotFoundError:
            continue
        if a.list:
            subj = m.header("subject")
            sender = m.sender()
            print("%s\t%s\t%s\t%s" % (
                path,
                "<>" if sender == "" else sender,
                ",".join(m.recipients()),
                subj[0] if subj else ""))
        elif a.header:
            for v in m.header(a.header):
                print(v)
        elif a.envelope:
            sender = m.sender()
            print("MAIL %s" % ("<>" if sender == "" else sender))
            for r in m.recipients():
                print("RCPT %s" % r)
        elif a.body:
            sys.stdout.write(m.body)
        elif a.split:
            name = os.path.basename(path)
            base = os.path.join(a.split, name)
            sender = m.sender()
            with open(base + ".env", "w") as out:
                out.write("MAIL %s\n" % ("<>" if sender == "" else sender))
                for r in m.recipients():
                    out.write("RCPT %s\n" % r)
            with open(base + ".hdr", "wb") as out:
                for n, v in m.headers:
                    out.write(("%s:%s\n" % (n, v)).encode("utf-8", "surrogateescape"))
            with open(base + ".body", "wb") as out:
                out.write(m.body.encode("utf-8", "surrogateescape"))
            mid = m.header("message-id")
            print("%s\t%s" % (name, mid[0] if mid else ""))
        elif a.raw_headers:
            sys.stdout.flush()
            for n, v in m.headers:
                sys.stdout.buffer.write(("%s:%s\n" % (n, v)).encode("utf-8", "surrogateescape"))
            sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
