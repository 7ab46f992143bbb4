"""Order batching for one picker and cart, and wave cutting (C3).

Pure Python (no Tryton import) so that it can be unit-tested on its own; the
wave model gathers the reserved shipments of a wave in a few queries, calls
:func:`plan_batches` and writes the batches and their pick tasks in one
batch.

Problem
-------
A wave holds orders; each order is a list of pick *spots* ``(aisle, y)`` in
the geometry of :mod:`routing` (one spot per pick task) and needs ``totes``
totes, ``volume`` and ``weight`` on the cart.  A *batch* is a set of orders
picked on one tour by one picker with one cart: the totes, volume, weight,
number of orders and number of lines of its orders must not exceed the
cart's :class:`Capacity`.  Every order goes in exactly one batch.  The goal
is a small total walking distance over all batches, each batch walked on
its optimal route (:func:`routing.optimal_route`).

Algorithms
----------
:func:`savings_batches` is the savings heuristic of Clarke & Wright [1]_ as
adapted to order batching by de Koster, van der Poort & Wolters [2]_
(their CW(i) followed by a CW(ii)-like pass): the *saving* of picking
orders ``i`` and ``j`` on one tour is ``d(i) + d(j) - d(i ∪ j)``, ``d``
being a route distance; the pairs are merged in decreasing order of saving
while the cart has room, then the remaining batches are merged pairwise by
their own savings.  ``d`` is :func:`largest_gap_distance` by default: the
largest-gap route of Hall [3]_, a close upper estimate of the optimal
route that costs ``O(picks)`` instead of a dynamic programme, so the
``O(n²)`` savings of a wave stay cheap.

:func:`fcfs_batches` is the first-come-first-served baseline (next fit in
the order given), walked with the S-shape heuristic (:func:`routing.
s_shape_route`) as most paper-based sites do; :func:`plan_batches` returns
both and the walking saved.

:func:`cut_waves` cuts a priority-ordered list of orders into waves of at
most ``max_orders`` orders and ``max_lines`` lines.

References
----------
.. [1] G. Clarke and J. W. Wright, "Scheduling of vehicles from a central
   depot to a number of delivery points", Operations Research
   12(4):568-581, 1964.
.. [2] M. B. M. de Koster, E. S. van der Poort and M. Wolters, "Efficient
   orderbatching methods in warehouses", International Journal of
   Production Research 37(7):1479-1504, 1999.
.. [3] R. W. Hall, "Distance approximations for routing manual pickers in
   a warehouse", IIE Transactions 25(4):76-87, 1993.

>>> layout = {"aisles": 4, "aisle_spacing": 3, "aisle_length": 10,
...     "cross_aisles": [0, 10], "depot": [0, 0]}
>>> orders = [Order(1, ((0, 2),)), Order(2, ((3, 8),)),
...     Order(3, ((0, 4),)), Order(4, ((3, 9),))]
>>> plan = plan_batches(layout, orders, Capacity(totes=2))
>>> [b.orders for b in plan.batches]
[[1, 3], [2, 4]]
>>> plan.fcfs
[[1, 2], [3, 4]]
>>> plan.distance, plan.fcfs_distance, round(plan.saved, 3)
(44, 76, 0.421)
"""
from collections import defaultdict, namedtuple
from dataclasses import dataclass, field
from typing import Hashable, Optional

from . import routing

__all__ = ['BatchingError', 'Order', 'Capacity', 'Batch', 'Plan',
    'fits', 'fcfs_batches', 'savings_batches', 'largest_gap_distance',
    'plan_batches', 'cut_waves', 'cheapest_insertion']


class BatchingError(ValueError):
    """An order that no cart can take, or an invalid capacity.

    ``field`` names the capacity (``totes``, ``volume``, ``weight``,
    ``lines``), ``value`` the order's need, ``limit`` the cart's capacity
    and ``order`` the order id (None for an invalid capacity)."""

    def __init__(self, order, field, value, limit):
        self.order = order
        self.field = field
        self.value = value
        self.limit = limit
        if order is None:
            text = f"capacity {field}={limit!r}: must be positive"
        else:
            text = (f"order {order!r} needs {field}={value!r}, "
                f"more than the cart's {limit!r}")
        super().__init__(text)

    def __reduce__(self):
        return type(self), (self.order, self.field, self.value, self.limit)


@dataclass(frozen=True)
class Order:
    """An order to batch: ``spots`` holds one ``(aisle, y)`` per pick."""
    id: Hashable
    spots: tuple
    totes: int = 1
    volume: float = 0
    weight: float = 0

    @property
    def lines(self):
        return len(self.spots)


@dataclass(frozen=True)
class Capacity:
    """What one cart (one batch) can take; ``None`` is unlimited."""
    totes: int
    volume: Optional[float] = None
    weight: Optional[float] = None
    orders: Optional[int] = None
    lines: Optional[int] = None

    def check(self):
        for name in ('totes', 'volume', 'weight', 'orders', 'lines'):
            limit = getattr(self, name)
            if (name == 'totes' or limit is not None) and not (
                    limit is not None and limit > 0):
                raise BatchingError(None, name, None, limit)


@dataclass
class Batch:
    """A batch: its ``orders`` ids, the ``route`` of its picks (sequence
    of ``(order id, pick index)``) and the route's ``distance``."""
    orders: list
    route: list = field(default_factory=list)
    distance: float = 0


Plan = namedtuple('Plan', [
        'batches', 'distance', 'fcfs', 'fcfs_distance', 'saved'])


_MEASURES = ('totes', 'volume', 'weight', 'lines')


def _load(orders):
    return {
        'totes': sum(o.totes for o in orders),
        'volume': sum(o.volume or 0 for o in orders),
        'weight': sum(o.weight or 0 for o in orders),
        'lines': sum(o.lines for o in orders),
        'orders': len(orders),
        }


def _within(load, capacity):
    for name, value in load.items():
        limit = getattr(capacity, name)
        if limit is not None and value > limit + 1e-9:
            return False
    return True


def fits(orders, capacity):
    """Return whether the orders fit on one cart.

    >>> fits([Order(1, (), totes=2), Order(2, ())], Capacity(totes=3))
    True
    >>> fits([Order(1, (), weight=9)], Capacity(totes=3, weight=8))
    False
    """
    return _within(_load(orders), capacity)


def _check_orders(orders, capacity):
    capacity.check()
    seen = set()
    for order in orders:
        if order.id in seen:
            raise ValueError(f"order {order.id!r} is given twice")
        seen.add(order.id)
        load = _load([order])
        for name in _MEASURES:
            limit = getattr(capacity, name)
            if limit is not None and load[name] > limit + 1e-9:
                raise BatchingError(order.id, name, load[name], limit)


def fcfs_batches(orders, capacity):
    """First come, first served: next fit in the given order.

    Returns a list of batches, each a list of order ids.  Raises
    :class:`BatchingError` if one order alone exceeds the cart.
    Complexity O(n).

    >>> fcfs_batches([Order(i, ((0, 1),)) for i in range(5)],
    ...     Capacity(totes=2))
    [[0, 1], [2, 3], [4]]
    """
    _check_orders(orders, capacity)
    batches, current = [], []
    for order in orders:
        if current and not fits(current + [order], capacity):
            batches.append([o.id for o in current])
            current = []
        current.append(order)
    if current:
        batches.append([o.id for o in current])
    return batches


def largest_gap_distance(layout, spots):
    """Return the largest-gap route distance [3]_ of the spots, or the
    return-route distance when shorter, treating the warehouse as one
    block (middle cross-aisles ignored: an upper estimate there).

    ``layout`` is parsed by :func:`routing.parse_layout`; ``spots`` is an
    iterable of ``(aisle, y)``.  Complexity O(p log p) for p spots.

    >>> layout = {"aisles": 3, "aisle_spacing": 5, "aisle_length": 10,
    ...     "cross_aisles": [0, 10], "depot": [0, 0]}
    >>> largest_gap_distance(layout, [(0, 9), (1, 1), (2, 2)])
    42
    >>> largest_gap_distance(layout, [(1, 3)])
    16
    """
    if not isinstance(layout, routing.Layout):
        layout = routing.parse_layout(layout)
    return _largest_gap(layout, _profile(spots))


def _profile(spots):
    "Return {aisle: sorted ys} of spots"
    profile = defaultdict(set)
    for aisle, y in spots:
        profile[aisle].add(y)
    return {a: sorted(ys) for a, ys in profile.items()}


def _merge(a, b):
    result = dict(a)
    for aisle, ys in b.items():
        if aisle in result:
            result[aisle] = sorted(set(result[aisle]) | set(ys))
        else:
            result[aisle] = ys
    return result


def _largest_gap(layout, profile):
    if not profile:
        return 0
    s, length = layout.aisle_spacing, layout.aisle_length
    depot = layout.depot[0]
    aisles = sorted(profile)
    left = min(aisles[0] * s, depot)
    right = max(aisles[-1] * s, depot)
    horizontal = 2 * (right - left)
    back = sum(2 * max(profile[a]) for a in aisles)
    if len(aisles) == 1:
        return horizontal + back
    gap = 2 * length
    for aisle in aisles[1:-1]:
        points = [0] + profile[aisle] + [length]
        largest = max(b - a for a, b in zip(points, points[1:]))
        gap += 2 * (length - largest)
    return horizontal + min(gap, back)


def savings_batches(orders, capacity, distance):
    """Batch the orders with the savings heuristic [1]_ [2]_.

    ``distance`` maps a profile ``{aisle: sorted ys}`` to a route distance
    (see :func:`plan_batches`).  Returns a list of batches (lists of order
    ids, each in the given order of the orders), ordered by their first
    order.  Raises :class:`BatchingError` if one order alone exceeds the
    cart.  Complexity O(n² (log n + p)) for n orders of p picks.
    """
    _check_orders(orders, capacity)
    n = len(orders)
    index = {o.id: i for i, o in enumerate(orders)}
    profiles = [_profile(o.spots) for o in orders]
    single = [distance(p) for p in profiles]
    # CW(i): savings of the order pairs, computed once
    pairs = []
    for i in range(n):
        for j in range(i + 1, n):
            saving = single[i] + single[j] - distance(
                _merge(profiles[i], profiles[j]))
            if saving > 1e-9:
                pairs.append((-saving, i, j))
    pairs.sort()
    cluster = list(range(n))
    members = {i: [i] for i in range(n)}
    loads = {i: _load([orders[i]]) for i in range(n)}

    def joined(a, b):
        return {k: loads[a][k] + loads[b][k] for k in loads[a]}

    def union(a, b):
        loads[a] = joined(a, b)
        members[a] += members.pop(b)
        del loads[b]
        for k in members[a]:
            cluster[k] = a

    for _, i, j in pairs:
        a, b = cluster[i], cluster[j]
        if a != b and _within(joined(a, b), capacity):
            union(a, b)
    # CW(ii)-like: merge whole batches while that saves walking
    batch_profile = {}
    for a, ks in members.items():
        profile = {}
        for k in ks:
            profile = _merge(profile, profiles[k])
        batch_profile[a] = profile
    batch_distance = {a: distance(p) for a, p in batch_profile.items()}
    while len(members) > 1:
        best = None
        keys = sorted(members)
        for x, a in enumerate(keys):
            for b in keys[x + 1:]:
                if not _within(joined(a, b), capacity):
                    continue
                merged = _merge(batch_profile[a], batch_profile[b])
                saving = (batch_distance[a] + batch_distance[b]
                    - distance(merged))
                if saving > 1e-9 and (best is None or saving > best[0]):
                    best = (saving, a, b, merged)
        if best is None:
            break
        _, a, b, merged = best
        union(a, b)
        del batch_profile[b], batch_distance[b]
        batch_profile[a] = merged
        batch_distance[a] = distance(merged)
    batches = [sorted(ks) for ks in members.values()]
    batches.sort()
    return [[orders[k].id for k in ks] for ks in batches]


def _route(layout, orders, ids, router):
    by_id = {o.id: o for o in orders}
    keys = [(i, k) for i in ids for k in range(len(by_id[i].spots))]
    picks = [{'id': n, 'aisle': by_id[i].spots[k][0],
            'y': by_id[i].spots[k][1]} for n, (i, k) in enumerate(keys)]
    route = router(layout, picks)
    return routing.Route([keys[n] for n in route.sequence], route.distance)


def plan_batches(layout, orders, capacity, distance=None):
    """Batch the orders of a wave and route every batch.

    Parameters
    ----------
    layout : mapping or routing.Layout
        The warehouse geometry (:func:`routing.parse_layout`).
    orders : list of Order
        In first-come order (the baseline batches them in this order).
    capacity : Capacity
        What one cart takes.
    distance : callable, optional
        ``distance(layout, profile)`` estimating the route of a profile
        ``{aisle: sorted ys}``; default the largest-gap estimate.

    Returns
    -------
    Plan
        ``batches``: list of :class:`Batch` (savings batches with their
        optimal routes, a route being a list of ``(order id, pick
        index)``); ``distance``: their total; ``fcfs``: the first-come
        batches; ``fcfs_distance``: their total walked with S-shape
        routes; ``saved``: ``1 - distance / fcfs_distance`` (0 when
        nothing to walk).

    Raises
    ------
    BatchingError
        If an order alone exceeds the cart or the capacity is invalid.
    routing.LayoutError
        If the layout or a spot is invalid.
    """
    if not isinstance(layout, routing.Layout):
        layout = routing.parse_layout(layout)
    estimate = distance or _largest_gap
    batches = []
    for ids in savings_batches(
            orders, capacity, lambda p: estimate(layout, p)):
        route = _route(layout, orders, ids, routing.optimal_route)
        batches.append(Batch(ids, list(route.sequence), route.distance))
    fcfs = fcfs_batches(orders, capacity)
    fcfs_distance = sum(
        _route(layout, orders, ids, routing.s_shape_route).distance
        for ids in fcfs)
    total = sum(b.distance for b in batches)
    saved = 1 - total / fcfs_distance if fcfs_distance else 0
    return Plan(batches, total, fcfs, fcfs_distance, saved)


def cut_waves(orders, max_orders=None, max_lines=None):
    """Cut orders (already in priority order) into waves: consecutive
    groups of at most ``max_orders`` orders and ``max_lines`` lines (an
    order with more lines than ``max_lines`` makes a wave alone).

    >>> cut_waves([Order(i, ((0, 1),) * 2) for i in range(5)],
    ...     max_orders=3, max_lines=4)
    [[0, 1], [2, 3], [4]]
    """
    waves, current, lines = [], [], 0
    for order in orders:
        if current and (
                (max_orders and len(current) >= max_orders)
                or (max_lines and lines + order.lines > max_lines)):
            waves.append(current)
            current, lines = [], 0
        current.append(order.id)
        lines += order.lines
    if current:
        waves.append(current)
    return waves


def cheapest_insertion(layout, path, spot):
    """Return where to insert ``spot`` in the rest of a route.

    ``path`` holds the spots still to walk, starting with the picker's
    position; the walk ends at the depot.  Returns ``i`` such that visiting
    ``spot`` between ``path[i]`` and ``path[i + 1]`` (the depot after the
    last) adds the least distance: the cheapest insertion of Rosenkrantz,
    Stearns & Lewis, "An analysis of several heuristics for the travelling
    salesman problem", SIAM J. Comput. 6(3):563-581, 1977.

    >>> layout = {"aisles": 3, "aisle_spacing": 5, "aisle_length": 10,
    ...     "cross_aisles": [0, 10], "depot": [0, 0]}
    >>> cheapest_insertion(layout, [(0, 2), (2, 2), (2, 8)], (2, 5))
    1
    """
    if not path:
        return 0
    picks = [{'id': n, 'aisle': a, 'y': y}
        for n, (a, y) in enumerate(list(path) + [spot])]
    matrix = routing.distance_matrix(layout, picks)
    new = len(path) + 1
    best, where = None, 0
    for i in range(len(path)):
        u = i + 1
        v = i + 2 if i + 1 < len(path) else 0
        cost = matrix[u][new] + matrix[new][v] - matrix[u][v]
        if best is None or cost < best - 1e-9:
            best, where = cost, i
    return where
