"""From bin coordinates to the routing geometry (C3).

Pure Python (no Tryton import).  A bin of the warehouse layout (A5) has an
``aisle`` number and a ``position`` along the aisle counted from the front
cross-aisle; :mod:`routing` works on aisle indexes ``0 … A-1`` spaced
``aisle_spacing`` metres apart and on the distance ``y`` from the front
cross-aisle.  The warehouse form holds the figures:

* ``first_aisle``: the aisle number at ``x = 0`` (default: the lowest
  aisle number of the bins);
* ``aisle_spacing``: metres between the centre lines of two aisles;
* ``bin_width``: metres of aisle per position, so position ``p`` is at
  ``y = (p - 0.5) * bin_width``;
* ``aisle_length``: metres from the front to the back cross-aisle
  (default: the last position times ``bin_width``);
* ``cross_aisles``: the metres of the middle cross-aisles (the front one
  at 0 and the back one at ``aisle_length`` are always there);
* ``depot_x``: metres of the depot along the front cross-aisle.

>>> geometry = Geometry(aisle_spacing=3, bin_width=1, depot_x=0)
>>> layout, spot = warehouse_layout(geometry, [(1, 10), (6, 4)])
>>> layout == {'aisles': 6, 'aisle_spacing': 3, 'aisle_length': 10,
...     'cross_aisles': [0, 10], 'depot': [0, 0]}
True
>>> spot(3, 2)
(2, 1.5)
"""
from dataclasses import dataclass
from typing import Optional

__all__ = ['GeometryError', 'Geometry', 'parse_cross_aisles',
    'warehouse_layout']


class GeometryError(ValueError):
    "An invalid geometry figure: ``field``, ``value`` and ``reason``"

    def __init__(self, field, value, reason):
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}={value!r}: {reason}")

    def __reduce__(self):
        return type(self), (self.field, self.value, self.reason)


@dataclass(frozen=True)
class Geometry:
    aisle_spacing: float = 3.0
    bin_width: float = 1.0
    aisle_length: Optional[float] = None
    cross_aisles: tuple = ()
    depot_x: float = 0.0
    first_aisle: Optional[int] = None


def parse_cross_aisles(text):
    """Return the metres of the middle cross-aisles written in ``text``
    (numbers separated by commas or spaces).

    >>> parse_cross_aisles('12, 24.5')
    (12.0, 24.5)
    >>> parse_cross_aisles('')
    ()
    """
    values = []
    for part in (text or '').replace(',', ' ').split():
        try:
            values.append(float(part))
        except ValueError:
            raise GeometryError('cross_aisles', text, "is not a number")
    return tuple(values)


def warehouse_layout(geometry, bins):
    """Return ``(layout, spot)``: the :mod:`routing` layout of the bins
    and the function mapping a bin's ``(aisle, position)`` to its
    ``(aisle index, y)``.

    ``bins`` is an iterable of ``(aisle, position)`` of the bins that may
    be picked from.  Raises :class:`GeometryError` naming the first bad
    figure (non-positive spacing or width, a bin beyond the aisle length or
    before the first aisle, a cross-aisle outside the aisles, a depot
    beyond the last aisle).
    """
    for name in ('aisle_spacing', 'bin_width'):
        value = getattr(geometry, name)
        if value is None or value <= 0:
            raise GeometryError(name, value, "must be positive")
    bins = [(a, p) for a, p in bins if a is not None and p is not None]
    aisles = [a for a, _ in bins] or [geometry.first_aisle or 1]
    first = geometry.first_aisle
    if first is None:
        first = min(aisles)
    if min(aisles) < first:
        raise GeometryError('first_aisle', first,
            f"is after the aisle {min(aisles)} of a bin")
    width = geometry.bin_width
    last_position = max([p for _, p in bins] or [1])
    length = geometry.aisle_length
    if length is None:
        length = last_position * width
    if length <= 0:
        raise GeometryError('aisle_length', length, "must be positive")
    if (last_position - 0.5) * width > length:
        raise GeometryError('aisle_length', length,
            f"is shorter than position {last_position}")
    count = max(aisles) - first + 1
    middle = sorted(set(geometry.cross_aisles or ()))
    for value in middle:
        if not 0 < value < length:
            raise GeometryError('cross_aisles', value,
                f"must be between 0 and {length}")
    depot = geometry.depot_x or 0
    if not 0 <= depot <= (count - 1) * geometry.aisle_spacing:
        raise GeometryError('depot_x', depot,
            f"must be between 0 and {(count - 1) * geometry.aisle_spacing}")

    def number(value):
        return int(value) if float(value).is_integer() else value

    layout = {
        'aisles': count,
        'aisle_spacing': number(geometry.aisle_spacing),
        'aisle_length': number(length),
        'cross_aisles': [0] + [number(v) for v in middle] + [number(length)],
        'depot': [number(depot), 0],
        }

    def spot(aisle, position):
        return (aisle - first, (position - 0.5) * width)
    return layout, spot
