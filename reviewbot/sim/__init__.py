"""sim stage of reviewbot."""
