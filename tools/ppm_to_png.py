#!/usr/bin/env python3
"""ppm_to_png.py IN.ppm OUT.png: convert a binary PPM (P6, maxval 255) to PNG with the standard
library only (zlib), for the pictures in docs/img when no image tool is installed.

A PNG is the 8-byte signature and chunks (length, type, data, CRC-32 of type + data): IHDR (width,
height, bit depth 8, colour type 2 = RGB), one IDAT holding the zlib-compressed scanlines, each
prefixed with filter type 0 (none), and IEND.
"""
import struct
import sys
import zlib


def read_ppm(path):
    with open(path, "rb") as f:
        data = f.read()
    fields, pos = [], 0
    while len(fields) < 4:  # magic, width, height, maxval; '#' comments run to the end of the line
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        start = pos
        while not data[pos:pos + 1].isspace():
            pos += 1
        fields.append(data[start:pos])
    if fields[0] != b"P6" or int(fields[3]) != 255:
        sys.exit(f"ppm_to_png: {path}: not a binary PPM with maxval 255")
    width, height = int(fields[1]), int(fields[2])
    pixels = data[pos + 1:pos + 1 + 3 * width * height]
    if len(pixels) != 3 * width * height:
        sys.exit(f"ppm_to_png: {path}: truncated ({len(pixels)} of {3 * width * height} pixel bytes)")
    return width, height, pixels


def chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def main():
    if len(sys.argv) != 3 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(sys.argv) == 2 else 2
    width, height, pixels = read_ppm(sys.argv[1])
    row = 3 * width
    raw = b"".join(b"\x00" + pixels[y * row:(y + 1) * row] for y in range(height))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
           chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    with open(sys.argv[2], "wb") as f:
        f.write(png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
