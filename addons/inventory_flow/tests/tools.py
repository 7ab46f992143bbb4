"""Test helpers shared by the suite's modules."""
import os

from trytond.tests.test_tryton import (
    DB_NAME, RouteTestCase, _DBTestCase, activate_module, drop_db,
    with_transaction)
from trytond.tools import find_dir
from trytond.transaction import Transaction

#: The module set every database test of the suite runs on: one database
#: installed once per backend and restored from DB_CACHE for each test case,
#: instead of one installation per module.
SUITE_MODULES = [
    'inventory_flow', 'inventory_qc', 'inventory_wave', 'inventory_alerts']


class SuiteDatabaseMixin:
    """Put before ``ModuleTestCase`` / ``RouteTestCase``: the test case runs
    on the database of the four modules (``SUITE_MODULES``).  The module
    tests still check only ``cls.module``'s own models, views and rights."""

    @classmethod
    def setUpClass(cls):
        # unittest's and Tryton's TestCase set-up, skipping _DBTestCase's
        # activation of [module] + extras, which would name another cache
        super(_DBTestCase, cls).setUpClass()
        drop_db()
        activate_module(SUITE_MODULES)
        if issubclass(cls, RouteTestCase):
            with Transaction().start(DB_NAME, 1):
                cls.setUpDatabase()


class TranslationTestMixin:
    "Every user-visible string of the module has a zh_CN translation"

    @with_transaction()
    def test_zh_CN_translation_complete(self):
        from trytond.modules.inventory_flow.i18n import missing_translations
        path = os.path.join(find_dir(self.module), 'locale', 'zh_CN.po')
        missing = missing_translations(self.module, path)
        self.assertEqual(
            missing, [],
            msg="untranslated strings: run scripts/i18n.py and translate")


class QueueWorkers:
    """Run ``ir.queue`` tasks in background threads as ``trytond-worker``
    does (``Queue.pull`` with SKIP LOCKED, then ``run_task``), with the
    ``[queue] worker`` option on so that the requests only queue their
    tasks.  A context manager; ``drain()`` waits until no task is left.

    PostgreSQL only (SQLite has no SKIP LOCKED nor concurrent writers)."""

    def __init__(self, database_name, count=1):
        self.database_name = database_name
        self.count = count
        self.threads = []
        self.stopping = False
        self.ran = 0
        self.errors = []

    def __enter__(self):
        import threading
        from trytond import config
        if not config.has_section('queue'):
            config.add_section('queue')
        self._previous = config.get('queue', 'worker', default='False')
        config.set('queue', 'worker', 'True')
        for _ in range(self.count):
            thread = threading.Thread(target=self._work, daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def _work(self):
        import time
        from trytond import backend
        from trytond.pool import Pool
        from trytond.worker import run_task
        database = backend.Database(self.database_name).connect()
        connection = database.get_connection(autocommit=True)
        try:
            pool = Pool(self.database_name)
            Queue = pool.get('ir.queue')
            while not self.stopping:
                try:
                    task_id, _ = Queue.pull(database, connection)
                except backend.DatabaseOperationalError:
                    task_id = None
                if not task_id:
                    time.sleep(0.02)
                    continue
                try:
                    run_task(pool, task_id)
                    self.ran += 1
                except Exception as exception:
                    self.errors.append(exception)
        finally:
            database.put_connection(connection)

    def pending(self):
        "The number of tasks not finished yet"
        with Transaction().start(self.database_name, 0, readonly=True) as t:
            cursor = t.connection.cursor()
            cursor.execute(
                'SELECT COUNT(*) FROM ir_queue WHERE finished_at IS NULL')
            return cursor.fetchone()[0]

    def drain(self, timeout=600):
        "Wait until every queued task is finished; return the seconds"
        import time
        start = time.monotonic()
        while self.pending():
            if time.monotonic() - start > timeout:
                raise TimeoutError("ir.queue not drained")
            time.sleep(0.05)
        return time.monotonic() - start

    def __exit__(self, *exc):
        from trytond import config
        self.stopping = True
        for thread in self.threads:
            thread.join()
        config.set('queue', 'worker', self._previous)
