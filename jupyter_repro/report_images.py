"""The difference overlay of the HTML report: where two images of a differing output part.

A reader shown a saved and a new figure side by side hunts for the change; a third picture answers at
once. The overlay is the new image dimmed to light grey with every differing pixel painted in one
strong colour (:data:`OVERLAY_COLOUR`). A pixel differs under the rule the comparison itself counts
(:func:`jupyter_repro.compare.images.pixel_difference`): one of its channels, over a white page, moves
by more than ``image_pixel_threshold``. Images of different sizes get no overlay, for the reason the
comparison does not resample them either (see :mod:`jupyter_repro.compare.images`).

Built with Pillow in memory and returned as base64 PNG, for a ``data:`` URI: the report stays one file.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jupyter_repro.compare import DEFAULT_OPTIONS, ImageComparison
from jupyter_repro.compare.images import decode_image, largest_channel_difference, size_text

if TYPE_CHECKING:
    from PIL import Image

OVERLAY_COLOUR = (255, 0, 255)
"""Magenta: no grey, and rare in plots."""
_DIM_FLOOR = 150
"""The dimmed image's darkest grey: black lines stay readable but faint next to the overlay colour."""


@dataclass(frozen=True)
class Overlay:
    """The overlay as base64 PNG (None when there is none), how many pixels differ, and one sentence."""

    png_base64: str | None
    differing_pixels: int
    note: str


def difference_overlay(
    image: ImageComparison, threshold: int = DEFAULT_OPTIONS.image_pixel_threshold
) -> Overlay:
    """The overlay of a pair of images, or the sentence saying why there is none."""
    saved = decode_image(image.saved_data)
    new = decode_image(image.new_data)
    if saved is None or new is None:
        missing = [side for side, decoded in (("saved", saved), ("new", new)) if decoded is None]
        which = " and the ".join(missing) + (" images" if len(missing) > 1 else " image")
        return Overlay(None, 0, f"No difference overlay: the {which} could not be decoded.")
    if saved.size != new.size:
        return Overlay(
            None,
            0,
            f"No difference overlay: the sizes differ ({size_text(saved.size)} saved, "
            f"{size_text(new.size)} new), and resampling one to the other's size would paint "
            "anti-aliasing and font hinting as differences everywhere.",
        )
    mask = differing_mask(saved, new, threshold)
    count = mask.histogram()[255]
    try:
        encoded = _png_base64(_paint(new, mask))
    except (OSError, ValueError) as error:  # pragma: no cover - Pillow writes PNG for any RGB image
        return Overlay(None, count, f"No difference overlay: Pillow could not encode it ({error}).")
    total = saved.size[0] * saved.size[1]
    note = (
        f"Difference overlay: the new image dimmed, {count} of {total} pixels painted where a channel "
        f"moves by more than {threshold}/255."
        if count
        else f"Difference overlay: no pixel moves by more than {threshold}/255 in any channel; "
        "the images differ only by faint noise spread over many pixels."
    )
    return Overlay(encoded, count, note)


def differing_mask(saved: Image.Image, new: Image.Image, threshold: int) -> Image.Image:
    """An ``L`` mask, 255 where a channel of the two RGB images differs by more than ``threshold``."""
    largest = largest_channel_difference(saved, new)
    return largest.point([255 if value > threshold else 0 for value in range(256)])


def _paint(new: Image.Image, mask: Image.Image) -> Image.Image:
    from PIL import Image

    span = 255 - _DIM_FLOOR
    dimmed = new.convert("L").point([_DIM_FLOOR + value * span // 255 for value in range(256)])
    painted = dimmed.convert("RGB")
    painted.paste(Image.new("RGB", new.size, OVERLAY_COLOUR), (0, 0), mask)
    return painted


def _png_base64(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
