-- Load one page of the media bucket's listing.
COPY dq_media_objects (object_key) FROM STDIN
