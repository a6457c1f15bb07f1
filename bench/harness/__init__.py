"""The benchmark's machinery: in-process timing, the gunicorn load run, statistics and the report."""
