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
