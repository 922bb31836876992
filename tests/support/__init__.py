"""Helpers that drive the real components (public-inbox, b4, aiosmtpd, git,
Coccinelle) for reviewbot's tests.  The pytest fixtures built on them live
in tests/conftest.py; its docstring describes the fixture API.

Modules:
    env     paths, free ports, "fail in CI / skip on a laptop" for missing components
    mbox    write and split mboxrd files
    pi      PublicInbox: a v2 inbox served by public-inbox-httpd on 127.0.0.1
    smtp    SmtpServer: an in-process aiosmtpd sink that can route list mail into an inbox
    b4      environment and runner for the real `b4` console script
    kernel  the cached Debian linux-source-6.1 git tree built by .ci/kernel-tree
"""
