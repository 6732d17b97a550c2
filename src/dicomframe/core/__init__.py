"""The DICOM data model, reader and writer. Imports no codec."""
