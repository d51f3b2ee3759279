-- Load one page of a bucket's version listing.
COPY stack_report_objects (bucket, object_key, version_id) FROM STDIN
