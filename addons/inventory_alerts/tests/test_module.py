from trytond.modules.company.tests import CompanyTestMixin
from trytond.modules.inventory_flow.tests.tools import (
    SuiteDatabaseMixin, TranslationTestMixin)
from trytond.tests.test_tryton import ModuleTestCase


class InventoryAlertsTestCase(
        SuiteDatabaseMixin, TranslationTestMixin, CompanyTestMixin,
        ModuleTestCase):
    "Test inventory_alerts module"
    module = 'inventory_alerts'


del ModuleTestCase
