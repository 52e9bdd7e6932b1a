"""API keys as values that never print themselves, and are masked wherever they are quoted."""

from __future__ import annotations

from connectors._redact import register

__all__ = ["Secret"]


class Secret:
    """A string that `repr`, `str` and f-strings show as `****`; `reveal()` gives the value.

    Revealing registers the value with `connectors._redact`: from then on a vendor that quotes
    it back, and every log record, shows `****` instead (unless it is too short to mask). A
    `public` key (the sandbox's documented `sandbox-key`) is not registered: masking it would
    only hide from a user the key the error tells them to use.
    """

    __slots__ = ("_public", "_value")

    def __init__(self, value: str, *, public: bool = False) -> None:
        self._value = value
        self._public = public

    def reveal(self) -> str:
        if not self._public:
            register(self._value)
        return self._value

    def __repr__(self) -> str:
        return "Secret('****')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret is not pickled (keep keys out of results and caches)")
