#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""DKIM helpers for the tests, on Python's dkim module (python3-dkim), an
implementation independent of libopendkim.

  dkimtool.py apply IN.eml SCAN.json OUT.eml   apply mavisctl scan --json edits
  dkimtool.py verify FILE.eml PORT             verify every signature; key
                                               records from the DNS server on
                                               127.0.0.1:PORT; exit 0 if all pass
  dkimtool.py sign IN.eml OUT.eml DOMAIN SEL KEY.pem rsa|ed25519
  dkimtool.py txt NAME PORT                    one TXT query (exit 0 on an answer)
"""
import json
import random
import socket
import struct
import sys

import dkim


def read_msg(path):
    with open(path, 'rb') as f:
        data = f.read()
    head, sep, body = data.replace(b'\r\n', b'\n').partition(b'\n\n')
    fields = []
    for line in head.split(b'\n'):
        if line[:1] in (b' ', b'\t') and fields:
            fields[-1] += b'\n' + line
        else:
            fields.append(line)
    return fields, body


def write_msg(path, fields, body):
    out = b'\r\n'.join(f.replace(b'\n', b'\r\n') for f in fields) + b'\r\n\r\n'
    out += body.replace(b'\n', b'\r\n')
    with open(path, 'wb') as f:
        f.write(out)


def fname(f):
    return f.split(b':', 1)[0].strip().lower()


def nth(fields, name, idx):
    n = 0
    for i, f in enumerate(fields):
        if fname(f) == name.lower().encode():
            n += 1
            if n == idx:
                return i
    return None


def apply(src, scan, dst):
    fields, body = read_msg(src)
    with open(scan) as f:
        v = json.load(f)
    for e in v['edits']:
        op, name = e['op'], e.get('name')
        new = (name + ':' + (e.get('value') or '')).encode()
        if op == 'insert_header':
            fields.insert(max(e['index'], 0), new)
        elif op == 'add_header':
            fields.append(new)
        elif op == 'change_header':
            i = nth(fields, name, e['index'])
            if i is None:
                fields.append(new)
            else:
                fields[i] = new
        elif op == 'delete_header':
            i = nth(fields, name, e['index'])
            if i is not None:
                del fields[i]
    write_msg(dst, fields, body)


def txt_query(name, port):
    """One TXT query over UDP to 127.0.0.1:port; the strings joined."""
    qid = random.randrange(65536)
    q = struct.pack('>HHHHHH', qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip('.').split('.'):
        q += bytes([len(label)]) + label.encode()
    q += b'\0' + struct.pack('>HH', 16, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(q, ('127.0.0.1', port))
    r, _ = s.recvfrom(65535)
    s.close()
    an = struct.unpack('>H', r[6:8])[0]
    p = len(q)
    for _ in range(an):
        while r[p] != 0:
            if r[p] & 0xc0:
                p += 1
                break
            p += r[p] + 1
        p += 1
        rtype, _, _, rdlen = struct.unpack('>HHIH', r[p:p + 10])
        p += 10
        rd = r[p:p + rdlen]
        p += rdlen
        if rtype != 16:
            continue
        out, i = b'', 0
        while i < len(rd):
            out += rd[i + 1:i + 1 + rd[i]]
            i += rd[i] + 1
        return out
    return None


def verify(path, port):
    with open(path, 'rb') as f:
        # as on the wire: CRLF (a sink file has LF)
        data = f.read().replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')
    d = dkim.DKIM(data)
    fields, _ = read_msg(path)
    nsig = sum(1 for f in fields if fname(f) == b'dkim-signature')
    if nsig == 0:
        print('no signature')
        return 1

    def dnsfunc(name, timeout=5):
        return txt_query(name.decode() if isinstance(name, bytes) else name, port)

    ok = True
    for i in range(nsig):
        res = d.verify(idx=i, dnsfunc=dnsfunc)
        print('signature %d: %s' % (i, 'pass' if res else 'fail'))
        ok = ok and res
    return 0 if ok else 1


def sign(src, dst, domain, sel, keyfile, alg):
    with open(src, 'rb') as f:
        data = f.read().replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')
    with open(keyfile, 'rb') as f:
        key = f.read()
    if alg == 'ed25519':
        # dkim wants the bare 32-byte private key, base64
        import base64
        import subprocess
        der = subprocess.run(['openssl', 'pkey', '-in', keyfile, '-outform', 'DER'],
                             capture_output=True, check=True).stdout
        key = base64.b64encode(der[-32:])
    sig = dkim.sign(data, sel.encode(), domain.encode(), key,
                    canonicalize=(b'relaxed', b'simple'),
                    signature_algorithm=b'ed25519-sha256' if alg == 'ed25519' else b'rsa-sha256',
                    include_headers=[b'from', b'to', b'subject', b'date', b'message-id'])
    with open(dst, 'wb') as f:
        f.write(sig + data)
    return 0


def main(a):
    if a[0] == 'apply':
        apply(a[1], a[2], a[3])
        return 0
    if a[0] == 'verify':
        return verify(a[1], int(a[2]))
    if a[0] == 'txt':
        try:
            r = txt_query(a[1], int(a[2]))
        except OSError:
            return 1
        print(r)
        return 0
    if a[0] == 'sign':
        return sign(*a[1:7])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
