"""PostgreSQL itself, run as a child process of ours (the embedded mode and the tests).
No SQL here: the service's own statements are in consentd.store."""
