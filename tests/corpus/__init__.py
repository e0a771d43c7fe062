"""Already-vectorized NumPy code: ``optlevel check`` must find nothing here."""
