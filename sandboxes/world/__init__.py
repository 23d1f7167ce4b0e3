"""The world the daemon runs against, built once for the demo, the benchmark and the end-to-end tests.

A world is vendor sandboxes (in this process or as their own processes), a migrated Postgres (embedded or
given), the FFN consent done against the FFN sandbox, and a merchant config pointing at them
(``stage.staged``); then a catalogue, stock and orders scripted through the sandboxes' control API
(``catalogue``). Callers differ only in parameters: which shops, where the sandboxes run, the config's
knobs and timing. ``fleet.stage_fleet`` turns a stage into N merchants on the same sandboxes, each with
its own FFN merchant, shops and merchant file.
"""
