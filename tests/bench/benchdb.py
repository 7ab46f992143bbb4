"""A fresh database of the four modules for the standalone benchmarks
(bench_wave.py, bench_count_plan.py): PostgreSQL when
``TRYTOND_DATABASE_URI`` says so, else SQLite in ``var/bench/``."""
import importlib
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))


def fresh_database(db_name):
    "Drop and create db_name with the suite's modules; return the backend"
    if os.environ['TRYTOND_DATABASE_URI'].startswith('postgresql'):
        backend = 'PostgreSQL'
    else:
        backend = 'SQLite'
    os.environ['DB_NAME'] = db_name
    import trytond.tests.test_tryton as test_tryton
    from trytond import config
    config.set('database', 'uri', os.environ['TRYTOND_DATABASE_URI'])
    if backend == 'SQLite':
        path = os.path.join(ROOT, 'var', 'bench')
        os.makedirs(path, exist_ok=True)
        config.set('database', 'path', path)
    importlib.reload(test_tryton)
    from trytond.modules.inventory_flow.tests.tools import SUITE_MODULES
    test_tryton.drop_db(db_name)
    start = time.perf_counter()
    test_tryton.activate_module(SUITE_MODULES)
    print(f"bench: {backend} database ready in "
        f"{time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return backend
