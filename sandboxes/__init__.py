"""Faithful fakes of the vendor APIs (FFN, Shopify, Shopware 6, WooCommerce), their shared kit and the demo.

They are how ffn-sync is proven without shop or FFN accounts: the tests, the benchmark and ``make demo``
run the real daemon against them. They ship with the source repository only, never with the installed
package (``pyproject.toml`` builds ``daemon`` and ``adapters``); ``ffn-sync sandbox`` and ``ffn-sync demo``
find them in a checkout (``daemon/cli/checkout.py``).
"""
