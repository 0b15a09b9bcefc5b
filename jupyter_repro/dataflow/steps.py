"""Steps and the notebook: composing cells into steps, resolving reads to providers, hidden state.  (pure)

A step's reads are what its cells read before the step itself bound them; each resolves to the
nearest earlier step that defined the name (or to the pipeline's parameters). Hidden state is a read a
clean top-down run of the executed cells cannot satisfy.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from jupyter_repro.dataflow.cells import CellFlow
from jupyter_repro.dataflow.rules import is_ambient
from jupyter_repro.model import PARAMETERS_PROVIDER, HiddenStateRead, StepInput


@dataclass(frozen=True)
class StepFlow:
    """The data flow of a whole step (its cells composed in order)."""

    name: str
    reads: tuple[str, ...]
    """Names read from outside the step (strong reads first, then weak), builtins included."""
    strong: frozenset[str]
    """The subset of :attr:`reads` read before any binding in the step."""
    defined: tuple[str, ...]
    imprecise_reason: str | None = None


def combine(name: str, cells: Sequence[tuple[int, CellFlow]]) -> StepFlow:
    """Compose a step's cells (index, flow) in order: a read an earlier cell satisfies is internal."""
    must: set[str] = set()
    may: set[str] = set()
    strong: dict[str, None] = {}
    weak: dict[str, None] = {}
    defined: dict[str, None] = {}
    reasons: list[str] = []
    for index, flow in cells:
        for read in flow.reads:
            if read not in must:
                (weak if read in may else strong).setdefault(read)
        for read in flow.weak_reads:
            if read not in must:
                weak.setdefault(read)
        must |= flow.must
        may |= flow.may
        defined.update(dict.fromkeys(flow.defined))
        reasons.extend(f"cell {index}: {reason}" for reason in flow.imprecise)
    reads = tuple(dict.fromkeys([*strong, *weak]))
    reason = "; ".join(dict.fromkeys(reasons)) or None
    return StepFlow(name, reads, frozenset(strong), tuple(defined), reason)


@dataclass(frozen=True)
class Resolution:
    """A step's inputs (with providers) and the steps it depends on through data."""

    inputs: tuple[StepInput, ...]
    dependencies: tuple[str, ...]


class _Providers:
    """Which earlier step last defined each name, walking the steps in notebook order."""

    def __init__(self, parameters: Collection[str], shared: Collection[str]) -> None:
        self.parameters = parameters
        self.shared = shared
        self.last: dict[str, int] = {}
        self.last_imprecise: int | None = None

    def provider(self, name: str) -> int | str | None:
        """A step position, ``"parameters"``, or ``None`` (setup, builtin or unknown)."""
        position = self.last.get(name)
        if position is None and (name in self.shared or is_ambient(name)):
            return None
        if self.last_imprecise is not None and (position is None or self.last_imprecise > position):
            return self.last_imprecise
        if position is not None:
            return position
        return PARAMETERS_PROVIDER if name in self.parameters else None

    def record(self, position: int, flow: StepFlow) -> None:
        for name in flow.defined:
            self.last[name] = position
        if flow.imprecise_reason is not None:
            self.last_imprecise = position


def resolve(
    flows: Sequence[StepFlow], *, parameters: Collection[str], shared: Collection[str]
) -> tuple[Resolution, ...]:
    """Resolve every step's reads to the nearest earlier provider (steps in notebook order).

    ``parameters`` resolve to ``"parameters"`` unless a step redefined them; ``shared`` names (setup,
    imports/functions of parameter cells) and builtins are available in every step and are not
    inputs. An imprecise step reads every name defined earlier, depends on every earlier step, and
    is taken to redefine any name a later step reads (except builtins and shared names).
    """
    providers = _Providers(parameters, shared)
    resolutions = []
    for position, flow in enumerate(flows):
        wanted = list(flow.reads)
        if flow.imprecise_reason is not None:
            wanted += [*providers.last, *parameters]
        inputs = {}
        for name in dict.fromkeys(wanted):
            found = providers.provider(name)
            if found is not None:
                inputs[name] = found if isinstance(found, str) else flows[found].name
        dependencies = {value for value in inputs.values() if value != PARAMETERS_PROVIDER}
        if flow.imprecise_reason is not None:
            dependencies |= {earlier.name for earlier in flows[:position]}
        resolutions.append(
            Resolution(
                inputs=tuple(StepInput(name, inputs[name]) for name in sorted(inputs)),
                dependencies=tuple(sorted(dependencies)),
            )
        )
        providers.record(position, flow)
    return tuple(resolutions)


def hidden_state(
    executed: Sequence[tuple[int, CellFlow]],
    skipped: Sequence[tuple[int, frozenset[str]]],
    *,
    preloaded: Collection[str],
    step_of: Mapping[int, str | None],
    uncertain: bool = False,
) -> tuple[HiddenStateRead, ...]:
    """Reads a clean top-down run cannot satisfy: the name is defined only later, in a skipped cell,
    or nowhere.

    ``executed`` are the cells that run, in notebook order; ``preloaded`` names exist before any of
    them (setup and parameters). After an imprecise cell (star import, ``%run``...) nothing more is
    reported: any name might come from it, and a wrong accusation is worse than silence.
    """
    available = set(preloaded)
    found: list[HiddenStateRead] = []
    for position, (index, flow) in enumerate(executed):
        uncertain = uncertain or bool(flow.imprecise)
        if not uncertain:
            for name in flow.reads:
                if name not in available and not is_ambient(name):
                    found.append(_explain(name, index, position, executed, skipped, step_of))
        available |= flow.may | set(flow.defined)
    return tuple(found)


def _explain(
    name: str,
    index: int,
    position: int,
    executed: Sequence[tuple[int, CellFlow]],
    skipped: Sequence[tuple[int, frozenset[str]]],
    step_of: Mapping[int, str | None],
) -> HiddenStateRead:
    step = step_of.get(index)
    earlier_skip = next((i for i, names in skipped if i < index and name in names), None)
    if earlier_skip is not None:
        return HiddenStateRead(index, name, earlier_skip, "skipped", step)
    later = next(
        (i for i, flow in executed[position + 1 :] if name in flow.may or name in flow.defined), None
    )
    if later is not None:
        return HiddenStateRead(index, name, later, "later", step)
    later_skip = next((i for i, names in skipped if i > index and name in names), None)
    if later_skip is not None:
        return HiddenStateRead(index, name, later_skip, "skipped", step)
    return HiddenStateRead(index, name, None, "undefined", step)
