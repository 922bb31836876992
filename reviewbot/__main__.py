"""`python -m reviewbot` runs the command line."""
import logging
import os
import sys

from reviewbot.cli import main

status = main()
# End without tearing the heap down object by object (the parsed trees and caches of a review
# take a twentieth of its time to free): what the process wrote is flushed here, the memo's
# rows are committed as they are written, and no code of ours registers exit handlers.
logging.shutdown()
for stream in (sys.stdout, sys.stderr):
    try:
        stream.flush()
    except (BrokenPipeError, OSError):
        status = status or 2         # the reader went away before the output was written
os._exit(status)
