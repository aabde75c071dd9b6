"""``python -m hedui.generate --out DIR --households N --seed S --date YYYYMMDD``."""

from __future__ import annotations

import argparse
import sys

from . import generate


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hedui.generate",
                                 description="write a synthetic inbox of department deliveries and its truth file")
    ap.add_argument("--out", required=True, help="inbox folder to write")
    ap.add_argument("--households", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--date", required=True, help="run date YYYYMMDD")
    args = ap.parse_args(argv)
    summary = generate(args.out, households=args.households, seed=args.seed, date=args.date)
    sys.stdout.write(f"{summary}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
