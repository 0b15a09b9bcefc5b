"""Is a re-executed cell's output the one saved in the notebook? Normalisation and comparison for verify.

Pure: no file or network I/O. Saved and new outputs are nbformat output dicts; both sides go through
the same normalisation, then are compared output by output. Every rule below exists because the raw
text differs between two honest runs of the same code, and each can be turned off by name
(:class:`CompareOptions`), so a user who cares about one of these details can ask for it.

Rules (names accepted by ``CompareOptions(disabled=...)``):

``streams``
    Consecutive stream outputs are merged; within such a run stdout comes before stderr (the two pipes
    race, so their interleaving is not part of the result), but text never moves between them.
``carriage_returns``
    ``\\r`` progress bars are collapsed: each line keeps the text after its last ``\\r``, as a terminal
    shows it. (``\\r\\n`` is always read as ``\\n``.)
``progress``
    tqdm-like progress lines keep their description and ``n/total`` but lose bar, times and rates.
``ansi``
    ANSI colour codes are dropped (colour depends on whether a terminal is attached).
``addresses``
    ``0x7f...`` memory addresses (6+ hex digits) become ``0xADDR``.
``datetimes``
    Date-times (``2024-01-02T03:04:05``, ``2024-01-02 03:04:05.123456``, logging's ``,123``), clock
    times ``03:04:05``, ``time.ctime()`` strings and ``datetime.datetime(...)`` reprs become placeholders.
    Bare dates (``2024-01-02``) are kept: they are usually data, not the moment of the run.
``durations``
    ``Wall time:``, ``CPU times:``, ``%timeit`` lines and "took/elapsed 1.2 s" become placeholders.
``temp_paths``
    IPython's cell files (``/tmp/ipykernel_1234/567.py``) and ``tempfile`` names (``/tmp/tmpab12cd34``).
``warning_paths``
    In stderr only: ``File "...", line N`` and ``path.py:N: SomeWarning:`` prefixes lose path and line
    (they change with the interpreter location and library versions, the warning itself does not).
``ids``
    Random identifiers: UUIDs, pandas Styler table ids (``T_1a2b3``), matplotlib SVG element ids.
``widgets``
    Widget views are compared without their ``model_id``.
``reprs``
    A text that parses as a Python literal (``ast.literal_eval``) containing a dict or set is compared
    with keys and members sorted; text that does not parse is compared as text (ambiguous otherwise).
``floats``
    Texts are compared token by token: the non-number parts must be equal, and numbers written with a
    decimal point or exponent must agree within ``float_rtol``/``float_atol``. Integers are exact.
``images``
    ``image/png`` and ``image/jpeg`` are decoded (over a white background) and compared pixel by
    pixel within the image tolerances, never as base64 text.

Always, without a rule: execution counts and output metadata are ignored, and ``execute_result`` and
``display_data`` are the same kind of output.

Which representation of a rich output is compared: the first of :data:`MIME_PREFERENCE` that both
sides have. Images win (an image that turns into text differs); ``text/html`` is compared when both have
it (it is what the user sees; pandas' HTML is deterministic once Styler ids are normalised). Vendor
payloads (``application/vnd.*``, including ``application/vnd.jupyter-repro.*``; e.g. plotly, vega,
bokeh) come after ``text/plain``: they carry renderer-specific ids and versions, so when a bundle also
has ``text/plain`` that is what is compared. Errors are compared by ``ename`` and ``evalue``, not by
traceback text.
"""

from __future__ import annotations

import ast
import base64
import binascii
import difflib
import io
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

if TYPE_CHECKING:
    from PIL import Image

Status = Literal["match", "differ", "error", "unverified", "ignored"]
Rule = Literal[
    "streams",
    "carriage_returns",
    "progress",
    "ansi",
    "addresses",
    "datetimes",
    "durations",
    "temp_paths",
    "warning_paths",
    "ids",
    "widgets",
    "reprs",
    "floats",
    "images",
]
RULES: Final[frozenset[str]] = frozenset(get_args(Rule))

WIDGET_MIME: Final = "application/vnd.jupyter.widget-view+json"
IMAGE_MIMES: Final = ("image/png", "image/jpeg")
MIME_PREFERENCE: Final = (
    WIDGET_MIME,
    *IMAGE_MIMES,
    "text/html",
    "image/svg+xml",
    "text/markdown",
    "text/latex",
    "application/json",
    "text/plain",
)
_MAX_FIXPOINT_PASSES: Final = 4
_MAX_LITERAL_CHARS: Final = 200_000
_MAX_DIFF_INPUT_LINES: Final = 5_000
_MAX_DIFF_LINE_CHARS: Final = 300
_TRACEBACK_LINES: Final = 30


@dataclass(frozen=True)
class CompareOptions:
    """Tolerances and switched-off rules; the defaults are what ``verify`` uses.

    Image tolerances are on the 0-255 scale of each RGB channel. A pixel "differs" when one of its
    channels moves by more than ``image_pixel_threshold``; images match when the mean absolute channel
    difference is at most ``image_mean_tolerance`` and at most ``image_max_differing_fraction`` of the
    pixels differ. The defaults absorb anti-aliasing and JPEG noise but catch a changed tick label on a
    640x480 figure (about 70 pixels, 2e-4 of it). Images of different sizes always differ.
    """

    float_rtol: float = 1e-6
    float_atol: float = 0.0
    image_mean_tolerance: float = 2.0
    image_pixel_threshold: int = 32
    image_max_differing_fraction: float = 1e-4
    max_diff_lines: int = 200
    disabled: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        unknown = set(self.disabled) - RULES
        if unknown:
            raise ValueError(f"unknown comparison rule(s) {sorted(unknown)}; known: {sorted(RULES)}")
        if min(self.float_rtol, self.float_atol, self.image_mean_tolerance) < 0:
            raise ValueError("tolerances must be >= 0")
        if not 0 <= self.image_pixel_threshold <= 255:
            raise ValueError("image_pixel_threshold must be within 0..255")
        if not 0 <= self.image_max_differing_fraction <= 1:
            raise ValueError("image_max_differing_fraction must be within 0..1")
        if self.max_diff_lines < 1:
            raise ValueError("max_diff_lines must be >= 1")

    def uses(self, rule: Rule) -> bool:
        """Whether ``rule`` is on."""
        return rule not in self.disabled


DEFAULT_OPTIONS: Final = CompareOptions()


@dataclass(frozen=True)
class NormalisedOutput:
    """One output after normalisation: what is compared, and what a report shows side by side.

    ``kind`` is ``stream`` (``label`` stdout/stderr), ``data`` (``label`` execute_result/display_data)
    or ``error``. ``data`` maps each mimetype to its normalised text; images keep their base64 payload
    (without whitespace) since they are compared decoded. ``key`` is the preferred mimetype.
    """

    kind: Literal["stream", "data", "error"]
    label: str
    data: Mapping[str, str]
    key: str

    @property
    def text(self) -> str:
        """The preferred representation as text (a placeholder for images)."""
        return self.render(self.key)

    def render(self, mime: str) -> str:
        """Representation ``mime`` as text; images become ``<image/png>``."""
        return f"<{mime}>" if mime in IMAGE_MIMES else self.data[mime]


@dataclass(frozen=True)
class ImageComparison:
    """A saved and a new image, decoded and compared; enough for a report to show both and the gap."""

    output: int
    saved_mime: str
    saved_data: str
    new_mime: str
    new_data: str
    saved_size: tuple[int, int] | None
    new_size: tuple[int, int] | None
    mean_abs_diff: float | None
    differing_fraction: float | None
    match: bool

    def describe(self) -> str:
        """One line for the text diff (the rendered placeholders of two images look identical)."""
        if self.match:
            return "pixels match"
        if self.saved_size is None or self.new_size is None:
            return "image data differ (could not decode both images)"
        if self.saved_size != self.new_size:
            return f"size {_size_text(self.saved_size)} -> {_size_text(self.new_size)}"
        return (
            f"pixels differ: mean abs difference {self.mean_abs_diff or 0.0:.2f}/255, "
            f"{(self.differing_fraction or 0.0) * 100:.3f}% of pixels changed"
        )


@dataclass(frozen=True)
class CellComparison:
    """The verdict on one code cell, with the normalised outputs of both sides for a report."""

    index: int
    status: Status
    diff: str | None
    reason: str
    saved: tuple[NormalisedOutput, ...] = ()
    new: tuple[NormalisedOutput, ...] = ()
    images: tuple[ImageComparison, ...] = ()

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
    options: CompareOptions = DEFAULT_OPTIONS,
) -> CellComparison:
    """Compare one code cell's new outputs with its saved ones.

    ``saved_execution_count`` None means the cell was never executed: ``unverified``, never a match.
    ``new_raised`` says whether the new execution raised; None infers it from an ``error`` output. A
    raise is ``error`` unless the saved outputs show the same error (a notebook may demonstrate one);
    it wins over ``ignored`` because a failing cell is a failed run whatever its outputs.
    """
    saved = tuple(normalise_outputs(saved_outputs, options))
    new = tuple(normalise_outputs(new_outputs, options))
    raised = _has_error(new_outputs) if new_raised is None else new_raised
    if raised and not _saved_shows_same_error(saved, new, options):
        summary = _error_summary(new_outputs)
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


def _error_summary(outputs: Sequence[Mapping[str, Any]]) -> str:
    """``ename: evalue`` and the end of the traceback, without colours: why the cell failed."""
    errors = [output for output in outputs if output.get("output_type") == "error"]
    if not errors:
        return "the cell raised but recorded no error output (did the kernel die?)"
    error = errors[-1]
    headline = f"{error.get('ename', '')}: {_joined(error.get('evalue', ''))}"
    traceback = _ANSI.sub("", "\n".join(_joined(line) for line in error.get("traceback") or []))
    lines = traceback.splitlines()
    if len(lines) > _TRACEBACK_LINES:
        cut = len(lines) - _TRACEBACK_LINES
        lines = [f"... ({cut} traceback lines above not shown)", *lines[-_TRACEBACK_LINES:]]
    return "\n".join(_clip(line) for line in [headline, *lines]).rstrip()


# ------------------------------------------------------------------------------------------ outputs


@dataclass(frozen=True)
class OutputComparison:
    """Two normalised outputs compared: equivalent or not, by which mimetype, and the image detail."""

    equal: bool
    key: str | None
    image: ImageComparison | None = None


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
    reason = _difference_reason(saved, new, pairs)
    diff = _bounded_diff(saved, new, pairs, options) or reason
    return CellComparison(index, "differ", diff, reason, saved, new, images)


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
    return output.label if output.kind != "data" else f"{output.label} ({', '.join(_ranked(output.data))})"


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
        return OutputComparison(image.match, key, image)
    return OutputComparison(texts_equivalent(saved.data[key], new.data[key], options), key)


def common_key(saved: NormalisedOutput, new: NormalisedOutput) -> str | None:
    """The representation to compare: images if both have one (differ if one does), else the first
    preferred mimetype both have."""
    saved_image = _image_key(saved)
    new_image = _image_key(new)
    if saved_image is not None or new_image is not None:
        return saved_image if saved_image is not None and new_image is not None else None
    for mime in _ranked(saved.data):
        if mime in new.data:
            return mime
    return None


def _image_key(output: NormalisedOutput) -> str | None:
    return next((mime for mime in IMAGE_MIMES if mime in output.data), None)


def _ranked(data: Mapping[str, str]) -> list[str]:
    preferred = [mime for mime in MIME_PREFERENCE if mime in data]
    return preferred + sorted(mime for mime in data if mime not in MIME_PREFERENCE)


# ------------------------------------------------------------------------------------ normalisation


def normalise_outputs(
    outputs: Sequence[Mapping[str, Any]], options: CompareOptions = DEFAULT_OPTIONS
) -> list[NormalisedOutput]:
    """Normalise a cell's nbformat outputs; empty stream outputs disappear."""
    normalised: list[NormalisedOutput] = []
    for group in _stream_runs(outputs, options):
        if group[0].get("output_type") == "stream":
            normalised.extend(_normalise_streams(group, options))
        else:
            normalised.append(_normalise_rich(group[0], options))
    return normalised


def _stream_runs(
    outputs: Sequence[Mapping[str, Any]], options: CompareOptions
) -> Iterator[list[Mapping[str, Any]]]:
    """Consecutive stream outputs as one group (when merging), every other output alone."""
    run: list[Mapping[str, Any]] = []
    for output in outputs:
        if output.get("output_type") == "stream" and options.uses("streams"):
            run.append(output)
            continue
        if run:
            yield run
            run = []
        yield [output]
    if run:
        yield run


def _normalise_streams(group: Sequence[Mapping[str, Any]], options: CompareOptions) -> list[NormalisedOutput]:
    names = list(dict.fromkeys(_stream_name(output) for output in group))
    names.sort(key=lambda name: (name != "stdout", name != "stderr", name))
    merged: list[NormalisedOutput] = []
    for name in names:
        raw = "".join(_joined(output.get("text", "")) for output in group if _stream_name(output) == name)
        text = normalise_text(raw, options, stderr=name == "stderr", literals=True)
        if text:
            merged.append(NormalisedOutput("stream", name, {"text/plain": text}, "text/plain"))
    return merged


def _stream_name(output: Mapping[str, Any]) -> str:
    return str(output.get("name", "stdout"))


def _normalise_rich(output: Mapping[str, Any], options: CompareOptions) -> NormalisedOutput:
    output_type = str(output.get("output_type", ""))
    if output_type == "error":
        ename = normalise_text(str(output.get("ename", "")), options)
        evalue = normalise_text(_joined(output.get("evalue", "")), options)
        return NormalisedOutput("error", "error", {"text/plain": f"{ename}: {evalue}"}, "text/plain")
    bundle = output.get("data")
    if not isinstance(bundle, Mapping):
        bundle = {"text/plain": _canonical_json(_without(output, ("execution_count", "metadata")))}
    data = {str(mime): _normalise_value(str(mime), value, options) for mime, value in bundle.items()}
    if not data:
        data = {"text/plain": ""}
    return NormalisedOutput("data", output_type, data, _ranked(data)[0])


def _normalise_value(mime: str, value: object, options: CompareOptions) -> str:
    if mime in IMAGE_MIMES and isinstance(value, (str, list)):
        return "".join(_joined(value).split())
    if mime == WIDGET_MIME and isinstance(value, Mapping) and options.uses("widgets"):
        value = _without(value, ("model_id",))
    is_json = mime == "application/json" or mime.endswith("+json")
    text = _canonical_json(value) if is_json or not isinstance(value, (str, list)) else _joined(value)
    normalised = normalise_text(text, options, literals=mime == "text/plain")
    if mime == "image/svg+xml" and options.uses("ids"):
        normalised = _SVG_ID.sub(r"\1\2<ID>", normalised)
    return normalised


def _joined(value: object) -> str:
    """nbformat multiline strings may be stored as lists of lines."""
    if isinstance(value, list):
        return "".join(str(part) for part in value)
    return str(value)


def _without(mapping: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: item for key, item in mapping.items() if key not in keys}


def _canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, indent=1, ensure_ascii=False, default=str)


# ---------------------------------------------------------------------------------------- text rules

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_CR_BEFORE_NEWLINE = re.compile(r"\r+(?=\n|\Z)")
_TQDM_TOTAL = re.compile(
    r"\d{1,3}%\|[^|\n]*\|\s*(?P<n>[\d.]+[kMGTP]?)/(?P<total>[\d.]+[kMGTP]?)\s*\[[^\]\n]*\]"
)
_TQDM_OPEN = re.compile(
    r"(?<![\w.])(?P<n>[\d.]+[kMGTP]?)(?P<unit>[A-Za-z]*) \[\d+:\d\d(?::\d\d)?, [^\]\n]*/(?:s|it)\b[^\]\n]*\]"
)
_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,}\b")
_CELL_FILE = re.compile(r"""(?:[A-Za-z]:)?[^\s"'<>:]*ipykernel_\d+[/\\]\d+\.py""")
_TEMP_NAME = re.compile(
    r"(?:/tmp|/var/tmp|(?:/private)?/var/folders/[\w-]+/[\w-]+/T|[A-Za-z]:\\(?:[^\s\"'\\]+\\)*?Temp)"
    r"[/\\]tmp[a-z0-9_]{8}\b"
)
_FILE_LINE = re.compile(r'^(\s*)File "[^"\n]*", line \d+', re.MULTILINE)
_WARNING_PREFIX = re.compile(
    r"^(?:[A-Za-z]:)?[^\s:][^:\n]*\.pyx?:\d+: (?=\w*(?:Warning|Error)\b)", re.MULTILINE
)
_IPYTHON_CELL = re.compile(r"\b(Cell In|Input In) ?\[\d*\], line \d+")
_DATETIME = re.compile(r"\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?(?:Z\b|[+-]\d\d:?\d\d\b)?(?!\d)")
_CTIME = re.compile(
    r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"[ \d]\d \d\d:\d\d:\d\d \d{4}\b"
)
_CLOCK = re.compile(r"(?<![\d:.])\d{1,2}:\d\d:\d\d(?:[.,]\d+)?(?![\d:])")
_DATETIME_REPR = re.compile(
    r"datetime\.(datetime|time)\(\d+(?:, \d+)*(?:, (?:tzinfo|fold)=[^()\n]*(?:\([^()\n]*\))?)*\)"
)
_MAGIC_TIMES = re.compile(r"^(\s*)(Wall time|CPU times):.*$", re.MULTILINE)
_TIMEIT = re.compile(
    r"\S+ [nµum]?s ± \S+ [nµum]?s per loop \([^)\n]*\)|\d[\d,]* loops?, best of \d+: \S+ [nµum]?s? per loop"
)
_TOOK = re.compile(
    r"(?i)\b(took|elapsed(?: time)?|duration|time taken|run ?time)(:?\s+)"
    r"\d+(?:\.\d+)?\s*(?:ns|µs|us|ms|s|secs?|seconds?|min|minutes?)\b"
)
_TOOK_HINT = re.compile(r"(?i)took|elapsed|duration|time taken|run ?time")
_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
_STYLER_ID = re.compile(r"\bT_[0-9a-f]{5}(?![0-9a-zA-Z])")
_SVG_ID = re.compile(r"""(id="|#)([A-Za-z])[0-9a-f]{10}(?=["')])""")


def normalise_text(
    text: str, options: CompareOptions = DEFAULT_OPTIONS, *, stderr: bool = False, literals: bool = False
) -> str:
    """Apply the text rules until nothing changes (so the result is a fixed point: idempotent).

    ``stderr`` adds the warning/traceback path rule; ``literals`` the dict/set rule (for plain text).
    """
    for _ in range(_MAX_FIXPOINT_PASSES):
        again = _normalise_once(text, options, stderr=stderr, literals=literals)
        if again == text:
            break
        text = again
    return text


def _normalise_once(text: str, options: CompareOptions, *, stderr: bool, literals: bool) -> str:
    text = text.replace("\r\n", "\n")
    for rule, transform in _text_rules(stderr=stderr, literals=literals):
        if options.uses(rule):
            text = transform(text)
    return text


def _text_rules(*, stderr: bool, literals: bool) -> list[tuple[Rule, Callable[[str], str]]]:
    rules: list[tuple[Rule, Callable[[str], str]]] = [
        ("ansi", _strip_ansi),
        ("carriage_returns", _collapse_carriage_returns),
        ("progress", _normalise_progress),
        ("addresses", _normalise_addresses),
    ]
    if stderr:
        rules.append(("warning_paths", _normalise_warning_paths))
    rules += [
        ("temp_paths", _normalise_temp_paths),
        ("durations", _normalise_durations),
        ("datetimes", _normalise_datetimes),
        ("ids", _normalise_ids),
    ]
    if literals:
        rules.append(("reprs", _canonical_literals))
    return rules


def _sub_if(markers: tuple[str, ...], pattern: re.Pattern[str], replacement: Any, text: str) -> str:
    """``pattern.sub`` only when a literal the pattern needs occurs: scanning megabytes of output with a
    dozen regexes is what makes normalisation slow, and most texts hold none of these markers."""
    if not any(marker in text for marker in markers):
        return text
    return pattern.sub(replacement, text)


def _strip_ansi(text: str) -> str:
    return _sub_if(("\x1b",), _ANSI, "", text)


def _collapse_carriage_returns(text: str) -> str:
    if "\r" not in text:
        return text
    text = _CR_BEFORE_NEWLINE.sub("", text)
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))


def _normalise_progress(text: str) -> str:
    text = _sub_if(("%|",), _TQDM_TOTAL, lambda found: f"<PROGRESS {found['n']}/{found['total']}>", text)
    return _sub_if(("/s", "/it"), _TQDM_OPEN, lambda found: f"<PROGRESS {found['n']}{found['unit']}>", text)


def _normalise_addresses(text: str) -> str:
    return _sub_if(("0x",), _ADDRESS, "0xADDR", text)


def _normalise_warning_paths(text: str) -> str:
    text = _sub_if(('File "',), _FILE_LINE, r'\1File "<FILE>", line <N>', text)
    text = _sub_if((".py:", ".pyx:"), _WARNING_PREFIX, "<FILE>:<N>: ", text)
    return _sub_if(("In [", "In["), _IPYTHON_CELL, r"\1[<N>], line <N>", text)


def _normalise_temp_paths(text: str) -> str:
    text = _sub_if(("ipykernel_",), _CELL_FILE, "<CELL>", text)
    return _sub_if(("tmp",), _TEMP_NAME, "<TMP>", text)


def _normalise_durations(text: str) -> str:
    text = _sub_if(("Wall time:", "CPU times:"), _MAGIC_TIMES, r"\1\2: <DURATION>", text)
    text = _sub_if(("per loop",), _TIMEIT, "<TIMEIT>", text)
    if _TOOK_HINT.search(text) is None:
        return text
    return _TOOK.sub(r"\1\2<DURATION>", text)


def _normalise_datetimes(text: str) -> str:
    text = _sub_if(("time(",), _DATETIME_REPR, r"datetime.\1(<DATETIME>)", text)
    if ":" not in text:  # every other form has a clock time
        return text
    text = _sub_if(("-",), _DATETIME, "<DATETIME>", text)
    return _CLOCK.sub("<TIME>", _CTIME.sub("<DATETIME>", text))


def _normalise_ids(text: str) -> str:
    text = _sub_if(("-",), _UUID, "<UUID>", text)
    return _sub_if(("T_",), _STYLER_ID, "T_<ID>", text)


# ------------------------------------------------------------------------------------ dict/set reprs


def _canonical_literals(text: str) -> str:
    """The whole text, else each line, re-rendered with sorted dict keys and set members when it is an
    unambiguous Python literal that holds a dict or set."""
    whole = _canonical_literal(text.strip())
    if whole is not None:
        return whole + ("\n" if text.endswith("\n") else "")
    return "\n".join(_canonical_line(line) for line in text.split("\n"))


def _canonical_line(line: str) -> str:
    body = line.strip()
    canonical = _canonical_literal(body)
    if canonical is None:
        return line
    indent = line[: len(line) - len(line.lstrip())]
    return indent + canonical + line[len(line.rstrip()) :]


def _canonical_literal(candidate: str) -> str | None:
    if not candidate.startswith(("{", "[", "(", "set(")) or len(candidate) > _MAX_LITERAL_CHARS:
        return None
    if "{" not in candidate and "set(" not in candidate:
        return None
    try:
        value = ast.literal_eval(candidate)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if not _holds_unordered(value):
        return None
    try:
        return _canonical_repr(value)
    except RecursionError:
        return None


def _holds_unordered(value: object) -> bool:
    if isinstance(value, (dict, set, frozenset)):
        return True
    if isinstance(value, (list, tuple)):
        return any(_holds_unordered(item) for item in value)
    return False


def _canonical_repr(value: object) -> str:
    if isinstance(value, dict):
        items = sorted(f"{_canonical_repr(key)}: {_canonical_repr(item)}" for key, item in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(_canonical_repr(item) for item in value)) + "}" if value else "set()"
    if isinstance(value, list):
        return "[" + ", ".join(_canonical_repr(item) for item in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(_canonical_repr(item) for item in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


# ------------------------------------------------------------------------------------------- floats

_NUMBER = re.compile(r"((?:(?<![\w.)\]])[-+])?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)")


def texts_equivalent(saved: str, new: str, options: CompareOptions = DEFAULT_OPTIONS) -> bool:
    """Equal text, or (``floats`` rule) the same text around numbers that agree within tolerance."""
    if saved == new:
        return True
    if not options.uses("floats"):
        return False
    saved_parts = _NUMBER.split(saved)
    new_parts = _NUMBER.split(new)
    if len(saved_parts) != len(new_parts):
        return False
    return all(
        _numbers_close(old, fresh, options) if position % 2 else old == fresh
        for position, (old, fresh) in enumerate(zip(saved_parts, new_parts, strict=True))
    )


def _numbers_close(saved: str, new: str, options: CompareOptions) -> bool:
    if saved == new:
        return True
    if not (_is_float_text(saved) and _is_float_text(new)):
        return False
    return math.isclose(float(saved), float(new), rel_tol=options.float_rtol, abs_tol=options.float_atol)


def _is_float_text(token: str) -> bool:
    return any(marker in token for marker in ".eE")


# ------------------------------------------------------------------------------------------- images


def _compare_image_pair(
    position: int, saved: NormalisedOutput, new: NormalisedOutput, options: CompareOptions
) -> ImageComparison:
    saved_mime = _image_key(saved) or ""
    new_mime = saved_mime if saved_mime in new.data else _image_key(new) or ""
    saved_data, new_data = saved.data[saved_mime], new.data[new_mime]
    measure = _measure_images(saved_data, new_data, options)
    return ImageComparison(position, saved_mime, saved_data, new_mime, new_data, *measure)


def _measure_images(
    saved_b64: str, new_b64: str, options: CompareOptions = DEFAULT_OPTIONS
) -> tuple[tuple[int, int] | None, tuple[int, int] | None, float | None, float | None, bool]:
    """Decode two base64 images and compare pixels: (saved size, new size, mean abs difference,
    differing fraction, match). Undecodable images, or the ``images`` rule off, compare as bytes."""
    saved_image = _decode_image(saved_b64)
    new_image = _decode_image(new_b64)
    saved_size = None if saved_image is None else saved_image.size
    new_size = None if new_image is None else new_image.size
    if saved_image is None or new_image is None or not options.uses("images"):
        return saved_size, new_size, None, None, saved_b64 == new_b64
    if saved_size != new_size:
        return saved_size, new_size, None, None, False
    mean, fraction = _pixel_difference(saved_image, new_image, options.image_pixel_threshold)
    match = mean <= options.image_mean_tolerance and fraction <= options.image_max_differing_fraction
    return saved_size, new_size, mean, fraction, match


def _decode_image(data: str) -> Image.Image | None:
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


def _pixel_difference(saved: Image.Image, new: Image.Image, threshold: int) -> tuple[float, float]:
    """Mean absolute channel difference (0-255) and the fraction of pixels with a channel off by more
    than ``threshold``."""
    from PIL import ImageChops, ImageStat

    difference = ImageChops.difference(saved, new)
    mean = sum(ImageStat.Stat(difference).mean) / 3
    red, green, blue = difference.split()
    largest = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    histogram = largest.histogram()
    pixels = saved.size[0] * saved.size[1]
    return mean, sum(histogram[threshold + 1 :]) / pixels if pixels else 0.0


def _size_text(size: tuple[int, int] | None) -> str:
    return "?" if size is None else f"{size[0]}x{size[1]}"


# --------------------------------------------------------------------------------------------- diff


def _bounded_diff(
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
        if _is_change(old, "-") and _is_change(new, "+") and max(len(old), len(new)) > _MAX_DIFF_LINE_CHARS:
            start = max(0, _common_prefix(old[1:], new[1:]) - _MAX_DIFF_LINE_CHARS // 4)
            clipped[number], clipped[number + 1] = _clip(old, start), _clip(new, start)
    return [line if len(line) <= _MAX_DIFF_LINE_CHARS + 40 else _clip(line) for line in clipped]


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
    line = f"<{key} {_size_text(size)}>"
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
    if len(lines) <= _MAX_DIFF_INPUT_LINES:
        return lines
    return [
        *lines[:_MAX_DIFF_INPUT_LINES],
        f"... ({len(lines) - _MAX_DIFF_INPUT_LINES} more lines not compared)",
    ]


def _clip(line: str, start: int = 0) -> str:
    """At most ``_MAX_DIFF_LINE_CHARS`` of ``line`` from ``start`` (after its diff sign), marked as cut."""
    if start == 0 and len(line) <= _MAX_DIFF_LINE_CHARS:
        return line
    sign, body = line[:1], line[1:]
    head = f"{sign}...(cut) " if start else sign
    tail = " ...(line cut)" if len(body) > start + _MAX_DIFF_LINE_CHARS else ""
    return head + body[start : start + _MAX_DIFF_LINE_CHARS] + tail
