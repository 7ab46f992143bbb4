from trytond.modules.company.tests import CompanyTestMixin
from trytond.modules.inventory_flow.tests.tools import (
    SuiteDatabaseMixin, TranslationTestMixin)
from trytond.tests.test_tryton import ModuleTestCase


class InventoryQcTestCase(
        SuiteDatabaseMixin, TranslationTestMixin, CompanyTestMixin,
        ModuleTestCase):
    "Test inventory_qc module"
    module = 'inventory_qc'


del ModuleTestCase
