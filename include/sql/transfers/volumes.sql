-- The transfers of [period_start, period_end) at each grain the report shows. A record carries
-- every destination country and data category of its row, so it counts once in each grain, and
-- records are never added up across countries or categories. Subjects: the HyperLogLog sketches
-- of the grain merged (each register's highest rank); `filled` and `inverse_sum` are what the
-- estimate needs (governance.transfers.estimate_subjects).
WITH scoped AS (
    SELECT day, recipient, registered, countries, data_categories, records, records_without_basis, subject_sketch
    FROM governance.transfer_daily
    WHERE day >= %(period_start)s AND day < %(period_end)s
), facts AS (
    SELECT 'recipient_country' AS grain, s.recipient AS name, country AS place, '' AS category, s.day, s.registered,
           s.records, s.records_without_basis, s.subject_sketch
    FROM scoped AS s, unnest(s.countries) AS country
    UNION ALL
    SELECT 'recipient', s.recipient, '', '', s.day, s.registered, s.records, s.records_without_basis, s.subject_sketch
    FROM scoped AS s
    UNION ALL
    SELECT 'recipient_category', s.recipient, '', category, s.day, s.registered, s.records, s.records_without_basis,
           s.subject_sketch
    FROM scoped AS s, unnest(s.data_categories) AS category
    UNION ALL
    SELECT 'country', '', country, '', s.day, s.registered, s.records, s.records_without_basis, s.subject_sketch
    FROM scoped AS s, unnest(s.countries) AS country
    UNION ALL
    SELECT 'total', '', '', '', s.day, s.registered, s.records, s.records_without_basis, s.subject_sketch
    FROM scoped AS s
), volumes AS (
    SELECT grain, name, place, category, bool_and(registered) AS registered, sum(records)::bigint AS records,
           sum(records_without_basis)::bigint AS records_without_basis, min(day) AS first_day, max(day) AS last_day
    FROM facts
    GROUP BY grain, name, place, category
), registers AS (
    SELECT grain, name, place, category, element >> 6 AS idx, max(element & 63) AS rank
    FROM facts, unnest(subject_sketch) AS element
    GROUP BY grain, name, place, category, element >> 6
), subjects AS (
    SELECT grain, name, place, category, count(*) AS filled, sum(power(2.0::float8, -rank)) AS inverse_sum
    FROM registers
    GROUP BY grain, name, place, category
)
SELECT v.grain, v.name, v.place, v.category, v.registered, v.records, v.records_without_basis, v.first_day,
       v.last_day, COALESCE(s.filled, 0) AS filled, COALESCE(s.inverse_sum, 0) AS inverse_sum
FROM volumes AS v
LEFT JOIN subjects AS s USING (grain, name, place, category)
ORDER BY v.grain, v.name, v.place, v.category
