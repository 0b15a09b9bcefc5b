"""Is a re-executed cell's output the one saved in the notebook? The per-cell verdict of verify.

Pure: no file or network I/O. Both sides' nbformat outputs are normalised
(:mod:`jupyter_repro.compare.normalise`, which also holds the catalogue of every rule), then compared
output by output: texts as text around numbers that agree (:mod:`jupyter_repro.compare.numeric`),
images as pixels (:mod:`jupyter_repro.compare.images`). A cell that still differs is checked for
formatting-only differences of known libraries (:mod:`jupyter_repro.compare.formatting`): those stay
``differ`` but are named in :attr:`CellComparison.formatting`, so verify can say "the values are equal
and only the formatting changed" and blame the environment. The diff a person reads is built by
:mod:`jupyter_repro.compare.diff`.

The package's public names are re-exported here; ``from jupyter_repro.compare import CellComparison,
compare_cell, NormalisedOutput`` is the stable entry point.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from jupyter_repro.compare.diff import OutputComparison, bounded_diff, clip
from jupyter_repro.compare.formatting import (
    FAMILY_NAMES,
    FormattingFamily,
    explain_formatting,
    formatting_families,
    text_formatting,
)
from jupyter_repro.compare.images import ImageComparison, compare_images, sizes_close
from jupyter_repro.compare.normalise import (
    DEFAULT_OPTIONS,
    IMAGE_MIMES,
    MIME_PREFERENCE,
    RULES,
    WIDGET_MIME,
    CompareOptions,
    NormalisedOutput,
    Rule,
    joined,
    normalise_outputs,
    normalise_text,
    ranked,
    strip_ansi,
)
from jupyter_repro.compare.numeric import texts_equivalent

__all__ = [
    "DEFAULT_OPTIONS",
    "IMAGE_MIMES",
    "MIME_PREFERENCE",
    "RENDERED_SOURCES",
    "RULES",
    "WIDGET_MIME",
    "CellComparison",
    "CompareOptions",
    "FormattingFamily",
    "ImageComparison",
    "NormalisedOutput",
    "OutputComparison",
    "Rule",
    "Status",
    "common_key",
    "compare_cell",
    "compare_output",
    "explain_formatting",
    "formatting_families",
    "normalise_outputs",
    "normalise_text",
    "texts_equivalent",
]

Status = Literal["match", "differ", "error", "unverified", "ignored"]
RENDERED_SOURCES: Final = ("text/latex", "text/html", "text/markdown", "image/svg+xml")
"""Representations an image may be rendered from (``rendered_images``); ``text/plain`` is not one: it
is usually a placeholder such as ``<Figure size 640x480 with 1 Axes>``."""
_TRACEBACK_LINES: Final = 30


@dataclass(frozen=True)
class CellComparison:
    """The verdict on one code cell, with the normalised outputs of both sides for a report.

    ``formatting`` names the formatting families (:func:`formatting_families`) that explain a
    ``differ`` completely: once both sides are rewritten to those families' canonical spelling, the
    outputs agree. It is empty for every other status, and when something else differs too.
    """

    index: int
    status: Status
    diff: str | None
    reason: str
    saved: tuple[NormalisedOutput, ...] = ()
    new: tuple[NormalisedOutput, ...] = ()
    images: tuple[ImageComparison, ...] = ()
    formatting: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The ``cells`` entry of ``verify --json`` (the caller adds ``step``)."""
        return {"index": self.index, "status": self.status, "diff": self.diff}


# --------------------------------------------------------------------------------------------- cells


def compare_cell(
    index: int,
    saved_outputs: Sequence[Mapping[str, Any]],
    saved_execution_count: int | None,
    new_outputs: Sequence[Mapping[str, Any]],
    *,
    ignored: bool,
    new_raised: bool | None = None,
    new_error: Mapping[str, Any] | None = None,
    options: CompareOptions = DEFAULT_OPTIONS,
) -> CellComparison:
    """Compare one code cell's new outputs with its saved ones.

    ``saved_execution_count`` None means the cell was never executed: ``unverified``, never a match.
    ``new_raised`` says whether the new execution raised; None infers it from an ``error`` output. A
    raise is ``error`` unless the saved outputs show the same error (a notebook may demonstrate one);
    it wins over ``ignored`` because a failing cell is a failed run whatever its outputs.
    ``new_error`` is the error the run recorded for the cell (``ename``, ``evalue``): it names the
    failure when the outputs hold no error output (IPython reports a ``UsageError`` on stderr).
    """
    saved = tuple(normalise_outputs(saved_outputs, options))
    new = tuple(normalise_outputs(new_outputs, options))
    raised = _has_error(new_outputs) if new_raised is None else new_raised
    if raised and not _saved_shows_same_error(saved, new, options):
        summary = _error_summary(new_outputs, new_error)
        reason = f"raised {summary.splitlines()[0]}"
        return CellComparison(index, "error", summary, reason, saved, new)
    if ignored:
        return CellComparison(index, "ignored", None, "ignore-output: outputs not compared", saved, new)
    if saved_execution_count is None:
        reason = "never executed in the saved notebook: nothing to compare with"
        return CellComparison(index, "unverified", None, reason, saved, new)
    return _compare_outputs(index, saved, new, options)


def _has_error(outputs: Sequence[Mapping[str, Any]]) -> bool:
    return any(output.get("output_type") == "error" for output in outputs)


def _saved_shows_same_error(
    saved: Sequence[NormalisedOutput], new: Sequence[NormalisedOutput], options: CompareOptions
) -> bool:
    new_errors = [output for output in new if output.kind == "error"]
    if not new_errors:
        return False
    last = new_errors[-1].text
    return any(out.kind == "error" and texts_equivalent(out.text, last, options) for out in saved)


def _error_summary(outputs: Sequence[Mapping[str, Any]], recorded: Mapping[str, Any] | None = None) -> str:
    """``ename: evalue`` and the end of the traceback, without colours: why the cell failed."""
    errors = [output for output in outputs if output.get("output_type") == "error"]
    if not errors and recorded and recorded.get("ename"):
        return f"{recorded['ename']}: {joined(recorded.get('evalue', ''))}"
    if not errors:
        return "the cell raised but recorded no error output (did the kernel die?)"
    error = errors[-1]
    headline = f"{error.get('ename', '')}: {joined(error.get('evalue', ''))}"
    traceback = strip_ansi("\n".join(joined(line) for line in error.get("traceback") or []))
    lines = traceback.splitlines()
    if len(lines) > _TRACEBACK_LINES:
        cut = len(lines) - _TRACEBACK_LINES
        lines = [f"... ({cut} traceback lines above not shown)", *lines[-_TRACEBACK_LINES:]]
    return "\n".join(clip(line) for line in [headline, *lines]).rstrip()


# ------------------------------------------------------------------------------------------ outputs


def _compare_outputs(
    index: int,
    saved: tuple[NormalisedOutput, ...],
    new: tuple[NormalisedOutput, ...],
    options: CompareOptions,
) -> CellComparison:
    pairs = [
        compare_output(position, old, fresh, options)
        for position, (old, fresh) in enumerate(zip(saved, new, strict=False))
    ]
    images = tuple(pair.image for pair in pairs if pair.image is not None)
    if len(saved) == len(new) and all(pair.equal for pair in pairs):
        return CellComparison(index, "match", None, "outputs match after normalisation", saved, new, images)
    formatting = _formatting(saved, new, pairs, options)
    reason = _difference_reason(saved, new, pairs)
    if formatting:
        reason += f"; only the formatting differs ({', '.join(formatting)})"
    diff = bounded_diff(saved, new, pairs, options) or reason
    return CellComparison(index, "differ", diff, reason, saved, new, images, formatting)


def _difference_reason(
    saved: Sequence[NormalisedOutput], new: Sequence[NormalisedOutput], pairs: Sequence[OutputComparison]
) -> str:
    for position, pair in enumerate(pairs):
        if pair.equal:
            continue
        old, fresh = saved[position], new[position]
        where = f"output {position + 1}"
        if pair.key is None:
            return f"{where}: saved {_describe_output(old)}, new {_describe_output(fresh)}"
        detail = f": {pair.image.describe()}" if pair.image is not None else ""
        return f"{where} ({fresh.label}, {pair.key}) differs{detail}"
    return f"{len(saved)} output(s) saved, {len(new)} produced"


def _describe_output(output: NormalisedOutput) -> str:
    return output.label if output.kind != "data" else f"{output.label} ({', '.join(ranked(output.data))})"


def compare_output(
    position: int, saved: NormalisedOutput, new: NormalisedOutput, options: CompareOptions = DEFAULT_OPTIONS
) -> OutputComparison:
    """Whether two normalised outputs are equivalent, and which representation decided it."""
    if saved.kind != new.kind or (saved.kind == "stream" and saved.label != new.label):
        return OutputComparison(False, None)
    key = common_key(saved, new)
    if key is None:
        return OutputComparison(False, None)
    if key in IMAGE_MIMES:
        image = _compare_image_pair(position, saved, new, options)
        if not image.match and options.uses("rendered_images"):
            source = _matching_source(saved, new, options)
            if source is not None and sizes_close(
                image.saved_size, image.new_size, options.rendered_size_tolerance
            ):
                image = dataclasses.replace(image, match=True, rendered_from=source)
        return OutputComparison(image.match, key, image)
    return OutputComparison(texts_equivalent(saved.data[key], new.data[key], options), key)


def common_key(saved: NormalisedOutput, new: NormalisedOutput) -> str | None:
    """The representation to compare: images if both have one (differ if one does), else the first
    preferred mimetype both have."""
    saved_image = _image_key(saved)
    new_image = _image_key(new)
    if saved_image is not None or new_image is not None:
        return saved_image if saved_image is not None and new_image is not None else None
    for mime in ranked(saved.data):
        if mime in new.data:
            return mime
    return None


def _image_key(output: NormalisedOutput) -> str | None:
    return next((mime for mime in IMAGE_MIMES if mime in output.data), None)


def _compare_image_pair(
    position: int, saved: NormalisedOutput, new: NormalisedOutput, options: CompareOptions
) -> ImageComparison:
    saved_mime = _image_key(saved) or ""
    new_mime = saved_mime if saved_mime in new.data else _image_key(new) or ""
    return compare_images(position, saved_mime, saved.data[saved_mime], new_mime, new.data[new_mime], options)


def _matching_source(saved: NormalisedOutput, new: NormalisedOutput, options: CompareOptions) -> str | None:
    """The text both images were rendered from, when both sides carry it and every such text agrees."""
    common = [mime for mime in RENDERED_SOURCES if mime in saved.data and mime in new.data]
    if not common or not all(texts_equivalent(saved.data[m], new.data[m], options) for m in common):
        return None
    return common[0]


# ---------------------------------------------------------------------------------------- formatting


def _formatting(
    saved: Sequence[NormalisedOutput],
    new: Sequence[NormalisedOutput],
    pairs: Sequence[OutputComparison],
    options: CompareOptions,
) -> tuple[str, ...]:
    """The families that explain every differing output of the cell, or () if anything else differs."""
    if len(saved) != len(new):
        return ()
    found: set[str] = set()
    for old, fresh, pair in zip(saved, new, pairs, strict=True):
        if pair.equal:
            continue
        families = _output_formatting(old, fresh, pair, options)
        if not families:
            return ()
        found |= families
    return tuple(name for name in FAMILY_NAMES if name in found)


def _output_formatting(
    saved: NormalisedOutput, new: NormalisedOutput, pair: OutputComparison, options: CompareOptions
) -> frozenset[str] | None:
    if pair.key is None:
        return None
    if pair.image is None:
        return text_formatting(saved.data[pair.key], new.data[pair.key], options)
    image = pair.image
    if image.saved_size is None or image.new_size is None or image.saved_size == image.new_size:
        return None  # same size and different pixels: the picture changed
    families: set[str] = {"figure-size"}
    for mime in (m for m in ranked(saved.data) if m in new.data and m not in IMAGE_MIMES):
        if texts_equivalent(saved.data[mime], new.data[mime], options):
            continue
        more = text_formatting(saved.data[mime], new.data[mime], options)
        if more is None:
            return None  # e.g. "with 1 Axes" became "with 2 Axes": not only the size changed
        families |= more
    return frozenset(families)
