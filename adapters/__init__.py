"""One package per external system; the contracts they implement are in daemon/ports.py."""
