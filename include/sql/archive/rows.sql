-- Fragment: the rows of an archive object, by key and clock, from two bound array literals:
-- %(keys)s, and %(clocks_us)s, the clocks in integer microseconds since the Unix epoch (UTC).
-- 'epoch' + n x 1 microsecond gives each timestamptz back exactly: the product is computed in
-- double precision, which holds every whole number below 2^53 (microseconds until the year 2255).
(SELECT a.key, timestamptz 'epoch' + a.us * interval '1 microsecond' AS clock
 FROM unnest(%(keys)s::bigint[], %(clocks_us)s::bigint[]) AS a(key, us))
