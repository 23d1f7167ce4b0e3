"""ffn-sync: shops ⇄ JTL Fulfillment Network."""
