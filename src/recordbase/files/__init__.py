"""Blob stores for file fields: one protocol, a local directory and S3-compatible storage (obstore)."""
