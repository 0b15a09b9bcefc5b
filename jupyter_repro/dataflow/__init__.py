"""Static data flow of notebook code: what each cell and step defines, reads and mutates.  (pure)

Nothing is executed: cells are parsed with :mod:`ast` after IPython's own input transformer has turned
``%magics``, ``!shell`` lines and ``obj?`` into plain calls (:mod:`jupyter_repro.source`), so a notebook
full of magics still parses. The rules (documented for users in ``docs/tags.md``):

* A read is a name loaded before this cell/step bound it. Reads of names bound only on some paths
  (inside ``if``/``for``/``try``...) are "weak": they come from outside only when something outside
  defines them, and are never reported as hidden state.
* Mutation is definition: ``x += ...``, ``x[...] = ...``, ``x.attr = ...``, ``del x[...]``, calls with
  ``inplace=True``, well-known mutating methods (``append``, ``update``, ``fit``, torch's ``add_``...),
  mutating functions (``random.shuffle(x)``, ``heapq.heappush(h, ...)``, ``setattr(x, ...)``) and calls
  of notebook functions that mutate their arguments all make the cell a provider of ``x``.
  Method calls on imported modules (``np.append``, ``os.remove``) are not mutations of the module.
* A function's or class's free variables are read, and its ``global`` assignments and mutations
  happen, wherever the function is referenced (called or passed on), not where it is defined.
* ``from m import *``, ``%run``, ``%store -r``, ``exec``/``eval`` and ``globals()``/``locals()``/
  ``vars()`` make the analysis imprecise: the caller treats the step conservatively, never silently
  wrongly. So does a cell that does not parse even after IPython's transformer (an intended
  ``SyntaxError`` demo, Python 2): the kernel runs it like any other, so it is no reason to refuse
  the notebook, but what it reads and defines is unknown.
* Shell commands and magic lines read, weakly, the names IPython substitutes into them
  (``!ls {path}``, ``$name``); ``obj?`` reads ``obj`` weakly; a non-Python cell magic (``%%bash``,
  ``%%html``...) has no Python data flow, except the variables ``--out``/``%%capture`` bind.

The package's modules, in the order the analysis uses them: :mod:`.rules` (what is a read, binding or
mutation), :mod:`.scopes` (nested scopes), :mod:`.cells` (one cell), :mod:`.steps` (steps, providers,
hidden state) and :mod:`.parameters` (the parameters cell). The step graph's algorithms are in
:mod:`jupyter_repro.graph`.
"""

from jupyter_repro.dataflow.cells import CellFlow, analyse_cell
from jupyter_repro.dataflow.parameters import ParameterAssignment, parameter_assignments
from jupyter_repro.dataflow.rules import (
    EMPTY,
    MUTATING_FUNCTIONS,
    MUTATING_METHODS,
    FunctionSummary,
    Known,
    is_ambient,
)
from jupyter_repro.dataflow.steps import Resolution, StepFlow, combine, hidden_state, resolve

# Transitional: runner.py, verify.py and plan.py import normalised_code from here; it lives in source.
from jupyter_repro.source import normalised_code

__all__ = [
    "EMPTY",
    "MUTATING_FUNCTIONS",
    "MUTATING_METHODS",
    "CellFlow",
    "FunctionSummary",
    "Known",
    "ParameterAssignment",
    "Resolution",
    "StepFlow",
    "analyse_cell",
    "combine",
    "hidden_state",
    "is_ambient",
    "normalised_code",
    "parameter_assignments",
    "resolve",
]
