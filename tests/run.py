"""Run the suite's unittest-based tests (module tests, scenario doctests and
pure algorithm tests) and print one closing line ``N passed, N failed``.

Usage: python tests/run.py [--module NAME ...] [--pattern GLOB]
The backend comes from the environment (TRYTOND_DATABASE_URI, DB_CACHE),
exactly as for Tryton's own test runs.
"""
import argparse
import glob
import importlib
import os
import sys
import time
import unittest

MODULES = ['inventory_flow', 'inventory_qc', 'inventory_wave',
    'inventory_alerts']
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build_suite(modules, pattern, database_only=False):
    """The tests of the modules.  With ``database_only``, test files that
    declare ``BACKEND_INDEPENDENT = True`` (pure algorithms, file checks) are
    left out: they already ran on the first backend."""
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    names = []
    for module in modules:
        test_dir = os.path.join(ROOT, 'addons', module, 'tests')
        for path in sorted(glob.glob(os.path.join(test_dir, pattern))):
            name = os.path.splitext(os.path.basename(path))[0]
            names.append(f'trytond.modules.{module}.tests.{name}')
    # Cross-module scenarios live in tests/ at the root of the repository
    if not modules or set(modules) == set(MODULES):
        sys.path.insert(0, os.path.join(ROOT, 'tests'))
        for path in sorted(glob.glob(os.path.join(ROOT, 'tests', pattern))):
            names.append(os.path.splitext(os.path.basename(path))[0])
    for name in names:
        module = importlib.import_module(name)
        if database_only and getattr(module, 'BACKEND_INDEPENDENT', False):
            continue
        suite.addTests(loader.loadTestsFromModule(module))
    return suite


class TimedResult(unittest.TextTestResult):
    "Record each test's duration so that the slowest can be reported."

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.durations = []

    def startTest(self, test):
        self._started = time.monotonic()
        super().startTest(test)

    def stopTest(self, test):
        super().stopTest(test)
        self.durations.append((time.monotonic() - self._started, test.id()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--module', action='append', choices=MODULES)
    parser.add_argument('--pattern', default='test_*.py')
    parser.add_argument('--label', default='tests')
    parser.add_argument('--database-only', action='store_true',
        help="skip the files marked BACKEND_INDEPENDENT")
    parser.add_argument('-v', '--verbose', action='store_true')
    args = parser.parse_args()
    suite = build_suite(
        args.module or MODULES, args.pattern, args.database_only)
    start = time.monotonic()
    result = unittest.TextTestRunner(
        verbosity=2 if args.verbose else 1, stream=sys.stderr,
        resultclass=TimedResult).run(suite)
    duration = time.monotonic() - start
    print(f"{args.label}: slowest tests", file=sys.stderr)
    for seconds, name in sorted(result.durations, reverse=True)[:12]:
        print(f"  {seconds:7.1f}s  {name}", file=sys.stderr)
    failed = len(result.failures) + len(result.errors) + len(
        result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = max(result.testsRun - failed - skipped, 0)
    print(f"{args.label} took {duration:.0f}s", flush=True)
    print(f"{args.label}: {passed} passed, {failed} failed, "
        f"{skipped} skipped", flush=True)
    return 0 if result.wasSuccessful() and result.testsRun else 1


if __name__ == '__main__':
    sys.exit(main())
