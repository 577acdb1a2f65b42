"""PAdES signing and verification of the pipeline's PDFs.

Two process-wide speed-ups of the libraries this package drives; both give the
same results as the code they replace (each module says why, and tests/signing
compares them with the originals):

* :mod:`signing.nameprep`: asn1crypto's string preparation for X.509 name
  comparison, memoised;
* :mod:`signing.hexstrings`: pyHanko's reader of hexadecimal strings (signature
  ``/Contents``), reading the whole string at once.

Every module of the package that drives pyHanko or certvalidator installs them
when it is imported (:func:`install_speedups`).  The package itself imports
neither library: ``medlicense serve`` imports parts of it (the command line, the
development PKI's paths) and should load pyHanko only once it signs, verifies
or hosts the development TSA.
"""

from __future__ import annotations


def install_speedups() -> None:
    """Install both speed-ups (idempotent)."""
    from signing import hexstrings, nameprep

    nameprep.install()
    hexstrings.install()
