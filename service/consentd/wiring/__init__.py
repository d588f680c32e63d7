"""The builders bootstrap() (consentd/bootstrap.py, the one composition root) calls in turn:
the store (engines, pools, units of work), the use cases, and the API that serves them."""
