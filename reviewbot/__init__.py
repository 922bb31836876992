"""reviewbot: a review assistant for Linux kernel mailing-list patches (linux-mm)."""
__version__ = "0.1.0"
