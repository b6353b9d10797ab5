"""ISO 20022 files for NemKonto: pure functions over files and streams, no Django models.

* :mod:`~payments.iso20022.pain001_writer`: our pain.001.001.09 files to the authorities' banks.
* :mod:`~payments.iso20022.pain001_reader`: reading pain.001 (the simulated bank; intake of files
  from payment systems, mapped to the API's payment shape).
* :mod:`~payments.iso20022.pain002` and :mod:`~payments.iso20022.camt054`: the banks' answers.
* :mod:`~payments.iso20022.simulated_bank`: the simulated bank's file-in/file-out core.
* :mod:`~payments.iso20022.safe_parse`: the one defused, streaming way to read untrusted XML.
* :mod:`~payments.iso20022.schemas`: the XSDs and streaming validation.

Everything streams with constant memory; every reading error is
:class:`~payments.iso20022.errors.InvalidXml` with a line number.
"""

from payments.iso20022.errors import InvalidXml, TotalsMismatch

__all__ = ["InvalidXml", "TotalsMismatch"]
