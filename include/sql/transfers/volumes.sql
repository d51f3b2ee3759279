-- The transfers of [period_start, period_end) at each grain the report shows. A record carries
-- every destination country and data category of its row, so it counts once in each grain, and
-- records are never added up across countries or categories. Subjects: the HyperLogLog sketches
-- of a grain merged (each register's highest rank), first per recipient, destinations and
-- categories (`merged`: at most 2^14 registers each, whatever the number of days), then per
-- grain from those; `filled` and `inverse_sum` are what the estimate needs (transfers.estimate_subjects).
-- MATERIALIZED: each step runs once (the planner would otherwise rerun the merge per grain).
WITH scoped AS MATERIALIZED (
    SELECT day, recipient, registered, countries, data_categories, records, records_without_basis, subject_sketch
    FROM governance.transfer_daily
    WHERE day >= %(period_start)s AND day < %(period_end)s
), keys AS MATERIALIZED (
    SELECT row_number() OVER (ORDER BY recipient, countries, data_categories) AS key_id, recipient, countries,
           data_categories
    FROM (SELECT DISTINCT recipient, countries, data_categories FROM scoped) AS distinct_keys
), facts AS MATERIALIZED (
    SELECT k.key_id, s.day, s.registered, s.records, s.records_without_basis, s.subject_sketch
    FROM scoped AS s
    JOIN keys AS k USING (recipient, countries, data_categories)
), merged AS MATERIALIZED (
    SELECT f.key_id, element >> 6 AS idx, max(element & 63) AS rank
    FROM facts AS f, unnest(f.subject_sketch) AS element
    GROUP BY 1, 2
), grains AS MATERIALIZED (
    -- (grain, name, place, category) for every key: where its records and its sketch count.
    SELECT 'recipient_country' AS grain, k.recipient AS name, country AS place, '' AS category, k.key_id
    FROM keys AS k, unnest(k.countries) AS country
    UNION ALL SELECT 'recipient', k.recipient, '', '', k.key_id FROM keys AS k
    UNION ALL SELECT 'recipient_category', k.recipient, '', category, k.key_id
    FROM keys AS k, unnest(k.data_categories) AS category
    UNION ALL SELECT 'country', '', country, '', k.key_id FROM keys AS k, unnest(k.countries) AS country
    UNION ALL SELECT 'total', '', '', '', k.key_id FROM keys AS k
), volumes AS MATERIALIZED (
    SELECT g.grain, g.name, g.place, g.category, bool_and(f.registered) AS registered, sum(f.records)::bigint AS records,
           sum(f.records_without_basis)::bigint AS records_without_basis, min(f.day) AS first_day, max(f.day) AS last_day
    FROM grains AS g
    JOIN facts AS f USING (key_id)
    GROUP BY 1, 2, 3, 4
), registers AS (
    SELECT g.grain, g.name, g.place, g.category, m.idx, max(m.rank) AS rank
    FROM grains AS g
    JOIN merged AS m USING (key_id)
    GROUP BY 1, 2, 3, 4, 5
), subjects AS MATERIALIZED (
    SELECT grain, name, place, category, count(*) AS filled, sum(power(2.0::float8, -rank)) AS inverse_sum
    FROM registers
    GROUP BY 1, 2, 3, 4
)
SELECT v.grain, v.name, v.place, v.category, v.registered, v.records, v.records_without_basis, v.first_day,
       v.last_day, COALESCE(s.filled, 0) AS filled, COALESCE(s.inverse_sum, 0) AS inverse_sum
FROM volumes AS v
LEFT JOIN subjects AS s USING (grain, name, place, category)
ORDER BY v.grain, v.name, v.place, v.category
