"""Pick-path routing in a parallel-aisle warehouse.

Pure Python (no Tryton import) so that it can be unit-tested on its own and
run from the ``inventory-route`` console script.

Geometry
--------
The warehouse has ``A`` parallel vertical aisles; aisle ``i`` is the segment
``x = i * s, 0 <= y <= L``.  Horizontal cross-aisles run at every listed
``y`` (the front one at ``y = 0`` and the back one at ``y = L`` are
mandatory) from ``x = 0`` to ``x = (A - 1) * s``.  The depot is a point
``[x, 0]`` of the front cross-aisle.  The order picker walks only along
aisles and cross-aisles; a pick is a point ``{"id", "aisle", "y"}`` and the
route starts and ends at the depot.

Algorithms
----------
:func:`optimal_route` solves the problem exactly with the dynamic programme
of Ratliff & Rosenthal [1]_ written as a *frontier* (column by column) DP:
a state is an equivalence class of partial tour subgraphs described by the
degree parity of the nodes where the current aisle meets the cross-aisles
and by which of those nodes are already connected.  With two cross-aisles
the reachable classes are exactly the seven classes of [1]_; with three
cross-aisles it is the two-block DP of Roodbergen & de Koster [2]_; with
more cross-aisles the same construction stays exact but the number of
classes grows exponentially with the number of cross-aisles, so beyond
:data:`MAX_DP_CROSS_AISLES` it falls back on the exact shortest-path
distance matrix: Held-Karp [3]_ (exact) for at most
:data:`MAX_HELD_KARP_PICKS` distinct pick spots, otherwise a local search
(2-opt + Or-opt) started from nearest-neighbour tours and from the exact
route of a layout keeping only a few of the cross-aisles, which has no
proven bound.

:func:`s_shape_route` is the traversal (S-shape) heuristic [4]_ used as a
baseline, :func:`distance_of_sequence` the walked distance of any visiting
order.

References
----------
.. [1] H. D. Ratliff and A. S. Rosenthal, "Order-picking in a rectangular
   warehouse: a solvable case of the traveling salesman problem",
   Operations Research 31(3):507-521, 1983.
.. [2] K. J. Roodbergen and R. de Koster, "Routing order pickers in a
   warehouse with a middle aisle", European Journal of Operational
   Research 133(1):32-43, 2001.
.. [3] M. Held and R. M. Karp, "A dynamic programming approach to
   sequencing problems", Journal of the SIAM 10(1):196-210, 1962.
.. [4] R. W. Hall, "Distance approximations for routing manual pickers in a
   warehouse", IIE Transactions 25(4):76-87, 1993.
"""
import bisect
import math
import random
from collections import namedtuple
from collections.abc import Mapping
from functools import lru_cache

__all__ = [
    'LayoutError', 'Layout', 'Pick', 'Route', 'MAX_DP_CROSS_AISLES',
    'MAX_HELD_KARP_PICKS', 'parse_layout', 'parse_picks', 'optimal_route',
    's_shape_route', 'distance_of_sequence', 'distance_matrix']

#: Largest number of cross-aisles for which :func:`optimal_route` uses the
#: exact frontier DP when ``method='auto'``.
MAX_DP_CROSS_AISLES = 5
#: Largest number of distinct pick spots solved by Held-Karp when the DP is
#: not used.
MAX_HELD_KARP_PICKS = 12
#: Number of cross-aisles (front, back and evenly spread middle ones) of the
#: restricted layout whose exact route seeds the local search.
HEURISTIC_DP_CROSS_AISLES = 4

_LAYOUT_FIELDS = (
    'aisles', 'aisle_spacing', 'aisle_length', 'cross_aisles', 'depot')
_PICK_FIELDS = ('id', 'aisle', 'y')
_MISSING = object()


class LayoutError(ValueError):
    """An invalid routing instance.

    ``field`` names the offending field (e.g. ``'picks[2].y'``), ``value``
    holds its value and ``reason`` says what is wrong."""

    def __init__(self, field, value, reason):
        self.field = field
        self.value = value
        self.reason = reason
        if value is _MISSING:
            self.value = None
            message = f"{field}: {reason}"
        else:
            message = f"{field}={value!r}: {reason}"
        super().__init__(message)

    def __reduce__(self):
        return (type(self), (self.field, self.value, self.reason))


class Layout(namedtuple('Layout', [
            'aisles', 'aisle_spacing', 'aisle_length', 'cross_aisles',
            'depot'])):
    """A validated warehouse layout (build it with :func:`parse_layout`).

    ``cross_aisles`` is a sorted tuple, ``depot`` a pair ``(x, 0)``."""
    __slots__ = ()

    @property
    def width(self):
        "x of the last aisle"
        return (self.aisles - 1) * self.aisle_spacing

    def aisle_x(self, aisle):
        "x of aisle ``aisle``"
        return aisle * self.aisle_spacing


Pick = namedtuple('Pick', ['id', 'aisle', 'y'])
Pick.__doc__ = "A pick location: ``y`` along aisle number ``aisle``."

Route = namedtuple('Route', ['sequence', 'distance'])
Route.__doc__ = (
    "A route: ``sequence`` lists the pick ids in visiting order, "
    "``distance`` is the walked distance from the depot back to it.")


# --------------------------------------------------------------------------
# Validation

def _is_number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _number(field, value):
    if not _is_number(value):
        raise LayoutError(field, value, "must be a finite number")
    return value


def _check_fields(field, data, known):
    if not isinstance(data, Mapping):
        raise LayoutError(field, data, "must be an object")
    for key in data:
        if key not in known:
            name = f"{field}.{key}" if field else key
            raise LayoutError(name, data[key], "unknown field")
    for key in known:
        if key not in data:
            name = f"{field}.{key}" if field else key
            raise LayoutError(name, _MISSING, "required field is missing")


def parse_layout(data):
    """Validate a layout given as a mapping and return a :class:`Layout`.

    Parameters
    ----------
    data : mapping or Layout
        ``{"aisles": A, "aisle_spacing": s, "aisle_length": L,
        "cross_aisles": [0, ..., L], "depot": [x, 0]}``; no other key is
        allowed.

    Returns
    -------
    Layout

    Raises
    ------
    LayoutError
        Naming the first invalid field and its value.

    Examples
    --------
    >>> layout = parse_layout({"aisles": 3, "aisle_spacing": 4,
    ...     "aisle_length": 10, "cross_aisles": [10, 0], "depot": [2, 0]})
    >>> layout.cross_aisles, layout.depot
    ((0, 10), (2, 0))
    >>> try:
    ...     parse_layout({"aisles": 3, "aisle_spacing": 4,
    ...         "aisle_length": 10, "cross_aisles": [0], "depot": [2, 0]})
    ... except LayoutError as error:
    ...     print(error.field, error.value)
    ...     print(error.reason)
    layout.cross_aisles [0]
    must include the back cross-aisle at y=aisle_length (10)
    """
    if isinstance(data, Layout):
        data = data._asdict()
    _check_fields('layout', data, _LAYOUT_FIELDS)
    aisles = data['aisles']
    if (not isinstance(aisles, int) or isinstance(aisles, bool)
            or aisles < 1):
        raise LayoutError('layout.aisles', aisles, "must be an integer >= 1")
    spacing = _number('layout.aisle_spacing', data['aisle_spacing'])
    if spacing <= 0:
        raise LayoutError('layout.aisle_spacing', spacing, "must be > 0")
    length = _number('layout.aisle_length', data['aisle_length'])
    if length <= 0:
        raise LayoutError('layout.aisle_length', length, "must be > 0")
    cross = data['cross_aisles']
    if not isinstance(cross, (list, tuple)):
        raise LayoutError('layout.cross_aisles', cross, "must be a list")
    for i, y in enumerate(cross):
        _number(f'layout.cross_aisles[{i}]', y)
        if not 0 <= y <= length:
            raise LayoutError(
                f'layout.cross_aisles[{i}]', y,
                f"must be within 0..aisle_length ({length})")
    if len(set(cross)) != len(cross):
        raise LayoutError(
            'layout.cross_aisles', cross, "must not repeat a value")
    if 0 not in cross:
        raise LayoutError(
            'layout.cross_aisles', cross,
            "must include the front cross-aisle at y=0")
    if length not in cross:
        raise LayoutError(
            'layout.cross_aisles', cross,
            f"must include the back cross-aisle at y=aisle_length "
            f"({length})")
    depot = data['depot']
    if not isinstance(depot, (list, tuple)) or len(depot) != 2:
        raise LayoutError('layout.depot', depot, "must be a pair [x, 0]")
    x = _number('layout.depot[0]', depot[0])
    width = (aisles - 1) * spacing
    if not 0 <= x <= width:
        raise LayoutError(
            'layout.depot[0]', x,
            f"must be within 0..(aisles - 1) * aisle_spacing ({width})")
    if _number('layout.depot[1]', depot[1]) != 0:
        raise LayoutError(
            'layout.depot[1]', depot[1],
            "must be 0 (the depot is on the front cross-aisle)")
    return Layout(
        aisles, spacing, length, tuple(sorted(cross)), (x, depot[1]))


def parse_picks(layout, data):
    """Validate the picks and return a list of :class:`Pick`.

    Parameters
    ----------
    layout : Layout or mapping
    data : iterable of mapping or Pick
        Each ``{"id": id, "aisle": i, "y": y}`` with ``id`` a string or an
        integer, unique, ``0 <= i < aisles`` and ``0 <= y <= aisle_length``;
        no other key is allowed.

    Returns
    -------
    list of Pick

    Raises
    ------
    LayoutError
        Naming the first invalid field (``picks[k].y``...) and its value.

    Examples
    --------
    >>> layout = parse_layout({"aisles": 2, "aisle_spacing": 3,
    ...     "aisle_length": 10, "cross_aisles": [0, 10], "depot": [0, 0]})
    >>> parse_picks(layout, [{"id": "a", "aisle": 1, "y": 4}])
    [Pick(id='a', aisle=1, y=4)]
    >>> try:
    ...     parse_picks(layout, [{"id": "a", "aisle": 2, "y": 4}])
    ... except LayoutError as error:
    ...     print(error.field, error.value)
    picks[0].aisle 2
    """
    layout = parse_layout(layout)
    if isinstance(data, (str, bytes, Mapping)) or not hasattr(
            data, '__iter__'):
        raise LayoutError('picks', data, "must be a list")
    picks, seen = [], set()
    for k, pick in enumerate(data):
        field = f'picks[{k}]'
        if isinstance(pick, Pick):
            pick = pick._asdict()
        _check_fields(field, pick, _PICK_FIELDS)
        id_, aisle, y = pick['id'], pick['aisle'], pick['y']
        if not isinstance(id_, (str, int)) or isinstance(id_, bool):
            raise LayoutError(
                f'{field}.id', id_, "must be a string or an integer")
        if id_ in seen:
            raise LayoutError(f'{field}.id', id_, "is not unique")
        seen.add(id_)
        if (not isinstance(aisle, int) or isinstance(aisle, bool)
                or not 0 <= aisle < layout.aisles):
            raise LayoutError(
                f'{field}.aisle', aisle,
                f"must be an integer within 0..{layout.aisles - 1}")
        _number(f'{field}.y', y)
        if not 0 <= y <= layout.aisle_length:
            raise LayoutError(
                f'{field}.y', y,
                f"must be within 0..aisle_length ({layout.aisle_length})")
        picks.append(Pick(id_, aisle, y))
    return picks


# --------------------------------------------------------------------------
# Distances

def _vertical_detour(cross, y1, y2):
    # Shortest vertical walk from y1 to y2 through a cross-aisle.
    lo, hi = (y1, y2) if y1 <= y2 else (y2, y1)
    i = bisect.bisect_left(cross, lo)
    if i < len(cross) and cross[i] <= hi:
        return hi - lo
    best = math.inf
    if i > 0:
        best = (lo - cross[i - 1]) + (hi - cross[i - 1])
    if i < len(cross):
        best = min(best, (cross[i] - lo) + (cross[i] - hi))
    return best


def _point_distance(cross, p, q):
    # p and q are (x, y) points on aisles, or the depot.  Walking from one
    # aisle to another one must use some cross-aisle c; the cheapest costs
    # |x1 - x2| + |y1 - c| + |c - y2| and detours through other aisles
    # never help (triangle inequality).
    if p[0] == q[0]:
        return abs(p[1] - q[1])
    return abs(p[0] - q[0]) + _vertical_detour(cross, p[1], q[1])


def _prepare(layout, picks):
    layout = parse_layout(layout)
    picks = parse_picks(layout, picks)
    return layout, picks


def distance_matrix(layout, picks):
    """Return the shortest walking distances between the depot and picks.

    Parameters
    ----------
    layout : Layout or mapping
    picks : iterable of mapping or Pick

    Returns
    -------
    list of list of float
        ``(n + 1) x (n + 1)`` symmetric matrix; index 0 is the depot and
        index ``k + 1`` the ``k``-th pick.

    Notes
    -----
    ``O(n^2 log C)`` for ``n`` picks and ``C`` cross-aisles.

    Examples
    --------
    >>> layout = {"aisles": 3, "aisle_spacing": 5, "aisle_length": 10,
    ...     "cross_aisles": [0, 10], "depot": [0, 0]}
    >>> distance_matrix(layout, [{"id": "a", "aisle": 2, "y": 8}])
    [[0, 18], [18, 0]]
    """
    layout, picks = _prepare(layout, picks)
    points = [layout.depot] + [
        (layout.aisle_x(p.aisle), p.y) for p in picks]
    cross = layout.cross_aisles
    return [[_point_distance(cross, p, q) for q in points] for p in points]


def _sequence_distance(layout, points):
    cross = layout.cross_aisles
    total, here = 0, layout.depot
    for point in points:
        total += _point_distance(cross, here, point)
        here = point
    return total + _point_distance(cross, here, layout.depot)


def distance_of_sequence(layout, picks, sequence):
    """Return the walked distance of a visiting order.

    The picker walks the shortest path (along aisles and cross-aisles) from
    the depot to the first pick of ``sequence``, then to the next one...,
    and back to the depot.

    Parameters
    ----------
    layout : Layout or mapping
    picks : iterable of mapping or Pick
    sequence : iterable
        Every pick id exactly once.

    Returns
    -------
    float

    Raises
    ------
    LayoutError
        If the instance is invalid or ``sequence`` is not a permutation of
        the pick ids.

    Notes
    -----
    ``O(n log C)`` for ``n`` picks and ``C`` cross-aisles.

    Examples
    --------
    >>> layout = {"aisles": 3, "aisle_spacing": 5, "aisle_length": 10,
    ...     "cross_aisles": [0, 10], "depot": [0, 0]}
    >>> picks = [{"id": "a", "aisle": 0, "y": 9},
    ...     {"id": "b", "aisle": 2, "y": 1}]
    >>> distance_of_sequence(layout, picks, ["a", "b"])
    40
    >>> try:
    ...     distance_of_sequence(layout, picks, ["b"])
    ... except LayoutError as error:
    ...     print(error)
    sequence=['b']: must list every pick id exactly once
    """
    layout, picks = _prepare(layout, picks)
    sequence = list(sequence)
    by_id = {p.id: p for p in picks}
    if (len(sequence) != len(picks)
            or any(not isinstance(i, (str, int)) for i in sequence)
            or set(sequence) != set(by_id)):
        raise LayoutError(
            'sequence', sequence, "must list every pick id exactly once")
    return _sequence_distance(layout, [
            (layout.aisle_x(by_id[i].aisle), by_id[i].y) for i in sequence])


def _route_from_points(layout, picks, point_order):
    # Visit the picks spot by spot in ``point_order``, picks sharing a spot
    # in the given order.
    at = {}
    for pick in picks:
        at.setdefault((layout.aisle_x(pick.aisle), pick.y), []).append(pick)
    sequence, points = [], []
    for point in point_order:
        for pick in at.pop(point, ()):
            sequence.append(pick.id)
            points.append(point)
    if at:  # pragma: no cover - would be a bug of the solver
        raise RuntimeError("routing left picks unvisited")
    return Route(sequence, _sequence_distance(layout, points))


# --------------------------------------------------------------------------
# Frontier dynamic programme (Ratliff & Rosenthal 1983)
#
# Columns are the aisles (plus the depot when it lies between two aisles).
# Column j has one node per cross-aisle (its "frontier").  A state is
# ``labels + parities``: labels[i] is 0 if node i is not in the partial tour
# subgraph yet, else the (canonical) number of its connected component;
# parities[i] is its degree parity.  Every component of a partial subgraph
# touches the frontier, except in the final state _CLOSED.  The state with
# every label 0 is the empty subgraph.
#
# A column is processed one sub-aisle at a time (its configuration, see
# _segment_options), merging the intermediate states and keeping the
# cheapest, then all its cross-aisle edges to the next column at once (0, 1
# or 2 copies each; the valid moves of a state are cached).  The number of
# states grows exponentially with the number of cross-aisles; the caches are
# bounded so that a long-running server does not grow without limit.

_NONE, _FULL1, _FULL2, _GAP, _TOP, _BOT = range(6)
_CLOSED = 'closed'


def _canonical(labels, parities):
    mapping, out = {}, []
    for label in labels:
        if label:
            label = mapping.setdefault(label, len(mapping) + 1)
        out.append(label)
    return tuple(out) + tuple(parities)


@lru_cache(maxsize=1 << 16)
def _vertical(state, segment, kind):
    # Add the edges of configuration ``kind`` to sub-aisle ``segment`` (from
    # node ``segment`` to node ``segment + 1``) of the current column.
    if state == _CLOSED:
        return _CLOSED if kind == _NONE else None
    if kind == _NONE:
        return state
    k = len(state) // 2
    labels, parities = list(state[:k]), list(state[k:])
    lo, hi = segment, segment + 1
    fresh = max(labels) + 1
    touched = {
        _FULL1: (lo, hi), _FULL2: (lo, hi), _GAP: (lo, hi),
        _TOP: (hi,), _BOT: (lo,)}[kind]
    for node in touched:
        if not labels[node]:
            labels[node] = fresh
            fresh += 1
    if kind == _FULL1:
        parities[lo] ^= 1
        parities[hi] ^= 1
    if kind in (_FULL1, _FULL2) and labels[lo] != labels[hi]:
        old, new = labels[hi], labels[lo]
        labels = [new if label == old else label for label in labels]
    return _canonical(labels, parities)


def _horizontal(state, crossing, required):
    # Add ``crossing[i]`` copies of the cross-aisle edge from node i of the
    # current column to node i of the next one.  The current nodes are then
    # final: they must have an even degree and the required ones (a pick or
    # the depot lies on them) must be in the subgraph.
    if state == _CLOSED:
        return _CLOSED if not any(crossing) and not required else None
    k = len(crossing)
    labels, parities = list(state[:k]), list(state[k:])
    fresh = max(labels) + 1
    components = set()
    for i, copies in enumerate(crossing):
        if copies:
            if not labels[i]:
                labels[i] = fresh
                fresh += 1
            parities[i] ^= copies & 1
        if labels[i]:
            if parities[i]:
                return None
            components.add(labels[i])
        elif required >> i & 1:
            return None
    following = [labels[i] if copies else 0
        for i, copies in enumerate(crossing)]
    if not components:
        return state  # still empty
    if components.difference(following):
        # A component is cut off: only valid if it is the whole tour.
        if any(following) or len(components) != 1:
            return None
        return _CLOSED
    return _canonical(following, [copies & 1 for copies in crossing])


@lru_cache(maxsize=1 << 16)
def _horizontal_moves(state, required, k, last):
    # The valid (next state, crossing, total copies) from ``state``.  A node
    # of odd degree takes one copy, any other node 0 or 2 (2 if it is
    # required and not in the subgraph yet).
    if last or state == _CLOSED:
        crossings = [(0,) * k]
    else:
        crossings = [()]
        for i in range(k):
            if state[k + i]:
                choices = (1,)
            elif not state[i] and required >> i & 1:
                choices = (2,)
            else:
                choices = (0, 2)
            crossings = [c + (n,) for c in crossings for n in choices]
    moves = []
    for crossing in crossings:
        following = _horizontal(state, crossing, required)
        if following is not None:
            moves.append((following, crossing, sum(crossing)))
    return tuple(moves)


def _segment_options(lo, hi, ys):
    # The six configurations of a sub-aisle holding picks at ``ys`` (sorted,
    # distinct, strictly between lo and hi) in Ratliff & Rosenthal [1]:
    # traversed once, traversed twice, entered from both ends leaving the
    # largest gap, entered from the top or from the bottom only, untouched.
    if not ys:
        return ((_NONE, 0), (_FULL1, hi - lo), (_FULL2, 2 * (hi - lo)))
    options = [
        (_FULL1, hi - lo), (_FULL2, 2 * (hi - lo)),
        (_TOP, 2 * (hi - ys[0])), (_BOT, 2 * (ys[-1] - lo))]
    if len(ys) > 1:
        g = _largest_gap(ys)
        options.append((_GAP, 2 * (ys[g] - lo) + 2 * (hi - ys[g + 1])))
    return tuple(options)


def _largest_gap(ys):
    return max(range(len(ys) - 1), key=lambda i: ys[i + 1] - ys[i])


def _columns(layout, picks):
    # Return the columns (x, is_aisle, interior ys per sub-aisle, required
    # node bit mask) between the leftmost and rightmost required ones: an
    # optimal tour never goes beyond them.
    cross = layout.cross_aisles
    k = len(cross)
    depot_x = layout.depot[0]
    by_aisle = {}
    for pick in picks:
        by_aisle.setdefault(pick.aisle, []).append(pick.y)
    xs = [layout.aisle_x(a) for a in by_aisle] + [depot_x]
    left, right = min(xs), max(xs)
    columns = []
    for aisle in range(layout.aisles):
        x = layout.aisle_x(aisle)
        if left <= x <= right:
            columns.append([x, True, [set() for _ in range(k - 1)], 0])
    if not any(c[0] == depot_x for c in columns):
        columns.append([depot_x, False, [set() for _ in range(k - 1)], 0])
        columns.sort(key=lambda c: c[0])
    index = {c[0]: c for c in columns}
    index[depot_x][3] |= 1
    for aisle, ys in by_aisle.items():
        column = index[layout.aisle_x(aisle)]
        for y in ys:
            i = bisect.bisect_left(cross, y)
            if cross[i] == y:
                column[3] |= 1 << i
            else:
                column[2][i - 1].add(y)
    return [(x, real, [sorted(s) for s in segments], required)
        for x, real, segments, required in columns]


def _dp_tour(layout, picks):
    # Return (length, edges) of an optimal tour subgraph; edges is a list of
    # ((x1, y1), (x2, y2), copies).
    cross = layout.cross_aisles
    k = len(cross)
    columns = _columns(layout, picks)
    options = [[
            _segment_options(cross[s], cross[s + 1], segments[s]) if real
            else ((_NONE, 0),)
            for s in range(k - 1)]
        for x, real, segments, required in columns]
    # Branch and bound (only worth it with middle cross-aisles): the
    # single-block optimum is a feasible tour, and a partial tour still has
    # to reach the last column and come back and to enter every sub-aisle
    # holding picks on its right.
    bound, ahead = math.inf, [0] * (len(columns) + 1)
    if k > 2:
        bound = _dp_tour(layout._replace(
                cross_aisles=(cross[0], cross[-1])), picks)[0]
        bound += 1e-9 * (1 + abs(bound))
        for j in range(len(columns) - 1, -1, -1):
            ahead[j] = ahead[j + 1] + sum(
                min(cost for _, cost in opts) for opts in options[j])
    x_last = columns[-1][0]
    empty = (0,) * (2 * k)
    layer = {empty: 0}
    history = []
    for j, (x, real, segments, required) in enumerate(columns):
        last = j == len(columns) - 1
        # partial: state -> (cost, state at the column start, configurations)
        partial = {state: (cost, state, ()) for state, cost in layer.items()}
        for s in range(k - 1):
            limit = bound - 2 * (x_last - x) - ahead[j + 1] - sum(
                min(cost for _, cost in opts) for opts in options[j][s + 1:])
            extended = {}
            for state, (cost, origin, kinds) in partial.items():
                for kind, extra in options[j][s]:
                    new = _vertical(state, s, kind)
                    if new is None:
                        continue
                    total = cost + extra
                    if total > limit:
                        continue
                    best = extended.get(new)
                    if best is None or total < best[0]:
                        extended[new] = (total, origin, kinds + (kind,))
            partial = extended
        step = 0 if last else columns[j + 1][0] - x
        limit = bound - 2 * (x_last - x - step) - ahead[j + 1]
        layer, back = {}, {}
        for state, (cost, origin, kinds) in partial.items():
            for new, crossing, copies in _horizontal_moves(
                    state, required, k, last):
                total = cost + copies * step
                if total > limit:
                    continue
                best = layer.get(new)
                if best is None or total < best:
                    layer[new] = total
                    back[new] = (origin, kinds, crossing)
        history.append(back)
    if _CLOSED not in layer:  # pragma: no cover - would be a bug
        raise RuntimeError("no closed tour found")
    # Walk back and materialise the edges.
    edges = []
    state = _CLOSED
    for j in range(len(columns) - 1, -1, -1):
        origin, kinds, crossing = history[j][state]
        x, real, segments, required = columns[j]
        for s, kind in enumerate(kinds):
            if kind == _NONE:
                continue
            ys = [cross[s]] + segments[s] + [cross[s + 1]]
            copies = [{_FULL1: 1}.get(kind, 2)] * (len(ys) - 1)
            if kind == _TOP:
                copies[0] = 0
            elif kind == _BOT:
                copies[-1] = 0
            elif kind == _GAP:
                copies[_largest_gap(segments[s]) + 1] = 0
            for a, b, n in zip(ys, ys[1:], copies):
                if n:
                    edges.append(((x, a), (x, b), n))
        for i, n in enumerate(crossing):
            if n:
                edges.append(((x, cross[i]), (columns[j + 1][0], cross[i]), n))
        state = origin
    return layer[_CLOSED], edges


def _euler_order(start, edges):
    # Hierholzer: the nodes of an Euler circuit of the multigraph, from
    # ``start``; returns the distinct nodes in order of first visit.
    adjacency, ends = {}, []
    for a, b, n in edges:
        for _ in range(n):
            adjacency.setdefault(a, []).append(len(ends))
            adjacency.setdefault(b, []).append(len(ends))
            ends.append((a, b))
    used = [False] * len(ends)
    cursor = dict.fromkeys(adjacency, 0)
    stack, circuit = [start], []
    while stack:
        node = stack[-1]
        incident = adjacency.get(node, ())
        i = cursor.get(node, 0)
        while i < len(incident) and used[incident[i]]:
            i += 1
        cursor[node] = i
        if i == len(incident):
            circuit.append(stack.pop())
        else:
            used[incident[i]] = True
            a, b = ends[incident[i]]
            stack.append(b if a == node else a)
    circuit.reverse()
    return list(dict.fromkeys(circuit))


# --------------------------------------------------------------------------
# Distance-matrix TSP (layouts with many cross-aisles)

def _held_karp(dist):
    # Exact TSP over nodes 0..m (0 is the depot); returns the order of 1..m.
    m = len(dist) - 1
    full = (1 << m) - 1
    inf = math.inf
    cost = [[inf] * m for _ in range(1 << m)]
    parent = [[-1] * m for _ in range(1 << m)]
    for j in range(m):
        cost[1 << j][j] = dist[0][j + 1]
    for mask in range(1, full + 1):
        row = cost[mask]
        for j in range(m):
            here = row[j]
            if here == inf or not mask >> j & 1:
                continue
            dj = dist[j + 1]
            for t in range(m):
                if mask >> t & 1:
                    continue
                nmask = mask | 1 << t
                total = here + dj[t + 1]
                if total < cost[nmask][t]:
                    cost[nmask][t] = total
                    parent[nmask][t] = j
    last = min(range(m), key=lambda j: cost[full][j] + dist[j + 1][0])
    order, mask = [], full
    while last >= 0:
        order.append(last + 1)
        last, mask = parent[mask][last], mask & ~(1 << last)
    order.reverse()
    return order


def _tour_length(dist, tour):
    return sum(dist[a][b] for a, b in zip(tour, tour[1:] + tour[:1]))


def _local_search(dist, tour):
    # 2-opt and Or-opt (moving chains of 1..3 nodes) on a closed tour until
    # no improving move is left (by more than a rounding error).
    n = len(tour)
    eps = 1e-9 * max(1, max(max(row) for row in dist))
    improved = True
    while improved:
        improved = False
        for i in range(n - 1):
            a, b = tour[i], tour[i + 1]
            dab = dist[a][b]
            for j in range(i + 2, n if i else n - 1):
                c, d = tour[j], tour[(j + 1) % n]
                delta = dist[a][c] + dist[b][d] - dab - dist[c][d]
                if delta < -eps:
                    tour[i + 1:j + 1] = reversed(tour[i + 1:j + 1])
                    a, b = tour[i], tour[i + 1]
                    dab = dist[a][b]
                    improved = True
        for length in (1, 2, 3):
            i = 0
            while i < n:
                if i + length > n:
                    break
                chain = tour[i:i + length]
                p, q = tour[i - 1], tour[(i + length) % n]
                if (i + length) % n == i or len(set(chain)) < length:
                    i += 1
                    continue
                gain = (dist[p][chain[0]] + dist[chain[-1]][q] - dist[p][q])
                rest = tour[:i] + tour[i + length:]
                best, where, flip = eps, None, False
                for t in range(len(rest)):
                    u, v = rest[t - 1], rest[t]
                    base = dist[u][v]
                    for rev in (False, True):
                        first, end = ((chain[-1], chain[0]) if rev
                            else (chain[0], chain[-1]))
                        saving = gain - (
                            dist[u][first] + dist[end][v] - base)
                        if saving > best:
                            best, where, flip = saving, t, rev
                if where is not None:
                    if flip:
                        chain.reverse()
                    tour[:] = rest[:where] + chain + rest[where:]
                    improved = True
                i += 1
    return tour


def _heuristic_tsp(dist, tours=(), starts=8, seed=0):
    # Local search from the given tours and from nearest-neighbour tours
    # built from several starting nodes; the best tour, rotated to begin at
    # the depot (node 0), without it.
    m = len(dist)
    rng = random.Random(seed)
    firsts = [0] + rng.sample(range(1, m), min(starts - 1, m - 1))
    candidates = [list(t) for t in tours]
    for first in firsts:
        tour, left = [first], set(range(m)) - {first}
        while left:
            here = dist[tour[-1]]
            nxt = min(left, key=lambda v: (here[v], v))
            tour.append(nxt)
            left.remove(nxt)
        candidates.append(tour)
    best = None
    for tour in candidates:
        tour = _local_search(dist, tour)
        length = _tour_length(dist, tour)
        if best is None or length < best[0] - 1e-12:
            best = (length, tour)
    tour = best[1]
    i = tour.index(0)
    return tour[i + 1:] + tour[:i]


def _restricted_dp_order(layout, picks, spots):
    # The optimal order of the spots when only the front, back and a few
    # evenly spread middle cross-aisles are used: a feasible start for the
    # local search (node indices, depot first).
    cross = layout.cross_aisles
    keep = HEURISTIC_DP_CROSS_AISLES - 2
    middle = cross[1:-1]
    chosen = [middle[round((i + 1) * (len(middle) + 1) / (keep + 1)) - 1]
        for i in range(keep)]
    sub = layout._replace(
        cross_aisles=tuple(sorted({cross[0], cross[-1], *chosen})))
    index = {spot: i + 1 for i, spot in enumerate(spots)}
    order = _euler_order(layout.depot, _dp_tour(sub, picks)[1])
    return list(dict.fromkeys(
            [0] + [index[p] for p in order if p in index]))


def _matrix_route(layout, picks, method):
    spots = list(dict.fromkeys(
            (layout.aisle_x(p.aisle), p.y) for p in picks))
    points = [layout.depot] + spots
    cross = layout.cross_aisles
    dist = [[_point_distance(cross, p, q) for q in points] for p in points]
    if method == 'held-karp' or (
            method == 'auto' and len(spots) <= MAX_HELD_KARP_PICKS):
        order = _held_karp(dist)
    else:
        tours = []
        if len(cross) > HEURISTIC_DP_CROSS_AISLES:
            tours.append(_restricted_dp_order(layout, picks, spots))
        order = _heuristic_tsp(
            dist, tours, starts=8 if len(spots) <= 100 else 3)
    return _route_from_points(layout, picks, [points[i] for i in order])


# --------------------------------------------------------------------------
# Public routing functions

def optimal_route(layout, picks, method='auto'):
    """Return the visiting order of the picks with the shortest walk.

    Parameters
    ----------
    layout : Layout or mapping
        See :func:`parse_layout`.
    picks : iterable of mapping or Pick
        See :func:`parse_picks`.  Several picks may share a spot.
    method : {'auto', 'dp', 'held-karp', 'heuristic'}
        ``'dp'``: the exact frontier DP of Ratliff & Rosenthal [1]_ (and
        Roodbergen & de Koster [2]_ for a middle cross-aisle), exponential in
        the number of cross-aisles but linear in the number of aisles.
        ``'held-karp'``: exact DP on the distance matrix [3]_, exponential in
        the number of distinct pick spots.  ``'heuristic'``: 2-opt +
        Or-opt local search on the distance matrix, started from nearest
        neighbour tours (8 starts, 3 beyond 100 spots) and, with more than
        :data:`HEURISTIC_DP_CROSS_AISLES` cross-aisles, from the exact
        route of the layout reduced to that many cross-aisles.
        ``'auto'`` uses ``'dp'`` up to :data:`MAX_DP_CROSS_AISLES`
        cross-aisles, else ``'held-karp'`` up to
        :data:`MAX_HELD_KARP_PICKS` distinct spots, else ``'heuristic'``.

    Returns
    -------
    Route
        ``sequence``: the pick ids in visiting order; ``distance``: the
        walked distance, equal to ``distance_of_sequence(layout, picks,
        sequence)``.

    Raises
    ------
    LayoutError
        If the instance is invalid.

    Notes
    -----
    Guarantee: with ``'auto'`` the route is exactly optimal for every
    layout with at most :data:`MAX_DP_CROSS_AISLES` cross-aisles (so for
    single-block warehouses and warehouses with up to three middle
    cross-aisles) and for any layout with at most
    :data:`MAX_HELD_KARP_PICKS` distinct pick spots.  Beyond both, the
    local search gives no proven bound (on random instances with 4 or 5
    middle cross-aisles and 30 to 200 picks it was 0.1 % to 1.5 % above
    the optimum on average, 3 % at worst).

    Complexity of ``'dp'``: ``O(n log n + A * S * (6 (C - 1) + 2^C))``
    for ``n`` picks, ``A`` aisles and ``C`` cross-aisles, ``S`` being the
    number of equivalence classes of partial tours (7 for ``C = 2`` as in
    [1]_, growing exponentially with ``C``).  In practice, for 20 aisles:
    about 1 ms for ``C = 2`` and up to 200 picks, a few ms for ``C = 3``,
    tens of ms for ``C = 4``, 0.1 to 0.3 s for ``C = 5``.  The visiting
    order is read from an Euler circuit of the optimal tour subgraph, and
    picks sharing a spot are visited one after the other.

    References
    ----------
    .. [1] H. D. Ratliff and A. S. Rosenthal, "Order-picking in a
       rectangular warehouse: a solvable case of the traveling salesman
       problem", Operations Research 31(3):507-521, 1983.
    .. [2] K. J. Roodbergen and R. de Koster, "Routing order pickers in a
       warehouse with a middle aisle", European Journal of Operational
       Research 133(1):32-43, 2001.
    .. [3] M. Held and R. M. Karp, "A dynamic programming approach to
       sequencing problems", Journal of the SIAM 10(1):196-210, 1962.

    Examples
    --------
    >>> layout = {"aisles": 3, "aisle_spacing": 5, "aisle_length": 10,
    ...     "cross_aisles": [0, 10], "depot": [0, 0]}
    >>> picks = [{"id": "a", "aisle": 0, "y": 2},
    ...     {"id": "b", "aisle": 2, "y": 1},
    ...     {"id": "c", "aisle": 1, "y": 2}]
    >>> optimal_route(layout, picks)
    Route(sequence=['a', 'c', 'b'], distance=30)
    >>> s_shape_route(layout, picks).distance
    42

    Same-spot picks cost nothing:

    >>> optimal_route(layout, [{"id": 1, "aisle": 1, "y": 3},
    ...     {"id": 2, "aisle": 1, "y": 3}])
    Route(sequence=[1, 2], distance=16)
    """
    layout, picks = _prepare(layout, picks)
    if method not in ('auto', 'dp', 'held-karp', 'heuristic'):
        raise LayoutError('method', method, "unknown routing method")
    if not picks:
        return Route([], 0)
    depot = layout.depot
    if all((layout.aisle_x(p.aisle), p.y) == depot for p in picks):
        return Route([p.id for p in picks], 0)
    if method == 'dp' or (
            method == 'auto'
            and len(layout.cross_aisles) <= MAX_DP_CROSS_AISLES):
        _, edges = _dp_tour(layout, picks)
        return _route_from_points(
            layout, picks, _euler_order(depot, edges))
    return _matrix_route(layout, picks, method)


def s_shape_route(layout, picks):
    """Return the route of the S-shape (traversal) heuristic.

    From the depot the picker walks along the front cross-aisle to the
    leftmost aisle holding picks and traverses every aisle holding picks
    entirely, alternating up and down; when that number of aisles is odd,
    the last one is entered from the front only up to its farthest pick.
    He then walks back to the depot along the front cross-aisle.  Middle
    cross-aisles are not used.

    Parameters
    ----------
    layout : Layout or mapping
    picks : iterable of mapping or Pick

    Returns
    -------
    Route
        ``distance`` is the length of the S-shape walk itself, which is at
        least ``distance_of_sequence(layout, picks, sequence)`` (walking the
        same order by shortest paths) and at least the optimal distance.

    Raises
    ------
    LayoutError
        If the instance is invalid.

    Notes
    -----
    ``O(n log n)``.  See Hall [1]_ and Petersen, "An evaluation of order
    picking routeing policies", IJOPM 17(11), 1997.

    References
    ----------
    .. [1] R. W. Hall, "Distance approximations for routing manual pickers
       in a warehouse", IIE Transactions 25(4):76-87, 1993.

    Examples
    --------
    >>> layout = {"aisles": 3, "aisle_spacing": 5, "aisle_length": 10,
    ...     "cross_aisles": [0, 10], "depot": [0, 0]}
    >>> picks = [{"id": "a", "aisle": 0, "y": 2},
    ...     {"id": "b", "aisle": 2, "y": 1},
    ...     {"id": "c", "aisle": 1, "y": 2}]
    >>> s_shape_route(layout, picks)
    Route(sequence=['a', 'c', 'b'], distance=42)
    >>> optimal_route(layout, picks).distance
    30
    """
    layout, picks = _prepare(layout, picks)
    if not picks:
        return Route([], 0)
    by_aisle = {}
    for pick in picks:
        by_aisle.setdefault(pick.aisle, []).append(pick)
    aisles = sorted(by_aisle)
    depot_x, length = layout.depot[0], layout.aisle_length
    sequence = []
    for n, aisle in enumerate(aisles):
        up = n % 2 == 0
        ordered = sorted(by_aisle[aisle], key=lambda p: p.y, reverse=not up)
        sequence.extend(p.id for p in ordered)
    first, last = layout.aisle_x(aisles[0]), layout.aisle_x(aisles[-1])
    distance = abs(depot_x - first) + (last - first) + abs(last - depot_x)
    if len(aisles) % 2:
        distance += (len(aisles) - 1) * length
        distance += 2 * max(p.y for p in by_aisle[aisles[-1]])
    else:
        distance += len(aisles) * length
    return Route(sequence, distance)
