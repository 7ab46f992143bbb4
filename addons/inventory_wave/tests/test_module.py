from trytond.modules.company.tests import CompanyTestMixin
from trytond.modules.inventory_flow.tests.tools import (
    SuiteDatabaseMixin, TranslationTestMixin)
from trytond.tests.test_tryton import ModuleTestCase


class InventoryWaveTestCase(
        SuiteDatabaseMixin, TranslationTestMixin, CompanyTestMixin,
        ModuleTestCase):
    "Test inventory_wave module"
    module = 'inventory_wave'


del ModuleTestCase
