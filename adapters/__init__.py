"""One package per external system; see adapters/base.py for the contracts."""
