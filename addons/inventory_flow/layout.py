"""Rack layout arithmetic: bin codes and the grid of a rack block.

Pure Python (no Tryton import) so that it can be unit-tested on its own and
reused by the demo data generator.  A bin code reads from the outside in:
warehouse – aisle – level – position, e.g. ``A-03-2-05`` is warehouse ``A``,
aisle 3, level 2, position 5 (requirement A5 of ``workflow.md``).
"""
from dataclasses import dataclass

__all__ = ['LayoutError', 'RackBlock', 'bin_code', 'aisle_code', 'plan_block']


class LayoutError(ValueError):
    """An invalid layout parameter.

    ``field`` names it, ``value`` holds it, ``code`` says what is wrong:
    ``empty``, ``dash``, ``positive`` or ``maximum`` (then ``limit`` is the
    largest value allowed)."""

    REASONS = {
        'empty': "must not be empty",
        'dash': "must not contain '-'",
        'positive': "must be positive",
        'maximum': "must be at most {limit}",
        }

    def __init__(self, field, value, code, limit=None):
        self.field = field
        self.value = value
        self.code = code
        self.limit = limit
        reason = self.REASONS[code].format(limit=limit)
        super().__init__(f"{field}={value!r}: {reason}")


def aisle_code(prefix, aisle):
    """Return the code of an aisle.

    >>> aisle_code('A', 3)
    'A-03'
    """
    return f"{prefix}-{aisle:02d}"


def bin_code(prefix, aisle, level, position):
    """Return the readable code of a bin.

    >>> bin_code('A', 3, 2, 5)
    'A-03-2-05'
    """
    return f"{aisle_code(prefix, aisle)}-{level}-{position:02d}"


@dataclass(frozen=True)
class RackBlock:
    """A block of racks: ``aisles`` aisles starting at ``first_aisle``, each
    with ``positions`` positions along the aisle on ``levels`` levels."""
    prefix: str
    first_aisle: int
    aisles: int
    positions: int
    levels: int

    def validate(self):
        """Raise :class:`LayoutError` naming the first bad parameter."""
        if not self.prefix or not self.prefix.strip():
            raise LayoutError('prefix', self.prefix, 'empty')
        if '-' in self.prefix:
            raise LayoutError('prefix', self.prefix, 'dash')
        for name in ('aisles', 'positions', 'levels'):
            value = getattr(self, name)
            if value is None or value <= 0:
                raise LayoutError(name, value, 'positive')
        if self.first_aisle is None or self.first_aisle <= 0:
            raise LayoutError('first_aisle', self.first_aisle, 'positive')
        if self.first_aisle + self.aisles - 1 > 99:
            raise LayoutError(
                'aisles', self.aisles, 'maximum', 100 - self.first_aisle)
        if self.positions > 99:
            raise LayoutError('positions', self.positions, 'maximum', 99)
        if self.levels > 9:
            raise LayoutError('levels', self.levels, 'maximum', 9)


def plan_block(block):
    """Plan the aisles and bins of ``block``.

    Returns a list of ``(aisle_number, aisle_code, bins)`` where ``bins`` is a
    list of ``(code, level, position)`` ordered by level then position.

    Complexity: O(aisles × positions × levels).

    >>> [(a, c, len(b)) for a, c, b in plan_block(RackBlock('A', 1, 2, 3, 2))]
    [(1, 'A-01', 6), (2, 'A-02', 6)]
    >>> plan_block(RackBlock('A', 3, 1, 1, 2))[0][2]
    [('A-03-1-01', 1, 1), ('A-03-2-01', 2, 1)]
    """
    block.validate()
    result = []
    for aisle in range(block.first_aisle, block.first_aisle + block.aisles):
        bins = [
            (bin_code(block.prefix, aisle, level, position), level, position)
            for level in range(1, block.levels + 1)
            for position in range(1, block.positions + 1)]
        result.append((aisle, aisle_code(block.prefix, aisle), bins))
    return result
