import base64
import hashlib
import re

from daemon.ids import merchant_outbound_number, outbound_id


def test_outbound_id_matches_the_ffn_pattern_and_prefix() -> None:
    oid = outbound_id("MERC", "shopify-main", "gid://shopify/Order/1001")
    assert re.fullmatch(r"[a-zA-Z0-9]{7,16}", oid)
    assert oid.startswith("MERC02")
    assert len(oid) == 16


def test_outbound_id_is_deterministic_and_distinct_per_channel_and_order() -> None:
    a = outbound_id("MERC", "shop-a", "1")
    assert a == outbound_id("MERC", "shop-a", "1")
    ids = {outbound_id("MERC", ch, str(n)) for ch in ("shop-a", "shop-b") for n in range(5000)}
    assert len(ids) == 10000


def test_merchant_outbound_number_is_prefix_plus_shop_number() -> None:
    assert merchant_outbound_number("SH-", "#1001") == "SH-#1001"


def test_outbound_ids_stay_what_earlier_releases_sent() -> None:
    # FFN knows exported orders by these ids: a changed id would create every pending order again.
    assert outbound_id("MERC", "shopify-main", "gid://shopify/Order/1001") == "MERC02EDEKC767OC"
    assert outbound_id("ABCD", "woo-demo", "1002") == "ABCD02UIE7VR7CSG"
    for n in range(2000):
        digest = hashlib.sha256(f"shop-a\x1f{n}".encode()).digest()
        assert outbound_id("MERC", "shop-a", str(n)) == "MERC02" + base64.b32encode(digest).decode()[:10]
