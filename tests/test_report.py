"""The HTML report, rendered from hand-built results (no kernel): environment recorded versus here, data
files by project-relative path, and a differing image shown with a difference overlay."""

from __future__ import annotations

import base64
import dataclasses
import io
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from jupyter_repro.compare import CellComparison, compare_cell
from jupyter_repro.evidence import Evidence, step_data
from jupyter_repro.report import render_report
from jupyter_repro.report_images import OVERLAY_COLOUR
from jupyter_repro.results import Cause, CellVerdict, RunResult, StepResult

HOSTILE = "<script>alert('x')</script>"
LOCK_TEXT = f"numpy==2.1.0 \\\n    --hash=sha256:00\n    # via {HOSTILE}\n"
SQUARE = (10, 8, 14, 12)
"""The 5x5 block (inclusive corners) the new picture adds to the saved one."""


# ------------------------------------------------------------------------------------------ builders


def png(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def picture(size: tuple[int, int] = (40, 30), square: bool = False) -> Image.Image:
    image = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.line((0, size[1] - 1, size[0] - 1, 0), fill=(30, 30, 200), width=2)
    if square:
        draw.rectangle(SQUARE, fill=(0, 160, 0))
    return image


def figure_cell(index: int, saved: Image.Image, new: Image.Image) -> CellComparison:
    def output(image: Image.Image) -> dict[str, object]:
        data = {"image/png": png(image), "text/plain": "<Figure size 40x30 with 1 Axes>"}
        return {"output_type": "display_data", "metadata": {}, "data": data}

    return compare_cell(index, [output(saved)], 1, [output(new)], ignored=False)


class Project:
    """A project folder with a notebook in ``notebooks/``, data beside it and above it, and a home."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.notebook = root / "notebooks" / "analysis.ipynb"
        self.prices = root / "data" / "prices.csv"
        self.local = root / "notebooks" / "local.csv"
        self.written = root / "out" / "totals.csv"
        self.executed = root / ".repro" / "runs" / "run-1" / "executed.ipynb"


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "project")


def steps(project: Project) -> tuple[StepResult, ...]:
    load = StepResult(
        "load",
        "executed",
        "key-load",
        0.25,
        (0,),
        reads=((str(project.prices), "blake3:" + "a" * 64), (str(project.local), "blake3:" + "b" * 64)),
        writes=((str(project.written), "blake3:" + "c" * 64),),
    )
    outside = StepResult(
        "hosts", "executed", "key-hosts", 0.1, (2,), reads=(("/etc/hosts", "blake3:" + "d" * 64),)
    )
    return load, outside, StepResult("plot", "executed", "key-plot", 1.5, (1,))


def here_evidence(project: Project, lock: bool = True) -> Evidence:
    return Evidence(
        python="3.12.1",
        implementation="CPython",
        platform="Linux x86_64",
        environment_hash="blake3:envhere",
        seed=42,
        packages={"numpy": "2.1.0", "pandas": "2.2.3", "Pillow": "11.0.0"},
        data=step_data(steps(project), str(project.notebook.parent), str(project.root)),
        lock={"hash": "blake3:lockhere", "requirements": ["numpy==2.1.0"], "text": LOCK_TEXT}
        if lock
        else None,
    )


RECORDED = Evidence(
    python="3.11.9",
    implementation="CPython",
    platform="Darwin arm64",
    environment_hash="blake3:envthen",
    seed=42,
    packages={"numpy": "1.26.4", "pandas": "2.2.3", "scipy": "1.14.0"},
    data={
        "load": {
            "../data/prices.csv": "blake3:" + "9" * 64,
            "local.csv": "blake3:" + "b" * 64,
            "gone.csv": "blake3:" + "e" * 64,
        }
    },
)


def verification(project: Project, *, recorded: Evidence | None = RECORDED, **changes: Any) -> RunResult:
    plot = figure_cell(1, picture(), picture(square=True))
    result = RunResult(
        run_id="run-1",
        kind="verify",
        notebook=str(project.notebook),
        seed=42,
        parameters={"title": HOSTILE},
        environment_hash="blake3:envhere",
        steps=steps(project),
        executed_notebook=str(project.executed),
        verdict="diverged",
        cells=(CellVerdict(1, "plot", plot),),
        causes=(
            Cause(
                "data",
                "load",
                f"{project.prices} changed since the notebook was stamped; {HOSTILE}",
                cell=1,
                evidence={"path": str(project.prices)},
                hint=f"restore {project.prices}",
            ),
            Cause("data", "hosts", "/etc/hosts changed", cell=1),
        ),
        evidence=here_evidence(project),
        recorded_evidence=recorded,
    )
    return dataclasses.replace(result, **changes)


# ------------------------------------------------------------------------------------------- parsing


class Page(HTMLParser):
    """Tables (id or data-step -> rows of (highlighted, cell texts)) and images (alt -> src)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tables: dict[str, list[tuple[bool, list[str]]]] = {}
        self.images: list[tuple[str, str]] = []
        self.details: list[str] = []
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._in_details = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "table":
            self._table = named.get("id") or named.get("data-step") or f"table-{len(self.tables)}"
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append((named.get("class") == "differs", []))
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
        elif tag == "img":
            self.images.append((named.get("alt") or "", named.get("src") or ""))
        elif tag == "details":
            self._in_details = True
            self.details.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._table is not None and self._cell is not None:
            self.tables[self._table][-1][1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None
        elif tag == "details":
            self._in_details = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._in_details:
            self.details[-1] += data

    def rows(self, table: str) -> dict[str, tuple[bool, list[str]]]:
        """The table's body rows by their first cell."""
        return {cells[0]: (highlighted, cells[1:]) for highlighted, cells in self.tables[table][1:]}


def decoded(src: str) -> Image.Image:
    prefix = "data:image/png;base64,"
    assert src.startswith(prefix)
    return Image.open(io.BytesIO(base64.b64decode(src[len(prefix) :]))).convert("RGB")


# --------------------------------------------------------------------------------------- environment


def test_the_environment_shows_versions_here_and_recorded_and_highlights_what_differs(
    project: Project,
) -> None:
    page = Page(render_report(verification(project)))
    facts = page.rows("environment-facts")
    assert facts["Python"] == (True, ["CPython 3.12.1", "CPython 3.11.9"])
    assert facts["platform"] == (False, ["Linux x86_64", "Darwin arm64"])
    assert facts["environment hash"][1] == ["blake3:envhere", "blake3:envthen"]
    assert facts["seed"][1] == ["42", "42"]
    distributions = page.rows("distributions")
    assert distributions["numpy"] == (True, ["2.1.0", "1.26.4"])
    assert distributions["pandas"] == (False, ["2.2.3", "2.2.3"])
    assert distributions["scipy"] == (True, ["not installed", "1.14.0"])
    assert distributions["Pillow"] == (False, ["11.0.0", "not recorded"])
    assert list(distributions) == ["numpy", "pandas", "Pillow", "scipy"]


def test_a_distribution_spelled_differently_is_the_same_distribution(project: Project) -> None:
    """Names compare as environment_differences compares them: canonically (one source of truth)."""
    recorded = dataclasses.replace(RECORDED, packages={"pillow": "11.0.0", "NumPy": "2.1.0"})
    page = Page(render_report(verification(project, recorded=recorded)))
    distributions = page.rows("distributions")
    assert distributions["pillow"] == (False, ["11.0.0", "11.0.0"])
    assert distributions["NumPy"] == (False, ["2.1.0", "2.1.0"])
    assert "Pillow" not in distributions  # the same distribution, not one installed only here
    assert distributions["pandas"] == (False, ["2.2.3", "not recorded"])


def test_without_recorded_evidence_only_here_is_shown(project: Project) -> None:
    text = render_report(verification(project, recorded=None))
    page = Page(text)
    assert page.rows("distributions")["numpy"] == (False, ["2.1.0"])
    assert page.rows("environment-facts")["Python"] == (False, ["CPython 3.12.1"])
    assert "nothing recorded to compare with" in text
    assert "since recorded" not in text  # the data tables have no recorded columns either


def test_a_result_without_evidence_still_shows_its_environment_hash(project: Project) -> None:
    text = render_report(verification(project, evidence=None, recorded=None))
    assert "blake3:envhere" in text
    assert "carries no evidence" in text
    # The data section falls back to what the steps read, named the same way.
    assert "<code>../data/prices.csv</code>" in text


def test_the_lock_text_is_shown_folded_with_its_hash_and_origin(project: Project) -> None:
    text = render_report(verification(project))
    page = Page(text)
    assert "Made here" in text
    assert "blake3:lockhere" in text
    locks = [detail for detail in page.details if detail.startswith("lock text")]
    assert locks == ["lock text (3 lines)" + LOCK_TEXT]  # the parser unescapes: the text is shown as written
    assert "&lt;script&gt;" in text.split("<details>")[1]


def test_the_notebooks_lock_is_named_as_the_notebooks(project: Project) -> None:
    carried = {"hash": "blake3:lockthen", "requirements": ["numpy==1.26.4"], "text": "numpy==1.26.4\n"}
    recorded = dataclasses.replace(RECORDED, lock=carried)
    text = render_report(verification(project, recorded=recorded))
    page = Page(text)
    assert "From the notebook" in text
    assert "blake3:lockthen" in text
    locks = [detail for detail in page.details if detail.startswith("lock text")]
    assert locks == ["lock text (1 line)numpy==1.26.4\n", "lock text (3 lines)" + LOCK_TEXT]
    same = dataclasses.replace(RECORDED, lock={**carried, "hash": "blake3:lockhere"})
    assert "the same hash" in render_report(verification(project, recorded=same))


def test_no_lock_says_so(project: Project) -> None:
    result = verification(project, evidence=here_evidence(project, lock=False))
    text = render_report(result)
    assert "No lock" in text
    assert "<details><summary>lock text" not in text


# ---------------------------------------------------------------------------------------------- data


def test_each_steps_data_files_are_relative_with_short_hashes_and_compared_with_the_record(
    project: Project,
) -> None:
    page = Page(render_report(verification(project)))
    load = page.rows("load")
    assert load["../data/prices.csv"] == (True, ["blake3:" + "a" * 12, "blake3:" + "9" * 12, "changed"])
    assert load["local.csv"] == (False, ["blake3:" + "b" * 12, "blake3:" + "b" * 12, "unchanged"])
    assert load["gone.csv"] == (True, ["", "blake3:" + "e" * 12, "recorded, not read now"])
    assert page.rows("hosts")["/etc/hosts"][1][2] == "not recorded"  # outside the project: absolute
    assert "plot" not in page.tables  # a step that read nothing has no table


def test_no_absolute_path_of_a_project_file_appears_anywhere(project: Project) -> None:
    text = render_report(verification(project))
    assert str(project.root) not in text
    assert "/project/" not in text
    steps = Page(text).rows("steps")
    assert steps["load"][1][2:] == ["../data/prices.csv, local.csv", "../out/totals.csv"]
    assert "<h1>notebooks/analysis.ipynb" in text
    # Causes name the file the same way; paths outside the project stay as they are.
    assert "../data/prices.csv changed since the notebook was stamped" in text
    assert "restore ../data/prices.csv" in text
    assert "/etc/hosts changed" in text


def test_an_explicit_project_root_wins_and_files_below_the_notebook_are_relative_without_one(
    project: Project, tmp_path: Path
) -> None:
    elsewhere = verification(project, executed_notebook=str(tmp_path / "home" / "x" / "executed.ipynb"))
    unknown = render_report(elsewhere)
    assert "<code>local.csv</code>" in unknown  # below the notebook's folder: relative anyway
    assert str(project.local) not in unknown
    assert str(project.written) in unknown  # the project root is unknown: outside the notebook's folder
    known = render_report(elsewhere, project_root=str(project.root))
    assert str(project.root) not in known
    assert "../out/totals.csv" in known


# --------------------------------------------------------------------------------------------- images


def test_a_differing_image_is_shown_saved_new_and_as_a_difference_overlay(project: Project) -> None:
    text = render_report(verification(project))
    page = Page(text)
    assert [alt for alt, _ in page.images] == ["saved image", "new image", "difference overlay"]
    overlay = decoded(page.images[2][1])
    new = decoded(page.images[1][1])
    assert overlay.size == new.size == (40, 30)
    left, top, right, bottom = SQUARE
    inside = {(x, y) for x in range(left, right + 1) for y in range(top, bottom + 1)}
    for x in range(overlay.size[0]):
        for y in range(overlay.size[1]):
            pixel = overlay.getpixel((x, y))
            if (x, y) in inside:
                assert pixel == OVERLAY_COLOUR
            else:
                assert isinstance(pixel, tuple)
                assert pixel[0] == pixel[1] == pixel[2]  # the new picture, dimmed to grey
                assert pixel[0] >= 150
    assert "25 of 1200 pixels painted" in text


def test_images_of_different_sizes_get_no_overlay_and_the_report_says_why(project: Project) -> None:
    cell = figure_cell(1, picture(), picture(size=(80, 60), square=True))
    text = render_report(verification(project, cells=(CellVerdict(1, "plot", cell),)))
    assert [alt for alt, _ in Page(text).images] == ["saved image", "new image"]
    assert "No difference overlay: the sizes differ (40x30 saved, 80x60 new)" in text


def test_an_undecodable_image_gets_no_overlay(project: Project) -> None:
    cell = figure_cell(1, picture(), picture(square=True))
    broken = dataclasses.replace(cell.images[0], new_data=base64.b64encode(b"not a png").decode())
    cell = dataclasses.replace(cell, images=(broken,))
    text = render_report(verification(project, cells=(CellVerdict(1, "plot", cell),)))
    assert len(Page(text).images) == 2
    assert "the new image could not be decoded" in text


def test_matching_images_in_a_differing_cell_need_no_overlay(project: Project) -> None:
    cell = figure_cell(1, picture(), picture())
    assert cell.status == "match"
    shown = dataclasses.replace(cell, status="differ", reason="output 2 differs")
    text = render_report(verification(project, cells=(CellVerdict(1, "plot", shown),)))
    assert [alt for alt, _ in Page(text).images] == ["saved image", "new image"]


# ------------------------------------------------------------------------------------------- escaping


def test_user_provided_text_is_escaped_everywhere(project: Project) -> None:
    hostile_project = Project(project.root.parent / "a&b")
    result = verification(
        hostile_project,
        notebook=str(hostile_project.root / "notebooks" / "<i>nb</i>.ipynb"),
        recorded=dataclasses.replace(
            RECORDED, packages={HOSTILE: "1"}, data={"<b>step</b>": {"<x>.csv": "blake3:1"}}
        ),
    )
    text = render_report(result)
    assert "<script" not in text.lower()
    assert "<i>nb</i>" not in text
    assert "<b>step</b>" not in text
    assert "<x>" not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text
    assert "&lt;i&gt;nb&lt;/i&gt;.ipynb" in text
    assert not re.search(
        r"<(?!/?(html|head|meta|title|style|body|h[1-3]|p|span|code|table|tr|t[hd]|ul|li|b|i|br|"
        r"div|pre|img|details|summary)\b)",
        text.replace("<!doctype html>", ""),
    )


def test_the_overlay_paints_exactly_the_pixels_the_comparison_counts(project: Project) -> None:
    """The overlay and the verdict use one rule: its painted pixels are the comparison's fraction."""
    saved, new = picture((64, 48)), picture((64, 48))
    ImageDraw.Draw(new).text((10, 10), "v2", fill=(90, 90, 90))
    ImageDraw.Draw(new).point((60, 40), fill=(240, 240, 240))  # 15/255 off white: below the threshold
    cell = figure_cell(1, saved, new)
    image = cell.images[0]
    text = render_report(verification(project, cells=(CellVerdict(1, "plot", cell),)))
    overlay = decoded(Page(text).images[2][1])
    width, height = overlay.size
    painted = sum(overlay.getpixel((x, y)) == OVERLAY_COLOUR for x in range(width) for y in range(height))
    assert painted > 0
    assert painted == round((image.differing_fraction or 0) * 64 * 48)
    assert overlay.getpixel((60, 40)) != OVERLAY_COLOUR
