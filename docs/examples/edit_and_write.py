"""Decode, draw on the pixels, re-encode to JPEG 2000 lossless, write.

    python docs/examples/edit_and_write.py testdata/ct_explicit_le.dcm edited.dcm

Draws a cross with set_pixel and a filled square with numpy, then writes the
result as JPEG 2000 Lossless. Reading it back gives exactly the edited pixels:
the syntax is lossless, and transcode verifies it before anything is written.
"""

from __future__ import annotations

import argparse

import numpy as np

import dicomframe as dcf


def main() -> None:
    """Run the example on the command line's arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("output")
    args = parser.parse_args()
    ds = dcf.read(args.source)
    frame = ds.pixel_data[0].decode()  # a NativeFrame, whatever the file's syntax
    info = frame.info
    brightest = (1 << (info.bits_stored - info.pixel_representation)) - 1
    for i in range(min(info.rows, info.columns)):  # a diagonal cross, pixel by pixel
        frame.set_pixel(i, i, brightest)
        frame.set_pixel(info.columns - 1 - i, i, brightest)
    frame.make_writable()
    frame.array[4:12, 4:12] = 0  # a square, with numpy
    ds.set_pixel_data([frame])  # back into the dataset (native), attributes kept in line
    encoded = dcf.transcode(ds, "JPEG2000Lossless")
    dcf.write(encoded, args.output)
    again = dcf.read(args.output)
    assert np.array_equal(again.pixel_array[0], frame.array), "lossless means lossless"
    print(f"{args.output}: {again.transfer_syntax.keyword}, edited pixels read back exactly")


if __name__ == "__main__":
    main()
