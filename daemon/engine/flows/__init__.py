"""One module per flow; each exposes ``async def run(ctx, …, counts)`` for the cycle runner."""
