from __future__ import annotations

from tests.ops.promql import names_in


def test_reader_separates_metrics_labels_and_functions() -> None:
    got = names_in(
        'histogram_quantile(0.99, sum by (merchant, le) (rate(ffn_sync_x_bucket{channel=~"$channel", '
        'status="429"}[$__rate_interval]))) / on (merchant) group_left ffn_sync_y > 0.5 and time() - ffn_sync_z'
    )
    assert got.metrics == {"ffn_sync_x_bucket", "ffn_sync_y", "ffn_sync_z"}
    assert got.labels == {"merchant", "le", "channel", "status"}
    assert got.unknown_calls == set()
    assert names_in("made_up_fn(ffn_sync_a[5m])").unknown_calls == {"made_up_fn"}
    assert names_in("ffn_sync_typo_total offset 5m").metrics == {"ffn_sync_typo_total"}
