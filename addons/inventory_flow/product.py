"""Product data the warehouse needs: GTIN, ABC class and main supplier.

Weight and volume come from Tryton's ``product_measurements`` and supplier
prices from ``purchase``; this file only adds what Tryton lacks."""

from trytond.cache import Cache
from trytond.model import fields
from trytond.pool import Pool, PoolMeta

ABC_CLASSES = [
    (None, ''),
    ('A', "A"),
    ('B', "B"),
    ('C', "C"),
    ]


class Configuration(metaclass=PoolMeta):
    __name__ = 'product.configuration'
    _code_readonly_cache = Cache(
        'product.configuration.code_readonly', context=False)

    @classmethod
    def code_readonly(cls):
        """Whether sequences number the (variants, products): read by
        Tryton to order every product search by code (its validation of a
        stock move's product too), kept in a cache cleared when the
        configuration changes instead of the singleton's two queries"""
        value = cls._code_readonly_cache.get(None)
        if value is None:
            config = cls(1)
            value = cls._code_readonly_cache.set(None, (
                    bool(config.product_sequence),
                    bool(config.template_sequence)))
        return value

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        cls._code_readonly_cache.clear()


class Template(metaclass=PoolMeta):
    __name__ = 'product.template'

    @classmethod
    def default_code_readonly(cls):
        # product 8.0 reads Configuration(1).template_sequence
        return Pool().get('product.configuration').code_readonly()[1]

    main_supplier = fields.Function(
        fields.Many2One('party.party', "Main Supplier",
            help="The supplier of the first supplier line of the product."),
        'get_main_supplier', searcher='search_main_supplier')

    def get_main_supplier(self, name):
        for product_supplier in self.product_suppliers:
            return product_supplier.party.id

    @classmethod
    def search_main_supplier(cls, name, clause):
        return [('product_suppliers.party',) + tuple(clause[1:])]


class Product(metaclass=PoolMeta):
    __name__ = 'product.product'

    gtin = fields.Function(
        fields.Char("GTIN",
            help="The Global Trade Item Number printed on the product "
            "(an EAN identifier of the variant)."),
        'get_gtin', searcher='search_gtin')
    abc_class = fields.Selection(
        ABC_CLASSES, "ABC Class",
        help="The consumption-value class of the product: A fast movers, "
        "C slow movers. Drives putaway near dispatch and count frequency.")

    @classmethod
    def default_code_readonly(cls):
        # product 8.0 reads Configuration(1).product_sequence
        return Pool().get('product.configuration').code_readonly()[0]

    @classmethod
    def get_gtin(cls, products, name):
        pool = Pool()
        Identifier = pool.get('product.identifier')
        result = {p.id: None for p in products}
        identifiers = Identifier.search([
                ('product', 'in', [p.id for p in products]),
                ('type', '=', 'ean'),
                ], order=[('product', 'ASC'), ('sequence', 'DESC NULLS FIRST'),
                ('id', 'DESC')])
        for identifier in identifiers:
            result[identifier.product.id] = identifier.code
        return result

    @classmethod
    def search_gtin(cls, name, clause):
        _, operator, value = clause[:3]
        if operator == '=' and value:
            # A GTIN-13 may be scanned as its GTIN-14 form (leading zero)
            values = {value, value.lstrip('0')}
            values |= {v.zfill(13) for v in list(values)}
            values |= {v.zfill(14) for v in list(values)}
            return [('identifiers', 'where', [
                        ('type', '=', 'ean'),
                        ('code', 'in', sorted(values)),
                        ])]
        return [('identifiers', 'where', [
                    ('type', '=', 'ean'),
                    ('code', operator, value),
                    ])]
