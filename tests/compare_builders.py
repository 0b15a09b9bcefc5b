"""Builders shared by the comparison and fix tests: saved cells, nbformat outputs, images, figures."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

from PIL import Image, ImageDraw

from jupyter_repro.compare import DEFAULT_OPTIONS, CellComparison, CompareOptions, compare_cell

Output = dict[str, Any]


# ------------------------------------------------------------------------------------------ builders


def code(source: str, *outputs: Output, count: int | None = 1, tags: Sequence[str] = ()) -> dict[str, Any]:
    """A code cell as saved: its outputs and an execution count (None: never executed)."""
    return {
        "cell_type": "code",
        "source": source,
        "metadata": {"tags": list(tags)} if tags else {},
        "outputs": list(outputs),
        "execution_count": count,
    }


def stream(text: str, name: str = "stdout") -> Output:
    return {"output_type": "stream", "name": name, "text": text}


def result(data: dict[str, Any] | str, count: int = 1, metadata: dict[str, Any] | None = None) -> Output:
    bundle = {"text/plain": data} if isinstance(data, str) else data
    return {
        "output_type": "execute_result",
        "execution_count": count,
        "metadata": metadata or {},
        "data": bundle,
    }


def display(data: dict[str, Any], metadata: dict[str, Any] | None = None) -> Output:
    return {"output_type": "display_data", "metadata": metadata or {}, "data": data}


def error(ename: str, evalue: str, traceback: Sequence[str] = ()) -> Output:
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": list(traceback)}


def compare(
    saved: Sequence[Output], new: Sequence[Output], options: CompareOptions = DEFAULT_OPTIONS
) -> CellComparison:
    return compare_cell(3, saved, 5, new, ignored=False, options=options)


def encoded(image: Image.Image, fmt: str = "PNG", **params: Any) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def drawing(size: tuple[int, int] = (64, 48)) -> Image.Image:
    """A gradient with a circle: every channel value occurs, so a +-1 shift is visible in the bytes."""
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    ImageDraw.Draw(image).ellipse((8, 8, size[0] - 8, size[1] - 8), outline=(200, 30, 30), width=3)
    return image


def with_square(image: Image.Image, box: tuple[int, int, int, int]) -> Image.Image:
    changed = image.copy()
    ImageDraw.Draw(changed).rectangle(box, fill=(0, 0, 0))
    return changed


def shifted_by_one(image: Image.Image) -> Image.Image:
    """Every channel off by exactly one level: rendering noise, invisible to a reader."""
    return image.point(lambda value: value + 1 if value < 255 else value - 1)


def on_transparent(image: Image.Image) -> Image.Image:
    """The drawing with its white background made transparent black: the same picture on a page."""
    rgba = image.convert("RGBA")
    background = image.convert("L").point(lambda value: 255 if value == 255 else 0)
    rgba.paste((0, 0, 0, 0), mask=background)
    return rgba


def figure_png(values: Sequence[float], title: str) -> str:
    """A real matplotlib figure (Agg), with PNG metadata that differs between renderings."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4, 3), dpi=80)
    figure.subplots().plot(values)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Title": title})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def figure_svg(values: Sequence[float]) -> str:
    """matplotlib SVG: carries the render date and random element ids (no svg.hashsalt)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(3, 2))
    figure.subplots().plot(values)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg")
    return buffer.getvalue().decode("utf-8")


def png_bundle(b64: str) -> dict[str, str]:
    return {"image/png": b64, "text/plain": "<Figure size 320x240 with 1 Axes>"}


BASE = drawing()
ON_WHITE = Image.new("RGB", (64, 48), "white")
ImageDraw.Draw(ON_WHITE).ellipse((8, 8, 56, 40), outline=(30, 30, 200), width=3)
BIG = drawing((640, 480))
TRACEBACK = [
    "\x1b[0;31m---------------------------------------------------------------------------\x1b[0m",
    "\x1b[0;31mZeroDivisionError\x1b[0m                         Traceback (most recent call last)",
    "Cell \x1b[0;32mIn[3], line 1\x1b[0m\n"
    "\x1b[0;32m----> 1\x1b[0m \x1b[38;5;241m1\x1b[39m\x1b[38;5;241m/\x1b[39m0",
    "\x1b[0;31mZeroDivisionError\x1b[0m: division by zero",
]


LATEX = r"$\displaystyle x^{2} + 1$"


def formula_png(height: int = 20, text: str = "x^2+1") -> str:
    """A formula rendered as a PNG (SymPy's ``image/png``); the height moves with the LaTeX install."""
    image = Image.new("RGB", (64, height), "white")
    ImageDraw.Draw(image).text((2, 2), text, fill="black")
    return encoded(image)


def formula(height: int = 20, latex: str = LATEX, text: str = "x^2+1") -> Output:
    return display({"image/png": formula_png(height, text), "text/latex": latex, "text/plain": "x**2 + 1"})


def figure(dpi: int, values: Sequence[float] = (1, 2, 3), axes: int = 1) -> Output:
    """A matplotlib figure as Jupyter shows it: PNG and the ``<Figure size WxH with N Axes>`` text."""
    from matplotlib.figure import Figure

    shown = Figure(figsize=(3.2, 2.4), dpi=dpi)
    for number in range(axes):
        shown.add_subplot(1, axes, number + 1).plot(values)
    buffer = io.BytesIO()
    shown.savefig(buffer, format="png")
    width, height = shown.canvas.get_width_height(physical=True)
    return display(
        {
            "image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
            "text/plain": f"<Figure size {width}x{height} with {axes} Axes>",
        }
    )
