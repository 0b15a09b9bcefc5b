"""Do two saved images show the same picture? Pixel comparison for the ``images`` rule.

Pure: images arrive as base64 text and are decoded in memory (Pillow is imported on first use, so
importing this module stays cheap). PNG and JPEG bytes differ between two renderings of the same
figure (compression level, metadata such as the matplotlib version and the render date), so images are
compared as pixels over a white page, within tolerances
(:class:`~jupyter_repro.compare.normalise.CompareOptions`). Images of different sizes are not compared
pixel by pixel: resampling one to the other's size turns anti-aliasing and font hinting into
differences as large as a changed title (measured on matplotlib figures at 100 and 200 DPI), so no
tolerance would be sound; the size change itself is reported (and named ``figure-size`` by
:mod:`jupyter_repro.compare.formatting`).
"""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from jupyter_repro.compare.normalise import DEFAULT_OPTIONS, CompareOptions

if TYPE_CHECKING:
    from PIL import Image

Size = tuple[int, int]
_MIN_RENDERED_SLACK = 2


@dataclass(frozen=True)
class ImageComparison:
    """A saved and a new image, decoded and compared; enough for a report to show both and the gap.

    ``match`` is the verdict on the pair. ``rendered_from`` names the text representation (e.g.
    ``text/latex``) whose equality made differing pixels a match under ``rendered_images``.
    """

    output: int
    saved_mime: str
    saved_data: str
    new_mime: str
    new_data: str
    saved_size: Size | None
    new_size: Size | None
    mean_abs_diff: float | None
    differing_fraction: float | None
    match: bool
    rendered_from: str | None = None

    def describe(self) -> str:
        """One line for the text diff (the rendered placeholders of two images look identical)."""
        if self.rendered_from is not None:
            return f"{self._pixels()}, but the {self.rendered_from} it renders matches (rendering noise)"
        if self.match:
            return "pixels match"
        return self._pixels()

    def _pixels(self) -> str:
        if self.saved_size is None or self.new_size is None:
            return "image data differ (could not decode both images)"
        if self.saved_size != self.new_size:
            return f"size {size_text(self.saved_size)} -> {size_text(self.new_size)}{scale_text(self)}"
        return (
            f"pixels differ: mean abs difference {self.mean_abs_diff or 0.0:.2f}/255, "
            f"{(self.differing_fraction or 0.0) * 100:.3f}% of pixels changed"
        )


def compare_images(
    position: int,
    saved_mime: str,
    saved_data: str,
    new_mime: str,
    new_data: str,
    options: CompareOptions = DEFAULT_OPTIONS,
) -> ImageComparison:
    """Decode two base64 images and compare their pixels (undecodable ones, or the ``images`` rule off,
    compare as bytes)."""
    saved_image = decode_image(saved_data)
    new_image = decode_image(new_data)
    saved_size = None if saved_image is None else saved_image.size
    new_size = None if new_image is None else new_image.size
    base = (position, saved_mime, saved_data, new_mime, new_data, saved_size, new_size)
    if saved_image is None or new_image is None or not options.uses("images"):
        return ImageComparison(*base, None, None, saved_data == new_data)
    if saved_size != new_size:
        return ImageComparison(*base, None, None, False)
    mean, fraction = pixel_difference(saved_image, new_image, options.image_pixel_threshold)
    match = mean <= options.image_mean_tolerance and fraction <= options.image_max_differing_fraction
    return ImageComparison(*base, mean, fraction, match)


def decode_image(data: str) -> Image.Image | None:
    """The image as RGB over white (transparency shows as the page behind it), or None."""
    from PIL import Image, UnidentifiedImageError

    try:
        raw = base64.b64decode(data, validate=False)
        with Image.open(io.BytesIO(raw)) as opened:
            rgba = opened.convert("RGBA")
    except (binascii.Error, ValueError, OSError, UnidentifiedImageError, Image.DecompressionBombError):
        return None
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def largest_channel_difference(saved: Image.Image, new: Image.Image) -> Image.Image:
    """Per pixel, the largest absolute difference of its three channels (an ``L`` image): a pixel
    differs when this exceeds the threshold. The report paints the same pixels (one rule)."""
    from PIL import ImageChops

    red, green, blue = ImageChops.difference(saved, new).split()
    return ImageChops.lighter(ImageChops.lighter(red, green), blue)


def pixel_difference(saved: Image.Image, new: Image.Image, threshold: int) -> tuple[float, float]:
    """Mean absolute channel difference (0-255) and the fraction of pixels with a channel off by more
    than ``threshold``."""
    from PIL import ImageChops, ImageStat

    mean = sum(ImageStat.Stat(ImageChops.difference(saved, new)).mean) / 3
    histogram = largest_channel_difference(saved, new).histogram()
    pixels = saved.size[0] * saved.size[1]
    return mean, sum(histogram[threshold + 1 :]) / pixels if pixels else 0.0


def sizes_close(saved: Size | None, new: Size | None, fraction: float) -> bool:
    """Each dimension differs by at most ``fraction`` of the larger, or 2 pixels (a rendered formula's
    baseline and bounding box move by a pixel between LaTeX and font installs)."""
    if saved is None or new is None:
        return False
    return all(
        abs(old - fresh) <= max(_MIN_RENDERED_SLACK, fraction * max(old, fresh))
        for old, fresh in zip(saved, new, strict=True)
    )


def size_text(size: Size | None) -> str:
    """``640x480``, or ``?`` for an image that could not be decoded."""
    return "?" if size is None else f"{size[0]}x{size[1]}"


def scale_text(image: ImageComparison) -> str:
    """``" (2x: DPI or figure size changed)"`` when both sides keep the aspect ratio, else ``""``."""
    if image.saved_size is None or image.new_size is None or 0 in (*image.saved_size, *image.new_size):
        return ""
    width = Fraction(image.new_size[0], image.saved_size[0])
    height = Fraction(image.new_size[1], image.saved_size[1])
    if abs(width - height) > Fraction(1, 50):
        return " (another aspect ratio: the figure size changed)"
    factor = float(width)
    shown = f"{factor:.2f}".rstrip("0").rstrip(".")
    return f" ({shown}x: DPI or figure size changed)"
