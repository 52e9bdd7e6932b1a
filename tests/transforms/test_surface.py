"""The package's public surface: its stage modules, loaded on first use."""

from __future__ import annotations

import subprocess
import sys
from types import ModuleType

import pytest

import transforms

HEAVY = ("pandera", "phonenumbers", "email_validator")


@pytest.mark.parametrize("name", transforms.__all__)
def test_each_public_name_is_a_stage_module_with_its_own_surface(name: str) -> None:
    module = getattr(transforms, name)
    assert isinstance(module, ModuleType) and module.__name__ == f"transforms.{name}"
    assert module.__all__, f"transforms.{name} lists no public names"


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        _ = transforms.nothing_here  # type: ignore[attr-defined]


def test_importing_the_package_loads_no_stage() -> None:
    code = f"import sys, transforms; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
