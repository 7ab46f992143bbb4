"""Test helpers shared by the suite's modules."""
import os

from trytond.tests.test_tryton import with_transaction
from trytond.tools import find_dir


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
