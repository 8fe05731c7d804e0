#!/usr/bin/env python3
"""Builds data/corpus/kjv.jsonl.gz: the King James Bible, one JSON document per chapter.

Source: Debian's `bible-kjv` (the `bible` program) + `bible-kjv-text` (its compressed text,
/usr/lib/bible.data). The KJV text is public domain. If `bible` is not installed, both .deb files
are fetched with `apt-get download` into a temporary directory and unpacked with `dpkg-deb -x`
(no root needed, nothing is installed).

Each output line is {"text": "..."} where text holds the chapter's verses, one verse per line, in
order (no verse numbers, no book/chapter headings). 1 189 chapters, about 4.3 MB of text.
The gzip stream is written with mtime 0 so the output is byte-reproducible.

Usage: python3 data/corpus/make_kjv_jsonl.py [OUTPUT]   (default: kjv.jsonl.gz beside this script)
"""
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

VERSE_LINE = re.compile(r"^(\d?[A-Za-z]+)(\d+):(\d+) (.*)$")


def bible_text(tmp):
    """Returns the whole Bible as printed by `bible -f` (one 'Ge1:1 text' line per verse)."""
    binary, data_dir = shutil.which("bible"), "/usr/lib"
    if binary is None or not os.path.exists("/usr/lib/bible.data"):
        subprocess.run(["apt-get", "download", "bible-kjv", "bible-kjv-text"], cwd=tmp, check=True)
        root = os.path.join(tmp, "root")
        for deb in sorted(f for f in os.listdir(tmp) if f.endswith(".deb")):
            subprocess.run(["dpkg-deb", "-x", os.path.join(tmp, deb), root], check=True)
        binary, data_dir = os.path.join(root, "usr/bin/bible"), os.path.join(root, "usr/lib")
    out = subprocess.run([binary, "-f", "-p", data_dir, "Gen1:1-Rev22:21"],
                         check=True, capture_output=True)
    return out.stdout.decode("ascii")


def chapters(text):
    """Groups verse lines into chapters, keyed by (book, chapter) in reading order."""
    docs, key = [], None
    for line in text.splitlines():
        if not line:
            continue
        m = VERSE_LINE.match(line)
        if m is None:
            raise SystemExit(f"unexpected line from `bible`: {line!r}")
        this = (m.group(1), int(m.group(2)))
        if this != key:
            docs.append([])
            key = this
        docs[-1].append(m.group(4))
    return ["\n".join(verses) for verses in docs]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    output = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "kjv.jsonl.gz")
    with tempfile.TemporaryDirectory() as tmp:
        docs = chapters(bible_text(tmp))
    if len(docs) != 1189:
        raise SystemExit(f"expected 1189 chapters, got {len(docs)}")
    with open(output, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                                  filename="", compresslevel=9) as gz:
        for doc in docs:
            gz.write((json.dumps({"text": doc}, ensure_ascii=False) + "\n").encode("utf-8"))
    print(f"{output}: {len(docs)} documents, {sum(len(d) for d in docs)} characters")


if __name__ == "__main__":
    main()
