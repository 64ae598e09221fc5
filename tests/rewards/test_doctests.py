"""The docstring examples of the reward modules are tested (each states its formula's behaviour)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "clinr1.rewards",
    "clinr1.rewards.accuracy",
    "clinr1.rewards.comprehensiveness",
    "clinr1.rewards.extract",
    "clinr1.rewards.faithfulness",
    "clinr1.rewards.format",
    "clinr1.rewards.parse",
    "clinr1.rewards.score",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
