"""render stage of reviewbot."""
