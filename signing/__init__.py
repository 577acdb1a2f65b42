"""PAdES signing and verification of the pipeline's PDFs.

Importing the package installs two process-wide speed-ups of the libraries it
drives; both give the same results as the code they replace (each module says
why, and tests/signing compares them with the originals):

* :mod:`signing.nameprep`: asn1crypto's string preparation for X.509 name
  comparison, memoised;
* :mod:`signing.hexstrings`: pyHanko's reader of hexadecimal strings (signature
  ``/Contents``), reading the whole string at once.
"""

from signing import hexstrings, nameprep

nameprep.install()
hexstrings.install()
