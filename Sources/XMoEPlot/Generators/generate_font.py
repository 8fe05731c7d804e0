#!/usr/bin/env python3
"""Generates BitmapFontData.swift from the public-domain X11 misc-fixed fonts.

Source: Debian package `xfonts-base` (font-misc-misc, "Public domain font. Share and enjoy.").
    apt-get download xfonts-base && dpkg-deb -x xfonts-base_*.deb x
    python3 generate_font.py x/usr/share/fonts/X11/misc > ../Font/BitmapFontData.swift
Only printable ASCII (32...126) is kept. Each glyph is `height` rows of UInt16, bit (width-1-x)
set where pixel x of that row is ink, placed in the font's character cell (ascent + descent rows).
Standard library only, so it runs with any python3.
"""
import gzip
import os
import struct
import sys

PCF_ACCELERATORS = 1 << 1
PCF_METRICS = 1 << 2
PCF_BITMAPS = 1 << 3
PCF_BDF_ENCODINGS = 1 << 5
PCF_BDF_ACCELERATORS = 1 << 8
PCF_COMPRESSED_METRICS = 0x100

FONTS = [("misc7x13", "7x13.pcf.gz"), ("misc9x15Bold", "9x15B.pcf.gz"), ("misc10x20", "10x20.pcf.gz")]


class Table:
    def __init__(self, data, offset):
        self.data = data
        self.format = struct.unpack_from("<I", data, offset)[0]
        self.big = bool(self.format & (1 << 2))
        self.pos = offset + 4

    def read(self, fmt):
        fmt = (">" if self.big else "<") + fmt
        value = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return value if len(value) > 1 else value[0]


def parse_pcf(data):
    assert data[:4] == b"\x01fcp", "not a PCF font"
    count = struct.unpack_from("<I", data, 4)[0]
    tables = {}
    for i in range(count):
        kind, _fmt, _size, offset = struct.unpack_from("<IIII", data, 8 + 16 * i)
        tables[kind] = offset
    # Metrics.
    t = Table(data, tables[PCF_METRICS])
    metrics = []
    if t.format & PCF_COMPRESSED_METRICS:
        n = t.read("H")
        for _ in range(n):
            lsb, rsb, width, ascent, descent = (t.read("B") - 0x80 for _ in range(5))
            metrics.append((lsb, rsb, width, ascent, descent))
    else:
        n = t.read("I")
        for _ in range(n):
            lsb, rsb, width, ascent, descent, _attr = t.read("hhhhhH")
            metrics.append((lsb, rsb, width, ascent, descent))
    # Bitmaps.
    t = Table(data, tables[PCF_BITMAPS])
    n = t.read("I")
    offsets = [t.read("I") for _ in range(n)]
    sizes = [t.read("I") for _ in range(4)]
    pad_index = t.format & 3
    row_pad = 1 << pad_index
    msb_bit_first = bool(t.format & (1 << 3))
    scan_unit = 1 << ((t.format >> 4) & 3)
    bitmap_base = t.pos
    _ = sizes
    # Encodings.
    t = Table(data, tables[PCF_BDF_ENCODINGS])
    min_b2, max_b2, min_b1, max_b1, _default = t.read("hhhhh")
    cols = max_b2 - min_b2 + 1
    glyph_of = {}
    for b1 in range(min_b1, max_b1 + 1):
        for b2 in range(min_b2, max_b2 + 1):
            idx = t.read("H")
            if idx != 0xFFFF:
                glyph_of[(b1 << 8) | b2] = idx
    _ = cols
    # Accelerators: font ascent/descent.
    acc = tables.get(PCF_BDF_ACCELERATORS, tables.get(PCF_ACCELERATORS))
    t = Table(data, acc)
    t.read("BBBBBBBB")
    font_ascent, font_descent = t.read("ii")

    def glyph_rows(index):
        lsb, rsb, _width, ascent, descent = metrics[index]
        w = rsb - lsb
        h = ascent + descent
        stride = ((w + 7) // 8 + row_pad - 1) // row_pad * row_pad
        base = bitmap_base + offsets[index]
        rows = []
        for r in range(h):
            row = bytearray(data[base + r * stride: base + (r + 1) * stride])
            if not t_big_bytes_ok(row, scan_unit):
                pass
            bits = []
            for x in range(w):
                byte = row[x // 8]
                bit = (byte >> (7 - x % 8)) & 1 if msb_bit_first else (byte >> (x % 8)) & 1
                bits.append(bit)
            rows.append(bits)
        return lsb, ascent, rows

    return metrics, glyph_of, font_ascent, font_descent, glyph_rows


def t_big_bytes_ok(_row, scan_unit):
    # misc-fixed ships with scan unit 1 (byte order irrelevant); larger units would need swapping.
    assert scan_unit == 1, "scan unit > 1 not supported"
    return True


def convert(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    metrics, glyph_of, ascent, descent, glyph_rows = parse_pcf(data)
    cell_w = max(metrics[glyph_of[c]][2] for c in range(32, 127))
    cell_h = ascent + descent
    words = []
    for code in range(32, 127):
        cell = [[0] * cell_w for _ in range(cell_h)]
        lsb, g_ascent, rows = glyph_rows(glyph_of[code])
        for r, bits in enumerate(rows):
            y = ascent - g_ascent + r
            for x, bit in enumerate(bits):
                cx = lsb + x
                if bit and 0 <= y < cell_h and 0 <= cx < cell_w:
                    cell[y][cx] = 1
        for row in cell:
            word = 0
            for x, bit in enumerate(row):
                if bit:
                    word |= 1 << (cell_w - 1 - x)
            words.append(word)
    return cell_w, cell_h, ascent, words


def main():
    directory = sys.argv[1]
    out = ["// Generated by generate_font.py from the public-domain X11 misc-fixed fonts (xfonts-base).",
           "// Do not edit by hand.", "", "extension BitmapFont {"]
    for name, filename in FONTS:
        w, h, ascent, words = convert(os.path.join(directory, filename))
        out.append(f"    /// {filename}: {w}x{h} cell, ascent {ascent}, printable ASCII 32...126.")
        out.append(f"    public static let {name} = BitmapFont(width: {w}, height: {h}, ascent: {ascent}, rows: [")
        per_glyph = h
        for g in range(95):
            chunk = words[g * per_glyph:(g + 1) * per_glyph]
            out.append("        " + ", ".join(f"0x{v:04x}" for v in chunk) + f",  // {chr(32 + g)!r}")
        out.append("    ])")
    out.append("}")
    print("\n".join(out))


if __name__ == "__main__":
    main()
