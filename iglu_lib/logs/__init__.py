"""Droidlet interaction logs: mirror them from S3 (`sync`) and collate one kind of CSV file
into a clean table (`process`, with `sources` reading archives as streams and `clean`
holding the row rules). Heavy libraries load only when a function runs."""
