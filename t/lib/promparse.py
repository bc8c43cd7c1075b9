#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A strict reader of the Prometheus text exposition format 0.0.4.

    promparse.py FILE    exit 0 and print "ok N samples", or exit 1 with
                         "FILE:LINE: what is wrong"

As a module: parse(text) returns {family: {"type", "help", "samples":
[(name, labels_dict, value)]}} or raises ValueError("LINE: why").

The rules checked (from the format's documentation): every line ends in
LF; a line is a "# HELP name text", a "# TYPE name type", another comment,
or a sample "name[{labels}] value [timestamp]"; HELP and TYPE at most once
per family and TYPE before its samples; a family's samples in one group;
label values escape only backslash, double quote and newline; no series
twice; a histogram has, per label set, buckets with increasing le ending
at "+Inf", cumulative counts, and _sum and _count with _count equal to the
+Inf bucket.
"""
import math
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def parse_value(s, where):
    if s in ("+Inf", "Inf"):
        return math.inf
    if s == "-Inf":
        return -math.inf
    if s == "NaN":
        return math.nan
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", s):
        raise ValueError(f"{where}: bad value {s!r}")
    return float(s)


def parse_labels(s, i, where):
    """s[i] == '{'; returns (labels, index after '}')."""
    labels = {}
    i += 1
    while True:
        if i < len(s) and s[i] == "}":
            return labels, i + 1
        m = re.compile(LABEL).match(s, i)
        if not m:
            raise ValueError(f"{where}: bad label name at {s[i:]!r}")
        name = m.group(0)
        i = m.end()
        if s[i:i + 2] != '="':
            raise ValueError(f"{where}: want =\" after label {name}")
        i += 2
        val = []
        while True:
            if i >= len(s):
                raise ValueError(f"{where}: unterminated label value")
            c = s[i]
            if c == "\\":
                nxt = s[i + 1:i + 2]
                if nxt not in ("\\", '"', "n"):
                    raise ValueError(f"{where}: bad escape \\{nxt} in label value")
                val.append("\n" if nxt == "n" else nxt)
                i += 2
            elif c == '"':
                i += 1
                break
            else:
                val.append(c)
                i += 1
        if name in labels:
            raise ValueError(f"{where}: label {name} twice")
        labels[name] = "".join(val)
        if i < len(s) and s[i] == ",":
            i += 1
        elif i < len(s) and s[i] == "}":
            continue
        else:
            raise ValueError(f"{where}: want , or }} after a label")


def family_of(name, families):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            if base in families and families[base]["type"] in ("histogram", "summary"):
                return base
    return name


def parse(text):
    if text and not text.endswith("\n"):
        raise ValueError("end: the last line has no LF")
    families = {}
    seen_series = set()
    done = set()          # families whose group of samples has ended
    current = None
    for no, line in enumerate(text.split("\n")[:-1], 1):
        where = str(no)
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not re.fullmatch(NAME, name):
                    raise ValueError(f"{where}: bad metric name {name!r}")
                fam = families.setdefault(name, {"type": None, "help": None, "samples": []})
                if parts[1] == "TYPE":
                    if len(parts) != 4 or parts[3] not in TYPES:
                        raise ValueError(f"{where}: bad TYPE line")
                    if fam["type"] is not None:
                        raise ValueError(f"{where}: second TYPE for {name}")
                    if fam["samples"]:
                        raise ValueError(f"{where}: TYPE of {name} after its samples")
                    fam["type"] = parts[3]
                else:
                    if fam["help"] is not None:
                        raise ValueError(f"{where}: second HELP for {name}")
                    h = parts[3] if len(parts) == 4 else ""
                    if re.search(r"\\[^\\n]", h.replace("\\\\", "")):
                        raise ValueError(f"{where}: bad escape in HELP")
                    fam["help"] = h
            continue
        if line.strip() == "":
            raise ValueError(f"{where}: empty line")
        m = re.compile(NAME).match(line)
        if not m:
            raise ValueError(f"{where}: not a sample: {line!r}")
        name = m.group(0)
        i = m.end()
        labels = {}
        if i < len(line) and line[i] == "{":
            labels, i = parse_labels(line, i, where)
        rest = line[i:]
        if not rest.startswith(" "):
            raise ValueError(f"{where}: want a space before the value")
        fields = rest.split()
        if len(fields) not in (1, 2):
            raise ValueError(f"{where}: want value [timestamp]")
        value = parse_value(fields[0], where)
        if len(fields) == 2 and not re.fullmatch(r"-?\d+", fields[1]):
            raise ValueError(f"{where}: bad timestamp")
        famname = family_of(name, families)
        fam = families.setdefault(famname, {"type": None, "help": None, "samples": []})
        if famname != current:
            if famname in done:
                raise ValueError(f"{where}: samples of {famname} not in one group")
            if current is not None:
                done.add(current)
            current = famname
        key = (name, tuple(sorted(labels.items())))
        if key in seen_series:
            raise ValueError(f"{where}: series {name}{labels} twice")
        seen_series.add(key)
        if fam["type"] == "counter" and (value < 0 or math.isnan(value)):
            raise ValueError(f"{where}: counter {name} is {value}")
        fam["samples"].append((name, labels, value))
    for famname, fam in families.items():
        if fam["type"] == "histogram":
            check_histogram(famname, fam)
    return families


def check_histogram(famname, fam):
    groups = {}
    for name, labels, value in fam["samples"]:
        rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        g = groups.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if name == famname + "_bucket":
            if "le" not in labels:
                raise ValueError(f"{famname}{dict(rest)}: bucket without le")
            g["buckets"].append((parse_value(labels["le"], famname), value))
        elif name == famname + "_sum":
            g["sum"] = value
        elif name == famname + "_count":
            g["count"] = value
        else:
            raise ValueError(f"{famname}: sample {name} in a histogram")
    for rest, g in groups.items():
        what = f"{famname}{dict(rest)}"
        b = g["buckets"]
        if not b or b[-1][0] != math.inf:
            raise ValueError(f"{what}: no +Inf bucket last")
        for (le1, c1), (le2, c2) in zip(b, b[1:]):
            if not le2 > le1:
                raise ValueError(f"{what}: le not increasing ({le1}, {le2})")
            if c2 < c1:
                raise ValueError(f"{what}: buckets not cumulative ({c1} then {c2})")
        if g["sum"] is None or g["count"] is None:
            raise ValueError(f"{what}: _sum or _count missing")
        if g["count"] != b[-1][1]:
            raise ValueError(f"{what}: _count {g['count']} != +Inf bucket {b[-1][1]}")


def value_of(families, name, **labels):
    fam = families.get(family_of(name, families))
    for n, l, v in (fam or {}).get("samples", []):
        if n == name and l == labels:
            return v
    raise KeyError(f"{name}{labels}")


if __name__ == "__main__":
    path = sys.argv[1]
    try:
        with open(path, encoding="utf-8") as f:
            fams = parse(f.read())
    except ValueError as e:
        print(f"{path}:{e}", file=sys.stderr)
        sys.exit(1)
    print("ok", sum(len(f["samples"]) for f in fams.values()), "samples")
