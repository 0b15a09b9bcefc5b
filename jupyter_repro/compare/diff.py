"""The diff a person reads when a cell differs: bounded, and showing only what is really different.

Pure: no I/O. A cell may print megabytes (a whole DataFrame as one HTML line), so the diff is cut to
``max_diff_lines`` and long lines are clipped around where the two sides first differ. Outputs and lines
that are equivalent under the comparison rules are rendered identically on both sides, so a float that
moved in its last digit does not show as a change next to the line that really changed.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from jupyter_repro.compare.images import ImageComparison, size_text
from jupyter_repro.compare.normalise import IMAGE_MIMES, CompareOptions, NormalisedOutput
from jupyter_repro.compare.numeric import texts_equivalent

MAX_DIFF_INPUT_LINES: Final = 5_000
MAX_DIFF_LINE_CHARS: Final = 300


@dataclass(frozen=True)
class OutputComparison:
    """Two normalised outputs compared: equivalent or not, by which mimetype, and the image detail."""

    equal: bool
    key: str | None
    image: ImageComparison | None = None


def bounded_diff(
    saved: Sequence[NormalisedOutput],
    new: Sequence[NormalisedOutput],
    pairs: Sequence[OutputComparison],
    options: CompareOptions,
) -> str:
    """A unified diff of the rendered outputs, cut to ``max_diff_lines`` with a note."""
    old_lines, new_lines = _render_sides(saved, new, pairs, options)
    lines = list(
        difflib.unified_diff(
            _capped(old_lines), _capped(new_lines), "saved outputs", "new outputs", lineterm="", n=2
        )
    )
    limit = options.max_diff_lines
    if len(lines) > limit:
        lines = [*lines[:limit], f"... diff cut: {len(lines) - limit} more lines not shown"]
    return "\n".join(_clip_changed_pairs(lines))


def _clip_changed_pairs(lines: list[str]) -> list[str]:
    """Clip long lines; a long removed/added pair is clipped around where the two first differ, so the
    change is visible even in a one-line HTML table."""
    clipped = list(lines)
    for number in range(len(lines) - 1):
        old, new = lines[number], lines[number + 1]
        if _is_change(old, "-") and _is_change(new, "+") and max(len(old), len(new)) > MAX_DIFF_LINE_CHARS:
            start = max(0, _common_prefix(old[1:], new[1:]) - MAX_DIFF_LINE_CHARS // 4)
            clipped[number], clipped[number + 1] = clip(old, start), clip(new, start)
    return [line if len(line) <= MAX_DIFF_LINE_CHARS + 40 else clip(line) for line in clipped]


def _is_change(line: str, sign: str) -> bool:
    return line.startswith(sign) and not line.startswith(sign * 3)


def _common_prefix(first: str, second: str) -> int:
    """Length of the common prefix, by bisection on slices (C-speed on megabyte lines)."""
    low, high = 0, min(len(first), len(second))
    while low < high:
        middle = (low + high + 1) // 2
        if first[:middle] == second[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _render_sides(
    saved: Sequence[NormalisedOutput],
    new: Sequence[NormalisedOutput],
    pairs: Sequence[OutputComparison],
    options: CompareOptions,
) -> tuple[list[str], list[str]]:
    """Both sides as lines; equivalent outputs (and lines) render identically so only changes show."""
    old_lines: list[str] = []
    new_lines: list[str] = []
    for position in range(max(len(saved), len(new))):
        pair = pairs[position] if position < len(pairs) else None
        old = saved[position] if position < len(saved) else None
        fresh = new[position] if position < len(new) else None
        if old is not None and pair is not None and pair.equal:
            block = _block(old, pair.key or old.key, pair.image, saved_side=True)
            old_lines += block
            new_lines += block
            continue
        old_block = [] if old is None else _block(old, _pair_key(pair, old), _image(pair), saved_side=True)
        new_block = (
            [] if fresh is None else _block(fresh, _pair_key(pair, fresh), _image(pair), saved_side=False)
        )
        old_lines += old_block
        new_lines += _align_equivalent_lines(old_block, new_block, options)
    return old_lines, new_lines


def _pair_key(pair: OutputComparison | None, output: NormalisedOutput) -> str:
    return output.key if pair is None or pair.key is None else pair.key


def _image(pair: OutputComparison | None) -> ImageComparison | None:
    return None if pair is None else pair.image


def _block(
    output: NormalisedOutput, key: str, image: ImageComparison | None, *, saved_side: bool
) -> list[str]:
    header = f"[{output.label}]" if output.kind != "data" else f"[{output.label} {key}]"
    if key in IMAGE_MIMES:
        return [header, _image_line(key, image, saved_side=saved_side)]
    return [header, *output.render(key).splitlines()]


def _image_line(key: str, image: ImageComparison | None, *, saved_side: bool) -> str:
    if image is None:
        return f"<{key}>"
    size = image.saved_size if saved_side else image.new_size
    line = f"<{key} {size_text(size)}>"
    return line if saved_side or image.match else f"{line} {image.describe()}"


def _align_equivalent_lines(old_block: list[str], new_block: list[str], options: CompareOptions) -> list[str]:
    """Show a new line that is within tolerance of the saved line at the same place as that line."""
    return [
        old_block[number]
        if number < len(old_block) and texts_equivalent(old_block[number], line, options)
        else line
        for number, line in enumerate(new_block)
    ]


def _capped(lines: list[str]) -> list[str]:
    if len(lines) <= MAX_DIFF_INPUT_LINES:
        return lines
    return [
        *lines[:MAX_DIFF_INPUT_LINES],
        f"... ({len(lines) - MAX_DIFF_INPUT_LINES} more lines not compared)",
    ]


def clip(line: str, start: int = 0) -> str:
    """At most ``MAX_DIFF_LINE_CHARS`` of ``line`` from ``start`` (after its diff sign), marked as cut."""
    if start == 0 and len(line) <= MAX_DIFF_LINE_CHARS:
        return line
    sign, body = line[:1], line[1:]
    head = f"{sign}...(cut) " if start else sign
    tail = " ...(line cut)" if len(body) > start + MAX_DIFF_LINE_CHARS else ""
    return head + body[start : start + MAX_DIFF_LINE_CHARS] + tail
