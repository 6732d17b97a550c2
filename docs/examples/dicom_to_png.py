"""Turn a DICOM file into a bitmap: the example the Go library's reviewers asked for.

    python docs/examples/dicom_to_png.py testdata/ct_explicit_le.dcm ct.png
    python docs/examples/dicom_to_png.py testdata/ct_explicit_le.dcm ct16.png --raw

By default the frame is rendered as a viewer shows it (Rescale Slope/Intercept,
the dataset's first window, MONOCHROME1 inverted, palettes applied): an 8-bit
PNG. With --raw the stored values are kept at full precision (16-bit PNG).
"""

from __future__ import annotations

import argparse

import dicomframe as dcf
from dicomframe.imaging import get_image


def main() -> None:
    """Run the example on the command line's arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("png")
    parser.add_argument("--frame", type=int, default=0)
    parser.add_argument("--raw", action="store_true", help="keep full precision")
    args = parser.parse_args()
    with dcf.read(args.source) as ds:
        if args.raw:
            image = get_image(ds, frame_index=args.frame)
        else:
            image = get_image(ds, frame_index=args.frame, display=True)
        image.save(args.png)
    print(f"{args.png}: {image.mode} {image.size[0]}x{image.size[1]}")


if __name__ == "__main__":
    main()
