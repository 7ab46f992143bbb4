"""Unit tests of the pure pick-path routing (no database).

Run alone with::

    python -m unittest discover -s addons/inventory_wave/tests \\
        -p 'test_routing.py'
"""
import doctest
import heapq
import io
import itertools
import json
import math
import subprocess
import sys
import unittest

from hypothesis import HealthCheck, given, settings, strategies as st

from trytond.modules.inventory_wave import route_cli, routing
from trytond.modules.inventory_wave.routing import (
    LayoutError, distance_matrix, distance_of_sequence, optimal_route,
    s_shape_route)

# Pure code: run once, not again on each database backend (tests/run.py)
BACKEND_INDEPENDENT = True


SETTINGS = dict(
    deadline=None, suppress_health_check=[HealthCheck.too_slow])


def close(a, b):
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


# --------------------------------------------------------------------------
# Independent oracle: Dijkstra on the explicit aisle / cross-aisle graph.

def graph_distances(layout, picks):
    """Distance matrix (depot first) computed on the explicit graph."""
    a, s, length = (
        layout['aisles'], layout['aisle_spacing'], layout['aisle_length'])
    cross = sorted(layout['cross_aisles'])
    depot = (layout['depot'][0], 0)
    points = [depot] + [(p['aisle'] * s, p['y']) for p in picks]
    columns = {i * s: set(cross) for i in range(a)}
    for x, y in points[1:]:
        columns[x].add(y)
    if depot[0] in columns:
        columns[depot[0]].add(0)
    adjacency = {}

    def link(u, v):
        d = abs(u[0] - v[0]) + abs(u[1] - v[1])
        adjacency.setdefault(u, []).append((v, d))
        adjacency.setdefault(v, []).append((u, d))

    for x, ys in columns.items():
        ys = sorted(ys)
        for y1, y2 in zip(ys, ys[1:]):
            link((x, y1), (x, y2))
        adjacency.setdefault((x, ys[0]), [])
    for c in cross:
        xs = sorted(set(columns) | ({depot[0]} if c == 0 else set()))
        for x1, x2 in zip(xs, xs[1:]):
            link((x1, c), (x2, c))
    adjacency.setdefault(depot, [])

    def dijkstra(source):
        best = {source: 0}
        heap = [(0, source)]
        while heap:
            d, u = heapq.heappop(heap)
            if d > best[u]:
                continue
            for v, w in adjacency[u]:
                if d + w < best.get(v, math.inf):
                    best[v] = d + w
                    heapq.heappush(heap, (d + w, v))
        return best

    return [[dijkstra(p)[q] for q in points] for p in points]


def brute_force(matrix):
    """Optimal closed tour length from node 0 through all other nodes."""
    n = len(matrix) - 1
    best = 0 if n == 0 else math.inf
    for perm in itertools.permutations(range(1, n + 1)):
        tour = (0,) + perm + (0,)
        best = min(best, sum(matrix[u][v] for u, v in zip(tour, tour[1:])))
    return best


# --------------------------------------------------------------------------
# Instances

@st.composite
def instances(draw, middles=(0,), max_picks=7, max_aisles=6):
    aisles = draw(st.integers(1, max_aisles))
    spacing = draw(st.sampled_from([1, 2.5, 3, 4]))
    length = draw(st.sampled_from([4, 10, 12]))
    quarters = st.integers(0, 4 * length).map(lambda v: v / 4)
    n_middle = draw(st.sampled_from(middles))
    middle = draw(st.lists(
            st.integers(1, 4 * length - 1).map(lambda v: v / 4),
            min_size=n_middle, max_size=n_middle, unique=True))
    cross = draw(st.permutations([0, length] + middle))
    width = (aisles - 1) * spacing
    depot_x = draw(st.one_of(
            st.integers(0, aisles - 1).map(lambda i: i * spacing),
            st.integers(0, int(4 * width)).map(lambda v: v / 4)))
    spot = st.tuples(
        st.integers(0, aisles - 1),
        st.one_of(quarters, st.sampled_from(cross)))
    spots = draw(st.lists(spot, max_size=max_picks))
    picks = [{'id': f'p{k}', 'aisle': i, 'y': y}
        for k, (i, y) in enumerate(spots)]
    layout = {
        'aisles': aisles, 'aisle_spacing': spacing, 'aisle_length': length,
        'cross_aisles': cross, 'depot': [depot_x, 0]}
    return layout, picks


def check_route(test, layout, picks, route):
    ids = [p['id'] for p in picks]
    test.assertEqual(sorted(route.sequence), sorted(ids))
    test.assertEqual(len(route.sequence), len(set(route.sequence)))
    test.assertEqual(
        route.distance, distance_of_sequence(layout, picks, route.sequence))


class RoutingOptimalityTestCase(unittest.TestCase):
    "The routes are optimal against brute force on small instances"

    @settings(max_examples=150, **SETTINGS)
    @given(instances(middles=(0,)))
    def test_single_block_is_optimal(self, instance):
        layout, picks = instance
        route = optimal_route(layout, picks)
        check_route(self, layout, picks, route)
        optimum = brute_force(graph_distances(layout, picks))
        self.assertTrue(
            close(route.distance, optimum), (route.distance, optimum))
        self.assertGreaterEqual(
            s_shape_route(layout, picks).distance, optimum - 1e-9)

    @settings(max_examples=150, **SETTINGS)
    @given(instances(middles=(1, 2)))
    def test_multi_block_is_optimal(self, instance):
        layout, picks = instance
        route = optimal_route(layout, picks)
        check_route(self, layout, picks, route)
        optimum = brute_force(graph_distances(layout, picks))
        self.assertTrue(
            close(route.distance, optimum), (route.distance, optimum))
        self.assertGreaterEqual(
            s_shape_route(layout, picks).distance, optimum - 1e-9)

    @settings(max_examples=60, **SETTINGS)
    @given(instances(middles=(0, 1, 2, 3, 4), max_picks=6))
    def test_matrix_methods(self, instance):
        layout, picks = instance
        optimum = brute_force(graph_distances(layout, picks))
        exact = optimal_route(layout, picks, method='held-karp')
        check_route(self, layout, picks, exact)
        self.assertTrue(close(exact.distance, optimum))
        heuristic = optimal_route(layout, picks, method='heuristic')
        check_route(self, layout, picks, heuristic)
        self.assertGreaterEqual(heuristic.distance, optimum - 1e-9)

    @settings(max_examples=100, **SETTINGS)
    @given(instances(middles=(0, 1, 2, 3), max_picks=10))
    def test_distance_matrix_is_shortest_path(self, instance):
        layout, picks = instance
        expected = graph_distances(layout, picks)
        got = distance_matrix(layout, picks)
        for row, expected_row in zip(got, expected):
            for value, expected_value in zip(row, expected_row):
                self.assertTrue(close(value, expected_value))


class RoutingPropertiesTestCase(unittest.TestCase):
    "Properties on larger instances"

    @settings(max_examples=40, **SETTINGS)
    @given(instances(middles=(0, 1, 2, 3, 4), max_picks=60, max_aisles=12))
    def test_route_is_consistent(self, instance):
        layout, picks = instance
        route = optimal_route(layout, picks)
        check_route(self, layout, picks, route)
        s_shape = s_shape_route(layout, picks)
        self.assertEqual(sorted(s_shape.sequence), sorted(route.sequence))
        self.assertGreaterEqual(
            s_shape.distance,
            distance_of_sequence(layout, picks, s_shape.sequence) - 1e-9)
        self.assertGreaterEqual(s_shape.distance, route.distance - 1e-9)
        self.assertEqual(optimal_route(layout, picks), route)

    @settings(max_examples=15, **SETTINGS)
    @given(instances(middles=(1, 2, 3), max_picks=25, max_aisles=8))
    def test_heuristic_is_never_better_than_dp(self, instance):
        layout, picks = instance
        route = optimal_route(layout, picks, method='dp')
        heuristic = optimal_route(layout, picks, method='heuristic')
        check_route(self, layout, picks, heuristic)
        self.assertGreaterEqual(heuristic.distance, route.distance - 1e-9)

    def test_known_instance(self):
        layout = {
            'aisles': 3, 'aisle_spacing': 5, 'aisle_length': 10,
            'cross_aisles': [0, 10], 'depot': [0, 0]}
        picks = [
            {'id': 'a', 'aisle': 0, 'y': 9},
            {'id': 'b', 'aisle': 1, 'y': 1},
            {'id': 'c', 'aisle': 2, 'y': 2}]
        # Up aisle 0, along the back, down aisle 2, then aisle 1 from the
        # front: 10 + 10 + 10 + 5 + 2 + 5.
        self.assertEqual(optimal_route(layout, picks).distance, 42)
        self.assertEqual(s_shape_route(layout, picks).distance, 44)
        # A middle cross-aisle at y=8 lets the picker cut across: 9 + 1 +
        # 10 + 8 + 5 + 2 + 5.
        layout['cross_aisles'] = [0, 8, 10]
        self.assertEqual(optimal_route(layout, picks).distance, 40)

    def test_degenerate_instances(self):
        layout = {
            'aisles': 1, 'aisle_spacing': 2, 'aisle_length': 10,
            'cross_aisles': [0, 10], 'depot': [0, 0]}
        self.assertEqual(optimal_route(layout, []), ([], 0))
        self.assertEqual(s_shape_route(layout, []), ([], 0))
        self.assertEqual(distance_of_sequence(layout, [], []), 0)
        at_depot = [{'id': 'x', 'aisle': 0, 'y': 0},
            {'id': 'y', 'aisle': 0, 'y': 0}]
        self.assertEqual(optimal_route(layout, at_depot), (['x', 'y'], 0))
        picks = [{'id': 'x', 'aisle': 0, 'y': 10},
            {'id': 'y', 'aisle': 0, 'y': 3}]
        self.assertEqual(optimal_route(layout, picks), (['y', 'x'], 20))

    def test_depot_between_aisles(self):
        layout = {
            'aisles': 4, 'aisle_spacing': 4, 'aisle_length': 10,
            'cross_aisles': [0, 10], 'depot': [6, 0]}
        picks = [{'id': 1, 'aisle': 1, 'y': 1}, {'id': 2, 'aisle': 2, 'y': 1}]
        self.assertEqual(optimal_route(layout, picks).distance, 12)

    def test_accepts_parsed_objects(self):
        layout = routing.parse_layout({
                'aisles': 2, 'aisle_spacing': 3, 'aisle_length': 10,
                'cross_aisles': [0, 10], 'depot': [0, 0]})
        picks = routing.parse_picks(layout, [
                {'id': 'a', 'aisle': 1, 'y': 4}])
        self.assertEqual(optimal_route(layout, picks), (['a'], 14))


VALID_LAYOUT = {
    'aisles': 3, 'aisle_spacing': 4, 'aisle_length': 10,
    'cross_aisles': [0, 5, 10], 'depot': [2, 0]}
VALID_PICK = {'id': 'p1', 'aisle': 1, 'y': 3}
OTHER_PICK = {'id': 'p2', 'aisle': 2, 'y': 7}


def changed(mapping, **values):
    result = dict(mapping, **values)
    return {k: v for k, v in result.items() if v is not DELETE}


DELETE = object()


class RoutingValidationTestCase(unittest.TestCase):
    "Invalid instances raise LayoutError naming the field and value"

    BAD_LAYOUTS = [
        (changed(VALID_LAYOUT, aisles=0), 'layout.aisles', 0),
        (changed(VALID_LAYOUT, aisles=2.0), 'layout.aisles', 2.0),
        (changed(VALID_LAYOUT, aisles=True), 'layout.aisles', True),
        (changed(VALID_LAYOUT, aisle_spacing=0), 'layout.aisle_spacing', 0),
        (changed(VALID_LAYOUT, aisle_spacing='4'),
            'layout.aisle_spacing', '4'),
        (changed(VALID_LAYOUT, aisle_length=-1), 'layout.aisle_length', -1),
        (changed(VALID_LAYOUT, aisle_length=math.inf),
            'layout.aisle_length', math.inf),
        (changed(VALID_LAYOUT, cross_aisles=[0, 5]),
            'layout.cross_aisles', [0, 5]),
        (changed(VALID_LAYOUT, cross_aisles=[5, 10]),
            'layout.cross_aisles', [5, 10]),
        (changed(VALID_LAYOUT, cross_aisles=[0, 10, 10]),
            'layout.cross_aisles', [0, 10, 10]),
        (changed(VALID_LAYOUT, cross_aisles=[0, 11, 10]),
            'layout.cross_aisles[1]', 11),
        (changed(VALID_LAYOUT, cross_aisles=10),
            'layout.cross_aisles', 10),
        (changed(VALID_LAYOUT, depot=[9, 0]), 'layout.depot[0]', 9),
        (changed(VALID_LAYOUT, depot=[2, 1]), 'layout.depot[1]', 1),
        (changed(VALID_LAYOUT, depot=[2]), 'layout.depot', [2]),
        (changed(VALID_LAYOUT, depot=DELETE), 'layout.depot', None),
        (changed(VALID_LAYOUT, colour='red'), 'layout.colour', 'red'),
        ([1, 2], 'layout', [1, 2]),
        ]
    BAD_PICKS = [
        (changed(OTHER_PICK, aisle=3), 'picks[0].aisle', 3),
        (changed(OTHER_PICK, aisle=-1), 'picks[0].aisle', -1),
        (changed(OTHER_PICK, aisle=1.0), 'picks[0].aisle', 1.0),
        (changed(OTHER_PICK, y=10.5), 'picks[0].y', 10.5),
        (changed(OTHER_PICK, y=-0.5), 'picks[0].y', -0.5),
        (changed(OTHER_PICK, y=None), 'picks[0].y', None),
        (changed(OTHER_PICK, id=None), 'picks[0].id', None),
        (changed(OTHER_PICK, id=DELETE), 'picks[0].id', None),
        (changed(OTHER_PICK, shelf=2), 'picks[0].shelf', 2),
        ('p1', 'picks[0]', 'p1'),
        ]

    def assert_error(self, call, field, value):
        with self.assertRaises(LayoutError) as cm:
            call()
        error = cm.exception
        self.assertIsInstance(error, ValueError)
        self.assertEqual(error.field, field)
        self.assertEqual(error.value, value)
        self.assertIn(field, str(error))
        if value is not None:
            self.assertIn(repr(value), str(error))

    def test_bad_layout(self):
        for layout, field, value in self.BAD_LAYOUTS:
            for function in (optimal_route, s_shape_route):
                with self.subTest(layout=layout, function=function):
                    self.assert_error(
                        lambda: function(layout, [VALID_PICK]), field, value)

    def test_bad_pick(self):
        for pick, field, value in self.BAD_PICKS:
            for function in (optimal_route, s_shape_route):
                with self.subTest(pick=pick, function=function):
                    self.assert_error(
                        lambda: function(VALID_LAYOUT, [VALID_PICK, pick]),
                        field.replace('[0]', '[1]'), value)

    def test_bad_picks_container(self):
        self.assert_error(
            lambda: optimal_route(VALID_LAYOUT, {'id': 'p1'}),
            'picks', {'id': 'p1'})

    def test_duplicate_id(self):
        self.assert_error(
            lambda: optimal_route(VALID_LAYOUT, [VALID_PICK, VALID_PICK]),
            'picks[1].id', 'p1')

    def test_bad_sequence(self):
        picks = [VALID_PICK, changed(VALID_PICK, id='p2')]
        for sequence in (['p1'], ['p1', 'p1'], ['p1', 'p3'],
                ['p1', 'p2', 'p2']):
            with self.subTest(sequence=sequence):
                self.assert_error(
                    lambda: distance_of_sequence(
                        VALID_LAYOUT, picks, sequence),
                    'sequence', sequence)

    def test_layout_objects_are_checked(self):
        layout = routing.parse_layout(VALID_LAYOUT)
        self.assert_error(
            lambda: optimal_route(layout._replace(aisles=0), []),
            'layout.aisles', 0)

    def test_error_pickles(self):
        import pickle
        error = pickle.loads(pickle.dumps(
                LayoutError('picks[0].y', 12, "is outside")))
        self.assertEqual(
            (error.field, error.value, str(error)),
            ('picks[0].y', 12, "picks[0].y=12: is outside"))

    def test_bad_method(self):
        self.assert_error(
            lambda: optimal_route(VALID_LAYOUT, [], method='fast'),
            'method', 'fast')


INSTANCE = {
    'layout': {
        'aisles': 3, 'aisle_spacing': 5, 'aisle_length': 10,
        'cross_aisles': [0, 10], 'depot': [0, 0]},
    'picks': [
        {'id': 'a', 'aisle': 0, 'y': 2},
        {'id': 'b', 'aisle': 2, 'y': 1},
        {'id': 'c', 'aisle': 1, 'y': 2}],
    }


class RouteCliTestCase(unittest.TestCase):
    "The inventory-route console script"

    def run_cli(self, text, argv=()):
        stdout, stderr = io.StringIO(), io.StringIO()
        status = route_cli.main(
            list(argv), stdin=io.StringIO(text), stdout=stdout,
            stderr=stderr)
        return status, stdout.getvalue(), stderr.getvalue()

    def test_route(self):
        status, out, err = self.run_cli(json.dumps(INSTANCE))
        self.assertEqual(status, 0)
        self.assertEqual(err, '')
        self.assertEqual(
            json.loads(out), {'sequence': ['a', 'c', 'b'], 'distance': 30})

    def test_s_shape(self):
        status, out, _ = self.run_cli(json.dumps(INSTANCE), ['--s-shape'])
        self.assertEqual(status, 0)
        self.assertEqual(json.loads(out)['distance'], 42)

    def test_invalid(self):
        layout = INSTANCE['layout']
        bad = [
            ('', 'invalid JSON'),
            ('{"layout": ', 'invalid JSON'),
            ('{"layout": {}, "picks": [NaN]}', 'invalid JSON'),
            ('[]', 'instance'),
            (json.dumps(dict(INSTANCE, extra=1)), 'extra=1'),
            (json.dumps({'layout': layout}), 'picks'),
            (json.dumps(dict(INSTANCE, layout=dict(layout, depot=[11, 0]))),
                'layout.depot[0]=11'),
            (json.dumps(dict(INSTANCE, layout=dict(layout, aisles=-2))),
                'layout.aisles=-2'),
            (json.dumps(dict(INSTANCE,
                        layout=dict(layout, cross_aisles=[0, 5]))),
                'layout.cross_aisles=[0, 5]'),
            (json.dumps(dict(INSTANCE, picks=[
                            {'id': 'a', 'aisle': 7, 'y': 1}])),
                'picks[0].aisle=7'),
            (json.dumps(dict(INSTANCE, picks=[
                            {'id': 'a', 'aisle': 1, 'y': 1, 'qty': 2}])),
                'picks[0].qty=2'),
            ]
        for text, fragment in bad:
            with self.subTest(text=text):
                status, out, err = self.run_cli(text)
                self.assertEqual(status, 2)
                self.assertEqual(out, '')
                self.assertIn(fragment, err)
                self.assertEqual(err.count('\n'), 1)
                self.assertTrue(err.endswith('\n'))

    def test_module_entry_point(self):
        process = subprocess.run(
            [sys.executable, '-m', 'trytond.modules.inventory_wave.route_cli'],
            input=json.dumps(INSTANCE), capture_output=True, text=True,
            timeout=60)
        self.assertEqual(process.returncode, 0, process.stderr)
        self.assertEqual(
            json.loads(process.stdout),
            {'sequence': ['a', 'c', 'b'], 'distance': 30})
        process = subprocess.run(
            [sys.executable, '-m', 'trytond.modules.inventory_wave.route_cli'],
            input='{"layout": {}}', capture_output=True, text=True,
            timeout=60)
        self.assertEqual(process.returncode, 2)
        self.assertEqual(process.stdout, '')
        self.assertEqual(len(process.stderr.splitlines()), 1)


def load_tests(loader, tests, pattern):
    tests.addTests(doctest.DocTestSuite(routing))
    tests.addTests(doctest.DocTestSuite(route_cli))
    return tests
