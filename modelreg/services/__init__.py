"""Services: one use case per module; typed args in, result dataclass out; never print."""
