"""One package per external system, implementing the engine's ports (``daemon/ports.py``).

Adapters import only the public core (``daemon.ports``, ``daemon.model``, ``daemon.errors``,
``daemon.http``, ``daemon.clock``, ``daemon.secrets``, ``daemon.oauth``, ``daemon.webhooks.types``), never the engine, the store,
the CLI, the app or the wiring; only ``daemon.wiring`` imports adapters (tests/test_architecture.py).

The same role has the same module name in every adapter, so a reader knows where to look:

- ``channel.py``: the ``ShopChannel`` implementation (``<Vendor>Channel``), what the engine calls; for
  FFN, whose port is ``Fulfiller``, ``fulfiller.py`` (``FfnClient``). Thin where the adapter is big:
  it delegates to the modules below.
- ``transport.py``: the vendor API over ``daemon.http`` (requests, pacing, decoding answers).
- ``auth.py``: credentials, signing, tokens.
- ``errors.py``: vendor error answers → the typed errors of ``daemon.errors``.
- ``mapping.py`` (FFN: ``mapping/``): pure functions, vendor JSON ⇄ the records of ``daemon.model``.
- ``queries.py``: the request documents of reads (GraphQL documents, Shopware search criteria).
- ``read.py``: pulls (changed orders and their extra pages; FFN: the update feeds), where they are
  more than a loop in ``channel.py``.
- ``writeback.py``: shipments and fulfiller-side statuses written to the shop's orders.
- ``stock.py``: ``set_stock``, absolute quantities per SKU with a typed result per item.
- ``webhooks.py``: registering the shop's webhooks.

A module exists only where its role needs one; vendor-only concepts keep a descriptive name of their
own (Shopify ``gate.py``/``fulfil.py``/``throttle.py``/``state.py``, WooCommerce ``paging.py``/``catalog.py``,
Shopware ``version.py``, FFN ``outbounds.py``/``products.py``/``login.py``).
"""
