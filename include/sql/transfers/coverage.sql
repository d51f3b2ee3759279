-- Each UTC day of [period_start, period_end) and how much of it the capture windows cover:
-- a day is captured when its windows cover all of it, backfilled when one of them was.
WITH days AS (
    SELECT d::date AS day, tstzrange(d, d + interval '1 day') AS span
    FROM generate_series(%(period_start)s::date::timestamp AT TIME ZONE 'UTC',
                         (%(period_end)s::date - 1)::timestamp AT TIME ZONE 'UTC', interval '1 day') AS d
)
SELECT days.day,
       -- FILTER: a day no window meets has w's columns null, and tstzrange(null, null) is unbounded.
       COALESCE(sum(upper(days.span * tstzrange(w.captured_from, w.captured_to))
                    - lower(days.span * tstzrange(w.captured_from, w.captured_to)))
                FILTER (WHERE w.window_id IS NOT NULL), interval '0') = interval '1 day' AS covered,
       COALESCE(bool_or(w.method = 'backfilled'), false) AS backfilled
FROM days
LEFT JOIN governance.transfer_windows AS w ON tstzrange(w.captured_from, w.captured_to) && days.span
GROUP BY days.day
ORDER BY days.day
