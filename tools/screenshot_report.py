"""Screenshots of an HTML report in headless Chromium, to look at a report as a reader sees it.

    python tools/screenshot_report.py <report dir or index.html> <out.png> [--width 1280]
        [--height 2000] [--tile 2000]

Renders the page once, `--width` x `--height` pixels (a page longer than `--height` is cut
there), and with `--tile` also writes the picture in pieces of at most `--tile` pixels high
(`<out>_1.png`, `<out>_2.png`, ...), small enough for an image viewer to show in full.

Needs a Chromium (`apt-get install -y chromium`; `chromium`, `chromium-browser` or
`google-chrome` on the PATH); exits with status 2 and a message when there is none. Runs as
root need `--no-sandbox`, which is passed. The test suite does not use this tool.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def find_browser() -> str | None:
  """The path of the first Chromium-like browser on the PATH, or None."""
  for name in BROWSERS:
    path = shutil.which(name)
    if path:
      return path
  return None


def screenshot(page: str, out: str, width: int = 1280, height: int = 2000,
               timeout: float = 120.0) -> str:
  """Writes a `width` x `height` PNG of `page` (an index.html or a directory holding one) to
  `out`; returns `out`. Raises FileNotFoundError without a browser or page, RuntimeError when
  the browser fails."""
  browser = find_browser()
  if browser is None:
    raise FileNotFoundError(f"no browser found (tried {', '.join(BROWSERS)}); "
                            "install one with `apt-get install -y chromium`")
  if os.path.isdir(page):
    page = os.path.join(page, "index.html")
  if not os.path.isfile(page):
    raise FileNotFoundError(f"{page}: no such page")
  out = os.path.abspath(out)
  os.makedirs(os.path.dirname(out), exist_ok=True)
  with tempfile.TemporaryDirectory() as profile:  # no state shared with other browser runs
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               f"--user-data-dir={profile}", f"--window-size={width},{height}",
               f"--screenshot={out}", "--virtual-time-budget=5000",
               "file://" + os.path.abspath(page)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                            check=False)
  if result.returncode != 0 or not os.path.isfile(out):
    raise RuntimeError(f"{browser} failed ({result.returncode}): {result.stderr[-2000:]}")
  return out


def tiles(path: str, tile: int) -> list[str]:
  """Cuts the PNG at `path` into pieces at most `tile` pixels high (`<path>_<i>.png`), leaving
  out the blank white bottom of a page shorter than the window; returns their paths."""
  from PIL import Image, ImageChops  # pylint: disable=import-outside-toplevel

  image = Image.open(path).convert("RGB")
  blank = ImageChops.difference(image, Image.new("RGB", image.size, "white")).getbbox()
  bottom = blank[3] if blank else image.height
  stem, _ = os.path.splitext(path)
  out = []
  for i, top in enumerate(range(0, bottom, tile), 1):
    piece = f"{stem}_{i}.png"
    image.crop((0, top, image.width, min(top + tile, bottom))).save(piece)
    out.append(piece)
  return out


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("page", help="a report directory or its index.html")
  parser.add_argument("out", help="the PNG to write")
  parser.add_argument("--width", type=int, default=1280)
  parser.add_argument("--height", type=int, default=2000)
  parser.add_argument("--tile", type=int, default=0,
                      help="also write pieces of at most this many pixels high (0: none)")
  args = parser.parse_args()
  try:
    out = screenshot(args.page, args.out, args.width, args.height)
  except FileNotFoundError as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)
  print(out)
  for piece in tiles(out, args.tile) if args.tile else []:
    print(piece)


if __name__ == "__main__":
  main()
