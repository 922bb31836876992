"""reviewbot's bundled rules: one rule a module, its documentation and fixtures beside it."""
