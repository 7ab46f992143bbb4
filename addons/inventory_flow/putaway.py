"""Putaway: which bin should receive a received item (requirement A5).

Pure Python (no Tryton import).  The strategies are data: an ordered list of
names, most important first, taken from ``stock.putaway.strategy`` records.

* ``fixed`` — the product's home bins first;
* ``consolidation`` — bins already holding the same product and lot, then the
  same product (fewer part-filled bins, faster picking);
* ``capacity`` — the bin with the most free volume and weight left after
  the putaway;
* ``abc`` — class A products near the dispatch zone, C products far from it,
  B in between, by walking distance (aisle / position coordinates).

Candidates are ranked lexicographically by the strategies' penalties in
order.  Continuous penalties (capacity, distance) are compared in tenths so
that a later strategy can break near ties of an earlier one; the exact
values and then the bin id break the remaining ties, so the ranking is
deterministic.  This is the "sequential rules" putaway of Frazelle, *World
Class Warehousing and Material Handling* (2002), ch. 6, with the class-based
storage assignment of Hausman, Schwarz & Graves, *Management Science* 22(6),
1976.

Hard rules, whatever the strategies: a bin of another warehouse, a blocked
bin, a quarantine or dispatch bin, or a bin that the item would overflow
(volume or weight) is never proposed; :func:`refusal` names the reason.
"""
from dataclasses import dataclass, field

__all__ = ['STRATEGIES', 'Bin', 'Item', 'Recommendation', 'refusal',
    'walking_distance', 'recommend']

STRATEGIES = ('fixed', 'consolidation', 'capacity', 'abc')
PUTAWAY_ZONES = {'pick', 'reserve'}
BANDS = 10


@dataclass(frozen=True)
class Bin:
    """A candidate bin.

    ``used_volume``/``used_weight`` are what it holds now; a capacity of
    ``None`` is unlimited.  ``contents`` is a set of ``(product, lot)``
    pairs stored in the bin."""
    id: int
    warehouse: int
    zone: str = 'reserve'
    blocked: bool = False
    aisle: int = None
    position: int = None
    level: int = None
    capacity_volume: float = None
    capacity_weight: float = None
    used_volume: float = 0.0
    used_weight: float = 0.0
    contents: frozenset = field(default_factory=frozenset)


@dataclass(frozen=True)
class Item:
    """What to put away: ``quantity`` units of ``product`` (lot ``lot``)
    into ``warehouse``; unit volume (m³) and weight (kg) may be unknown
    (``None``), then that capacity is not checked for the item."""
    product: int
    warehouse: int
    quantity: float
    lot: int = None
    unit_volume: float = None
    unit_weight: float = None
    abc_class: str = None
    home_bins: frozenset = field(default_factory=frozenset)


@dataclass(frozen=True)
class Recommendation:
    "A ranked bin with the penalty each strategy gave it (lower is better)"
    bin: int
    penalties: tuple


def refusal(item, bin_):
    """Return why ``bin_`` cannot receive ``item``, or ``None`` if it can.

    The reason is one of ``warehouse``, ``blocked``, ``quarantine``,
    ``zone``, ``volume``, ``weight``.

    >>> refusal(Item(1, 10, 2), Bin(5, 10, blocked=True))
    'blocked'
    >>> refusal(Item(1, 10, 2, unit_volume=0.5), Bin(5, 10, capacity_volume=1))
    >>> refusal(Item(1, 10, 3, unit_volume=0.5), Bin(5, 10, capacity_volume=1))
    'volume'
    """
    if bin_.warehouse != item.warehouse:
        return 'warehouse'
    if bin_.blocked:
        return 'blocked'
    if bin_.zone == 'quarantine':
        return 'quarantine'
    if bin_.zone not in PUTAWAY_ZONES:
        return 'zone'
    for name, unit, capacity, used in [
            ('volume', item.unit_volume, bin_.capacity_volume,
                bin_.used_volume),
            ('weight', item.unit_weight, bin_.capacity_weight,
                bin_.used_weight)]:
        if capacity is None:
            continue
        needed = (unit or 0) * item.quantity
        if used + needed > capacity + 1e-9 or used >= capacity:
            return name
    return None


def walking_distance(bin_, origin, aisle_pitch=3.0, position_pitch=1.0):
    """Return the walking distance from ``origin`` (an ``(aisle,
    position)`` pair) to ``bin_`` in a parallel-aisle layout with one front
    cross-aisle at position 0: along the aisle when both are in the same
    aisle, otherwise out to the front, across and in again.

    >>> walking_distance(Bin(1, 1, aisle=2, position=5), (2, 1))
    4.0
    >>> walking_distance(Bin(1, 1, aisle=4, position=5), (2, 1))
    12.0
    """
    aisle, position = bin_.aisle or 0, bin_.position or 0
    origin_aisle, origin_position = origin
    if aisle == origin_aisle:
        return abs(position - origin_position) * position_pitch
    return ((position + origin_position) * position_pitch
        + abs(aisle - origin_aisle) * aisle_pitch)


def _free_ratio(item, bin_):
    ratios = []
    for unit, capacity, used in [
            (item.unit_volume, bin_.capacity_volume, bin_.used_volume),
            (item.unit_weight, bin_.capacity_weight, bin_.used_weight)]:
        if capacity:
            ratios.append(
                max(0.0, capacity - used - (unit or 0) * item.quantity)
                / capacity)
    return min(ratios) if ratios else 1.0


def _penalty(strategy, item, bin_, distance, max_distance):
    if strategy == 'fixed':
        return 0.0 if bin_.id in item.home_bins else 1.0
    if strategy == 'consolidation':
        if (item.product, item.lot) in bin_.contents:
            return 0.0
        if any(p == item.product for p, _ in bin_.contents):
            return 0.5
        return 1.0
    if strategy == 'capacity':
        return 1.0 - _free_ratio(item, bin_)
    if strategy == 'abc':
        near = distance / max_distance if max_distance else 0.0
        return {'A': near, 'B': abs(near - 0.5) * 2, 'C': 1.0 - near}.get(
            item.abc_class, 0.0)
    raise ValueError(f"unknown putaway strategy {strategy!r}")


def recommend(item, bins, strategies=STRATEGIES, dispatch=(), limit=None):
    """Rank the bins that may receive ``item``, best first.

    ``bins`` is an iterable of :class:`Bin`; ``strategies`` the ordered
    strategy names; ``dispatch`` the ``(aisle, position)`` points of the
    dispatch area (the distance to the nearest counts; none means the
    front of aisle 1).  Returns a list of :class:`Recommendation`
    (at most ``limit``); bins refused by :func:`refusal` never appear.

    Complexity: O(n·(s + d) + n log n) for n bins, s strategies and d
    dispatch points.

    >>> bins = [Bin(1, 7, aisle=1, position=9), Bin(2, 7, aisle=1, position=1),
    ...     Bin(3, 7, aisle=1, position=2, blocked=True)]
    >>> [r.bin for r in recommend(Item(42, 7, 1, abc_class='A'), bins,
    ...     ['abc'], dispatch=[(1, 0)])]
    [2, 1]
    >>> [r.bin for r in recommend(Item(42, 7, 1, home_bins={1}), bins)]
    [1, 2]
    """
    for strategy in strategies:
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown putaway strategy {strategy!r}")
    origins = list(dispatch) or [(1, 0)]
    candidates = []
    for bin_ in bins:
        if refusal(item, bin_) is None:
            distance = min(walking_distance(bin_, o) for o in origins)
            candidates.append((bin_, distance))
    max_distance = max((d for _, d in candidates), default=0.0)
    ranked = []
    for bin_, distance in candidates:
        penalties = tuple(
            _penalty(s, item, bin_, distance, max_distance)
            for s in strategies)
        banded = tuple(min(int(p * BANDS), BANDS - 1) for p in penalties)
        ranked.append(((banded, penalties, distance, bin_.id),
                Recommendation(bin_.id, penalties)))
    ranked.sort(key=lambda r: r[0])
    result = [r for _, r in ranked]
    return result[:limit] if limit else result
