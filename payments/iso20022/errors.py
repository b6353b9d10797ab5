"""Exceptions raised by the ISO 20022 readers and writers."""

from __future__ import annotations


class InvalidXml(ValueError):
    """An XML document is malformed, hostile, not valid against its XSD, or inconsistent.

    ``line`` is the 1-based line in the document where the problem was found (0 when unknown).
    ``str(exc)`` includes the line, ``exc.message`` does not.
    """

    def __init__(self, message: str, line: int = 0) -> None:
        self.message = message
        self.line = line
        super().__init__(f"line {line}: {message}" if line > 0 else message)

    def __reduce__(self) -> tuple[type[InvalidXml], tuple[str, int]]:
        return (type(self), (self.message, self.line))


class TotalsMismatch(ValueError):
    """The transactions written differ from the totals announced in the group header."""

    def __init__(
        self, *, expected_count: int, expected_sum_ore: int, count: int, sum_ore: int
    ) -> None:
        self.expected_count = expected_count
        self.expected_sum_ore = expected_sum_ore
        self.count = count
        self.sum_ore = sum_ore
        super().__init__(
            f"header announced {expected_count} transactions summing to {expected_sum_ore} øre, "
            f"but {count} transactions summing to {sum_ore} øre were written"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild_totals_mismatch,
            (self.expected_count, self.expected_sum_ore, self.count, self.sum_ore),
        )


def _rebuild_totals_mismatch(
    expected_count: int, expected_sum_ore: int, count: int, sum_ore: int
) -> TotalsMismatch:
    return TotalsMismatch(
        expected_count=expected_count,
        expected_sum_ore=expected_sum_ore,
        count=count,
        sum_ore=sum_ore,
    )
