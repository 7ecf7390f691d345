"""Delivery: batches sealed, sent to the hub once, spooled while it is away, dead-lettered when refused."""
