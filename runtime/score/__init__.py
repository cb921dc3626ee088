"""Batch scoring: tables (CSV, Parquet, Arrow batches) through a built model, in bounded memory.

The same model, checks and named-feature mapping as the server (:mod:`mlready.runtime.features`), for files
instead of requests. It lives in the runtime because the image runs it too (``python -m mlready.runtime.score``);
it needs pyarrow, imported only here (the server never imports this package).

| module | concept |
| --- | --- |
| ``columns.py`` | one Arrow column -> its feature's array, and the rows that cannot be scored (why) |
| ``arrays.py`` | Arrow <-> numpy through buffers (pyarrow's own conversions import pandas: 0.3 s) |
| ``scorer.py`` | ``TableScorer``: a built model scoring record batches into prediction columns |
| ``stream.py`` | files in -> output file out: record batches, bad-row policy, atomic writes, progress |
| ``overlap.py`` | a reader and a writer thread: the next batch is read and the last one written while one scores |
| ``capture.py`` | the server's prediction-capture records (JSON Lines), one per scored chunk |
| ``spark.py`` | the same scorer on Apache Spark: a ``mapInPandas`` / ``mapInArrow`` function |
"""
