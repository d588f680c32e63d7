"""Work the service runs on a schedule, beside serving calls."""
