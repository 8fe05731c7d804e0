#!/usr/bin/env python3
"""Writes Tests/XMoEDataTests/Prepare/Fixtures/: a small JSON-lines input and megatron_reference.py's
outputs for it (the golden files the Swift tests compare to byte for byte).

Usage: python3 Benchmarks/prepare-data/make_fixture.py MEGATRON_DIR   (see megatron_reference.py)
"""
import gzip
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "XMoEDataTests", "Prepare", "Fixtures")

# Each line is raw JSON text as it sits in the file; every one must be valid for json.loads.
HANDWRITTEN = [
    r'{"text": "Hello world", "title": "Greeting"}',
    r'{"title": "Escapes", "text": "tab\there, quote \" slash \/ backslash \\ newline\nend \u00e9\u6771 \ud83d\ude80 caf\u00E9"}',
    r'{"text": "", "title": "Empty text"}',
    r'{"text": ["First sentence.", "", " Second one.", "Third\n"], "title": ["Pre", "split"]}',
    r'{"meta": {"n": [1, 2.5e-3, -0, NaN, Infinity, -Infinity, null, true, false, "\ud800"]}, "text": "Nested extras ignored.", "title": "Extras"}',
    r'{"text": "first binding", "title": "Duplicate", "text": "last binding wins"}',
    r'{"te\u0078t": "key spelled with an escape", "title": ""}',
    r'{"text": [], "title": "Empty list"}',
    '{"text": "Windows line ending", "title": "CRLF"}\r',
    r'  {"text":"  spaces  around\t\t", "title":"Whitespace"}  ',
    r'{"text": "Literal <|endoftext|> stays text.", "title": "Special"}',
    r'{"text": "naïve café 東京 🚀 x\u0301 \u00a0y", "title": "Unicode"}',
]


def main():
    megatron_dir = sys.argv[1]
    os.makedirs(OUT, exist_ok=True)
    with gzip.open(os.path.join(ROOT, "data", "corpus", "kjv.jsonl.gz"), "rt", encoding="utf-8") as f:
        kjv = ['{"title": "KJV %d", %s' % (i, next(f).rstrip("\n")[1:]) for i in range(3)]
    lines = HANDWRITTEN[:6] + kjv[:1] + HANDWRITTEN[6:] + kjv[1:]
    for line in lines:  # the lines must be what Megatron accepts
        import json
        json.loads(line)
    jsonl = os.path.join(OUT, "fixture.jsonl")
    with open(jsonl, "w", encoding="utf-8", newline="") as f:
        f.write("".join(line + "\n" for line in lines))
    script = os.path.join(os.path.dirname(__file__), "megatron_reference.py")
    common = [sys.executable, script, "--input", jsonl, "--workers", "2",
              "--vocab-dir", os.path.join(ROOT, "data", "gpt2"), "--megatron-dir", megatron_dir]
    subprocess.run(common + ["--output-prefix", os.path.join(OUT, "eod"), "--json-keys", "text", "title",
                             "--append-eod"], check=True)
    subprocess.run(common + ["--output-prefix", os.path.join(OUT, "noeod")], check=True)


if __name__ == "__main__":
    main()
