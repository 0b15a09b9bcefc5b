"""Which code draws randomness: the one rule behind the causes verify names and ``--jobs`` lanes.

Kept apart from :mod:`jupyter_repro.cell_causes` (which imports the comparison's formatting rules)
so that planning lanes, before a run's kernels start, reads only these two patterns.
"""

from __future__ import annotations

import re

SEEDING = re.compile(
    r"\b(?:random\.seed|np\.random\.seed|numpy\.random\.seed|torch\.manual_seed|tf\.random\.set_seed|"
    r"set_random_seed|seed_everything)\s*\(|default_rng\(\s*[^)\s]|%load_ext\s+jupyter_repro"
)
RANDOM_CALLS = re.compile(
    r"\b(?:random\.(?:random|randint|randrange|choice|choices|shuffle|sample|uniform|gauss|"
    r"normalvariate|triangular|betavariate|expovariate)|"
    r"(?:np|numpy)\.random\.(?!(?:seed|default_rng|SeedSequence|Generator|PCG64|RandomState)\b)\w+|"
    r"torch\.(?:rand|randn|randint|randperm|normal|bernoulli)\w*|uuid\.uuid4|secrets\.\w+|os\.urandom)"
    r"\s*\(|\b(?:default_rng|RandomState)\(\s*\)"
)
"""Calls that draw randomness; a generator made without a seed counts as a draw."""


def draws_randomness(source: str) -> bool:
    """Whether code visibly draws from a random generator (the one rule for causes and ``--jobs``)."""
    return RANDOM_CALLS.search(source) is not None
