"""deliver stage of reviewbot."""
