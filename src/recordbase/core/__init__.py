"""The domain: schemas, records, validation. Knows no HTTP and no SQL dialect."""
