"""Console script ``inventory-route``: the shortest pick path of one order.

Reads one JSON instance on standard input::

    {"layout": {"aisles": A, "aisle_spacing": s, "aisle_length": L,
                "cross_aisles": [0, ..., L], "depot": [x, 0]},
     "picks": [{"id": "p1", "aisle": i, "y": y}, ...]}

and prints ``{"sequence": ["p3", "p1", ...], "distance": D}`` on standard
output (see :func:`routing.optimal_route`).  An invalid instance (bad JSON,
unknown or missing field, value out of range) prints a one-line message on
standard error and exits with status 2.

Pure Python: it does not need a Tryton database nor configuration.
"""
import argparse
import json
import sys

try:
    from . import routing
except ImportError:  # run as a plain script
    import routing

EXIT_INVALID = 2
_FIELDS = ('layout', 'picks')


def _parser():
    parser = argparse.ArgumentParser(
        prog='inventory-route',
        description="Read a pick-routing instance as JSON on stdin and "
        "print the shortest visiting order and its walking distance.")
    parser.add_argument(
        '--s-shape', action='store_true',
        help="use the S-shape (traversal) heuristic instead of the optimal "
        "route")
    return parser


def solve(instance, s_shape=False):
    """Return the JSON-ready answer to an instance.

    Parameters
    ----------
    instance : mapping
        ``{"layout": ..., "picks": [...]}``.
    s_shape : bool
        Use :func:`routing.s_shape_route` instead of
        :func:`routing.optimal_route`.

    Returns
    -------
    dict
        ``{"sequence": [...], "distance": D}``, ``D`` rounded to 9 decimals.

    Raises
    ------
    routing.LayoutError
        If the instance is invalid.

    Examples
    --------
    >>> solve({"layout": {"aisles": 2, "aisle_spacing": 3,
    ...     "aisle_length": 10, "cross_aisles": [0, 10], "depot": [0, 0]},
    ...     "picks": [{"id": "p1", "aisle": 1, "y": 4}]})
    {'sequence': ['p1'], 'distance': 14}
    """
    if not isinstance(instance, dict):
        raise routing.LayoutError('instance', instance, "must be an object")
    for key in instance:
        if key not in _FIELDS:
            raise routing.LayoutError(key, instance[key], "unknown field")
    for key in _FIELDS:
        if key not in instance:
            raise routing.LayoutError(
                key, routing._MISSING, "required field is missing")
    function = routing.s_shape_route if s_shape else routing.optimal_route
    route = function(instance['layout'], instance['picks'])
    return {
        'sequence': list(route.sequence),
        'distance': round(route.distance, 9),
        }


def _reject_constant(name):
    raise ValueError(f"invalid number {name}")


def main(argv=None, stdin=None, stdout=None, stderr=None):
    """Entry point of ``inventory-route``; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default ``sys.argv[1:]``).
    stdin, stdout, stderr : file, optional
        Default to the ``sys`` streams.
    """
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    stderr = stderr if stderr is not None else sys.stderr
    args = _parser().parse_args(argv)
    try:
        instance = json.loads(
            stdin.read(), parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:  # JSONDecodeError too
        message = ' '.join(str(error).split())
        print(f"inventory-route: invalid JSON: {message}", file=stderr)
        return EXIT_INVALID
    try:
        answer = solve(instance, s_shape=args.s_shape)
    except routing.LayoutError as error:
        message = ' '.join(str(error).split())
        print(f"inventory-route: invalid instance: {message}", file=stderr)
        return EXIT_INVALID
    json.dump(answer, stdout)
    stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
