"""Shop webhooks as triggers: a delivery nudges a flow to run now; the poll and the reconcile stay the truth."""
