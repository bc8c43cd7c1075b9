#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Hand-made test messages for the content-check and virus e2e tests.

  content_corpus.py OUTDIR [--testfiles DIR]

Writes OUTDIR/<case>.eml for every case and OUTDIR/cases.json, a list of

  {"name": ..., "file": "<case>.eml", "sender": ..., "rcpts": [...],
   "bank": "normal" | "badh-reject",   which smtpd port (daemon name) to use
   "expect": "250" | "554 5.7.0" | ..., reply code (and enhanced code) prefix
   "text": "BANNED:" | null,            a fragment of the reply text
   "ccats": {rcpt: short ccat},         per-recipient ccat (mavisctl scan --json)
   "delivered": [rcpts] | null,         envelope recipients in the sink
   "headers": {name: fragment},         fields the delivered copy must carry
   "absent": [names],                   fields it must not carry
   "subject_prefix": "***UNCHECKED*** " | null,
   "quarantine": "virus" | "banned" | null, blocked copy in quarantine_dir
   "blocked": [rcpts]}                  who the quarantined copy is for

Everything is built here at run time from the python standard library; the
encrypted zip comes from zip(1) (python cannot write ZipCrypto). The EICAR
test string is assembled from two halves so that no file of the project
is itself detected. Each message has Message-ID <NAME@corpus.mavis.test>.
"""

import base64
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
import gzip

EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-" +
         b"ANTIVIRUS-TEST-FILE!$H+H*")

SENDER = "sender@example.net"
RCPT = "rcpt@example.com"
DATE = "Mon, 01 Jan 2024 10:00:00 +0000"

# clamav-testfiles: ClamAV's own test files, each hiding clam.exe (or being
# it) in some archive, packer, document or mail format.
TESTFILES_DIR = "/usr/share/clamav-testfiles"


def pe_exe(dll=False):
    """A minimal PE32 GUI executable that libmagic recognises (testmsg.h)."""
    n = 0x40 + 24 + 0xe0 + 40 + 200
    b = bytearray(n)
    b[0:3] = b"MZ\x90"
    b[0x3c] = 0x40
    b[0x40:0x44] = b"PE\0\0"
    b[0x44], b[0x45] = 0x4c, 0x01
    b[0x46] = 1
    b[0x54] = 0xe0
    b[0x56], b[0x57] = 0x02, 0x21 if dll else 0x01
    b[0x58], b[0x59] = 0x0b, 0x01
    b[0x58 + 68] = 2
    b[0x58 + 0xe0:0x58 + 0xe0 + 5] = b".text"
    return bytes(b)


def zip_bytes(entries):
    """entries: [(name, data)] -> zip archive bytes (deflated)."""
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            z.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 10, 0, 0)), data)
    return bio.getvalue()


def zip_encrypted(entries, password):
    """ZipCrypto archive through zip(1) -P."""
    with tempfile.TemporaryDirectory() as d:
        names = []
        for name, data in entries:
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
            names.append(name)
        out = os.path.join(d, "out.zip")
        subprocess.run(["zip", "-q", "-P", password, out] + names, cwd=d, check=True)
        with open(out, "rb") as f:
            return f.read()


def b64(data):
    s = base64.b64encode(data).decode("ascii")
    return "\n".join(s[i:i + 76] for i in range(0, len(s), 76)) + "\n"


def qp_all(data):
    """Quoted-printable with every byte encoded (=XX), soft breaks at 75."""
    out, line = [], ""
    for byte in data:
        tok = "=%02X" % byte
        if len(line) + len(tok) > 72:
            out.append(line + "=")
            line = ""
        line += tok
    out.append(line)
    return "\n".join(out) + "\n"


def head(name, subject, extra="", to=RCPT, frm=SENDER, date=True):
    lines = []
    if frm is not None:
        lines.append("From: Sender <%s>" % frm)
    lines.append("To: <%s>" % to)
    lines.append("Subject: %s" % subject)
    if date:
        lines.append("Date: %s" % DATE)
    lines.append("Message-ID: <%s@corpus.mavis.test>" % name)
    text = "\n".join(lines) + "\n"
    return text + extra


def mime_attach(name, subject, parts, to=RCPT, boundary="=_mavis_corpus_=", **kw):
    """multipart/mixed with a text part and parts = [(ctype, filename|None,
    cte, payload_text, disposition)]."""
    m = head(name, subject, to=to, **kw)
    m += "MIME-Version: 1.0\n"
    m += 'Content-Type: multipart/mixed; boundary="%s"\n\n' % boundary
    m += "This is a multi-part message in MIME format.\n\n"
    m += "--%s\nContent-Type: text/plain; charset=us-ascii\n\nSee the attachment.\n\n" % boundary
    for ctype, fname, cte, payload, disp in parts:
        m += "--%s\n" % boundary
        if fname:
            m += 'Content-Type: %s; name="%s"\n' % (ctype, fname)
            m += 'Content-Disposition: %s; filename="%s"\n' % (disp or "attachment", fname)
        else:
            m += "Content-Type: %s\n" % ctype
            if disp:
                m += "Content-Disposition: %s\n" % disp
        if cte:
            m += "Content-Transfer-Encoding: %s\n" % cte
        m += "\n" + payload
        if not payload.endswith("\n"):
            m += "\n"
    m += "--%s--\n" % boundary
    return m


def attach_b64(name, subject, ctype, fname, data, **kw):
    return mime_attach(name, subject, [(ctype, fname, "base64", b64(data), "attachment")], **kw)


def case(cases, outdir, name, msg, expect, text=None, rcpts=None, ccats=None, delivered="all",
         headers=None, absent=None, subject_prefix=None, quarantine=None, blocked=None,
         bank="normal", sender=SENDER):
    rcpts = rcpts or [RCPT]
    if isinstance(msg, str):
        msg = msg.encode("latin-1")
    with open(os.path.join(outdir, name + ".eml"), "wb") as f:
        f.write(msg)
    if delivered == "all":
        delivered = list(rcpts) if expect.startswith("2") else None
    if isinstance(ccats, str):
        ccats = {r: ccats for r in rcpts}
    cases.append({
        "name": name, "file": name + ".eml", "sender": sender, "rcpts": rcpts, "bank": bank,
        "expect": expect, "text": text, "ccats": ccats or {}, "delivered": delivered,
        "headers": headers or {}, "absent": absent or [], "subject_prefix": subject_prefix,
        "quarantine": quarantine, "blocked": blocked if blocked is not None else
        (list(rcpts) if quarantine else []),
    })


SCANNED = {"X-Virus-Scanned": "mavis at "}


def content_cases(cases, out):
    pe = pe_exe()

    case(cases, out, "clean", head("clean", "clean message") + "\nHello, nothing to see.\n",
         "250", ccats="CLEAN", headers=SCANNED, absent=["X-Mavis-Alert"])

    # Banned (Debian rule set): double extension, exe in zip in zip, CLSID.
    case(cases, out, "double_ext",
         attach_b64("double_ext", "your invoice", "application/octet-stream",
                    "invoice.pdf.exe", b"%PDF-1.4 not really a pdf\n"),
         "554 5.7.0", "BANNED:", ccats="BANNED", quarantine="banned")
    inner = zip_bytes([("setup.exe", pe)])
    outer = zip_bytes([("inner.zip", inner), ("readme.txt", b"see inner.zip\n")])
    case(cases, out, "exe_zip_zip",
         attach_b64("exe_zip_zip", "documents", "application/zip", "documents.zip", outer),
         "554 5.7.0", "BANNED:", ccats="BANNED", quarantine="banned")
    case(cases, out, "clsid",
         attach_b64("clsid", "a folder", "application/octet-stream",
                    "report.{00020C01-0000-0000-C000-000000000046}", b"hello\n"),
         "554 5.7.0", "BANNED:", ccats="BANNED", quarantine="banned")
    # One recipient loves banned files, the other does not: the other is
    # deleted from the envelope (and quarantined), the lover gets it.
    case(cases, out, "banned_mixed",
         attach_b64("banned_mixed", "for both of you", "application/octet-stream",
                    "payroll.xls.exe", b"MZ not really\n", to="bob@example.com"),
         "250", rcpts=["bob@example.com", "lover@example.com"],
         ccats={"bob@example.com": "BANNED", "lover@example.com": "BANNED"},
         delivered=["lover@example.com"], headers={"X-Mavis-Alert": "BANNED, message contains"},
         quarantine="banned", blocked=["bob@example.com"])

    # UNCHECKED (final_unchecked_destiny = pass): tagged for local recipients.
    enc = zip_encrypted([("secret.txt", b"the password is in the other mail\n")], "secret")
    case(cases, out, "encrypted_zip",
         attach_b64("encrypted_zip", "encrypted", "application/zip", "secret.zip", enc),
         "250", ccats="UNCHECKED", subject_prefix="***UNCHECKED*** ", headers=SCANNED)
    deep = b"bottom of the pile\n"
    for level in range(20):
        deep = zip_bytes([("level%02d.%s" % (level, "txt" if level == 0 else "zip"), deep)])
    case(cases, out, "deep_nesting",
         attach_b64("deep_nesting", "deep", "application/zip", "deep.zip", deep),
         "250", ccats="UNCHECKED", subject_prefix="***UNCHECKED*** ",
         headers=SCANNED)  # amavisd skips the scan at a decoder limit; mavis scans on purpose
    amb = head("ambiguous", "ambiguous boundary")
    amb += 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="aaa"; boundary="bbb"\n\n'
    amb += "--aaa\nContent-Type: text/plain\n\none\n--bbb\nContent-Type: text/plain\n\ntwo\n--aaa--\n"
    case(cases, out, "ambiguous", amb, "250", ccats="UNCHECKED", subject_prefix="***UNCHECKED*** ")

    # Bad headers, passed (default) and rejected (bank BADHREJECT).
    long_line = "X-Long: " + "x" * 1000 + "\n"
    badh = [
        ("hdr_8bit", head("hdr_8bit", "caf\xe9 cr\xe8me") + "\nbody\n", "554 5.6.3",
         "nonencoded 8-bit character"),
        ("hdr_long", head("hdr_long", "long line", long_line) + "\nbody\n", "554 5.6.0",
         "line longer than RFC 5322 limit"),
        ("no_from", head("no_from", "no from", frm=None) + "\nbody\n", "554 5.6.0",
         "missing required header field"),
        ("dup_subject", head("dup_subject", "first", "Subject: second\n") + "\nbody\n",
         "554 5.6.0", "duplicate header field"),
    ]
    for name, msg, rej, why in badh:
        case(cases, out, name, msg, "250", ccats="BADH",
             headers={"X-Mavis-Alert": "BAD HEADER SECTION", **SCANNED})
        case(cases, out, name + "_reject", msg.replace("<%s@" % name, "<%s_reject@" % name),
             rej, "BAD HEADER: " + why, ccats="BADH", bank="badh-reject")

    # Size limit per recipient (small@ has a few kB, see the test's config).
    body = "".join("line %04d of a message that is too big for small@\n" % i for i in range(200))
    case(cases, out, "oversize", head("oversize", "big", to="small@example.com") + "\n" + body,
         "552 5.3.4", "size exceeds recipient's size limit", rcpts=["small@example.com"],
         ccats="OVERSIZED")
    case(cases, out, "oversize_mixed",
         head("oversize_mixed", "big", to="small@example.com") + "\n" + body, "250",
         rcpts=["small@example.com", "big@example.com"],
         ccats={"small@example.com": "OVERSIZED", "big@example.com": "CLEAN"},
         delivered=["big@example.com"])


def virus_cases(cases, out, testfiles):
    inf = ("554 5.7.0", "INFECTED:")
    case(cases, out, "eicar_base64",
         attach_b64("eicar_base64", "eicar b64", "application/octet-stream", "eicar.com.txt", EICAR),
         *inf, ccats="VIRUS", quarantine="virus")
    case(cases, out, "eicar_qp",
         mime_attach("eicar_qp", "eicar qp",
                     [("text/plain; charset=us-ascii", "eicar.txt", "quoted-printable",
                       qp_all(EICAR), "attachment")]),
         *inf, ccats="VIRUS", quarantine="virus")
    case(cases, out, "eicar_inline",
         head("eicar_inline", "eicar inline") + "\n" + EICAR.decode("ascii") + "\n",
         *inf, ccats="VIRUS", quarantine="virus")
    case(cases, out, "eicar_inline_part",
         mime_attach("eicar_inline_part", "eicar inline part",
                     [("text/plain; charset=us-ascii", None, "7bit",
                       EICAR.decode("ascii") + "\n", "inline")]),
         *inf, ccats="VIRUS", quarantine="virus")
    zz = zip_bytes([("inner.zip", zip_bytes([("eicar.txt", EICAR)]))])
    case(cases, out, "eicar_zip_zip",
         attach_b64("eicar_zip_zip", "eicar zip zip", "application/zip", "outer.zip", zz),
         *inf, ccats="VIRUS", quarantine="virus")
    tgz = io.BytesIO()
    with tarfile.open(fileobj=tgz, mode="w:gz") as t:
        ti = tarfile.TarInfo("dir/eicar.bin")
        ti.size = len(EICAR)
        ti.mtime = 1704103200
        t.addfile(ti, io.BytesIO(EICAR))
    case(cases, out, "eicar_tar_gz",
         attach_b64("eicar_tar_gz", "eicar tgz", "application/gzip", "files.tar.gz", tgz.getvalue()),
         *inf, ccats="VIRUS", quarantine="virus")
    gz = gzip.compress(zip_bytes([("eicar.txt", EICAR)]), mtime=0)
    case(cases, out, "eicar_zip_gz",
         attach_b64("eicar_zip_gz", "eicar zip gz", "application/gzip", "files.zip.gz", gz),
         *inf, ccats="VIRUS", quarantine="virus")
    inner = attach_b64("inner_msg", "the forwarded one", "application/octet-stream",
                       "eicar.com.txt", EICAR, to="someone@example.org")
    fwd = mime_attach("eicar_rfc822", "Fwd: the forwarded one",
                      [("message/rfc822", None, "7bit", inner, "attachment")])
    case(cases, out, "eicar_rfc822", fwd, *inf, ccats="VIRUS", quarantine="virus")
    case(cases, out, "test_string",
         attach_b64("test_string", "mavis test string", "application/octet-stream", "data.bin",
                    b"some data MAVIS-TEST-" + b"VIRUS-STRING more data\n"),
         *inf, ccats="VIRUS", quarantine="virus")

    # Every file of Debian's clamav-testfiles, attached as it is.
    if testfiles and os.path.isdir(testfiles):
        for fname in sorted(os.listdir(testfiles)):
            path = os.path.join(testfiles, fname)
            if not os.path.isfile(path):
                continue
            with open(path, "rb") as f:
                data = f.read()
            name = "tf_" + "".join(c if c.isalnum() else "_" for c in fname)
            msg = attach_b64(name, "clamav-testfiles " + fname, "application/octet-stream",
                             fname, data)
            if fname == "clam_cache_emax.tgz":
                # clam.exe under 8 nested .tgz = 16 decoding levels + MIME:
                # over max_levels (14). amavisd skips the virus scan there and
                # passes it UNCHECKED; mavis scans what it decoded and the raw
                # message, and libclamav finds the virus.
                case(cases, out, name, msg, *inf, ccats="VIRUS")
                continue
            case(cases, out, name, msg, *inf, ccats="VIRUS")


def main():
    args = sys.argv[1:]
    testfiles = TESTFILES_DIR
    if "--testfiles" in args:
        i = args.index("--testfiles")
        testfiles = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1:
        sys.exit(__doc__)
    out = args[0]
    os.makedirs(out, exist_ok=True)
    cases = []
    content_cases(cases, out)
    virus_cases(cases, out, testfiles)
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)
    print("%d messages in %s" % (len(cases), out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
