#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""An AM.PDP release client as the web panels speak it (t/e2e/test_ampdp.sh).

  ampdp_client.py (--inet HOST:PORT [--source ADDR] | --unix PATH)
                  [--style mailzu|iredadmin] REQUEST [NEXT REQUEST]...

REQUEST is name=value words ("request=release" "mail_id=..."). Each request
is sent %XX-encoded as amavisd-release encodes it, CRLF lines, an empty line
at the end; several requests go over one connection, one after the other
(each after the previous answer). mailzu style reads the answer up to the
empty line; iredadmin style reads once (a single recv of 1024 bytes, as
iRedAdmin does). Every answer line is printed decoded, "name=value", and
each answer is followed by a line "--". When the server closes early the
last line is "CLOSED"; --check-close then tells whether it closed. Exit 0 unless the connection failed.
"""
import argparse
import re
import socket
import sys


def encode(s):
    return re.sub(r"([^\x21-\x24\x26-\x7e])", lambda m: "%%%02x" % ord(m.group(1)), s)


def decode(s):
    return re.sub(r"%([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), s)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--inet")
    ap.add_argument("--source")
    ap.add_argument("--unix")
    ap.add_argument("--style", default="mailzu", choices=["mailzu", "iredadmin"])
    ap.add_argument("--raw", action="store_true", help="send the words as they are, unencoded")
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--check-close", action="store_true",
                    help="after the answers, print CLOSED or OPEN (no EOF within 2 s)")
    ap.add_argument("words", nargs="*")
    a = ap.parse_args()
    reqs, cur = [], []
    for w in a.words:
        if w == "NEXT":
            reqs.append(cur)
            cur = []
        else:
            cur.append(w)
    reqs.append(cur)

    if a.unix:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(a.timeout)
        s.connect(a.unix)
    else:
        host, port = a.inet.rsplit(":", 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(a.timeout)
        if a.source:
            s.bind((a.source, 0))
        s.connect((host, int(port)))
    f = s.makefile("rb")
    for words in reqs:
        lines = []
        for w in words:
            if a.raw:
                lines.append(w)
                continue
            name, _, value = w.partition("=")
            lines.append(name + "=" + encode(value))
        try:
            s.sendall(("".join(l + "\r\n" for l in lines) + "\r\n").encode("latin-1"))
        except OSError:
            pass
        if a.style == "iredadmin":
            try:
                data = s.recv(1024)
            except OSError:
                data = b""
            if not data:
                print("CLOSED")
                return 0
            for l in data.decode("latin-1").split("\r\n"):
                if l:
                    name, _, value = l.partition("=")
                    print(decode(name) + "=" + decode(value))
            print("--")
            continue
        while True:
            try:
                l = f.readline()
            except OSError:
                l = b""
            if not l:
                print("CLOSED")
                return 0
            l = l.decode("latin-1").rstrip("\r\n")
            if l == "":
                print("--")
                break
            name, _, value = l.partition("=")
            print(decode(name) + "=" + decode(value))
    if a.check_close:
        s.settimeout(2)
        try:
            print("CLOSED" if f.readline() == b"" else "OPEN")
        except socket.timeout:
            print("OPEN")
        except OSError:
            print("CLOSED")
    s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
